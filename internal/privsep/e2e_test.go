package privsep_test

// End-to-end: a whole quickstart app (running as root, as these tests do) with one more
// userdb account, bob, that has a uid of its own (5000). bob's sessions must run in a
// `courier imapd` / `courier pop3d` process with uid 5000 (the test binary stands in for
// the courier binary, see TestMain); demo's (uid 0 in a quickstart made by root, the
// server's own) stay in-process.

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"courier/internal/auth/pwhash"
	"courier/internal/auth/userdb"
	"courier/internal/store/maildir"
	"courier/internal/testutil"
)

const (
	bobUID   = 5000
	bobLogin = "bob@example.test"
	bobPass  = "bob-Pass-1"
)

// bobEnv is a running app with bob's account and the app's log.
type bobEnv struct {
	*testutil.Server
	home, maildir string
	logs          *syncBuffer
}

// startWithBob starts a quickstart app whose userdb also has bob (uid and gid 5000), with
// his own home and Maildir owned by him in a directory uid 5000 can enter.
func startWithBob(t *testing.T) *bobEnv {
	t.Helper()
	requireRoot(t)
	base, err := os.MkdirTemp("", "privsep-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &bobEnv{home: filepath.Join(base, "bob"), logs: &syncBuffer{}}
	e.maildir = filepath.Join(e.home, "Maildir")
	if err := maildir.Create(e.maildir, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	chownTree(t, e.home, bobUID)
	hash, err := pwhash.Hash(pwhash.SHA512CryptScheme, bobPass)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(t testing.TB, conf string) {
		src := filepath.Join(conf, "userdb")
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw=%s\n", bobLogin, bobUID, bobUID, e.home, e.maildir, hash)
		if err := os.WriteFile(src, append(b, line...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := userdb.Make(src); err != nil {
			t.Fatalf("makeuserdb: %v", err)
		}
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.Server = testutil.Start(t, testutil.Options{Edit: edit, Log: log})
	return e
}

func chownTree(t *testing.T, root string, uid int) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// owner returns a file's uid.
func owner(t *testing.T, p string) int {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// messages lists the message files of a Maildir's INBOX.
func messages(t *testing.T, md string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(md, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, filepath.Join(md, sub, e.Name()))
		}
	}
	return out
}

// putMessage delivers a message into bob's INBOX as bob's own.
func putMessage(t *testing.T, md, text string) {
	t.Helper()
	name := fmt.Sprintf("%d.M1P1.privsep", time.Now().Unix())
	tmp := filepath.Join(md, "tmp", name)
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, bobUID, bobUID); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(md, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// until reads lines up to and including the first that starts with prefix.
func until(t *testing.T, c *testutil.Conn, prefix string) []string {
	t.Helper()
	var out []string
	for {
		l, err := c.ReadLine()
		if err != nil {
			t.Fatalf("waiting for %q: %v (after %q)", prefix, err, out)
		}
		out = append(out, l)
		if strings.HasPrefix(l, prefix) {
			return out
		}
	}
}

// write sends raw bytes in one write (one packet on loopback).
func write(t *testing.T, c *testutil.Conn, s string) {
	t.Helper()
	if _, err := c.Raw().Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// handoffs counts the session processes started so far, by mode.
func handoffs(e *bobEnv, mode string) int {
	return len(regexp.MustCompile(`msg="session process started".* uid=5000 .*mode=`+mode).FindAllString(e.logs.String(), -1))
}

const loginOK = `^%s OK \[CAPABILITY IMAP4rev1 .*\] LOGIN Ok\.$`

func TestIMAPHandoff(t *testing.T) {
	e := startWithBob(t)
	c := testutil.Dial(t, e.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK \[CAPABILITY `)
	// A command pipelined behind LOGIN in the same packet: the server has read it before the
	// handoff, and the session process must still run it, after answering the LOGIN.
	write(t, c, "a LOGIN "+bobLogin+" "+bobPass+"\r\nb SELECT INBOX\r\n")
	c.ExpectMatch(fmt.Sprintf(loginOK, "a"))
	if l := until(t, c, "b "); !strings.HasPrefix(l[len(l)-1], "b OK [READ-WRITE]") {
		t.Fatalf("SELECT: %q", l)
	}
	if n := handoffs(e, "proxy"); n != 1 {
		t.Errorf("%d proxied session processes, want 1:\n%s", n, e.logs.String())
	}
	msg := "From: someone@example.test\r\nSubject: privsep\r\n\r\nhello from uid 5000\r\n"
	c.Send(fmt.Sprintf("c APPEND INBOX {%d}", len(msg)))
	c.ExpectMatch(`^\+ `)
	write(t, c, msg+"\r\n")
	if l := until(t, c, "c "); !strings.HasPrefix(l[len(l)-1], "c OK") {
		t.Fatalf("APPEND: %q", l)
	}
	files := messages(t, e.maildir)
	if len(files) != 1 {
		t.Fatalf("messages in bob's Maildir: %q", files)
	}
	if uid := owner(t, files[0]); uid != bobUID {
		t.Errorf("the appended message belongs to uid %d, want %d", uid, bobUID)
	}
	c.Send("d NOOP")
	until(t, c, "d OK")
	c.Send("e FETCH 1 (BODY[])")
	l := until(t, c, "e ")
	if !strings.Contains(strings.Join(l, "\n"), "hello from uid 5000") || !strings.HasPrefix(l[len(l)-1], "e OK") {
		t.Errorf("FETCH: %q", l)
	}
	c.Send("f LOGOUT")
	c.ExpectMatch(`^\* BYE `)
	c.ExpectMatch(`^f OK `)
	c.ExpectClosed()

	// A login with nothing behind it: the connection itself is given to the process.
	c = testutil.Dial(t, e.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK \[CAPABILITY `)
	c.Send("a LOGIN " + bobLogin + " " + bobPass)
	c.ExpectMatch(fmt.Sprintf(loginOK, "a"))
	c.Send("b STATUS INBOX (MESSAGES)")
	c.Expect(`* STATUS "INBOX" (MESSAGES 1)`)
	c.ExpectMatch(`^b OK`)
	c.Send("c LOGOUT")
	until(t, c, "c OK")
	c.ExpectClosed()
	if n := handoffs(e, "direct"); n != 1 {
		t.Errorf("%d direct session processes, want 1:\n%s", n, e.logs.String())
	}
}

func TestIMAPSHandoff(t *testing.T) {
	e := startWithBob(t)
	tc, err := tls.Dial("tcp", e.MustAddr(t, "imaps"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	c := testutil.Wrap(t, tc)
	t.Cleanup(func() { tc.Close() })
	c.ExpectMatch(`^\* OK \[CAPABILITY `)
	c.Send("a AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+bobLogin+"\x00"+bobPass)))
	c.ExpectMatch(fmt.Sprintf(loginOK, "a"))
	c.Send("b SELECT INBOX")
	until(t, c, "b OK [READ-WRITE]")
	c.Send("c LOGOUT")
	c.ExpectMatch(`^\* BYE `)
	c.ExpectMatch(`^c OK `)
	c.ExpectClosed()
	if n := handoffs(e, "proxy"); n != 1 {
		t.Errorf("%d proxied session processes, want 1:\n%s", n, e.logs.String())
	}
}

func TestSMAPHandoff(t *testing.T) {
	e := startWithBob(t)
	c := testutil.Dial(t, e.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK \[CAPABILITY .*SMAP1`)
	c.Send(`\SMAP1 LOGIN ` + bobLogin + " " + bobPass)
	c.Expect("+OK SMAP1 LOGIN Ok.")
	c.Send("LOGOUT")
	c.ExpectMatch(`^\* BYE `)
	c.Expect("+OK LOGOUT completed")
	c.ExpectClosed()
	if n := handoffs(e, "direct"); n != 1 {
		t.Errorf("%d session processes, want 1:\n%s", n, e.logs.String())
	}
}

func TestPOP3Handoff(t *testing.T) {
	e := startWithBob(t)
	putMessage(t, e.maildir, "Subject: pop\r\n\r\nover pop3\r\n")
	c := testutil.Dial(t, e.MustAddr(t, "pop3"))
	c.Expect("+OK Hello there.")
	// USER, PASS and STAT in one packet: STAT reaches the session process.
	write(t, c, "USER "+bobLogin+"\r\nPASS "+bobPass+"\r\nSTAT\r\n")
	c.Expect("+OK Password required.")
	c.Expect("+OK logged in.")
	c.ExpectMatch(`^\+OK 1 \d+$`)
	c.Send("RETR 1")
	if l := until(t, c, "."); !strings.Contains(strings.Join(l, "\n"), "over pop3") {
		t.Errorf("RETR: %q", l)
	}
	c.Send("QUIT")
	c.ExpectMatch(`^\+OK`)
	c.ExpectClosed()
	if uid := owner(t, filepath.Join(e.maildir, "courierpop3dsizelist")); uid != bobUID {
		t.Errorf("courierpop3dsizelist belongs to uid %d, want %d", uid, bobUID)
	}
	if n := handoffs(e, "proxy"); n != 1 {
		t.Errorf("%d proxied session processes, want 1:\n%s", n, e.logs.String())
	}

	tc, err := tls.Dial("tcp", e.MustAddr(t, "pop3s"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	c = testutil.Wrap(t, tc)
	c.Expect("+OK Hello there.")
	c.Send("USER " + bobLogin)
	c.Expect("+OK Password required.")
	c.Send("PASS " + bobPass)
	c.Expect("+OK logged in.")
	c.Send("QUIT")
	c.ExpectMatch(`^\+OK`)
	c.ExpectClosed()
}

// TestDemoInProcess: quickstart's own account shares the server's uid and is served
// in-process, over IMAP and POP3.
func TestDemoInProcess(t *testing.T) {
	e := startWithBob(t)
	c := testutil.Dial(t, e.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK \[CAPABILITY `)
	c.Send("a LOGIN " + e.Account + " " + e.Password)
	c.ExpectMatch(fmt.Sprintf(loginOK, "a"))
	c.Send("b SELECT INBOX")
	until(t, c, "b OK")
	c.Send("c LOGOUT")
	until(t, c, "c OK")
	p := testutil.Dial(t, e.MustAddr(t, "pop3"))
	p.Expect("+OK Hello there.")
	p.Send("USER " + e.Account)
	p.Expect("+OK Password required.")
	p.Send("PASS " + e.Password)
	p.Expect("+OK logged in.")
	p.Send("QUIT")
	p.ExpectMatch(`^\+OK`)
	if strings.Contains(e.logs.String(), "session process started") {
		t.Errorf("demo's session was handed off:\n%s", e.logs.String())
	}
}

// TestDrain: stopping the server ends handed-off sessions as it ends its own: the session
// process gets SIGTERM and says BYE; the server does not wait for the drain deadline.
func TestDrain(t *testing.T) {
	e := startWithBob(t)
	c := testutil.Dial(t, e.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK \[CAPABILITY `)
	c.Send("a LOGIN " + bobLogin + " " + bobPass)
	c.ExpectMatch(fmt.Sprintf(loginOK, "a"))
	c.Send("b SELECT INBOX")
	until(t, c, "b OK")
	done := make(chan struct{})
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.Shutdown(ctx)
		close(done)
	}()
	c.Expect("* BYE Server shutting down")
	c.ExpectClosed()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("draining took %v", d)
	}
	if !strings.Contains(e.logs.String(), `msg="session process ended"`) {
		t.Errorf("the session process was not reaped:\n%s", e.logs.String())
	}
}
