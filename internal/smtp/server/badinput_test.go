package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
)

// transaction starts MAIL and RCPT for demo and sends DATA, expecting 354.
func transaction(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	io.WriteString(conn, "MAIL FROM:<bad@x.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	for _, want := range []string{"250 2.1.0", "250 2.1.5", "354 "} {
		if l := readReply(t, br); !strings.HasPrefix(l, want) {
			t.Fatalf("got %q, want %q", l, want)
		}
	}
}

// TestBadInput: each bad input gets its reply, the session stays usable where the protocol
// allows, and nothing refused reaches the mailbox.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		// keep the over-size cases quick: 1 MB limit
		appendFile(t, dir+"/esmtpd", "SIZELIMIT=1048576\n")
	}})
	conn, br := rawSession(t, s)
	expect := func(prefix string) {
		t.Helper()
		if l := readReply(t, br); !strings.HasPrefix(l, prefix) {
			t.Fatalf("got %q, want %q", l, prefix)
		}
	}
	accepted := 0

	// bare LF line endings: accepted and stored (as Courier does)
	transaction(t, conn, br)
	io.WriteString(conn, "Subject: bare LF\n\nline one\nline two\r\n.\r\n")
	expect("250 2.0.0 Ok.")
	accepted++

	// NUL in the body: refused, the session goes on
	transaction(t, conn, br)
	io.WriteString(conn, "Subject: NUL\r\n\r\nnul>\x00<here\r\n.\r\n")
	expect("554 5.6.0 Message contains NUL")

	// a 600 KB line: accepted and stored intact (no line limit of ours; the size limit bounds
	// it, and a 1 MB one hits the 1 MB size limit of this test)
	transaction(t, conn, br)
	io.WriteString(conn, "Subject: long line\r\n\r\n"+strings.Repeat("x", 600<<10)+"\r\n.\r\n")
	expect("250 2.0.0 Ok.")
	accepted++

	// declared too big: refused at MAIL
	io.WriteString(conn, "MAIL FROM:<bad@x.test> SIZE=2000000\r\n")
	expect("552 5.3.4")

	// undeclared too big: read and refused at the end, the session goes on
	transaction(t, conn, br)
	line := strings.Repeat("y", 998) + "\r\n"
	io.WriteString(conn, "Subject: too big\r\n\r\n"+strings.Repeat(line, 1100)+".\r\n")
	expect("552 5.3.4 Message too big.")

	// a header block over BOFHHEADERLIMIT (100000): refused
	transaction(t, conn, br)
	hl := "X-Filler: " + strings.Repeat("h", 88) + "\r\n"
	io.WriteString(conn, strings.Repeat(hl, 2000)+"\r\nbody\r\n.\r\n")
	expect("552 5.3.4 Message header too large.")

	// CR and LF injection in MAIL FROM
	io.WriteString(conn, "MAIL FROM:<a@x.test>\rRCPT TO:<victim@elsewhere.test>\r\n")
	expect("500 5.5.2")
	io.WriteString(conn, "MAIL FROM:<a@x.test\nRCPT TO:<victim@elsewhere.test>>\r\n")
	expect("501 5.1.7")
	expect("503 5.5.1 Send MAIL first.")

	// SMTP smuggling: "\n.\r\n" does not end the data; the "inner" transaction is body text
	transaction(t, conn, br)
	io.WriteString(conn, "Subject: outer\r\n\r\nouter body\n.\r\nMAIL FROM:<smuggled@x.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n"+
		"Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
	expect("250 2.0.0 Ok.")
	accepted++
	// and "\r\n.\n" does not end it either
	transaction(t, conn, br)
	io.WriteString(conn, "Subject: outer2\r\n\r\nouter body\r\n.\nMAIL FROM:<smuggled@x.test>\r\n.\r\n")
	expect("250 2.0.0 Ok.")
	accepted++

	// the session still works
	io.WriteString(conn, "NOOP\r\n")
	expect("250 2.0.0 Ok.")

	// a client that sends the body before the 354 to a refused DATA: the body lines are
	// commands, none of them delivers anything
	io.WriteString(conn, "MAIL FROM:<early@x.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\nSubject: early\r\n\r\nbody\r\n.\r\nRSET\r\n")
	expect("250 2.1.0")
	expect("550 5.1.1")
	expect("554 5.5.1 No valid recipients.")
	for range 4 { // "Subject: early", "", "body", "."
		expect("50")
	}
	expect("250 2.0.0 Ok.")
	conn.Close()

	msgs := waitDelivered(t, s, accepted)
	all := strings.Join(msgs, "\n=====\n")
	for _, want := range []string{"Subject: bare LF\n\nline one\nline two\n", "outer body\n.\nMAIL FROM:<smuggled@x.test>\n", "Subject: smuggled\n",
		"Subject: long line\n\n" + strings.Repeat("x", 600<<10) + "\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	for _, bad := range []string{"Subject: NUL", "Subject: too big", "X-Filler", "Subject: early"} {
		if strings.Contains(all, bad) {
			t.Errorf("refused message %q was delivered", bad)
		}
	}
}

