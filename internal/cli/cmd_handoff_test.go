package cli

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"courier/internal/store/maildir"
)

// The session processes the login stage starts (internal/privsep): `courier imapd` with
// IMAPLOGINTAG answers the LOGIN, and on a socket both tools behave as network sessions.

func handoffMaildir(t *testing.T) string {
	t.Helper()
	md := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	return md
}

func runWith(t *testing.T, tool, stdin string, env map[string]string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run([]string{tool}, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return out.String(), code
}

func TestImapdLoginTag(t *testing.T) {
	md := handoffMaildir(t)
	env := map[string]string{"MAILDIR": md, "IMAPLOGINTAG": "a1", "AUTHENTICATED": "bob",
		"IMAP_CAPABILITY": "IMAP4rev1 IDLE", "IMAP_CAPABILITY_TLS": "IMAP4rev1 IDLE XTLSONLY"}
	out, code := runWith(t, "imapd", "b NOOP\r\n", env)
	lines := strings.Split(out, "\r\n")
	if code != 0 || !strings.HasPrefix(lines[0], "a1 OK [CAPABILITY IMAP4rev1 IDLE ") ||
		!strings.HasSuffix(lines[0], "] LOGIN Ok.") || strings.Contains(out, "PREAUTH") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(lines[0], "XTLSONLY") {
		t.Errorf("IMAP_CAPABILITY_TLS without IMAP_TLS: %s", lines[0])
	}
	if !strings.Contains(out, "b OK NOOP completed") {
		t.Errorf("no NOOP answer:\n%s", out)
	}
	env["IMAP_TLS"] = "1"
	out, _ = runWith(t, "imapd", "", env)
	if !strings.Contains(out, " XTLSONLY ") && !strings.Contains(out, " XTLSONLY]") {
		t.Errorf("IMAP_TLS=1 did not select IMAP_CAPABILITY_TLS: %s", out)
	}
	// The LOGIN is answered even when the Maildir cannot be opened.
	env["MAILDIR"] = filepath.Join(md, "missing")
	out, code = runWith(t, "imapd", "", env)
	if code != 1 || out != "a1 NO [UNAVAILABLE] Unable to open your mailbox, try again later.\r\n" {
		t.Errorf("missing Maildir (exit %d): %q", code, out)
	}
	// Without the tag: PREAUTH, as before.
	delete(env, "IMAPLOGINTAG")
	env["MAILDIR"] = md
	if out, _ = runWith(t, "imapd", "", env); !strings.HasPrefix(out, "* PREAUTH") {
		t.Errorf("without IMAPLOGINTAG: %q", out)
	}
}

// socketStdio returns a socketpair: the tool's end (its standard input and output) and the
// client's.
func socketStdio(t *testing.T) (tool, client *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	tool, client = os.NewFile(uintptr(fds[0]), "tool"), os.NewFile(uintptr(fds[1]), "client")
	t.Cleanup(func() { tool.Close(); client.Close() })
	return tool, client
}

// converse runs tool on a socket, sends the client's lines and returns what came back.
func converse(t *testing.T, name string, env map[string]string, send string) (string, int) {
	t.Helper()
	tool, client := socketStdio(t)
	done := make(chan int, 1)
	go func() {
		var errb bytes.Buffer
		done <- Run([]string{name}, tool, tool, &errb, func(k string) string { return env[k] })
	}()
	if _, err := client.WriteString(send); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out strings.Builder
	r := bufio.NewReader(client)
	for {
		l, err := r.ReadString('\n')
		out.WriteString(l)
		if err != nil {
			break
		}
		if strings.HasPrefix(l, "z ") || strings.HasPrefix(l, "+OK Bye-bye.") {
			break
		}
	}
	select {
	case code := <-done:
		return out.String(), code
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not end; got %q", name, out.String())
		return "", 0
	}
}

func TestImapdOnSocket(t *testing.T) {
	md := handoffMaildir(t)
	env := map[string]string{"MAILDIR": md, "IMAPLOGINTAG": "x", "AUTHENTICATED": "bob", "TCPREMOTEIP": "192.0.2.7"}
	out, code := converse(t, "imapd", env, "y SELECT INBOX\r\nz LOGOUT\r\n")
	if code != 0 || !strings.HasPrefix(out, "x OK [CAPABILITY IMAP4rev1 ") || !strings.Contains(out, "y OK [READ-WRITE]") ||
		!strings.Contains(out, "* BYE ") || !strings.Contains(out, "z OK LOGOUT completed") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestPop3dOnSocket(t *testing.T) {
	md := handoffMaildir(t)
	if err := os.WriteFile(filepath.Join(md, "new", "1600000001.M1P1.x"), []byte("Subject: a\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MAILDIR": md, "AUTHENTICATED": "bob", "TCPREMOTEIP": "192.0.2.7"}
	out, code := converse(t, "pop3d", env, "STAT\r\nQUIT\r\n")
	if code != 0 || !strings.HasPrefix(out, "+OK logged in.\r\n+OK 1 17\r\n+OK Bye-bye.") {
		t.Fatalf("exit %d:\n%q", code, out)
	}
}
