package pop3_test

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/pop3"
	"courier/internal/pop3/pop3maildir"
	"courier/internal/testutil"
)

var (
	size1 = popSize(testMessages[0])
	size2 = popSize(testMessages[1])
	size3 = popSize(testMessages[2])
)

func TestCAPABeforeAndAfterLogin(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.dial()
	// quickstart: POP3AUTH="LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256"; demo has a CRAM-MD5
	// secret only, so the SHA variants are not offered; loopback may log in in clear.
	c.Transcript(`
		C: CAPA
		S: +OK Here's what I can do:
		S: SASL LOGIN CRAM-MD5
		S: STLS
		S: TOP
		S: USER
		S: LOGIN-DELAY 10
		S: PIPELINING
		S: UIDL
		S: UTF8 USER
		S: RESP-CODES
		S: AUTH-RESP-CODE
		S: LANG
		S: IMPLEMENTATION Courier Mail Server
		S: .
		C: USER ` + demoUser + `
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: +OK logged in.
		C: capa
		S: +OK Here's what I can do:
		S: TOP
		S: USER
		S: LOGIN-DELAY 10
		S: PIPELINING
		S: UIDL
		S: UTF8 USER
		S: RESP-CODES
		S: AUTH-RESP-CODE
		S: LANG
		S: IMPLEMENTATION Courier Mail Server
		S: .
		C: QUIT
		S: +OK Bye-bye.`)
	c.ExpectClosed()
}

func TestCommandsBeforeLogin(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.dial()
	c.Transcript(`
		C: STAT
		S: -ERR Invalid command.
		C: LIST
		S: -ERR Invalid command.
		C: RETR 1
		S: -ERR Invalid command.
		C: DELE 1
		S: -ERR Invalid command.
		C: NOOP
		S: -ERR Invalid command.
		C: APOP demo 0123456789abcdef0123456789abcdef
		S: -ERR Invalid command.
		C: PASS ` + demoPass + `
		S: -ERR USER/PASS required.
		C: USER
		S: -ERR Invalid command.
		C: 
		S: -ERR Invalid command.
		C: XYZZY
		S: -ERR Invalid command.
		C: UTF8
		S: +OK UTF8 enabled
		C: LANG
		S: +OK Language listing follows:
		S: en English
		S: i-default Default language
		S: .
		C: LANG fr
		S: -ERR Language not available.
		C: LANG *
		S: +OK en English
		C: QUIT
		S: +OK Better luck next time.`)
	c.ExpectClosed()
	e.waitFiles("new/1600000001.M1P1.test", "new/1600000002.M2P1.test", "new/1600000003.M3P1.test")
}

func TestTransaction(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.login()
	c.Transcript(fmt.Sprintf(`
		C: STAT
		S: +OK 3 %[4]d
		C: LIST
		S: +OK POP3 clients that break here, they violate STD53.
		S: 1 %[1]d
		S: 2 %[2]d
		S: 3 %[3]d
		S: .
		C: LIST 2
		S: +OK 2 %[2]d
		C: UIDL
		S: +OK
		S~ ^1 UID1-\d+$
		S~ ^2 UID2-\d+$
		S~ ^3 UID3-\d+$
		S: .
		C: UIDL 3
		S~ ^\+OK 3 UID3-\d+$
		C: TOP 1 0
		S: +OK headers follow.
		S: From: a@example.org
		S: Subject: one
		S: 
		S: .
		C: TOP 1 2
		S: +OK headers follow.
		S: From: a@example.org
		S: Subject: one
		S: 
		S: line one
		S: line two
		S: .
		C: TOP 2 99
		S: +OK headers follow.
		S: From: b@example.org
		S: Subject: two
		S: 
		S: ..
		S: ...
		S: no final newline
		S: .
		C: RETR 1
		S: +OK %[1]d octets follow.
		S: From: a@example.org
		S: Subject: one
		S: 
		S: line one
		S: line two
		S: ..dot line
		S: .
		C: NOOP
		S: +OK Yup.
		C: DELE 2
		S: +OK Deleted.
		C: DELE 2
		S: -ERR Invalid message number.
		C: RETR 2
		S: -ERR Invalid message number.
		C: TOP 2 0
		S: -ERR Invalid message number.
		C: LIST 2
		S: -ERR Invalid message number.
		C: UIDL 2
		S: -ERR Invalid message number.
		C: STAT
		S: +OK 2 %[5]d
		C: LIST
		S: +OK POP3 clients that break here, they violate STD53.
		S: 1 %[1]d
		S: 3 %[3]d
		S: .
		C: RSET
		S: +OK Resurrected.
		C: STAT
		S: +OK 3 %[4]d
		C: DELE 3
		S: +OK Deleted.
		C: USER x
		S: -ERR Invalid command.
		C: PASS x
		S: -ERR Invalid command.
		C: AUTH PLAIN
		S: -ERR Invalid command.
		C: STLS
		S: -ERR Invalid command.
		C: QUIT
		S: +OK Bye-bye.`, size1, size2, size3, size1+size2+size3, size1+size3))
	c.ExpectClosed()
	// RETR marked 1 seen; 2 was undeleted by RSET and only looked at; 3 is gone.
	e.waitFiles("cur/1600000001.M1P1.test:2,S", "cur/1600000002.M2P1.test:2,")
}