// TestEarlyBody: a client that sends the body before the 354 of an accepted DATA gets its
// message delivered (as Postfix; Courier drops it): nothing is lost and the replies match.
func TestEarlyBody(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	conn, br := rawSession(t, s)
	io.WriteString(conn, "MAIL FROM:<early@x.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\nSubject: early\r\n\r\nbody\r\n.\r\nQUIT\r\n")
	for _, want := range []string{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221"} {
		if l := readReply(t, br); !strings.HasPrefix(l, want) {
			t.Fatalf("got %q, want %q", l, want)
		}
	}
	waitDelivered(t, s, 1)
}

// TestManyRcpts: 10,000 pipelined RCPTs: the first 100 are taken, the rest deferred (452),
// and the message is delivered once.
func TestManyRcpts(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	conn, br := rawSession(t, s)
	go func() {
		w := bufio.NewWriter(conn)
		w.WriteString("MAIL FROM:<many@x.test>\r\n")
		for i := range 10000 {
			if i%2 == 0 {
				w.WriteString("RCPT TO:<demo@example.test>\r\n")
			} else {
				w.WriteString("RCPT TO:<Postmaster@example.test>\r\n")
			}
		}
		w.WriteString("DATA\r\n")
		w.Flush()
	}()
	if l := readReply(t, br); !strings.HasPrefix(l, "250") {
		t.Fatal(l)
	}
	ok, deferred := 0, 0
	for range 10000 {
		switch l := readReply(t, br); {
		case strings.HasPrefix(l, "250 "):
			ok++
		case strings.HasPrefix(l, "452 4.5.3"):
			deferred++
		default:
			t.Fatalf("reply %q", l)
		}
	}
	if ok != 100 || deferred != 9900 {
		t.Fatalf("%d accepted, %d deferred", ok, deferred)
	}
	if l := readReply(t, br); !strings.HasPrefix(l, "354") {
		t.Fatal(l)
	}
	io.WriteString(conn, "Subject: many\r\n\r\nx\r\n.\r\n")
	if l := readReply(t, br); !strings.HasPrefix(l, "250") {
		t.Fatal(l)
	}
	waitDelivered(t, s, 1)
	time.Sleep(200 * time.Millisecond)
	waitDelivered(t, s, 1)
}

// TestHugeHeaderBlock: a 10 MB header block (no body) under a 20 MB size limit is
// refused for its header size and nothing is kept.
func TestHugeHeaderBlock(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		appendFile(t, dir+"/esmtpd", "SIZELIMIT=20971520\n")
	}})
	conn, br := rawSession(t, s)
	transaction(t, conn, br)
	go func() {
		w := bufio.NewWriterSize(conn, 64<<10)
		hl := fmt.Sprintf("X-H: %s\r\n", strings.Repeat("z", 95))
		for range 10 << 20 / len(hl) {
			w.WriteString(hl)
		}
		w.WriteString("\r\nbody\r\n.\r\nQUIT\r\n")
		w.Flush()
	}()
	if l := readReply(t, br); !strings.HasPrefix(l, "552 5.3.4 Message header too large.") {
		t.Fatal(l)
	}
	if l := readReply(t, br); !strings.HasPrefix(l, "221") {
		t.Fatal(l)
	}
	if n := len(delivered(t, s)); n != 0 {
		t.Fatalf("%d delivered", n)
	}
	if n := queued(t, s); n != 0 {
		t.Fatalf("%d queued", n)
	}
}
