package server_test

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/internal/store/maildir"
	"courier/internal/testutil"
)

// heldConn is a client's socket under TLS: while hold is set, what TLS writes is kept back,
// so that a test can send several records in one write, or one record in pieces.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	buf  []byte
}

func (h *heldConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

// hold starts keeping writes back.
func (h *heldConn) start() {
	h.mu.Lock()
	h.hold = true
	h.mu.Unlock()
}

// take stops keeping writes back and returns what was kept.
func (h *heldConn) take() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.buf
	h.hold, h.buf = false, nil
	return b
}

// tlsClient does a TLS handshake on raw as a client (any certificate: the test server's is
// self-signed; version 0 means the newest) and returns the session wrapped for transcripts,
// with its held socket.
func tlsClient(t *testing.T, raw net.Conn, version uint16) (*testutil.Conn, *heldConn) {
	t.Helper()
	h := &heldConn{Conn: raw}
	tc := tls.Client(h, &tls.Config{InsecureSkipVerify: true, MaxVersion: version})
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	_ = tc.SetDeadline(time.Time{})
	t.Cleanup(func() { tc.Close() })
	return testutil.Wrap(t, tc), h
}

// loginTLS connects to the imaps port (implicit TLS, version as tlsClient's) and logs in
// as demo.
func loginTLS(t *testing.T, s *testutil.Server, version uint16) (*testutil.Conn, *heldConn) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", s.MustAddr(t, "imaps"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, h := tlsClient(t, raw, version)
	c.ExpectMatch(`^\* OK \[CAPABILITY IMAP4rev1 .*\] `)
	c.Send("L1 LOGIN " + s.Account + " " + s.Password)
	c.ExpectMatch(`^L1 OK \[CAPABILITY IMAP4rev1 .*\] LOGIN Ok\.$`)
	return c, h
}

// deliver puts a message into INBOX as another process would.
func deliver(t *testing.T, md string) {
	t.Helper()
	m, err := maildir.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inbox().Deliver(strings.NewReader("Subject: hi\n\nthere\n"), nil); err != nil {
		t.Fatal(err)
	}
}

// expectNew waits (2 s at most: the bound) for the EXISTS and RECENT of message n.
func expectNew(t *testing.T, c *testutil.Conn, n int) {
	t.Helper()
	start := time.Now()
	c.Expect("* " + strconv.Itoa(n) + " EXISTS")
	c.ExpectMatch(`^\* [0-9]+ RECENT$`)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("EXISTS after %v", d)
	}
}

// TestIdleTLS: IDLE over implicit TLS (where the session waits on the socket under TLS,
// holding no buffers) reports deliveries within 2 s; DONE followed by a command in the same
// record, DONE and a command in two records that arrive together (the second one is then
// inside crypto/tls, not on the socket), and a DONE record that arrives in pieces with
// deliveries in between are all handled; with TLS 1.3 and 1.2.
func TestIdleTLS(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) { idleTLS(t, v) })
	}
}

func idleTLS(t *testing.T, version uint16) {
	s, md := start(t, nil)
	c, h := loginTLS(t, s, version)
	selectIdle(t, c, "0")
	c.Wait = 2 * time.Second
	for n := 1; n <= 3; n++ {
		deliver(t, md)
		expectNew(t, c, n)
	}

	// DONE and the next command in one record.
	c.Send("DONE\r\nc NOOP")
	c.Expect("b OK IDLE completed")
	c.Expect("c OK NOOP completed")

	// DONE and the next command in two records, in one write; then two commands so.
	c.Transcript(`
		C: d IDLE
		S: + entering idle mode
	`)
	h.start()
	c.Send("DONE")
	c.Send("e NOOP")
	if _, err := h.Conn.Write(h.take()); err != nil {
		t.Fatal(err)
	}
	c.Expect("d OK IDLE completed")
	c.Expect("e OK NOOP completed")
	h.start()
	c.Send("f NOOP")
	c.Send("g NOOP")
	if _, err := h.Conn.Write(h.take()); err != nil {
		t.Fatal(err)
	}
	c.Expect("f OK NOOP completed")
	c.Expect("g OK NOOP completed")

	// A DONE record in three pieces (the first shorter than a record header), with a
	// delivery reported while each of the first two pieces waits for the rest.
	c.Transcript(`
		C: h IDLE
		S: + entering idle mode
	`)
	h.start()
	c.Send("DONE")
	rec := h.take()
	if len(rec) < 10 {
		t.Fatalf("a record of %d bytes", len(rec))
	}
	for i, piece := range [][]byte{rec[:3], rec[3 : len(rec)-2], rec[len(rec)-2:]} {
		if _, err := h.Conn.Write(piece); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			time.Sleep(100 * time.Millisecond)
			deliver(t, md)
			expectNew(t, c, 4+i)
		}
	}
	c.Transcript(`
		S: h OK IDLE completed
		C: i LOGOUT
		S: * BYE Courier-IMAP server shutting down
		S: i OK LOGOUT completed
	`)
}

// TestIdleSTARTTLS: the same wait after STARTTLS on the imap port.
func TestIdleSTARTTLS(t *testing.T) {
	s, md := start(t, nil)
	plain := testutil.Dial(t, s.MustAddr(t, "imap"))
	plain.ExpectMatch(`^\* OK \[CAPABILITY `)
	plain.Transcript(`
		C: a STARTTLS
		S: a OK Begin SSL/TLS negotiation now.
	`)
	c, _ := tlsClient(t, plain.Raw(), 0)
	c.Send("L1 LOGIN " + s.Account + " " + s.Password)
	c.ExpectMatch(`^L1 OK `)
	selectIdle(t, c, "0")
	c.Wait = 2 * time.Second
	deliver(t, md)
	expectNew(t, c, 1)
	c.Transcript(`
		C: DONE
		S: b OK IDLE completed
	`)
}

// TestIdleTLSPollTimer: the poll timer's wakes (each moves the read deadline while the
// session waits) leave the TLS connection working.
func TestIdleTLSPollTimer(t *testing.T) {
	s, _ := start(t, func(t testing.TB, conf string) {
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "IMAP_IDLE_TIMEOUT", "1")
	})
	c, _ := loginTLS(t, s, 0)
	selectIdle(t, c, "0")
	time.Sleep(2500 * time.Millisecond)
	c.Transcript(`
		C: DONE
		S: b OK IDLE completed
		C: c NOOP
		S: c OK NOOP completed
	`)
}

// TestIdleTLSMemory: a session idling in IDLE over TLS holds one goroutine and no buffers.
// Over 200 connections, the growth of the heap and of goroutine stacks per connection
// (BenchmarkIdleConnMemory's idle-tls, which counts the client's tls.Conn in this process
// too) was 46.6 KB with 2 goroutines per connection when a TLS session kept its 12 KB of
// buffers and read DONE in a goroutine of its own, and is about 24 KB with 1 now.
func TestIdleTLSMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sets up 200 TLS connections")
	}
	m := idleConnMemory(t, 200, true, true)
	t.Logf("per connection: %.1f KB heap, %.1f KB stacks, %.2f goroutines", m.heapKB, m.stackKB, m.goroutines)
	if m.goroutines > 1.5 {
		t.Errorf("%.2f goroutines per idling TLS connection, want 1", m.goroutines)
	}
	if kb := m.heapKB + m.stackKB; kb > 34 {
		t.Errorf("%.1f KB per idling TLS connection (client's side included), want under 34", kb)
	}
}
