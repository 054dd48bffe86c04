package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/imap/server"
	"courier/internal/netx"
	"courier/internal/smap"
	"courier/internal/store"
	"courier/internal/store/maildirstore"
	"courier/internal/testutil"
)

// smapLogin connects to the imap listener, checks that SMAP1 is offered, and switches to
// SMAP with Courier's "\SMAP1 LOGIN".
func smapLogin(t *testing.T, s *testutil.Server) *testutil.Conn {
	t.Helper()
	c := testutil.Dial(t, s.MustAddr(t, "imap"))
	g := c.ExpectMatch(`^\* OK \[CAPABILITY IMAP4rev1 .*\] `)
	if !strings.Contains(g, " SMAP1") {
		t.Fatalf("greeting lacks SMAP1: %s", g)
	}
	c.Send("a CAPABILITY")
	if cp := c.ExpectMatch(`^\* CAPABILITY IMAP4rev1 `); !strings.Contains(cp+" ", " SMAP1 ") {
		t.Fatalf("capability lacks SMAP1: %s", cp)
	}
	c.Expect("a OK CAPABILITY completed")
	c.Transcript(`
		C: \SMAP1 LOGIN demo@example.test wrong
		S: -ERR Login failed.
		C: \SMAP1 LOGIN ` + s.Account + ` ` + s.Password + `
		S: +OK SMAP1 LOGIN Ok.
	`)
	return c
}

// countFiles counts the files in a Maildir's tmp, new and cur.
func countFiles(t *testing.T, md string) int {
	t.Helper()
	n := 0
	for _, d := range []string{"tmp", "new", "cur"} {
		es, err := os.ReadDir(filepath.Join(md, d))
		if err != nil {
			t.Fatal(err)
		}
		n += len(es)
	}
	return n
}

// TestSMAPOverIMAPPort runs an SMAP session on the imap listener of a whole server: every
// reply must reach the client while the session runs, and the imapd settings apply
// (IMAP_IDLE_TIMEOUT=1 makes IDLE look at the folder every second).
func TestSMAPOverIMAPPort(t *testing.T) {
	s, md := start(t, func(t testing.TB, conf string) {
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "IMAP_IDLE_TIMEOUT", "1")
	})
	put(t, md, 1, "From: a@example.org\nSubject: one\n\nbanana\n")
	put(t, md, 2, "From: b@example.org\nSubject: two\n\ncherry\n")
	c := smapLogin(t, s)
	c.Transcript(`
		C: LIST
		S: * LIST "INBOX" "New Mail" FOLDER
		S: * LIST "INBOX" "Folders" DIRECTORY
		S: * LIST "public" "Public Folders" DIRECTORY
		S: +OK LIST completed
		C: LIST INBOX
		S: * LIST "Archive" "Archive" FOLDER
		S: * LIST "Drafts" "Drafts" FOLDER
		S: * LIST "Junk" "Junk" FOLDER
		S: * LIST "Sent" "Sent" FOLDER
		S: * LIST "Trash" "Trash" FOLDER
		S: +OK LIST completed
		C: OPEN INBOX
		S: * EXISTS 2
		S: +OK Folder opened
		C: FETCH 1-2 FLAGS SIZE UID
		S: * FETCH 1 FLAGS= "UID=1600000001.M1P1.test" SIZE=41
		S: * FETCH 2 FLAGS= "UID=1600000002.M2P1.test" SIZE=41
		S: +OK Message retrieved.
		C: FETCH 2 CONTENTS=HEADERS(Subject)
		S: {.0} FETCH 2 HEADERS
		S: Subject: two
		S: .
		S: * FETCH 2 FLAGS=SEEN
		S: +OK Message retrieved.
		C: FETCH 1 CONTENTS=BODY
		S: {7/7} FETCH 1 CONTENTS
		S: banana
	`)
	c.Expect("") // the framing's line end after the content's own
	c.Transcript(`
		S: * FETCH 1 FLAGS=SEEN
		S: +OK Message retrieved.
		C: ADD FOLDER INBOX "" FLAGS=SEEN
		S: +OK FLAGS set
		C: ADD {.}
		S: > Go ahead
		C: Subject: added over smap
	`)
	c.Send("") // the end of the headers
	c.Transcript(`
		C: ..dot-stuffed
		C: .
		S~ ^\* ADD "UID=[^"]+"$
		S: +OK Message saved
		C: NOOP
		S: * EXISTS 3
		S: +OK Folder updated
		C: FETCH 3 FLAGS SIZE
		S: * FETCH 3 FLAGS=SEEN SIZE=39
		S: +OK Message retrieved.
		C: IDLE
		S: +OK Entering idle mode...
	`)
	put(t, md, 4, "Subject: during idle\n\nx\n")
	c.Transcript(`
		S: * EXISTS 4
		C: RESUME
		S: +OK Resumed...
		C: LOGOUT
		S: * BYE Courier-SMAP server shutting down
		S: +OK LOGOUT completed
	`)
	c.ExpectClosed()
}

