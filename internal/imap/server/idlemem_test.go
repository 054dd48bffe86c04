package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
)

// BenchmarkIdleConnMemory measures what an idle IMAP connection (logged in, INBOX of 20
// messages selected, in IDLE or not, over plain TCP or implicit TLS) costs the server: the
// growth of the Go heap in use and of goroutine stacks over $IDLEMEM_N connections (default
// 500), after a garbage collection, per connection (KB-heap/conn, KB-stack/conn,
// goroutines/conn). The client's side, in the same process, is a bare socket per connection
// (a few hundred bytes, counted); with TLS, also the client's tls.Conn (a few KB, counted: a
// heap profile tells the two sides apart). RSS, which the
// bench/imap idleconn driver measures, is this plus the collector's headroom and pages not
// yet returned to the system. $IDLEMEM_PROFILE names a file for a heap profile taken while
// the connections idle. b.N is not used: one round is the measurement.
func BenchmarkIdleConnMemory(b *testing.B) {
	for _, mode := range []string{"idle", "selected", "idle-tls"} {
		b.Run(mode, func(b *testing.B) {
			n := 500
			if v, err := strconv.Atoi(os.Getenv("IDLEMEM_N")); err == nil && v > 0 {
				n = v
			}
			m := idleConnMemory(b, n, mode != "selected", mode == "idle-tls")
			b.ReportMetric(m.heapKB, "KB-heap/conn")
			b.ReportMetric(m.stackKB, "KB-stack/conn")
			b.ReportMetric(m.heapKB+m.stackKB, "KB/conn")
			b.ReportMetric(m.goroutines, "goroutines/conn")
		})
	}
}

// idleMem is what idleConnMemory measured, per connection.
type idleMem struct{ heapKB, stackKB, goroutines float64 }

// idleConnMemory sets up n connections (see BenchmarkIdleConnMemory) and returns the growth
// per connection.
func idleConnMemory(b testing.TB, n int, idle, overTLS bool) idleMem {
	if os.Getenv("IDLEMEM_PROFILE") != "" {
		runtime.MemProfileRate = 64 // fine-grained, for the profile of small per-session objects
	}
	s := testutil.Start(b, testutil.Options{Edit: func(t testing.TB, conf string) {
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "MAXDAEMONS", strconv.Itoa(n+10))
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "MAXPERIP", strconv.Itoa(n+10))
	}})
	md := filepath.Join(s.Dir, "mail", "example.test", "demo", "Maildir")
	for i := 0; i < 20; i++ {
		put(b, md, i, fmt.Sprintf("From: a@example.test\nSubject: %d\n\n%s", i, strings.Repeat("text of the message\n", 90)))
	}
	addr := s.MustAddr(b, "imap")
	if overTLS {
		addr = s.MustAddr(b, "imaps")
	}
	// expect reads lines until one starts with prefix.
	expect := func(r *bufio.Reader, prefix string) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
			if strings.HasPrefix(line, "a ") || strings.HasPrefix(line, "b ") {
				b.Fatalf("waiting for %q: %s", prefix, line)
			}
		}
	}
	conns := make([]net.Conn, 0, n+1)
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	setUp := func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReaderSize(c, 1024)
		expect(r, "* OK")
		fmt.Fprintf(c, "a LOGIN %s %s\r\n", s.Account, s.Password)
		expect(r, "a OK")
		fmt.Fprintf(c, "b SELECT INBOX\r\n")
		expect(r, "b OK")
		if idle {
			fmt.Fprintf(c, "c IDLE\r\n")
			expect(r, "+ ")
		}
		_ = c.SetDeadline(time.Time{})
	}
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if overTLS {
			c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		}
		conns = append(conns, c)
		return c
	}
	// One session before the baseline, so the one-time costs (the folder's index, caches)
	// are not counted.
	setUp(dial())
	measure := func() (heap, stack uint64, gs int) {
		time.Sleep(300 * time.Millisecond) // let the sessions reach their wait
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()
	}
	h0, s0, g0 := measure()
	for i := 0; i < n; i++ {
		setUp(dial())
	}
	h1, s1, g1 := measure()
	if p := os.Getenv("IDLEMEM_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	per := func(a, z uint64) float64 { return (float64(z) - float64(a)) / 1024 / float64(n) }
	return idleMem{per(h0, h1), per(s0, s1), float64(g1-g0) / float64(n)}
}

// BenchmarkSelect100k times SELECT (and FETCH 1:* (FLAGS)) of a 100,000-message folder over
// a real connection, its index in step and already read by the process (a warm SELECT:
// another session opened the folder before): the folder is the store benchmarks'
// $COURIER_BIG_MAILDIR (default /var/tmp/courier-bench/big100k, made by maildirstore's
// BenchmarkOpen100kWarm), linked into the demo account as INBOX.big. Skipped without it.
func BenchmarkSelect100k(b *testing.B) {
	big := os.Getenv("COURIER_BIG_MAILDIR")
	if big == "" {
		big = "/var/tmp/courier-bench/big100k"
	}
	if _, err := os.Stat(filepath.Join(big, "gomailindex")); err != nil {
		b.Skip("no 100k folder with an index: run maildirstore's BenchmarkOpen100kWarm first")
	}
	s := testutil.Start(b, testutil.Options{})
	md := filepath.Join(s.Dir, "mail", "example.test", "demo", "Maildir")
	if err := os.Symlink(big, filepath.Join(md, ".big")); err != nil {
		b.Fatal(err)
	}
	var c net.Conn
	var r *bufio.Reader
	// until reads lines up to the tagged one and returns how many began with "* ".
	until := func(tag string) int {
		n := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(line, tag+" ") {
				if !strings.HasPrefix(line, tag+" OK") {
					b.Fatal(line)
				}
				return n
			}
			if strings.HasPrefix(line, "* ") {
				n++
			}
		}
	}
	connect := func() {
		if c != nil {
			c.Close()
		}
		var err error
		if c, err = net.DialTimeout("tcp", s.MustAddr(b, "imap"), 5*time.Second); err != nil {
			b.Fatal(err)
		}
		r = bufio.NewReaderSize(c, 64<<10)
		fmt.Fprintf(c, "a LOGIN %s %s\r\n", s.Account, s.Password)
		until("a")
	}
	defer func() { c.Close() }()
	connect()
	fmt.Fprintf(c, "w SELECT INBOX.big\r\nx UNSELECT\r\n") // warm: read once
	until("w")
	until("x")
	for _, mode := range []string{"sameconn", "newconn"} {
		b.Run(mode, func(b *testing.B) {
			var sel, fetch time.Duration
			for i := 0; i < b.N; i++ {
				if mode == "newconn" {
					connect()
				}
				t0 := time.Now()
				fmt.Fprintf(c, "s SELECT INBOX.big\r\n")
				until("s")
				t1 := time.Now()
				fmt.Fprintf(c, "f FETCH 1:* (FLAGS)\r\n")
				if n := until("f"); n < 100000 {
					b.Fatalf("%d FETCH responses", n)
				}
				t2 := time.Now()
				fmt.Fprintf(c, "u UNSELECT\r\n")
				until("u")
				sel += t1.Sub(t0)
				fetch += t2.Sub(t1)
			}
			b.ReportMetric(float64(sel.Microseconds())/1000/float64(b.N), "ms/select")
			b.ReportMetric(float64(fetch.Microseconds())/1000/float64(b.N), "ms/fetch-flags")
		})
	}
}
