package server_test

import (
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"courier/internal/store/maildir"
	"courier/internal/testutil"
)

// selectIdle selects INBOX (exists: its EXISTS count) and enters IDLE.
func selectIdle(t *testing.T, c *testutil.Conn, exists string) {
	t.Helper()
	c.Transcript(`
		C: a SELECT INBOX
		S~ ^\* FLAGS
		S~ ^\* OK \[PERMANENTFLAGS
		S: * ` + exists + ` EXISTS
		S~ RECENT
		S~ UIDVALIDITY
		S~ MYRIGHTS
		S: a OK [READ-WRITE] Ok
		C: b IDLE
		S: + entering idle mode
	`)
}

// TestIdleChangesByOtherSession: an idling session (which waits holding no buffers and is
// woken by the store's notification) reports another session's APPEND and STORE within 2 s,
// again and again, and ends IDLE on DONE followed at once by another command in the same
// packet.
func TestIdleChangesByOtherSession(t *testing.T) {
	s, md := start(t, nil)
	put(t, md, 1, "Subject: one\n\nx\n")
	a := login(t, s)
	selectIdle(t, a, "1")
	a.Wait = 2 * time.Second
	b := login(t, s)
	b.Transcript(`
		C: s SELECT INBOX
		S~ ^\* FLAGS
	`)
	for {
		l, err := b.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "s OK") {
			break
		}
	}
	for round := 2; round <= 4; round++ {
		n := string(rune('0' + round))
		b.Send("t" + n + " APPEND INBOX (\\Seen) {13+}")
		b.Send("Subject: x\r\n")
		b.ExpectMatch(`^t` + n + ` OK \[APPENDUID `)
		a.Expect("* " + n + " EXISTS")
		a.ExpectMatch(`^\* [0-9]+ RECENT$`)
	}
	b.Send(`u STORE 1 +FLAGS (\Flagged)`)
	b.ExpectMatch(`^\* 1 FETCH \(FLAGS \(\\Flagged`)
	b.Expect("u OK STORE completed.")
	a.ExpectMatch(`^\* 1 FETCH \(FLAGS \(\\Flagged`)
	a.Send("DONE\r\nc NOOP")
	a.Expect("b OK IDLE completed")
	a.Expect("c OK NOOP completed")
	// IDLE again on the same session: a new wait, a new subscription.
	a.Transcript(`
		C: d IDLE
		S: + entering idle mode
	`)
	b.Send(`v STORE 1 +FLAGS (\Deleted)`)
	b.ExpectMatch(`^\* 1 FETCH`)
	b.Expect("v OK STORE completed.")
	a.ExpectMatch(`^\* 1 FETCH \(FLAGS \(\\Flagged \\Deleted`)
	a.Transcript(`
		C: DONE
		S: d OK IDLE completed
		C: e LOGOUT
		S: * BYE Courier-IMAP server shutting down
		S: e OK LOGOUT completed
	`)
}

// TestIdleDoneSplit: a DONE that arrives in two pieces, with a change notified in between,
// is read whole (once the client started sending, notifications no longer interrupt the
// read); the change is reported by the next command.
func TestIdleDoneSplit(t *testing.T) {
	s, md := start(t, nil)
	c := login(t, s)
	selectIdle(t, c, "0")
	raw := c.Raw()
	if _, err := raw.Write([]byte("DO")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	m, err := maildir.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inbox().Deliver(strings.NewReader("Subject: hi\n\nthere\n"), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the notification comes meanwhile
	if _, err := raw.Write([]byte("NE\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Transcript(`
		S: b OK IDLE completed
		C: c NOOP
		S: * 1 EXISTS
		S: * 1 RECENT
		S: c OK NOOP completed
	`)
}

// TestIdlePollTimer: with IMAP_IDLE_TIMEOUT of 1 s the poll timer wakes the idling session
// every second; nothing is reported while nothing changed, and DONE still ends IDLE.
func TestIdlePollTimer(t *testing.T) {
	s, _ := start(t, func(t testing.TB, conf string) {
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "IMAP_IDLE_TIMEOUT", "1")
	})
	c := login(t, s)
	selectIdle(t, c, "0")
	time.Sleep(2500 * time.Millisecond)
	c.Transcript(`
		C: DONE
		S: b OK IDLE completed
	`)
}

// TestIdleShutdown: the server's shutdown ends an idling session with BYE, over plain TCP
// and over TLS.
func TestIdleShutdown(t *testing.T) {
	eachTransport(t, func(t *testing.T, s *testutil.Server, c *testutil.Conn) {
		selectIdle(t, c, "0")
		done := make(chan struct{})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Shutdown(ctx)
			close(done)
		}()
		c.Expect("* BYE Server shutting down")
		c.ExpectClosed()
		<-done
	})
}

// eachTransport runs fn on a logged-in session over plain TCP and one over implicit TLS
// (whose reads ahead in crypto/tls the session must see through, await_tls.go).
func eachTransport(t *testing.T, fn func(t *testing.T, s *testutil.Server, c *testutil.Conn)) {
	t.Run("plain", func(t *testing.T) {
		s, _ := start(t, nil)
		fn(t, s, login(t, s))
	})
	t.Run("tls", func(t *testing.T) {
		s, _ := start(t, nil)
		c, _ := loginTLS(t, s, 0)
		fn(t, s, c)
	})
}

// TestPipelinedBeyondBuffer: commands pipelined well beyond the session's read buffer (the
// kernel, or crypto/tls, still holds some when the buffer is empty) are all answered:
// waiting for input without reading finds what had arrived already.
func TestPipelinedBeyondBuffer(t *testing.T) {
	eachTransport(t, func(t *testing.T, _ *testutil.Server, c *testutil.Conn) {
		var b strings.Builder
		const n = 3000
		for i := 0; i < n; i++ {
			b.WriteString("p")
			b.WriteString(strconv.Itoa(i))
			b.WriteString(" NOOP\r\n")
		}
		// Written from another goroutine: over TLS the writer can block until the reader
		// drains.
		go func() { _, _ = io.WriteString(c.Raw(), b.String()) }()
		for i := 0; i < n; i++ {
			c.Expect("p" + strconv.Itoa(i) + " OK NOOP completed")
		}
	})
}
