package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/store/maildir"
)

func maildropEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func countNew(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestMaildropFilterFileMode(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "md")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte("DEFAULT=\""+md+"\"\nif ($SIZE > 5)\n  echo \"big $1\"\n"), 0o600)
	var out, errb bytes.Buffer
	code := Run([]string{"maildrop", rc, "arg"}, strings.NewReader("Subject: x\n\nbody\n"), &out, &errb, maildropEnv(nil))
	if code != 0 || out.String() != "big arg\n" || countNew(t, md) != 1 {
		t.Fatalf("code %d out %q err %q", code, out.String(), errb.String())
	}
}

func TestMaildropSyntaxErrorIsTempfail(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte("echo a\nif (1) {\n}\n"), 0o600)
	var out, errb bytes.Buffer
	code := Run([]string{"maildrop", rc}, strings.NewReader("S: x\n\nb\n"), &out, &errb, maildropEnv(nil))
	if code != 75 || out.Len() != 0 || !strings.Contains(errb.String(), rc+":2:") {
		t.Fatalf("code %d out %q err %q", code, out.String(), errb.String())
	}
}

func TestMaildropCatastrophicRegexStillDelivers(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the match time limit")
	}
	dir := t.TempDir()
	md := filepath.Join(dir, "md")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "rc")
	// The look-ahead keeps the pattern on the backtracking engine (Go's regexp would answer
	// (a+)+$ in linear time).
	os.WriteFile(rc, []byte("DEFAULT=\""+md+"\"\nif (/^Subject: (a+)+(?!b)$/)\n  exit\n"), 0o600)
	var out, errb bytes.Buffer
	msg := "Subject: " + strings.Repeat("a", 60) + "!\n\nb\n"
	code := Run([]string{"maildrop", rc}, strings.NewReader(msg), &out, &errb, maildropEnv(nil))
	if code != 0 || countNew(t, md) != 1 || !strings.Contains(errb.String(), "delivering to DEFAULT") {
		t.Fatalf("code %d err %q", code, errb.String())
	}
}

func TestMaildropDeliveryMode(t *testing.T) {
	home := t.TempDir()
	conf := t.TempDir()
	md := filepath.Join(home, "Maildir")
	for _, d := range []string{md, filepath.Join(md, ".Spam")} {
		if err := maildir.Create(d, maildir.Private, true); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(conf, "maildroprc"), []byte("SYSTEM=yes\n"), 0o644)
	mf := filepath.Join(home, ".mailfilter")
	os.WriteFile(mf, []byte("if (/^Subject: spam/ && $SYSTEM eq \"yes\")\n  to \"./Maildir/.Spam\"\n"), 0o600)
	env := maildropEnv(map[string]string{"HOME": home, "COURIER_CONFIG": conf})
	for _, subj := range []string{"spam", "ham"} {
		var out, errb bytes.Buffer
		code := Run([]string{"maildrop"}, strings.NewReader("Subject: "+subj+"\n\nb\n"), &out, &errb, env)
		if code != 0 {
			t.Fatalf("%s: code %d err %q", subj, code, errb.String())
		}
	}
	if countNew(t, md) != 1 || countNew(t, filepath.Join(md, ".Spam")) != 1 {
		t.Fatalf("inbox %d spam %d", countNew(t, md), countNew(t, filepath.Join(md, ".Spam")))
	}
	// group-readable .mailfilter: refused with EX_TEMPFAIL
	os.Chmod(mf, 0o640)
	var out, errb bytes.Buffer
	code := Run([]string{"maildrop"}, strings.NewReader("Subject: x\n\nb\n"), &out, &errb, env)
	if code != 75 {
		t.Fatalf("code %d err %q", code, errb.String())
	}
}

func TestMaildropBadOption(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run([]string{"maildrop", "-Z", "x"}, strings.NewReader(""), &out, &errb, maildropEnv(nil)); code != 75 {
		t.Fatalf("code %d", code)
	}
}