func TestBadNumbers(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.login()
	c.Transcript(fmt.Sprintf(`
		C: LIST 0
		S: -ERR Invalid message number.
		C: LIST 4
		S: -ERR Invalid message number.
		C: LIST -1
		S: -ERR Invalid message number.
		C: LIST abc
		S: -ERR Invalid message number.
		C: LIST 4294967297
		S: -ERR Invalid message number.
		C: LIST 99999999999999999999999
		S: -ERR Invalid message number.
		C: LIST +1
		S: +OK 1 %[1]d
		C: LIST 01
		S: +OK 1 %[1]d
		C: LIST 1x
		S: +OK 1 %[1]d
		C: list   1 extra
		S: +OK 1 %[1]d
		C: RETR
		S: -ERR Invalid message number.
		C: DELE
		S: -ERR Invalid message number.
		C: DELE 0
		S: -ERR Invalid message number.
		C: TOP
		S: -ERR Invalid message number.
		C: TOP 1
		S: -ERR Invalid command.
		C: TOP 9 1
		S: -ERR Invalid message number.
		C: TOP 3 -1
		S: +OK headers follow.
		S: From: c@example.org
		S: Subject: three
		S: 
		S: body
		S: .
		C: TOP 3 x
		S: +OK headers follow.
		S: From: c@example.org
		S: Subject: three
		S: 
		S: .
		C: UIDL 0
		S: -ERR Invalid message number.
		C:  STAT
		S: +OK 3 %[2]d
		C: QUIT
		S: +OK Bye-bye.`, size1, size1+size2+size3))
	e.waitFiles("cur/1600000001.M1P1.test:2,", "cur/1600000002.M2P1.test:2,", "cur/1600000003.M3P1.test:2,")
}

func TestDroppedConnectionDeletesNothing(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.login()
	c.Transcript(`
		C: DELE 1
		S: +OK Deleted.
		C: DELE 2
		S: +OK Deleted.`)
	// "QUIT" without its line end, then the connection drops.
	if _, err := io.WriteString(c.Raw(), "QUIT"); err != nil {
		t.Fatal(err)
	}
	c.Raw().Close()
	time.Sleep(200 * time.Millisecond)
	e.waitFiles("cur/1600000001.M1P1.test:2,", "cur/1600000002.M2P1.test:2,", "cur/1600000003.M3P1.test:2,")
}

func TestBadLogins(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.dial()
	c.Transcript(`
		C: USER ` + demoUser + `
		S: +OK Password required.
		C: PASS wrong
		S: -ERR [AUTH] Login failed.
		C: PASS ` + demoPass + `
		S: -ERR USER/PASS required.
		C: USER nobody@example.test
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: -ERR [AUTH] Login failed.
		C: USER off@example.test
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: -ERR [SYS/PERM] POP3 access is disabled for this account.
		C: USER secure@example.test
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: -ERR [SYS/PERM] POP3 access is disabled for this account.
		C: USER ` + demoUser + `
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: +OK logged in.
		C: QUIT
		S: +OK Bye-bye.`)
}

