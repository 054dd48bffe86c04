package maildrop

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// runEmbedded runs Main in embedded mode for a user whose home is home.
func runEmbedded(t *testing.T, home, config string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(&Invocation{
		Args: args, Stdin: strings.NewReader("From: a@b.c\nSubject: hello\n\nbody\n"), Stdout: &out, Stderr: &errb,
		Env:       map[string]string{"HOME": home, "PATH": "/bin:/usr/bin"},
		ConfigDir: config,
		Self:      &User{Name: "u", Home: home, Shell: "/bin/sh", UID: os.Getuid(), GID: os.Getgid()},
	})
	return code, out.String(), errb.String()
}

func write(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedFilterFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	write(t, f, "if (/^Subject: hello/)\n{\n  echo \"match $1\"\n  EXITCODE=3\n}\n", 0o600)
	code, out, errs := runEmbedded(t, dir, dir, "-m", f, "arg")
	if code != 3 || out != "match arg\n" {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	// nothing delivered to DEFAULT
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files created: %v", ents)
	}
}

func TestEmbeddedRefusesRestrictedStatements(t *testing.T) {
	dir := t.TempDir()
	for _, rule := range []string{
		`to "` + dir + `/mbox"`, `cc "` + dir + `/mbox"`, `system "touch ` + dir + `/ran"`, `xfilter "cat"`,
		`log "x"`, `logfile "` + dir + `/log"`, "A=`touch " + dir + "/ran`", "if (1)\n{\n  B=\"a\" . `true`\n}",
		"dotlock \"" + dir + "/l\" {\n}", "flock \"" + dir + "/l\" {\n}",
	} {
		f := filepath.Join(dir, "f")
		write(t, f, "echo first\n"+rule+"\n", 0o600)
		code, out, errs := runEmbedded(t, dir, dir, "-m", f)
		if code != ExitTempFail || out != "" || !strings.Contains(errs, "disabled in embedded mode") {
			t.Errorf("%s: code %d out %q err %q", rule, code, out, errs)
		}
		for _, n := range []string{"mbox", "ran", "log", "l"} {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				t.Errorf("%s: %s created", rule, n)
			}
		}
	}
}

func TestEmbeddedGdbmReadOnly(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	write(t, f, "echo gdbmopen(\""+dir+"/db\", \"C\")\n", 0o600)
	code, out, _ := runEmbedded(t, dir, dir, "-m", f)
	if code != 0 || out != "-1\n" {
		t.Fatalf("code %d out %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "db")); err == nil {
		t.Fatal("database created")
	}
}

func TestEmbeddedMaildroprcsInclude(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "etc")
	rcs := filepath.Join(config, "maildroprcs")
	os.MkdirAll(rcs, 0o755)
	write(t, filepath.Join(rcs, "helper"), "R=`echo from-rcs`\necho \"$R $HOME\"\n", 0o644)
	write(t, filepath.Join(dir, "plain"), "system \"true\"\n", 0o600)
	f := filepath.Join(dir, "f")
	write(t, f, "HOME=/nowhere\ninclude \""+rcs+"/helper\"\nEXITCODE=5\n", 0o600)
	code, out, errs := runEmbedded(t, dir, config, "-m", f)
	if code != 5 || out != "from-rcs "+dir+"\n" {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	// restrictions resume after the include
	write(t, f, "include \""+rcs+"/helper\"\nA=`true`\n", 0o600)
	if code, _, errs := runEmbedded(t, dir, config, "-m", f); code != ExitTempFail || !strings.Contains(errs, "disabled") {
		t.Fatalf("after include: code %d err %q", code, errs)
	}
	// other files included are restricted, and names with periods refused
	for _, inc := range []string{filepath.Join(dir, "plain"), rcs + "/../../plain", rcs + "/helper.x"} {
		write(t, f, "include \""+inc+"\"\n", 0o600)
		if code, _, errs := runEmbedded(t, dir, config, "-m", f); code != ExitTempFail {
			t.Errorf("include %s: code %d err %q", inc, code, errs)
		}
	}
}

func TestEmbeddedCandidates(t *testing.T) {
	got := EmbeddedCandidates("mailfilter-lists-maildrop")
	want := []string{"mailfilter-lists-maildrop", "mailfilter-lists-default", "mailfilter-default", "default"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v", got)
	}
	for name, ok := range map[string]bool{"a-b": true, "": false, "/etc/x": false, "a.b": false, "..": false} {
		if ValidEmbeddedName(name) != ok {
			t.Errorf("%q: want %v", name, ok)
		}
	}
}

func TestEmbeddedDashM(t *testing.T) {
	home := t.TempDir()
	mf := filepath.Join(home, ".mailfilters")
	os.Mkdir(mf, 0o700)
	write(t, filepath.Join(mf, "mailfilter-default"), "echo \"default $1\"\n", 0o600)
	code, out, errs := runEmbedded(t, home, home, "-M", "mailfilter-lists-maildrop", "x")
	if code != 0 || out != "default x\n" {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	write(t, filepath.Join(mf, "mailfilter-lists-maildrop"), "EXITCODE=7\n", 0o600)
	if code, _, errs := runEmbedded(t, home, home, "-M", "mailfilter-lists-maildrop"); code != 7 {
		t.Fatalf("exact file: code %d err %q", code, errs)
	}
	if code, _, _ := runEmbedded(t, home, home, "-M", "../x"); code != ExitTempFail {
		t.Fatalf("name with periods: code %d", code)
	}
	if code, _, _ := runEmbedded(t, home, home, "-M", "nothing"); code != ExitTempFail {
		t.Fatalf("no file: code %d", code)
	}
	os.Chmod(filepath.Join(mf, "mailfilter-lists-maildrop"), 0o640)
	if code, _, errs := runEmbedded(t, home, home, "-M", "mailfilter-lists-maildrop"); code != ExitTempFail || !strings.Contains(errs, "group or others") {
		t.Fatalf("group-readable file: code %d err %q", code, errs)
	}
	os.Chmod(mf, 0o755)
	if code, _, _ := runEmbedded(t, home, home, "-M", "mailfilter-default"); code != ExitTempFail {
		t.Fatalf("open directory: code %d", code)
	}
}
