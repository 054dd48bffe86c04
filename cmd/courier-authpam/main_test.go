package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pamDir writes PAM service files of our own: "accept" and "reject" with
// pam_permit/pam_deny, and "script" with pam_exec running a script that
// accepts joe / "joe pw" only (expose_authtok hands it the password).
func pamDir(t *testing.T) string {
	t.Helper()
	mod := "/usr/lib/x86_64-linux-gnu/security"
	if _, err := os.Stat(filepath.Join(mod, "pam_exec.so")); err != nil {
		t.Fatalf("PAM modules not found in %s (install the Debian packages libpam-modules and libpam0g-dev): %v", mod, err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte("#!/bin/sh\npw=$(tr -d '\\000')\n[ \"$PAM_USER\" = joe ] && [ \"$pw\" = 'joe pw' ]\n"), 0o755)
	files := map[string]string{
		"accept": "auth required pam_permit.so\naccount required pam_permit.so\n",
		"reject": "auth required pam_deny.so\naccount required pam_permit.so\n",
		"script": "auth required pam_exec.so expose_authtok quiet " + script + "\naccount required pam_permit.so\n",
		"noacct": "auth required pam_permit.so\naccount required pam_deny.so\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheck(t *testing.T) {
	dir := pamDir(t)
	for _, c := range []struct {
		service, user, pw string
		want              Outcome
	}{
		{"accept", "anyone", "x", OK},
		{"reject", "anyone", "x", Fail},
		{"script", "joe", "joe pw", OK},
		{"script", "joe", "wrong", Fail},
		{"script", "ann", "joe pw", Fail},
		{"noacct", "joe", "joe pw", Fail},
	} {
		got, reason := check(c.service, c.user, c.pw, dir, "192.0.2.1")
		if got != c.want {
			t.Errorf("%s %s %q = %v %q, want %v", c.service, c.user, c.pw, got, reason, c.want)
		}
	}
}

func TestReadRequest(t *testing.T) {
	s, u, p, err := readRequest(strings.NewReader("imap\njoe\npass word\n"))
	if err != nil || s != "imap" || u != "joe" || p != "pass word" {
		t.Errorf("got %q %q %q %v", s, u, p, err)
	}
	for _, in := range []string{"", "imap\njoe\n", "imap\njoe\npw", "../x\njoe\npw\n", "imap\n\npw\n",
		"imap\njo\x00e\npw\n", strings.Repeat("x", maxInput+10)} {
		if _, _, _, err := readRequest(strings.NewReader(in)); err == nil {
			t.Errorf("readRequest(%.30q) accepted", in)
		}
	}
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{"imap\njoe\npw\n", "\n\n\n", "a b\nc\nd\n", "x\x00\ny\nz\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, u, p, err := readRequest(strings.NewReader(in))
		if err == nil && (s == "" || u == "" || strings.ContainsAny(s+u+p, "\n\x00")) {
			t.Fatalf("accepted %q %q %q", s, u, p)
		}
	})
}
