package main_test

// End-to-end tests with Debian's mutt (package mutt, scripts/packages/imap.list) against the
// built binary's quickstart over IMAPS. mutt needs a terminal: it runs under script(1)
// (util-linux, always present), which gives it a pseudo-terminal, and is typed at through
// script's input, each key once the screen shows what the previous one brought (pushed
// keys would not do: mutt does not redraw while a push is pending, so the pager is never
// drawn). Each session has a deadline after which mutt is killed; a failure shows mutt's
// screen and the end of its debug log (mutt -d 2: the IMAP transcript).

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// muttEnv is one quickstart with two delivered messages and a muttrc for it.
type muttEnv struct {
	dir, md  string // quickstart directory, demo's Maildir
	home     string // $HOME for mutt (its debug log lands here)
	folder   string // imaps://127.0.0.1:PORT/
	baseRC   string // the settings every run shares
	runCount int
}

func newMuttEnv(t *testing.T) *muttEnv {
	t.Helper()
	for _, tool := range []string{"mutt", "script"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test (Debian packages mutt and bsdutils; scripts/packages/imap.list): %v", tool, err)
		}
	}
	dir, imapAddr := imapQuickstart(t)
	host, port, _ := net.SplitHostPort(imapAddr)
	p, _ := strconv.Atoi(port)
	imaps := net.JoinHostPort(host, strconv.Itoa(p-143+993))
	e := &muttEnv{dir: dir, md: demoMaildir(dir), home: t.TempDir(), folder: "imaps://" + imaps + "/"}

	// mutt asks about a certificate it does not know; the quickstart's is pre-accepted
	// by writing it (only the CERTIFICATE block, not the key) to $certificate_file. The
	// host name is still checked: the certificate names 127.0.0.1.
	pemBytes, err := os.ReadFile(filepath.Join(dir, "tls", "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var certs []byte
	for rest := pemBytes; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certs = append(certs, pem.EncodeToMemory(b)...)
		}
	}
	if len(certs) == 0 {
		t.Fatalf("no certificate in %s", filepath.Join(dir, "tls", "server.pem"))
	}
	certFile := filepath.Join(e.home, "certificates")
	if err := os.WriteFile(certFile, certs, 0o600); err != nil {
		t.Fatal(err)
	}
	e.baseRC = fmt.Sprintf(`set imap_user="demo@example.test"
set imap_pass="s3cret-pass"
set folder="%s"
set spoolfile="+INBOX"
set record=""
set postponed=""
set certificate_file="%s"
set ssl_verify_host=yes
set ssl_starttls=yes
set ssl_force_tls=yes
set connect_timeout=10
set timeout=5
set imap_keepalive=30
set mail_check=5
unset header_cache
unset message_cachedir
set imap_check_subscribed=no
set imap_passive=yes
set move=no
set delete=yes
set quit=yes
set confirmappend=no
set confirmcreate=no
set mark_old=no
set wait_key=no
set beep=no
set sort=date-sent
set index_format="%%4C %%Z %%-20.20L %%s"
set pager_stop=yes
set help=no
`, e.folder, certFile)

	// Two messages in INBOX, delivered as the MTA would.
	deliver(t, dir, "From: Ann <ann@example.org>\nTo: demo@example.test\nDate: Mon, 01 May 2023 10:00:00 +0000\nSubject: mutt-first\nMessage-ID: <m1@example.org>\n\nbody of the first message\n")
	deliver(t, dir, "From: Ben <ben@example.org>\nTo: demo@example.test\nDate: Tue, 02 May 2023 10:00:00 +0000\nSubject: mutt-second\nMessage-ID: <m2@example.org>\n\nbody of the second message\n")
	return e
}

// muttSession is mutt running under script(1), typed at like a person would: each key
// is sent once the screen shows what the previous one should have brought.
type muttSession struct {
	t        *testing.T
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	screen   *lockedBuffer
	mark     int // screen bytes already matched by expect
	debugLog string
	done     chan error
	cancel   context.CancelFunc
}

