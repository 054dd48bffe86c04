package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
)

func TestCommands(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.Transcript(`
		S: 220 example.test ESMTP
		C: MAIL FROM:<a@b.test>
		S: 503 5.5.1 Send HELO/EHLO first.
		C: HELO client.test
		S: 250 example.test Ok.
		C: EHLO client.test
		S: 250-example.test Ok.
		S: 250-AUTH PLAIN LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256
		S: 250-STARTTLS
		S: 250-PIPELINING
		S: 250-8BITMIME
		S: 250-SMTPUTF8
		S: 250-SIZE 10485760
		S: 250-DSN
		S: 250-ENHANCEDSTATUSCODES
		S: 250 CHUNKING
		C: NOOP
		S: 250 2.0.0 Ok.
		C: VRFY demo
		S: 252 2.5.2 VRFY disabled, send some mail and see what happens.
		C: EXPN postmaster
		S: 502 5.5.1 EXPN disabled.
		C: HELP
		S: 214 2.0.0 See RFC 5321.
		C: FROB
		S: 502 5.5.2 Command not recognised.
		C: RCPT TO:<demo@example.test>
		S: 503 5.5.1 Send MAIL first.
		C: DATA
		S: 503 5.5.1 Send MAIL first.
		C: MAIL FROM:<a@b.test> SIZE=20000000
		S: 552 5.3.4 Message too big (the limit is 10485760 octets).
		C: MAIL FROM:<a@b.test> FOO=BAR
		S: 555 5.5.4 Unsupported parameter FOO.
		C: MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc
		S: 250 2.1.0 Ok.
		C: MAIL FROM:<a@b.test>
		S: 503 5.5.1 Sender already specified.
		C: RCPT TO:<nosuchuser@example.test>
		S: 550 5.1.1 <nosuchuser@example.test>: unknown user.
		C: DATA
		S: 554 5.5.1 No valid recipients.
		C: RCPT TO:<demo@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;demo+40example.test
		S: 250 2.1.5 Ok.
		C: RCPT TO:<Postmaster>
		S: 250 2.1.5 Ok.
		C: RSET
		S: 250 2.0.0 Ok.
		C: DATA
		S: 503 5.5.1 Send MAIL first.
		C: MAIL FROM:<>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo@example.test>
		S: 250 2.1.5 Ok.
		C: DATA extra
		S: 501 5.5.4 DATA takes no argument.
		C: DATA
		S: 354 Ok.
		C: Subject: commands
		C: 
		C: ..dot-stuffed line
		C: .
		S~ ^250 2\.0\.0 Ok\. [0-9a-z]+$
		C: QUIT
		S: 221 2.0.0 example.test Bye.
	`)
	c.ExpectClosed()
	msgs := waitDelivered(t, s, 1)
	m := msgs[0]
	for _, want := range []string{"Return-Path: <>\n", "Delivered-To: demo@example.test\n", "Received: from client.test ([127.0.0.1])\n",
		"  by example.test with ESMTP\n", "\n.dot-stuffed line\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "\r") {
		t.Errorf("stored message has CR:\n%q", m)
	}
	if strings.Contains(m, "Message-ID:") || strings.Contains(m, "\nDate:") {
		t.Errorf("port 25 added Message-ID or Date (NOADDMSGID=1, NOADDDATE=1):\n%s", m)
	}
}

// TestPipelining sends a whole transaction, with good and bad recipients, in one write
// (RFC 2920) and gets every reply in order.
func TestPipelining(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.Expect("220 example.test ESMTP")
	_, err := io.WriteString(c.Raw(), "EHLO x.test\r\nMAIL FROM:<p@x.test>\r\nRCPT TO:<demo@example.test>\r\n"+
		"RCPT TO:<nobody@example.test>\r\nRCPT TO:<someone@elsewhere.test>\r\nDATA\r\nSubject: piped\r\n\r\nhi\r\n.\r\n"+
		"MAIL FROM:<p@x.test>\r\nRCPT TO:<postmaster@localhost>\r\nDATA\r\nSubject: piped 2\r\n\r\nhi\r\n.\r\nQUIT\r\n")
	if err != nil {
		t.Fatal(err)
	}
	readEhlo(t, c)
	c.Transcript(`
		S: 250 2.1.0 Ok.
		S: 250 2.1.5 Ok.
		S: 550 5.1.1 <nobody@example.test>: unknown user.
		S: 550 5.7.1 Relaying denied.
		S: 354 Ok.
		S~ ^250 2\.0\.0 Ok\.
		S: 250 2.1.0 Ok.
		S: 250 2.1.5 Ok.
		S: 354 Ok.
		S~ ^250 2\.0\.0 Ok\.
		S: 221 2.0.0 example.test Bye.
	`)
	msgs := waitDelivered(t, s, 2)
	joined := strings.Join(msgs, "")
	if !strings.Contains(joined, "Subject: piped 2\n") {
		t.Errorf("postmaster@localhost (alias → demo) not delivered:\n%s", joined)
	}
}