func TestPlaintextLoginNeedsTLS(t *testing.T) {
	t.Parallel()
	e := startApp(t, func(conf string) { setEnv(t, filepath.Join(conf, "pop3d"), "PLAINTEXT_LOGIN_FROM", `""`) })
	c := e.dial()
	c.Transcript(`
		C: CAPA
		S: +OK Here's what I can do:
		S: SASL CRAM-MD5
		S: STLS
		S: TOP
		S: LOGIN-DELAY 10
		S: PIPELINING
		S: UIDL
		S: UTF8
		S: RESP-CODES
		S: AUTH-RESP-CODE
		S: LANG
		S: IMPLEMENTATION Courier Mail Server
		S: .
		C: USER ` + demoUser + `
		S: -ERR TLS required to log in: use STLS first.
		C: PASS ` + demoPass + `
		S: -ERR USER/PASS required.
		C: AUTH LOGIN
		S: -ERR Unsupported authentication mechanism.
		C: AUTH PLAIN
		S: -ERR Unsupported authentication mechanism.
		C: STLS
		S: +OK Begin SSL/TLS negotiation now.`)
	c = startTLS(t, e, c)
	c.Transcript(`
		C: CAPA
		S: +OK Here's what I can do:
		S: SASL PLAIN LOGIN
		S: TOP
		S: USER
		S: LOGIN-DELAY 10
		S: PIPELINING
		S: UIDL
		S: UTF8 USER
		S: RESP-CODES
		S: AUTH-RESP-CODE
		S: LANG
		S: IMPLEMENTATION Courier Mail Server
		S: .
		C: STLS
		S: -ERR TLS support not available.
		C: USER secure@example.test
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: +OK logged in.
		C: QUIT
		S: +OK Bye-bye.`)
}

// startTLS completes the handshake after "+OK Begin SSL/TLS negotiation now.".
func startTLS(t *testing.T, e *env, c *testutil.Conn) *testutil.Conn {
	t.Helper()
	tc := tls.Client(c.Raw(), &tls.Config{RootCAs: e.certs, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("STLS handshake: %v", err)
	}
	return testutil.Wrap(t, tc)
}

func TestTLSRequired(t *testing.T) {
	t.Parallel()
	e := startApp(t, func(conf string) { setEnv(t, filepath.Join(conf, "pop3d-ssl"), "POP3_TLS_REQUIRED", "1") })
	c := e.dial()
	c.Transcript(`
		C: USER ` + demoUser + `
		S: -ERR TLS required to log in: use STLS first.
		C: AUTH CRAM-MD5
		S: -ERR TLS required to log in.
		C: STLS
		S: +OK Begin SSL/TLS negotiation now.`)
	c = startTLS(t, e, c)
	c.Transcript(`
		C: AUTH PLAIN ` + base64.StdEncoding.EncodeToString([]byte("\x00"+demoUser+"\x00"+demoPass)) + `
		S: +OK logged in.
		C: STAT
		S~ ^\+OK 3 \d+$`)
}

func TestPOP3S(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.dialTLS()
	c.Transcript(`
		C: CAPA
		S: +OK Here's what I can do:
		S: SASL PLAIN LOGIN
		S: TOP
		S: USER
		S: LOGIN-DELAY 10
		S: PIPELINING
		S: UIDL
		S: UTF8 USER
		S: RESP-CODES
		S: AUTH-RESP-CODE
		S: LANG
		S: IMPLEMENTATION Courier Mail Server
		S: .
		C: AUTH PLAIN
		S: + 
		C: ` + base64.StdEncoding.EncodeToString([]byte("\x00"+demoUser+"\x00"+demoPass)) + `
		S: +OK logged in.
		C: QUIT
		S: +OK Bye-bye.`)
}

func TestAUTH(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.dial()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	c.Transcript(`
		C: AUTH
		S: +OK
		S: LOGIN
		S: CRAM-MD5
		S: .
		C: AUTH X-UNKNOWN
		S: -ERR Unsupported authentication mechanism.
		C: AUTH LOGIN
		S: + ` + b64("Username:") + `
		C: *
		S: -ERR Authentication aborted.
		C: AUTH LOGIN
		S: + ` + b64("Username:") + `
		C: not base64!
		S: -ERR [AUTH] Authentication failed.
		C: AUTH LOGIN ` + b64(demoUser) + `
		S: + ` + b64("Password:") + `
		C: ` + b64("wrong") + `
		S: -ERR [AUTH] Authentication failed.
		C: AUTH LOGIN
		S: + ` + b64("Username:") + `
		C: ` + b64(demoUser) + `
		S: + ` + b64("Password:") + `
		C: ` + b64(demoPass) + `
		S: +OK logged in.
		C: QUIT
		S: +OK Bye-bye.`)

	// CRAM-MD5 (RFC 2195).
	c = e.dial()
	c.Send("AUTH CRAM-MD5")
	line := c.ExpectMatch(`^\+ \S+$`)
	chal, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "+ "))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(md5.New, []byte(demoPass))
	m.Write(chal)
	c.Send(b64(demoUser + " " + hex.EncodeToString(m.Sum(nil))))
	c.Expect("+OK logged in.")
}