// start runs mutt on folder (a name below e.folder, e.g. INBOX). The whole session must
// end within deadline: then mutt's process group is killed.
func (e *muttEnv) start(t *testing.T, folder string, deadline time.Duration) *muttSession {
	t.Helper()
	e.runCount++
	rc := filepath.Join(e.home, fmt.Sprintf("muttrc%d", e.runCount))
	if err := os.WriteFile(rc, []byte(e.baseRC), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &muttSession{t: t, screen: &lockedBuffer{}, debugLog: filepath.Join(e.home, ".muttdebug0"), done: make(chan error, 1)}
	os.Remove(s.debugLog)
	// The pseudo-terminal script(1) makes has no size when its own input is not a
	// terminal; give it one before mutt starts.
	wrapper := filepath.Join(e.home, "run-mutt.sh")
	// script(1) runs it in a session of its own, so killing script's process group
	// does not reach mutt: the wrapper leaves mutt's pid (exec keeps it) for Cancel.
	pidFile := filepath.Join(e.home, "mutt.pid")
	os.Remove(pidFile)
	if err := os.WriteFile(wrapper, []byte("echo $$ > \"$MUTT_PIDFILE\"\nstty rows 40 cols 132\nexec mutt -n -d 2 -F \"$MUTT_RC\" -f \"$MUTT_FOLDER\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	s.cancel = cancel
	cmd := exec.CommandContext(ctx, "script", "-q", "-e", "-c", "/bin/sh "+wrapper, "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+e.home, "TERM=xterm", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"SHELL=/bin/sh", "MUTT_PIDFILE="+pidFile, "MUTT_RC="+rc, "MUTT_FOLDER="+e.folder+folder, "TMPDIR="+e.home)
	cmd.Dir = e.home
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				_ = syscall.Kill(-pid, syscall.SIGKILL) // mutt leads its own process group
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdout, cmd.Stderr = s.screen, s.screen
	stdin, err := cmd.StdinPipe() // script copies it to mutt's terminal
	if err != nil {
		t.Fatal(err)
	}
	s.cmd, s.stdin = cmd, stdin
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mutt under script: %v", err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel() // kills mutt if it is still running
		stdin.Close()
		<-s.done
	})
	return s
}

// fail ends the test with mutt's screen and the end of its debug log.
func (s *muttSession) fail(format string, args ...any) {
	s.t.Helper()
	s.cancel()
	s.t.Fatalf("%s\n--- mutt's screen ---\n%s\n--- end of mutt's debug log ---\n%s",
		fmt.Sprintf(format, args...), muttScreen(s.screen.String()), tail(s.debugLog, 80))
}

// expect waits until what mutt drew since the last match contains want.
func (s *muttSession) expect(want string, within time.Duration) {
	s.t.Helper()
	limit := time.Now().Add(within)
	for {
		raw := s.screen.String()
		if i := strings.Index(muttScreen(raw[s.mark:]), want); i >= 0 {
			s.mark = len(raw)
			return
		}
		select {
		case err := <-s.done:
			s.done <- err
			s.fail("mutt ended (%v) before showing %q", err, want)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(limit) {
			s.fail("mutt did not show %q within %s", want, within)
		}
	}
}

// send types keys.
func (s *muttSession) send(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, keys); err != nil {
		s.fail("typing %q: %v", keys, err)
	}
}

// wait waits for mutt to quit by itself and returns everything it drew.
func (s *muttSession) wait(within time.Duration) string {
	s.t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			s.fail("mutt exited with %v", err)
		}
	case <-time.After(within):
		s.fail("mutt did not quit within %s", within)
	}
	return muttScreen(s.screen.String())
}

var ansi = regexp.MustCompile(`\x1b(\[[0-9;?>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cDEHM])|[\x00-\x08\x0e-\x1f]`)

// muttScreen strips terminal control sequences from what mutt drew.
func muttScreen(s string) string {
	s = ansi.ReplaceAllString(s, " ")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// messageBySubject finds the message file in folder ("" for INBOX) whose Subject is subj.
func messageBySubject(t *testing.T, md, folder, subj string) (path string, found bool) {
	t.Helper()
	for _, p := range maildirFiles(md, folder) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\nSubject: "+subj+"\n") {
			if found {
				t.Errorf("two messages with subject %q in INBOX%s", subj, folder)
			}
			path, found = p, true
		}
	}
	return path, found
}

