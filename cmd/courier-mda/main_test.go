package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// buildMDA builds this command into dir, the way `make build` does (no cgo, -tags lean).
func buildMDA(t *testing.T, dir string) string {
	t.Helper()
	return build(t, dir, "courier-mda", "-tags", "lean", "courier/cmd/courier-mda")
}

func build(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append([]string{"build", "-o", bin}, args...)...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func countNew(t *testing.T, md string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(md, "new"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestLeanBinaryDelivers runs the built binary both ways it is called: by a first argument
// and through a link named after the tool, as install-links makes them.
func TestLeanBinaryDelivers(t *testing.T) {
	dir := t.TempDir()
	bin := buildMDA(t, dir)
	home := filepath.Join(dir, "home")
	md := filepath.Join(home, "Maildir")
	msg := "From: a@example.test\nSubject: hello\nList-Id: <l.example.test>\n\nbody\n"

	dq := exec.Command(bin, "deliverquota", "-c", md)
	dq.Stdin = strings.NewReader(msg)
	if out, err := dq.CombinedOutput(); err != nil {
		t.Fatalf("deliverquota: %v\n%s", err, out)
	}
	if n := countNew(t, md); n != 1 {
		t.Fatalf("deliverquota left %d messages in new/, want 1", n)
	}

	if err := os.MkdirAll(filepath.Join(md, ".Lists", "new"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cur", "tmp"} {
		os.MkdirAll(filepath.Join(md, ".Lists", sub), 0o700) //nolint:errcheck
	}
	os.WriteFile(filepath.Join(md, ".Lists", "maildirfolder"), nil, 0o600) //nolint:errcheck
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte("if (/^List-Id:.*l\\.example\\.test/)\n{\n  to \""+md+"/.Lists\"\n}\nto \""+md+"\"\n"), 0o600) //nolint:errcheck
	link := filepath.Join(dir, "links", "maildrop")
	os.MkdirAll(filepath.Dir(link), 0o755) //nolint:errcheck
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	md1 := exec.Command(link, rc)
	md1.Stdin = strings.NewReader(msg)
	md1.Env = append(os.Environ(), "HOME="+home)
	if out, err := md1.CombinedOutput(); err != nil {
		t.Fatalf("maildrop: %v\n%s", err, out)
	}
	if n := countNew(t, filepath.Join(md, ".Lists")); n != 1 {
		t.Fatalf("maildrop left %d messages in .Lists/new, want 1", n)
	}

	bad := exec.Command(bin, "imapd")
	out, err := bad.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 64 || !strings.Contains(string(out), "usage: courier-mda") {
		t.Fatalf("unknown tool: %v %q; want exit 64 and the usage", err, out)
	}
}

// TestLeanBinaryPCREHelper: the lean build has no backtracking engine; a pattern only PCRE
// can read (a back-reference, a look-ahead) runs in `courier maildrop-pcre` beside it, and
// without that binary the delivery fails temporarily (EX_TEMPFAIL) instead of misfiling.
func TestLeanBinaryPCREHelper(t *testing.T) {
	dir := t.TempDir()
	bin := buildMDA(t, dir)
	home := filepath.Join(dir, "home")
	md := filepath.Join(home, "Maildir")
	for _, f := range []string{md, filepath.Join(md, ".PCRE")} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(f, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	rc := filepath.Join(dir, "rc")
	src := "if (/^Subject: (h)\\1ello (?=w)(\\w+)/)\n{\n  to \"" + md + "/.PCRE\"\n}\nif (/^Subject: (x+)+$/)\n{\n  to \"" + md + "/.PCRE\"\n}\nto \"" + md + "\"\n"
	if err := os.WriteFile(rc, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	deliver := func(subject string) (int, string) {
		c := exec.Command(bin, "maildrop", rc)
		c.Stdin = strings.NewReader("From: a@example.test\nSubject: " + subject + "\n\nbody\n")
		c.Env = append(os.Environ(), "HOME="+home)
		out, err := c.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}

	// Without courier beside it: a pattern Go's regexp reads runs, one it cannot fails.
	if code, out := deliver("hhello world"); code != 75 || !strings.Contains(out, "courier") {
		t.Fatalf("without the full binary: exit %d %q, want 75 naming it", code, out)
	}
	if n := countNew(t, md) + countNew(t, filepath.Join(md, ".PCRE")); n != 0 {
		t.Fatalf("%d messages delivered by a failed run", n)
	}

	build(t, dir, "courier", "courier/cmd/courier")
	if code, out := deliver("hhello world"); code != 0 {
		t.Fatalf("exit %d %q", code, out)
	}
	if code, out := deliver("hello world"); code != 0 {
		t.Fatalf("exit %d %q", code, out)
	}
	if n := countNew(t, filepath.Join(md, ".PCRE")); n != 1 {
		t.Fatalf(".PCRE has %d messages, want 1", n)
	}
	if n := countNew(t, md); n != 1 {
		t.Fatalf("INBOX has %d messages, want 1", n)
	}

	// A pattern that backtracks without end runs out of time in the helper: the lean
	// binary logs it and delivers to DEFAULT.
	if testing.Short() {
		return
	}
	slow := filepath.Join(dir, "slow")
	if err := os.WriteFile(slow, []byte("DEFAULT=\""+md+"\"\nif (/^Subject: (a+)+(?!b)$/)\n{\n  to \""+md+"/.PCRE\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(bin, "maildrop", slow)
	c.Stdin = strings.NewReader("Subject: " + strings.Repeat("a", 60) + "!\n\nbody\n")
	c.Env = append(os.Environ(), "HOME="+home)
	out, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "time limit") {
		t.Fatalf("catastrophic pattern: %v %q", err, out)
	}
	if n := countNew(t, md); n != 2 {
		t.Fatalf("INBOX has %d messages after the timed-out filter, want 2", n)
	}
}
