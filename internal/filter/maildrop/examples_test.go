package maildrop

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

func TestMaildropPOSIXClasses(t *testing.T) {
	for _, c := range []struct{ pcre, want string }{
		{`abc`, `abc`},
		{`[[:digit:]_]`, `[\x{30}-\x{39}_]`},
		{`[]x]`, `[\]x]`},
		{`[^]x]`, `[^\]x]`},
		{`[a[b]`, `[a\[b]`},
		{`\[:x:]`, `\[:x:]`},
		{`[\]]`, `[\]]`},
	} {
		got, err := pcreToRegexp2(c.pcre)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.pcre, got, err, c.want)
		}
	}
	for _, bad := range []string{`[:wbreak:]`, `x[:alpha:]y`, `[[:wbreak:]]`, `[[.a.]]`, `[[=a=]]`, `[abc`} {
		if got, err := pcreToRegexp2(bad); err == nil {
			t.Errorf("%s: accepted as %q", bad, got)
		}
	}
	src := "X=(/^S: [[:alpha:]]+ [[:^alpha:]]+$/)\nY=(/[:wbreak:]x/)\nZ=(\"K\" =~ /[[:^alpha:]]/)\necho \"$X $Y $Z\"\nexit\n"
	var errb bytes.Buffer
	_, o, out, err := run(t, t.TempDir(), src, "S: abc 123\n\nx\n", Options{Stderr: &errb})
	if err != nil || !o.Done || out != "2 0 0\n" {
		t.Fatalf("out %q outcome %+v err %v", out, o, err)
	}
	if !strings.Contains(errb.String(), "Syntax error in /pattern/") {
		t.Fatalf("stderr %q", errb.String())
	}
}

func TestMaildropAssignInParens(t *testing.T) {
	src := "X=(Y=3)+1\nif ((A=length(B=xyz)) == 3)\n  echo \"$X $Y $A $B\"\nexit\n"
	_, _, out, err := run(t, t.TempDir(), src, "S: x\n\nb\n", Options{})
	if err != nil || out != "4 3 3 xyz\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	for _, bad := range []string{"B=C=4\n", "X=1 + Q=2\n", "X=(A=)\n"} {
		if _, err := Parse("rc", []byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestMaildropLinesCountsNewlines(t *testing.T) {
	for msg, want := range map[string]int{"S: x\n\nb\n": 3, "S: x\n\nb": 2, "": 0} {
		if n := NewMessage([]byte(msg)).Lines(); n != want {
			t.Errorf("%q: LINES %d, want %d", msg, n, want)
		}
	}
}

func TestMaildropQuotaWarning(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "md")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	if _, err := quota.Set(md, quota.Spec{Bytes: 200}, nil); err != nil {
		t.Fatal(err)
	}
	if err := maildir.Create(filepath.Join(md, ".Sub"), maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(md, ".Sub", "maildirfolder"), nil, 0o600)
	warn := filepath.Join(dir, "warn")
	os.WriteFile(warn, []byte("Subject: quota\n\nnear quota\n"), 0o600)
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte("to \""+md+"/.Sub\"\n"), 0o600)
	deliver := func(args ...string) int {
		var out, errb bytes.Buffer
		return Main(&Invocation{Args: append(args, rc), Stdin: strings.NewReader("S: x\n\n" + strings.Repeat("x", 50) + "\n"),
			Stdout: &out, Stderr: &errb, Env: map[string]string{}, ConfigDir: dir, PasswdFile: filepath.Join(dir, "nopasswd")})
	}
	countWarn := func() int {
		ents, _ := os.ReadDir(filepath.Join(md, "new"))
		n := 0
		for _, e := range ents {
			if strings.Contains(e.Name(), "_warn") {
				n++
			}
		}
		return n
	}
	if c := deliver(); c != 0 || countWarn() != 0 {
		t.Fatalf("without -w: exit %d, %d warnings", c, countWarn())
	}
	if c := deliver("-w", "90", "-W", warn); c != 0 || countWarn() != 0 {
		t.Fatalf("below 90%%: exit %d, %d warnings", c, countWarn())
	}
	if c := deliver("-w", "50", "-W", warn); c != 0 || countWarn() != 1 {
		t.Fatalf("above 50%%: exit %d, %d warnings", c, countWarn())
	}
	if _, err := os.Stat(filepath.Join(md, maildir.QuotaWarnStamp)); err != nil {
		t.Fatal(err)
	}
}