// TestSMAPAddLimitOverIMAPPort: with APPENDLIMIT=1048576, an ADD {.} of a 2 MB line
// without LF and one of many short lines over the limit are refused after the upload,
// nothing of them is stored, and the session goes on.
func TestSMAPAddLimitOverIMAPPort(t *testing.T) {
	s, md := start(t, func(t testing.TB, conf string) {
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "APPENDLIMIT", "1048576")
	})
	n := countFiles(t, md)
	c := smapLogin(t, s)
	send := func(b string) {
		t.Helper()
		_ = c.Raw().SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c.Raw(), b); err != nil {
			t.Fatal(err)
		}
	}
	for _, upload := range []string{
		strings.Repeat("a", 2<<20) + "\r\n.\r\n",
		strings.Repeat("Subject: "+strings.Repeat("b", 88)+"\r\n", 11000) + ".\r\n",
	} {
		c.Transcript(`
			C: ADD FOLDER INBOX ""
			S: +OK Will add to this folder
			C: ADD {.}
			S: > Go ahead
		`)
		send(upload)
		c.Transcript(`
			S: -ERR File too large (APPENDLIMIT is 1048576 bytes)
			C: NOOP
			S: +OK Folder updated
		`)
		if got := countFiles(t, md); got != n {
			t.Fatalf("%d files in the Maildir after a refused upload, want %d", got, n)
		}
	}
	c.Transcript(`
		C: ADD FOLDER INBOX ""
		S: +OK Will add to this folder
		C: ADD {.}
		S: > Go ahead
		C: Subject: small
		C: .
		S~ ^\* ADD "UID=[^"]+"$
		S: +OK Message saved
		C: LOGOUT
		S: * BYE Courier-SMAP server shutting down
		S: +OK LOGOUT completed
	`)
	if got := countFiles(t, md); got != n+1 {
		t.Errorf("%d files in the Maildir, want %d", got, n+1)
	}
}

// fastConn shortens the deadlines the server sets, so the test sees in a second what takes
// minutes: the 60 s before login become 0.5 s and the 30 min after it 1.5 s.
type fastConn struct{ net.Conn }

func fast(t time.Time) time.Time {
	d := time.Until(t)
	switch {
	case t.IsZero() || d <= 0:
		return t
	case d <= time.Minute:
		return time.Now().Add(d / 120)
	default:
		return time.Now().Add(d / 1200)
	}
}

func (c fastConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(fast(t)) }
func (c fastConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(fast(t)) }
func (c fastConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(fast(t)) }

// oneUser is an auth.Module with one account whose Maildir is md.
type oneUser struct{ md string }

func (oneUser) Name() string { return "test" }
func (u oneUser) Lookup(context.Context, string, string) (*auth.Account, error) {
	return &auth.Account{Address: "demo", Maildir: u.md}, nil
}
func (u oneUser) Authenticate(_ context.Context, r *auth.Request) (*auth.Account, error) {
	if r.User != "demo" || r.Password != "pw" {
		return nil, auth.ErrNoUser
	}
	return &auth.Account{Address: "demo", Maildir: u.md}, nil
}
func (oneUser) ChangePassword(context.Context, string, string, string, string) error {
	return errors.ErrUnsupported
}
func (oneUser) Enumerate(context.Context, func(*auth.Account) error) error { return nil }

