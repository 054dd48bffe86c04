package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMaildropEmbeddedMode(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte("if (/^Subject: spam/)\n  EXITCODE=1\necho \"checked $1\"\n"), 0o600)
	var out, errb bytes.Buffer
	code := Run([]string{"maildrop", "-m", rc, "x"}, strings.NewReader("Subject: spam\n\nb\n"), &out, &errb, maildropEnv(nil))
	if code != 1 || out.String() != "checked x\n" {
		t.Fatalf("code %d out %q err %q", code, out.String(), errb.String())
	}
	os.WriteFile(rc, []byte("to \""+dir+"/mbox\"\n"), 0o600)
	out.Reset()
	code = Run([]string{"maildrop", "-m", rc}, strings.NewReader("Subject: x\n\nb\n"), &out, &errb, maildropEnv(nil))
	if _, err := os.Stat(filepath.Join(dir, "mbox")); code != 75 || err == nil {
		t.Fatalf("to in embedded mode: code %d, delivered %v", code, err == nil)
	}
}
