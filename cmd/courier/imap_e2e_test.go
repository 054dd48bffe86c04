package main_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imapQuickstart runs the built binary's quickstart and returns its directory and IMAP address.
func imapQuickstart(t *testing.T) (dir, addr string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "qs")
	base := freeBase(t)
	r := startQuickstart(t, "--dir", dir, "--port-base", fmt.Sprint(base), "--password", "s3cret-pass")
	addr = fmt.Sprintf("127.0.0.1:%d", base+143)
	r.waitFor(t, "listening imap "+addr, 10*time.Second)
	r.waitFor(t, "Password: s3cret-pass", 5*time.Second)
	return dir, addr
}

// imaplibSession is a full session with Python's imaplib; it prints what it saw, one fact a line.
const imaplibSession = `
import imaplib, sys
host, port = sys.argv[1], int(sys.argv[2])
M = imaplib.IMAP4(host, port)
M.login("demo@example.test", "s3cret-pass")
typ, data = M.list()
print("list", typ, len(data))
print("folders", " ".join(sorted(l.decode().rsplit(" ", 1)[1].strip('"') for l in data)))
typ, data = M.select("INBOX")
print("select", typ, data[0].decode())
msg = b"From: py@example.org\r\nSubject: from imaplib\r\n\r\nhello from python\r\n"
typ, data = M.append("INBOX", "(\\Flagged)", None, msg)
print("append", typ, data[0].decode().split("]")[0].split()[0].lstrip("["))
M.noop()
typ, data = M.search(None, "SUBJECT", "imaplib")
print("search", typ, data[0].decode())
n = data[0].split()[-1]
typ, data = M.fetch(n, "(FLAGS BODY.PEEK[TEXT])")
print("fetch", typ, data[0][1].decode().strip())
typ, data = M.store(n, "+FLAGS", "\\Seen")
print("store", typ, data[0].decode())
typ, data = M.copy(n, "INBOX.Archive")
print("copy", typ)
typ, data = M.store(n, "+FLAGS", "\\Deleted")
typ, data = M.expunge()
print("expunge", typ, data)
typ, data = M.status("INBOX.Archive", "(MESSAGES)")
print("status", typ, data[0].decode())
M.close()
M.logout()
print("done")
`

func TestPythonImaplib(t *testing.T) {
	_, addr := imapQuickstart(t)
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("python3", "-c", imaplibSession, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	want := []string{
		"folders INBOX INBOX.Archive INBOX.Drafts INBOX.Junk INBOX.Sent INBOX.Trash",
		"select OK 0",
		"append OK APPENDUID",
		"search OK 1",
		"fetch OK hello from python",
		"store OK 1 (FLAGS (\\Flagged \\Seen))",
		"copy OK",
		"expunge OK [b'1']",
		`status OK "INBOX.Archive" (MESSAGES 1)`,
		"done",
	}
	for _, w := range want {
		if !strings.Contains(string(out), w+"\n") {
			t.Errorf("imaplib output lacks %q:\n%s", w, out)
		}
	}
}

// TestIdleSeesDeliverquota: a client idling in INBOX sees EXISTS within 2 s of
// `courier deliverquota` delivering from another process.
func TestIdleSeesDeliverquota(t *testing.T) {
	dir, addr := imapQuickstart(t)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	expect := func(prefix string, within time.Duration) string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(within))
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
	}
	expect("* OK", 5*time.Second)
	fmt.Fprintf(c, "a LOGIN demo@example.test s3cret-pass\r\nb SELECT INBOX\r\n")
	expect("b OK", 5*time.Second)
	fmt.Fprintf(c, "c IDLE\r\n")
	expect("+ ", 5*time.Second)
	md := filepath.Join(dir, "mail", "example.test", "demo", "Maildir")
	cmd := exec.Command(binary, "deliverquota", md)
	cmd.Stdin = strings.NewReader("Subject: idle test\n\nwake up\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deliverquota: %v\n%s", err, out)
	}
	delivered := time.Now()
	expect("* 1 EXISTS", 2*time.Second)
	t.Logf("EXISTS %v after delivery", time.Since(delivered).Round(time.Millisecond))
	fmt.Fprintf(c, "DONE\r\n")
	expect("c OK", 5*time.Second)
}

// TestMbsync syncs the demo INBOX both ways with mbsync (isync): a message on the server is
// fetched into a local Maildir, a flag set locally reaches the server, and a message added
// locally is uploaded.
func TestMbsync(t *testing.T) {
	if _, err := exec.LookPath("mbsync"); err != nil {
		t.Fatal("mbsync (Debian package isync) is needed for this test: scripts/install-test-deps.sh installs it")
	}
	dir, addr := imapQuickstart(t)
	host, port, _ := net.SplitHostPort(addr)
	md := filepath.Join(dir, "mail", "example.test", "demo", "Maildir")
	cmd := exec.Command(binary, "deliverquota", md)
	cmd.Stdin = strings.NewReader("From: s@example.org\nSubject: to sync\n\nsync me\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deliverquota: %v\n%s", err, out)
	}
	local := filepath.Join(t.TempDir(), "local")
	os.MkdirAll(local, 0o700)
	rc := filepath.Join(t.TempDir(), "mbsyncrc")
	conf := fmt.Sprintf(`IMAPAccount demo
Host %s
Port %s
User demo@example.test
Pass s3cret-pass
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account demo

MaildirStore local
Path %s/
Inbox %s/INBOX

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Create Near
Sync All
Expunge None
SyncState *
`, host, port, local, local)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		out, err := exec.Command("mbsync", "-c", rc, "inbox").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	run()
	files, _ := filepath.Glob(filepath.Join(local, "INBOX", "*", "*"))
	if len(files) != 1 {
		t.Fatalf("local INBOX has %d messages after the first sync: %v", len(files), files)
	}
	// Flag it locally (Maildir F flag), add a new local message, sync again.
	f := files[0]
	flagged := f
	if !strings.Contains(f, ":2,") {
		flagged = f + ":2,F"
	} else {
		flagged = f + "F"
	}
	if err := os.Rename(f, flagged); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "INBOX", "new", "1700000000.local1.host"), []byte("From: me@example.org\nSubject: uploaded\n\nfrom mbsync\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run()
	// The server's INBOX now has two messages, one flagged.
	var all []string
	for _, sub := range []string{"cur", "new"} {
		m, _ := filepath.Glob(filepath.Join(md, sub, "*"))
		all = append(all, m...)
	}
	if len(all) != 2 {
		t.Fatalf("server INBOX has %d messages after the second sync: %v", len(all), all)
	}
	nflag := 0
	for _, p := range all {
		if i := strings.Index(p, ":2,"); i >= 0 && strings.Contains(p[i:], "F") {
			nflag++
		}
	}
	if nflag != 1 {
		t.Fatalf("want one flagged message on the server: %v", all)
	}
}