// TestRelayDenied: no port relays without AUTH; AUTH_REQUIRED ports refuse MAIL first.
func TestRelayDenied(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	for _, svc := range []string{"smtp", "submission", "smtps"} {
		c := ehlo(t, s, svc)
		c.Send("MAIL FROM:<spammer@x.test>")
		if svc == "smtp" {
			c.Expect("250 2.1.0 Ok.")
			c.Send("RCPT TO:<victim@elsewhere.test>")
			c.Expect("550 5.7.1 Relaying denied.")
			c.Send("RCPT TO:<victim%elsewhere.test@example.test>")
			c.Expect("550 5.1.1 <victim%elsewhere.test@example.test>: unknown user.")
			c.Send("RCPT TO:<@example.test:victim@elsewhere.test>")
			c.Expect("550 5.7.1 Relaying denied.")
		} else {
			c.Expect("530 5.7.0 Authentication required.")
			c.Send("RCPT TO:<victim@elsewhere.test>")
			c.Expect("530 5.7.0 Authentication required.")
		}
	}
	// With AUTH_REQUIRED=0 everywhere the answer at RCPT is 5.7.1 on every port.
	s2 := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		for _, f := range []string{"esmtpd-msa", "esmtpd-ssl"} {
			appendFile(t, filepath.Join(dir, f), "AUTH_REQUIRED=0\n")
		}
	}})
	for _, svc := range []string{"smtp", "submission", "smtps"} {
		c := ehlo(t, s2, svc)
		c.Transcript(`
			C: MAIL FROM:<spammer@x.test>
			S: 250 2.1.0 Ok.
			C: RCPT TO:<victim@elsewhere.test>
			S: 550 5.7.1 Relaying denied.
			C: DATA
			S: 554 5.5.1 No valid recipients.
		`)
	}
	if n := queued(t, s) + queued(t, s2); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestAuthRelay: AUTH PLAIN and LOGIN on 587, then mail to another domain is accepted and
// waits in the queue (outbound delivery is a later issue); Message-ID and Date are added.
func TestAuthRelay(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := ehlo(t, s, "submission")
	c.Transcript(`
		C: AUTH PLAIN ` + plain("demo@example.test", "wrong") + `
		S: 535 5.7.8 Authentication failed.
		C: AUTH FOO
		S: 504 5.5.4 Unrecognized authentication type.
		C: AUTH PLAIN
		S: 334 
		C: *
		S: 501 5.0.0 Authentication cancelled.
		C: AUTH PLAIN ` + plain("demo@example.test", "demo-Pass-1") + `
		S: 235 2.7.0 Authentication successful.
		C: AUTH PLAIN ` + plain("demo@example.test", "demo-Pass-1") + `
		S: 503 5.5.1 Already authenticated.
		C: MAIL FROM:<demo@example.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<friend@elsewhere.test>
		S: 250 2.1.5 Ok.
		C: RCPT TO:<demo@example.test>
		S: 250 2.1.5 Ok.
		C: DATA
		S: 354 Ok.
		C: Subject: relayed
		C: 
		C: hello
		C: .
		S~ ^250 2\.0\.0 Ok\.
		C: QUIT
		S: 221 2.0.0 example.test Bye.
	`)
	m := waitDelivered(t, s, 1)[0]
	for _, want := range []string{"(AUTH: PLAIN demo@example.test)", "with ESMTPA", "\nMessage-ID: <courier.", "\nDate: "} {
		if !strings.Contains(m, want) {
			t.Errorf("message lacks %q:\n%s", want, m)
		}
	}
	// the remote recipient stays queued
	time.Sleep(100 * time.Millisecond)
	if n := queued(t, s); n != 1 {
		t.Fatalf("%d messages in the queue, want 1 (held for friend@elsewhere.test)", n)
	}
	c2 := ehlo(t, s, "submission")
	c2.Transcript(`
		C: AUTH LOGIN
		S: 334 VXNlcm5hbWU6
		C: ` + b64("demo@example.test") + `
		S: 334 UGFzc3dvcmQ6
		C: ` + b64("demo-Pass-1") + `
		S: 235 2.7.0 Authentication successful.
		C: MAIL FROM:<demo@example.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<other@elsewhere.test>
		S: 250 2.1.5 Ok.
	`)
}

