package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runTool(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, strings.NewReader(stdin), &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

func TestMaildirmakeAndDeliverquota(t *testing.T) {
	d := t.TempDir()
	md := filepath.Join(d, "md")
	if c, out, _ := runTool(t, "", "maildirmake"); c != 1 || out != "Usage: maildirmake [ options ] maildir\n" {
		t.Fatalf("usage: %d %q", c, out)
	}
	if c, _, _ := runTool(t, "", "maildirmake", "-q", "600S,3C", md); c != 0 {
		t.Fatal(c)
	}
	if c, _, e := runTool(t, "", "maildirmake", md); c != 1 || e != "maildirmake: "+md+": File exists\n" {
		t.Fatalf("%d %q", c, e)
	}
	if c, out, _ := runTool(t, "", "maildirmake", "-f", ".x", md); c != 1 || out != "Invalid folder name: .x\n" {
		t.Fatalf("%d %q", c, out)
	}
	if c, _, _ := runTool(t, "", "maildirmake", "-f", "a/../../escape", md); c != 1 {
		t.Fatal("slash in folder name accepted")
	}
	if _, err := os.Stat(filepath.Join(d, "escape")); err == nil {
		t.Fatal("maildirmake wrote outside the maildir")
	}
	if c, _, e := runTool(t, "", "maildirmake", "-q", "5X", md); c != 0 || !strings.Contains(e, "WARN: quota string '5X' not parseable") {
		t.Fatalf("%d %q", c, e)
	}
	msg := "Subject: q\n\n" + strings.Repeat("0", 200) + "\n"
	for i, want := range []int{0, 0, 75, 75} {
		c, out, _ := runTool(t, msg, "deliverquota", md)
		if c != want {
			t.Fatalf("delivery %d: exit %d", i+1, c)
		}
		if c == 75 && out != "Mail quota exceeded.\n" {
			t.Fatalf("over quota message %q", out)
		}
	}
	b, _ := os.ReadFile(filepath.Join(md, "maildirsize"))
	if string(b) != "600S,3C\n         426            2\n" {
		t.Fatalf("maildirsize %q", b)
	}
	if c, _, _ := runTool(t, "x", "deliverquota"); c != 73 {
		t.Fatal(c)
	}
	if c, _, e := runTool(t, "x", "deliverquota", filepath.Join(d, "none")); c != 75 || !strings.HasSuffix(e, ": No such file or directory\n") {
		t.Fatalf("%d %q", c, e)
	}
	if c, _, _ := runTool(t, "x", "deliverquota", "-c", filepath.Join(d, "a", "b")); c != 0 {
		t.Fatal(c)
	}
	// shared maildirs
	sh := filepath.Join(d, "shared")
	if c, _, _ := runTool(t, "", "maildirmake", "-S", sh); c != 0 {
		t.Fatal(c)
	}
	if c, _, _ := runTool(t, "", "maildirmake", "-s", "write", "-f", "W", sh); c != 0 {
		t.Fatal(c)
	}
	if c, _, _ := runTool(t, "", "maildirmake", "--add", "n="+sh, md); c != 0 {
		t.Fatal(c)
	}
	if c, _, e := runTool(t, "", "maildirmake", "--add", "n="+sh, md); c != 2 || e != "n: already defined as a sharable maildir.\n" {
		t.Fatalf("%d %q", c, e)
	}
	if c, _, e := runTool(t, "", "maildirmake", "--del", "zz", md); c != 1 || e != "zz: not found.\n" {
		t.Fatalf("%d %q", c, e)
	}
	b, _ = os.ReadFile(filepath.Join(md, "shared-maildirs"))
	if string(b) != "n\t"+sh+"\n" {
		t.Fatalf("%q", b)
	}
}

func TestDeliverquotaWarning(t *testing.T) {
	d := t.TempDir()
	md := filepath.Join(d, "md")
	warn := filepath.Join(d, "warn")
	os.WriteFile(warn, []byte("Subject: quota\n\nnear quota\n"), 0o644)
	runTool(t, "", "maildirmake", "-q", "72S,10C", md)
	msg := "Subject: x\n\nhello\n" // 18 bytes
	runTool(t, msg, "deliverquota", "-w", "50", "-W", warn, md)
	if _, err := os.Stat(filepath.Join(md, "quotawarn")); err == nil {
		t.Fatal("warned at 25%")
	}
	runTool(t, msg, "deliverquota", "-w", "50", "-W", warn, md)
	ents, _ := os.ReadDir(filepath.Join(md, "new"))
	if len(ents) != 3 {
		t.Fatalf("%d files", len(ents))
	}
	found := false
	for _, e := range ents {
		if strings.Contains(e.Name(), "_warn.") {
			found = true
			b, _ := os.ReadFile(filepath.Join(md, "new", e.Name()))
			if !strings.HasPrefix(string(b), "Date: ") || !strings.Contains(string(b), ".overquota@") || !strings.HasSuffix(string(b), "near quota\n") {
				t.Fatalf("%q", b)
			}
		}
	}
	if !found {
		t.Fatal("no warning")
	}
	runTool(t, msg, "deliverquota", "-w", "50", "-W", warn, md)
	if ents, _ := os.ReadDir(filepath.Join(md, "new")); len(ents) != 4 {
		t.Fatal("warning repeated within 24 hours")
	}
}
