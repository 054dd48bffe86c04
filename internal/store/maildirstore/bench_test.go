package maildirstore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/index"
	"courier/internal/store/maildir"
	"courier/internal/testutil/fixture"
)

// bigMaildir returns a maildir with 100,000 messages of about 1.9 kB in cur/ (as the IMAP
// anchors' "big" corpus), made once under /var/tmp and reused: $COURIER_BIG_MAILDIR, or
// /var/tmp/courier-bench/big100k.
func bigMaildir(b *testing.B) string {
	b.Helper()
	return fixture.Dir(b, "COURIER_BIG_MAILDIR", "/var/tmp/courier-bench/big100k", "cur", func(tb testing.TB, tmp string) {
		if err := maildir.Create(tmp, maildir.Private, false); err != nil {
			tb.Fatal(err)
		}
		r := rand.New(rand.NewPCG(4, 4))
		body := strings.Repeat("a line of text in a message body, more or less realistic.\n", 40)
		for i := 0; i < 100000; i++ {
			msg := fmt.Sprintf("From: a%d@example.test\nTo: b@example.test\nSubject: message %d\nMessage-ID: <%d@big>\n\n%s", i, i, i, body[:1000+r.IntN(1300)])
			flags := ""
			if r.IntN(10) < 7 {
				flags = "S"
			}
			name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,%s", 1704097020+i*60, i, len(msg), flags)
			if err := os.WriteFile(filepath.Join(tmp, "cur", name), []byte(msg), 0o600); err != nil {
				tb.Fatal(err)
			}
		}
	})
}

// cpuNow returns the process's CPU time so far (user + system, getrusage): the machine
// these run on is often loaded, so wall time alone says little.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dropCaches asks the kernel to drop the page cache; it reports whether it could.
func dropCaches() bool {
	exec := func() error { return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200) }
	return exec() == nil
}

func openClose(b *testing.B, p string) {
	openCloseTimed(b, p)
}

// openCloseTimed opens INBOX of the maildir p as IMAP SELECT does (Store.Open, then Status)
// and closes it, and returns how long the open took (what SELECT waits for) and the whole
// (the close waits for the index saved in the background).
func openCloseTimed(b *testing.B, p string) (sel, total time.Duration) {
	t0 := time.Now()
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	mb, err := s.Open("INBOX")
	if err != nil {
		b.Fatal(err)
	}
	if n := mb.Status().Messages; n != 100000 {
		b.Fatalf("%d messages", n)
	}
	sel = time.Since(t0)
	if err := mb.Close(); err != nil {
		b.Fatal(err)
	}
	s.Close()
	return sel, time.Since(t0)
}

// coldOpens runs b.N first opens of the 100k folder, each after prepare (untimed) and after
// dropping the page cache when permitted, and reports ms/open (open and close, with the index
// saved), ms/select (the open alone: what IMAP SELECT waits for), the CPU time and whether
// the cache could be dropped.
func coldOpens(b *testing.B, p string, prepare func()) {
	dropped := 1.0
	var sel, total, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prepare()
		if !dropCaches() {
			dropped = 0
		}
		b.StartTimer()
		c0 := cpuNow()
		s, t := openCloseTimed(b, p)
		cpu += cpuNow() - c0
		sel += s
		total += t
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/open")
	b.ReportMetric(float64(sel.Microseconds())/1000/float64(b.N), "ms/select")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/open")
	b.ReportMetric(dropped, "cache-dropped")
}

// BenchmarkOpen100kCold opens the 100,000-message folder without its index nor
// courierimapuiddb (a first open: UIDs assigned, both written), after dropping the page
// cache when permitted (metric cache-dropped 1).
func BenchmarkOpen100kCold(b *testing.B) {
	p := bigMaildir(b)
	coldOpens(b, p, func() {
		os.Remove(filepath.Join(p, index.FileName))
		os.Remove(filepath.Join(p, maildir.UIDDBFile))
		syscall.Sync() // so that the page cache can be dropped whole
	})
}

// BenchmarkOpen100kNoIndex opens the folder with courierimapuiddb present but no index (a
// folder Courier used before us), after dropping the page cache when permitted.
func BenchmarkOpen100kNoIndex(b *testing.B) {
	p := bigMaildir(b)
	openClose(b, p) // make sure courierimapuiddb exists
	coldOpens(b, p, func() {
		os.Remove(filepath.Join(p, index.FileName))
		syscall.Sync()
	})
}

