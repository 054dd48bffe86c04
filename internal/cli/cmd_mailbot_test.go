package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMailbotSendsOnceThroughProgram(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "t")
	os.WriteFile(tmpl, []byte("Away.\n"), 0o600)
	fake := filepath.Join(dir, "sendmail")
	os.WriteFile(fake, []byte("#!/bin/sh\ncat >>"+dir+"/out\n"), 0o700)
	msg := "From: Alice <alice@example.com>\nSubject: hi\n\nbody\n"
	for i := 0; i < 2; i++ {
		var out, errb bytes.Buffer
		code := Run([]string{"mailbot", "-t", tmpl, "-d", filepath.Join(dir, "db"), "-A", "From: me@example.org", fake},
			strings.NewReader(msg), &out, &errb, maildropEnv(nil))
		if code != 0 {
			t.Fatalf("code %d err %q", code, errb.String())
		}
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	if strings.Count(string(out), "To: Alice <alice@example.com>\n") != 1 || !strings.HasPrefix(string(out), "From: me@example.org\n") {
		t.Fatalf("sent:\n%s", out)
	}
}