func TestOverlongLine(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.login()
	c.Send("NOOP " + strings.Repeat("x", pop3.MaxLine+100))
	c.Expect("-ERR Command line too long.")
	c.Send(strings.Repeat("y", 3*pop3.MaxLine))
	c.Expect("-ERR Command line too long.")
	c.Transcript(`
		C: NOOP
		S: +OK Yup.
		C: QUIT
		S: +OK Bye-bye.`)
}

func TestPipelining(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	c := e.dial()
	// RFC 2449 §6.6: the whole session in one write.
	if _, err := io.WriteString(c.Raw(), "USER "+demoUser+"\r\nPASS "+demoPass+"\r\nSTAT\r\nDELE 3\r\nLIST 3\r\nQUIT\r\n"); err != nil {
		t.Fatal(err)
	}
	c.Transcript(fmt.Sprintf(`
		S: +OK Password required.
		S: +OK logged in.
		S: +OK 3 %d
		S: +OK Deleted.
		S: -ERR Invalid message number.
		S: +OK Bye-bye.`, size1+size2+size3))
	c.ExpectClosed()
	e.waitFiles("cur/1600000001.M1P1.test:2,", "cur/1600000002.M2P1.test:2,")
}

func TestUIDLStableAcrossSessions(t *testing.T) {
	t.Parallel()
	e := startApp(t, nil)
	uidls := func() string {
		c := e.login()
		c.Send("UIDL")
		c.Expect("+OK")
		var b strings.Builder
		for {
			l, err := c.ReadLine()
			if err != nil {
				t.Fatal(err)
			}
			if l == "." {
				break
			}
			b.WriteString(l + "\n")
		}
		c.Send("QUIT")
		c.Expect("+OK Bye-bye.")
		c.ExpectClosed()
		return b.String()
	}
	first := uidls()
	if second := uidls(); second != first {
		t.Fatalf("UIDLs changed between sessions:\n%s\nthen\n%s", first, second)
	}
	// A flag change by another program keeps the UID; a new message gets the next one.
	if err := os.Rename(filepath.Join(e.maildir, "cur", "1600000002.M2P1.test:2,"),
		filepath.Join(e.maildir, "cur", "1600000002.M2P1.test:2,FS")); err != nil {
		t.Fatal(err)
	}
	deliver(t, e.maildir, "1600000009.M9P1.test", "Subject: four\n\nx\n")
	third := uidls()
	v := strings.TrimSpace(strings.SplitN(strings.Fields(first)[1], "-", 2)[1])
	if want := first + "4 UID4-" + v + "\n"; third != want {
		t.Fatalf("after a flag change and a delivery:\n%s\nwant\n%s", third, want)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	b := startBare(t, loopbackSettings(), func(c *pop3.Config) {
		c.Throttle = auth.NewThrottle(auth.ThrottleConfig{FreeFailures: 1, LockoutAfter: 3,
			BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, LockoutFor: time.Hour}, nil)
	})
	c := b.dial()
	for i := 0; i < 3; i++ {
		c.Transcript(`
			C: USER ` + demoUser + `
			S: +OK Password required.
			C: PASS wrong
			S: -ERR [AUTH] Login failed.`)
	}
	c.Transcript(`
		C: USER ` + demoUser + `
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: -ERR [SYS/TEMP] Too many failed logins, try again later.
		C: AUTH LOGIN
		S: -ERR [SYS/TEMP] Too many failed logins, try again later.`)
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	b := startBare(t, loopbackSettings(), func(c *pop3.Config) { c.IdleTimeout = 3 * time.Second })
	c := b.login()
	c.Transcript(`
		C: DELE 1
		S: +OK Deleted.
		S: -ERR Disconnected for inactivity.`)
	c.ExpectClosed()
	b.waitFiles("cur/1600000001.M1P1.test:2,", "cur/1600000002.M2P1.test:2,", "cur/1600000003.M3P1.test:2,")
}

func TestShutdownEndsIdleSessions(t *testing.T) {
	t.Parallel()
	b := startBare(t, loopbackSettings(), nil)
	c := b.login()
	c.Transcript(`
		C: DELE 1
		S: +OK Deleted.`)
	done := make(chan struct{})
	go func() { b.stop(); close(done) }()
	c.Expect("-ERR [SYS/TEMP] Server shutting down, try again later.")
	c.ExpectClosed()
	<-done
	b.waitFiles("cur/1600000001.M1P1.test:2,", "cur/1600000002.M2P1.test:2,", "cur/1600000003.M3P1.test:2,")
}

func TestMessageVanishes(t *testing.T) {
	t.Parallel()
	b := startBare(t, loopbackSettings(), nil)
	c := b.login()
	// Another program deletes message 2 and flags message 3 during the session.
	if err := os.Remove(filepath.Join(b.maildir, "cur", "1600000002.M2P1.test:2,")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(b.maildir, "cur", "1600000003.M3P1.test:2,"),
		filepath.Join(b.maildir, "cur", "1600000003.M3P1.test:2,F")); err != nil {
		t.Fatal(err)
	}
	c.Transcript(fmt.Sprintf(`
		C: RETR 2
		S: -ERR Can't open the message file - it's gone!
		C: TOP 3 0
		S: +OK headers follow.
		S: From: c@example.org
		S: Subject: three
		S: 
		S: .
		C: RETR 3
		S: +OK %d octets follow.
		S: From: c@example.org
		S: Subject: three
		S: 
		S: body
		S: .
		C: DELE 2
		S: +OK Deleted.
		C: QUIT
		S: +OK Bye-bye.`, size3))
	b.waitFiles("cur/1600000001.M1P1.test:2,", "cur/1600000003.M3P1.test:2,FS")
}

func TestRefuse(t *testing.T) {
	t.Parallel()
	srv := pop3.New(pop3.Config{})
	a, b := net.Pipe()
	go func() { srv.Refuse(a, "Too many connections, try again later."); a.Close() }()
	got, _ := io.ReadAll(b)
	if string(got) != "-ERR [SYS/TEMP] Too many connections, try again later.\r\n" {
		t.Fatalf("Refuse wrote %q", got)
	}
}

func TestSettingsFromEnv(t *testing.T) {
	t.Parallel()
	s, err := pop3.SettingsFromEnv(map[string]string{"POP3AUTH": "LOGIN  CRAM-MD5", "POP3_STARTTLS": "YES",
		"POP3_TLS_REQUIRED": "0", "PLAINTEXT_LOGIN_FROM": "127.0.0.0/8, ::1", "POP3_LOG_DELETIONS": "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.SASL) != 2 || !s.STARTTLS || s.TLSRequired || len(s.PlaintextFrom) != 2 || !s.LogDeletions ||
		s.MaildirPath != "Maildir" {
		t.Fatalf("settings: %+v", s)
	}
	if _, err := pop3.SettingsFromEnv(map[string]string{"PLAINTEXT_LOGIN_FROM": "not-an-address"}, nil); err == nil {
		t.Fatal("a bad PLAINTEXT_LOGIN_FROM was accepted")
	}
}

func TestServeMaildrop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "etc")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	md := prepare(t, conf)
	drop, err := openDrop(md)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	in := strings.NewReader("STAT\r\nDELE 1\r\nQUIT") // the last line has no line end
	if err := pop3.New(pop3.Config{}).ServeMaildrop(context.Background(), in, &out, drop); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("+OK logged in.\r\n+OK 3 %d\r\n+OK Deleted.\r\n+OK Bye-bye.\r\n", size1+size2+size3)
	if out.String() != want {
		t.Fatalf("session:\n%q\nwant\n%q", out.String(), want)
	}
	if _, err := os.Stat(filepath.Join(md, "cur", "1600000001.M1P1.test:2,")); !os.IsNotExist(err) {
		t.Fatalf("message 1 not deleted: %v", err)
	}
}

func openDrop(md string) (pop3.Maildrop, error) {
	return pop3maildir.Open(context.Background(), md, nil)
}