// TestSTARTTLS: after STARTTLS the session starts over, input pipelined with STARTTLS is
// discarded, and AUTH PLAIN works over TLS.
func TestSTARTTLS(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := ehlo(t, s, "smtp")
	// a command pipelined after STARTTLS in the clear must not run inside TLS
	io.WriteString(c.Raw(), "STARTTLS\r\nMAIL FROM:<injected@x.test>\r\n")
	c.Expect("220 2.0.0 Ready to start TLS.")
	tc := tls.Client(c.Raw(), &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c2 := testutil.Wrap(t, tc)
	c2.Send("MAIL FROM:<a@b.test>")
	c2.Expect("503 5.5.1 Send HELO/EHLO first.")
	c2.Send("EHLO client.test")
	kw := readEhlo(t, c2)
	if strings.Contains(strings.Join(kw, "\n"), "STARTTLS") {
		t.Fatalf("STARTTLS offered inside TLS: %v", kw)
	}
	c2.Transcript(`
		C: STARTTLS
		S: 503 5.5.1 Already using TLS.
		C: AUTH PLAIN ` + plain("demo@example.test", "demo-Pass-1") + `
		S: 235 2.7.0 Authentication successful.
		C: QUIT
		S: 221 2.0.0 example.test Bye.
	`)
}

// TestBDAT: CHUNKING (RFC 3030).
func TestBDAT(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := ehlo(t, s, "smtp")
	c.Send("MAIL FROM:<a@b.test>")
	c.Expect("250 2.1.0 Ok.")
	c.Send("RCPT TO:<demo@example.test>")
	c.Expect("250 2.1.5 Ok.")
	part1 := "Subject: chunks\r\n\r\nfirst "
	part2 := "part\r\n.second line\r\n"
	io.WriteString(c.Raw(), fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	c.Expect(fmt.Sprintf("250 2.0.0 %d octets received.", len(part1)))
	io.WriteString(c.Raw(), fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	c.ExpectMatch(`^250 2\.0\.0 Ok\.`)
	// BDAT without a transaction: the chunk is read and refused
	io.WriteString(c.Raw(), "BDAT 5 LAST\r\nxxxxxNOOP\r\n")
	c.Expect("503 5.5.1 Send MAIL first.")
	c.Expect("250 2.0.0 Ok.")
	m := waitDelivered(t, s, 1)[0]
	if !strings.HasSuffix(m, "Subject: chunks\n\nfirst part\n.second line\n") {
		t.Fatalf("stored:\n%q", m)
	}
}

// TestRefuse: the connection limit's answer.
func TestRefuse(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		appendFile(t, filepath.Join(dir, "esmtpd"), "MAXPERIP=1\n")
	}})
	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.Expect("220 example.test ESMTP")
	c2 := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c2.ExpectMatch(`^421 4\.7\.0 Too many connections`)
}

// TestVanishMidData: a client that disconnects mid-DATA has nothing acknowledged and
// leaves nothing behind.
func TestVanishMidData(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := ehlo(t, s, "smtp")
	c.Transcript(`
		C: MAIL FROM:<a@b.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo@example.test>
		S: 250 2.1.5 Ok.
		C: DATA
		S: 354 Ok.
		C: Subject: never finished
		C: 
		C: partial body
	`)
	c.Raw().Close()
	time.Sleep(300 * time.Millisecond)
	if n := len(delivered(t, s)); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
	if n := queued(t, s); n != 0 {
		t.Fatalf("%d files in the queue", n)
	}
}

// rawSession dials smtp and returns the connection after EHLO, with a reader.
func rawSession(t *testing.T, s *testutil.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", s.MustAddr(t, "smtp"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	readReply(t, br)
	io.WriteString(conn, "EHLO bad.test\r\n")
	readReply(t, br)
	return conn, br
}

// readReply reads one (possibly multi-line) reply and returns its last line.
func readReply(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a reply: %v (got %q)", err, l)
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 || l[3] == ' ' {
			return l
		}
	}
}

// TestAuthThrottle: 20 wrong passwords from one address. After LOGIN_THROTTLE_LOCKOUT
// failures AUTH answers 454 4.7.0 (temporary: RFC 4954 §6) even for the right password, on
// every connection from that address, and the lockout is shared with the other protocols.
func TestAuthThrottle(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		appendFile(t, filepath.Join(dir, "authdaemonrc"), "LOGIN_THROTTLE_FREE=3\nLOGIN_THROTTLE_DELAY=1ms\n"+
			"LOGIN_THROTTLE_MAXDELAY=4ms\nLOGIN_THROTTLE_LOCKOUT=10\nLOGIN_THROTTLE_LOCKOUT_TIME=1h\n")
	}})
	var replies []string
	for conn := 0; conn < 2; conn++ {
		c := ehlo(t, s, "submission")
		for i := 0; i < 10; i++ {
			c.Send("AUTH PLAIN " + plain("demo@example.test", fmt.Sprint("wrong", conn, i)))
			l, err := c.ReadLine()
			if err != nil {
				t.Fatal(err)
			}
			replies = append(replies, l)
		}
		c.Send("QUIT")
	}
	for i, l := range replies {
		want := "535 5.7.8 Authentication failed."
		if i >= 10 {
			want = "454 4.7.0 Too many failed logins, try again later."
		}
		if l != want {
			t.Errorf("attempt %d: %q, want %q", i+1, l, want)
		}
	}
	c := ehlo(t, s, "submission")
	c.Transcript(`
		C: AUTH PLAIN ` + plain("demo@example.test", "demo-Pass-1") + `
		S: 454 4.7.0 Too many failed logins, try again later.`)
	p := testutil.Dial(t, s.MustAddr(t, "pop3"))
	p.Transcript(`
		S~ ^\+OK
		C: USER demo@example.test
		S: +OK Password required.
		C: PASS demo-Pass-1
		S: -ERR [SYS/TEMP] Too many failed logins, try again later.`)
}