// BenchmarkOpen100kWarm opens the folder with its index in step, as a session does when
// another one opened it before (the index's checked contents are kept by index.Load), and
// reports the heap the open view holds (MB-held: the contents it shares count).
func BenchmarkOpen100kWarm(b *testing.B) {
	p := warmMaildir(b)
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	index.DropCache() // the view alone: what it shares counts as held
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	mb, err := s.Open("INBOX")
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	held := float64(int64(ms.HeapInuse)-int64(before)) / (1 << 20) // may be < 0: GC noise
	runtime.KeepAlive(mb)
	mb.Close()
	st, _ := os.Stat(filepath.Join(p, index.FileName))
	b.ResetTimer()
	c0 := cpuNow()
	for i := 0; i < b.N; i++ {
		mb, err := s.Open("INBOX")
		if err != nil {
			b.Fatal(err)
		}
		mb.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/open")
	b.ReportMetric(float64((cpuNow()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/open")
	b.ReportMetric(held, "MB-held")
	b.ReportMetric(float64(st.Size())/(1<<20), "MB-index")
}

// BenchmarkOpen100kWarmUncached is BenchmarkOpen100kWarm when the process has not kept the
// index's checked contents (the first open of the folder since the process started or since
// the index changed): the file is read and checked whole at each open.
func BenchmarkOpen100kWarmUncached(b *testing.B) {
	p := warmMaildir(b)
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var total, cpu time.Duration
	for i := 0; i < b.N; i++ {
		index.DropCache()
		t0, c0 := time.Now(), cpuNow()
		mb, err := s.Open("INBOX")
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		cpu += cpuNow() - c0
		mb.Close()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/open")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/open")
}

// warmMaildir returns the 100k folder with its index in step and older than the time within
// which index.Load does not keep a file (a folder opened warm has not just been saved).
func warmMaildir(b *testing.B) string {
	b.Helper()
	p := bigMaildir(b)
	openClose(b, p) // index in step (and in the current format)
	if st, err := os.Stat(filepath.Join(p, index.FileName)); err == nil {
		if d := time.Second + 100*time.Millisecond - time.Since(st.ModTime()); d > 0 {
			time.Sleep(d)
		}
	}
	return p
}

// BenchmarkAppend measures Store.Append into one folder: a durable delivery (file and cur/
// fsynced) plus the UID assignment (courierimapuiddb rewritten and fsynced).
func BenchmarkAppend(b *testing.B) {
	p := filepath.Join(b.TempDir(), "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		b.Fatal(err)
	}
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	mb, err := s.Open("INBOX")
	if err != nil {
		b.Fatal(err)
	}
	defer mb.Close()
	msg := "From: a@example.com\nSubject: bench\n\n" + strings.Repeat("body line of a message\n", 100)
	b.ResetTimer()
	c0 := cpuNow()
	for i := 0; i < b.N; i++ {
		if _, err := mb.Append(strings.NewReader(msg), store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64((cpuNow()-c0).Microseconds())/float64(b.N), "cpu-us/append")
}

// BenchmarkAppendParallel measures Append from several sessions (one Mailbox each) of one
// Store into one folder: their UID assignments are grouped (assign.go).
func BenchmarkAppendParallel(b *testing.B) {
	p := filepath.Join(b.TempDir(), "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		b.Fatal(err)
	}
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msg := "From: a@example.com\nSubject: bench\n\n" + strings.Repeat("body line of a message\n", 100)
	b.SetParallelism(4) // 4 × GOMAXPROCS sessions
	b.ResetTimer()
	c0 := cpuNow()
	b.RunParallel(func(pb *testing.PB) {
		mb, err := s.Open("INBOX")
		if err != nil {
			b.Error(err)
			return
		}
		defer mb.Close()
		for pb.Next() {
			if _, err := mb.Append(strings.NewReader(msg), store.AppendOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64((cpuNow()-c0).Microseconds())/float64(b.N), "cpu-us/append")
}

// BenchmarkAppend10k is BenchmarkAppend into a folder that holds 10,000 messages already
// (courierimapuiddb of 10,000 lines), where rewriting the whole database per append shows.
func BenchmarkAppend10k(b *testing.B) {
	p := filepath.Join(b.TempDir(), "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 10000; i++ {
		msg := fmt.Sprintf("Subject: %d\n\nx\n", i)
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", 1704097020+i, i, len(msg))
		if err := os.WriteFile(filepath.Join(p, "cur", name), []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	mb, err := s.Open("INBOX")
	if err != nil {
		b.Fatal(err)
	}
	defer mb.Close()
	msg := "From: a@example.com\nSubject: bench\n\n" + strings.Repeat("body line of a message\n", 100)
	b.ResetTimer()
	c0 := cpuNow()
	for i := 0; i < b.N; i++ {
		if _, err := mb.Append(strings.NewReader(msg), store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64((cpuNow()-c0).Microseconds())/float64(b.N), "cpu-us/append")
}

// BenchmarkSelect100kWarm is what IMAP SELECT asks of the store on the 100,000-message
// folder with its index in step: open, Status, Messages (the flags FETCH 1:* (FLAGS)
// reads), close.
func BenchmarkSelect100kWarm(b *testing.B) {
	p := warmMaildir(b)
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	c0 := cpuNow()
	for i := 0; i < b.N; i++ {
		mb, err := s.Open("INBOX")
		if err != nil {
			b.Fatal(err)
		}
		if st := mb.Status(); st.Messages != 100000 || st.Unseen == 0 {
			b.Fatalf("status %+v", st)
		}
		if len(mb.Messages()) != 100000 {
			b.Fatal("messages")
		}
		mb.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/select")
	b.ReportMetric(float64((cpuNow()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/select")
}
