package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pop3dRun(t *testing.T, stdin string, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(append([]string{"pop3d"}, args...), strings.NewReader(stdin), &out, &errb,
		func(k string) string { return env[k] })
	return out.String(), errb.String(), code
}

func TestPop3dTool(t *testing.T) {
	md := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(md, "new", "1600000001.M1P1.x"), []byte("Subject: a\n\n.x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := pop3dRun(t, "STAT\r\nRETR 1\r\nUIDL\r\n", nil, md)
	want := "+OK logged in.\r\n+OK 1 18\r\n+OK 18 octets follow.\r\nSubject: a\r\n\r\n..x\r\n.\r\n+OK\r\n1 UID1-"
	if code != 0 || !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "\r\n.\r\n") {
		t.Fatalf("session (exit %d):\n%q", code, out)
	}
	if _, err := os.Stat(filepath.Join(md, "cur", "1600000001.M1P1.x:2,S")); err != nil {
		t.Fatalf("RETR did not mark the message seen: %v", err)
	}
	// $MAILDIR wins over the argument, as in courierpop3d.
	out, _, code = pop3dRun(t, "STAT\n", map[string]string{"MAILDIR": md}, filepath.Join(md, "nowhere"))
	if code != 0 || out != "+OK logged in.\r\n+OK 1 18\r\n" {
		t.Fatalf("MAILDIR session (exit %d): %q", code, out)
	}
	out, _, code = pop3dRun(t, "STAT\n", nil, filepath.Join(md, "nowhere"))
	if code != 1 || !strings.HasPrefix(out, "-ERR ") {
		t.Fatalf("missing maildir (exit %d): %q", code, out)
	}
	out, _, code = pop3dRun(t, "STAT\n", nil, filepath.Join(md, "cur"))
	if code != 1 || out != "-ERR Maildir invalid (no 'cur' directory)\r\n" {
		t.Fatalf("not a maildir (exit %d): %q", code, out)
	}
}
