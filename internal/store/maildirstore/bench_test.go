package maildirstore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/index"
	"courier/internal/store/maildir"
)

// bigMaildir returns a maildir with 100,000 messages of about 1.9 kB in cur/ (as the IMAP
// anchors' "big" corpus), made once under /var/tmp and reused: $COURIER_BIG_MAILDIR, or
// /var/tmp/courier-bench/big100k.
func bigMaildir(b *testing.B) string {
	b.Helper()
	p := os.Getenv("COURIER_BIG_MAILDIR")
	if p == "" {
		p = "/var/tmp/courier-bench/big100k"
	}
	if _, err := os.Stat(filepath.Join(p, "cur")); err == nil {
		return p
	}
	b.Logf("generating %s (once)", p)
	tmp := p + ".part"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := maildir.Create(tmp, maildir.Private, false); err != nil {
		b.Fatal(err)
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
			b.Fatal(err)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		b.Fatal(err)
	}
	return p
}

// dropCaches asks the kernel to drop the page cache; it reports whether it could.
func dropCaches() bool {
	exec := func() error { return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200) }
	return exec() == nil
}

func openClose(b *testing.B, p string) {
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
	if err := mb.Close(); err != nil {
		b.Fatal(err)
	}
	s.Close()
}

// BenchmarkOpen100kCold opens the 100,000-message folder without its index nor
// courierimapuiddb (a first open: UIDs assigned, both written), after dropping the page
// cache when permitted (metric cache-dropped 1) .
func BenchmarkOpen100kCold(b *testing.B) {
	p := bigMaildir(b)
	dropped := 1.0
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.Remove(filepath.Join(p, index.FileName))
		os.Remove(filepath.Join(p, maildir.UIDDBFile))
		if !dropCaches() {
			dropped = 0
		}
		b.StartTimer()
		t0 := time.Now()
		openClose(b, p)
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/open")
	b.ReportMetric(dropped, "cache-dropped")
}

// BenchmarkOpen100kNoIndex opens the folder with courierimapuiddb present but no index (a
// folder Courier used before us).
func BenchmarkOpen100kNoIndex(b *testing.B) {
	p := bigMaildir(b)
	openClose(b, p) // make sure courierimapuiddb exists
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.Remove(filepath.Join(p, index.FileName))
		b.StartTimer()
		t0 := time.Now()
		openClose(b, p)
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/open")
}

// BenchmarkOpen100kWarm opens the folder with its index in step, and reports the heap
// the open view holds.
func BenchmarkOpen100kWarm(b *testing.B) {
	p := bigMaildir(b)
	openClose(b, p) // index in step
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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
	held := float64(ms.HeapInuse-before) / (1 << 20)
	runtime.KeepAlive(mb)
	mb.Close()
	st, _ := os.Stat(filepath.Join(p, index.FileName))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mb, err := s.Open("INBOX")
		if err != nil {
			b.Fatal(err)
		}
		mb.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/open")
	b.ReportMetric(held, "MB-held")
	b.ReportMetric(float64(st.Size())/(1<<20), "MB-index")
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
	for i := 0; i < b.N; i++ {
		if _, err := mb.Append(strings.NewReader(msg), store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}