// TestSMAPIdleLimitAfterLogin: after "\SMAP1 LOGIN" the session keeps the idle limit of a
// logged-in IMAP session (30 minutes, pushed forward by every read), not the minute the
// server gives a client before login; past it the client is told and disconnected.
func TestSMAPIdleLimitAfterLogin(t *testing.T) {
	md := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	set, err := server.SettingsFromEnv(map[string]string{"SMAP_CAPABILITY": "SMAP1", "PLAINTEXT_LOGIN_FROM": "127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{
		Auth: oneUser{md},
		Open: func(_ context.Context, _ *auth.Account, path string) (store.Store, error) {
			return maildirstore.Open(path, nil)
		},
		Settings: func(string) (*server.Settings, error) { return set, nil },
		SMAP: func(ctx context.Context, in *bufio.Reader, out io.Writer, st store.Store, s server.SMAPSession) error {
			return smap.Serve(ctx, in, out, st, smap.Config{User: s.User, Env: s.Env})
		},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		srv.ServeConn(context.Background(), &netx.Conn{Conn: fastConn{nc}, ID: "t", Service: "imap", Remote: "127.0.0.1"})
	}()
	c := testutil.Dial(t, ln.Addr().String())
	c.ExpectMatch(`^\* OK \[CAPABILITY .*SMAP1.*\] `)
	c.Transcript(`
		C: \SMAP1 LOGIN demo pw
		S: +OK SMAP1 LOGIN Ok.
	`)
	// Each pause is longer than the pre-login limit (0.5 s here); together they are longer
	// than the limit after login (1.5 s), which each read pushes forward again.
	for i := 0; i < 2; i++ {
		time.Sleep(900 * time.Millisecond)
		c.Transcript(`
			C: NOOP
			S: +OK Folder updated
		`)
	}
	start := time.Now()
	c.Expect("* BYE Disconnected for inactivity.")
	if d := time.Since(start); d < 1200*time.Millisecond {
		t.Errorf("disconnected after %v of inactivity, want the limit after login (1.5 s here)", d)
	}
	c.ExpectClosed()
	<-done
}

// TestSMAPSendAndSave: ADD with MAILFROM/RCPTTO over the IMAP port sends the message through
// the pickup directory (the server queues and delivers it) and saves it in the folder; the
// queued copy says which account sent it, not the server's own user.
func TestSMAPSendAndSave(t *testing.T) {
	s, md := start(t, nil)
	c := smapLogin(t, s)
	c.Transcript(`
		C: ADD FOLDER INBOX Sent "" FLAGS=SEEN MAILFROM=demo@example.test RCPTTO=demo@example.test
		S: +OK RCPT TO set
		C: ADD {.}
		S: > Go ahead
		C: From: demo@example.test
		C: To: demo@example.test
		C: Subject: sent over smap
	`)
	c.Send("")
	c.Transcript(`
		C: hello
		C: .
		S~ ^\* ADD "UID=[^"]+"$
		S: +OK Message saved
	`)
	sent, _ := os.ReadDir(filepath.Join(md, ".Sent", "cur"))
	if len(sent) != 1 {
		t.Fatalf("Sent holds %d messages, want the saved copy", len(sent))
	}
	var got string
	for end := time.Now().Add(15 * time.Second); got == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, sub := range []string{"new", "cur"} {
			ents, _ := os.ReadDir(filepath.Join(md, sub))
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(md, sub, e.Name()))
				if strings.Contains(string(b), "Subject: sent over smap") {
					got = string(b)
				}
			}
		}
	}
	if got == "" {
		t.Fatal("the message sent over SMAP never reached INBOX")
	}
	if !strings.Contains(got, "from user demo@example.test") || !strings.Contains(got, "\nhello\n") {
		t.Errorf("delivered copy:\n%s", got)
	}
}

// TestOutboxSends: with OUTBOX set (Courier's XCOURIEROUTBOX), a message appended to the
// Outbox is sent to its To:/Cc:/Bcc: and kept there; one naming no recipient is refused and
// not kept, so a client never believes unsent mail went.
func TestOutboxSends(t *testing.T) {
	s, md := start(t, func(t testing.TB, conf string) {
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "OUTBOX", ".Outbox")
	})
	c := login(t, s)
	msg := "From: demo@example.test\r\nTo: demo@example.test\r\nBcc: Hidden <demo@example.test>\r\nSubject: via outbox\r\n\r\nhi\r\n"
	c.Send("a CREATE INBOX.Outbox")
	c.ExpectMatch(`^a OK `)
	c.Send(fmt.Sprintf("b APPEND INBOX.Outbox {%d+}", len(msg)))
	c.Send(msg[:len(msg)-2])
	c.Send("") // the end of the APPEND command after its literal
	c.ExpectMatch(`^b OK \[APPENDUID [0-9]+ 1\] APPEND Ok\.$`)
	nomsg := "Subject: nobody\r\n\r\nx\r\n"
	c.Send(fmt.Sprintf("c APPEND INBOX.Outbox {%d+}", len(nomsg)))
	c.Send(nomsg[:len(nomsg)-2])
	c.Send("")
	c.ExpectMatch(`^c NO Cannot send the message: .*no recipient`)
	var got string
	for end := time.Now().Add(15 * time.Second); got == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, sub := range []string{"new", "cur"} {
			ents, _ := os.ReadDir(filepath.Join(md, sub))
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(md, sub, e.Name()))
				if strings.Contains(string(b), "Subject: via outbox") {
					got = string(b)
				}
			}
		}
	}
	if got == "" {
		t.Fatal("the message appended to the Outbox never reached INBOX")
	}
	if strings.Contains(got, "Bcc:") || !strings.Contains(got, "from user demo@example.test") {
		t.Errorf("delivered copy:\n%s", got)
	}
	kept, _ := os.ReadDir(filepath.Join(md, ".Outbox", "cur"))
	if len(kept) != 1 {
		t.Errorf("the Outbox keeps %d messages, want the sent one only", len(kept))
	}
}