// TestMuttReadsMessage: mutt opens INBOX over IMAPS (pre-accepted self-signed certificate),
// lists both messages, shows the first in its pager and quits; the message read is \Seen
// on disk and the other one is not.
func TestMuttReadsMessage(t *testing.T) {
	e := newMuttEnv(t)
	s := e.start(t, "INBOX", 60*time.Second)
	s.expect("Msgs:2", 20*time.Second) // the index, after login, SELECT and FETCH
	s.send("/")
	s.expect("Search for:", 5*time.Second)
	s.send("~s mutt-first\r")
	s.send("\r") // display-message
	s.expect("body of the first message", 10*time.Second)
	screen := muttScreen(s.screen.String())
	if strings.Contains(screen, "body of the second message") {
		s.fail("mutt showed the second message too")
	}
	s.send("q") // back to the index
	s.expect("Mutt: =INBOX", 5*time.Second)
	s.send("q") // quit ($quit=yes)
	s.wait(15 * time.Second)

	first, ok1 := messageBySubject(t, e.md, "", "mutt-first")
	second, ok2 := messageBySubject(t, e.md, "", "mutt-second")
	if !ok1 || !ok2 {
		t.Fatalf("INBOX no longer holds both messages: %q", maildirFiles(e.md, ""))
	}
	if f := maildirFlags(first); !strings.Contains(f, "S") || filepath.Base(filepath.Dir(first)) != "cur" {
		t.Errorf("the message read is not \\Seen on disk: %s", first)
	}
	if f := maildirFlags(second); strings.Contains(f, "S") {
		t.Errorf("the message not read is \\Seen on disk: %s", second)
	}
}

// TestMuttSavesToArchive: mutt reads the first message, saves it to INBOX.Archive
// (<save-message>: an IMAP COPY and \Deleted), syncs (<sync-mailbox>: EXPUNGE) and quits; on
// disk the message is in .Archive, \Seen, and gone from INBOX, and the other message stays.
func TestMuttSavesToArchive(t *testing.T) {
	e := newMuttEnv(t)
	s := e.start(t, "INBOX", 60*time.Second)
	s.expect("Msgs:2", 20*time.Second)
	s.send("/")
	s.expect("Search for:", 5*time.Second)
	s.send("~s mutt-first\r\r")
	s.expect("body of the first message", 10*time.Second)
	s.send("q")
	s.expect("Mutt: =INBOX", 5*time.Second)
	s.send("s") // save-message
	s.expect("Save to mailbox", 5*time.Second)
	s.send("\x15=INBOX.Archive\r") // ^U empties the suggested name
	s.expect("Del:1", 10*time.Second)
	s.send("$")                           // sync-mailbox
	s.expect("1 deleted", 10*time.Second) // "1 kept, 1 deleted."
	s.send("q")
	screen := s.wait(15 * time.Second)

	archived, ok := messageBySubject(t, e.md, ".Archive", "mutt-first")
	if !ok {
		t.Fatalf("the message is not in .Archive on disk (%q)\n--- screen ---\n%s", maildirFiles(e.md, ".Archive"), screen)
	}
	if f := maildirFlags(archived); !strings.Contains(f, "S") || strings.Contains(f, "T") {
		t.Errorf("the archived message's flags are %q, want \\Seen and not \\Deleted: %s", f, archived)
	}
	if n := len(maildirFiles(e.md, ".Archive")); n != 1 {
		t.Errorf(".Archive holds %d messages, want 1", n)
	}
	if p, ok := messageBySubject(t, e.md, "", "mutt-first"); ok {
		t.Errorf("the saved message is still in INBOX after sync: %s\n--- screen ---\n%s", p, screen)
	}
	if p, ok := messageBySubject(t, e.md, "", "mutt-second"); !ok {
		t.Errorf("the other message left INBOX: %q", maildirFiles(e.md, ""))
	} else if f := maildirFlags(p); strings.Contains(f, "S") || strings.Contains(f, "T") {
		t.Errorf("the other message's flags changed: %s", p)
	}

	// A new session sees the result over IMAP: INBOX.Archive holds the message, read.
	s = e.start(t, "INBOX.Archive", 60*time.Second)
	s.expect("Msgs:1", 20*time.Second)
	s.send("\r")
	s.expect("body of the first message", 10*time.Second)
	s.send("qq")
	s.wait(15 * time.Second)
}
