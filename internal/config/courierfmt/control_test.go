package courierfmt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseControl(t *testing.T) {
	t.Parallel()
	in := "# comment\n\nexample.com  \n   \n  # indented comment\n\tcontinued\r\nlast"
	got, err := ParseControl("locals", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{
		{Text: "example.com", File: "locals", Line: 3},
		{Text: "\tcontinued", File: "locals", Line: 6},
		{Text: "last", File: "locals", Line: 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if got[0].Pos() != "locals:3" {
		t.Errorf("Pos = %q", got[0].Pos())
	}
}

func TestParseControlHugeLine(t *testing.T) {
	t.Parallel()
	in := "a\nb\n" + strings.Repeat("x", 10<<20) + "\n"
	_, err := ParseControl("aliases", strings.NewReader(in))
	if err == nil || err.Error() != "aliases:3: line longer than 1048576 bytes" {
		t.Fatalf("err = %v", err)
	}
}

func TestReadControlFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "locals")
	write(t, p, "localhost\n# x\nexample.com\n")
	lines, warns, err := ReadControl(p)
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warns %v", err, warns)
	}
	want := []Line{{Text: "localhost", File: p, Line: 1}, {Text: "example.com", File: p, Line: 3}}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("got %#v", lines)
	}
}

func TestReadControlDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "hosteddomains")
	write(t, filepath.Join(dir, "b"), "b.example\n")
	write(t, filepath.Join(dir, "a"), "# first\na.example\n\na2.example\n")
	write(t, filepath.Join(dir, "c"), "")
	write(t, filepath.Join(dir, "Z"), "z.example\n") // byte order: Z before a
	for _, skipped := range []string{".hidden", "a~", "a.bak", "a.orig", "a.dpkg-old", "a.dpkg-new",
		"a.dpkg-dist", "a.dpkg-tmp", "a.rpmnew", "a.rpmsave", "a.ucf-dist"} {
		write(t, filepath.Join(dir, skipped), "SKIPPED\n")
	}
	if err := os.Symlink("b", filepath.Join(dir, "d-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "e-dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub", "x"), "SKIPPED\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	lines, warns, err := ReadControl(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.Pos()+" "+l.Text)
	}
	want := []string{
		dir + "/Z:1 z.example",
		dir + "/a:2 a.example",
		dir + "/a:4 a2.example",
		dir + "/b:1 b.example",
		dir + "/d-link:1 b.example",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines\n got %q\nwant %q", got, want)
	}
	var gotW []string
	for _, w := range warns {
		gotW = append(gotW, w.String())
	}
	wantW := []string{
		dir + "/e-dangling: dangling symbolic link, skipped",
		dir + "/fifo: not a plain file (p---------), skipped",
		dir + "/sub: is a directory, skipped (only plain files in " + dir + " are read)",
	}
	if !reflect.DeepEqual(gotW, wantW) {
		t.Errorf("warnings\n got %q\nwant %q", gotW, wantW)
	}
}

func TestReadControlEmptyDirectory(t *testing.T) {
	t.Parallel()
	lines, warns, err := ReadControl(t.TempDir())
	if err != nil || lines != nil || warns != nil {
		t.Errorf("got %v %v %v", lines, warns, err)
	}
}

func TestReadControlMissing(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "esmtproutes")
	_, _, err := ReadControl(p)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if err.Error() != "read control file: stat "+p+": no such file or directory" {
		t.Errorf("err = %q", err)
	}
	_, err = ReadFirstLine(p)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFirstLine: err = %v, want fs.ErrNotExist", err)
	}
}

// TestReadControlUnreadable makes a file unreadable in ways that hold for
// root too: a FIFO where a file is expected (which must not hang), a path
// below a plain file, and a huge line. chmod 000 is checked as well, with
// the outcome that depends on whether the test runs as root.
func TestReadControlUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	fifo := filepath.Join(dir, "me")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadControl(fifo)
	if err == nil || err.Error() != "read control file: "+fifo+": not a regular file (p---------)" {
		t.Errorf("FIFO: err = %v", err)
	}
	_, err = ReadFirstLine(fifo)
	if err == nil || err.Error() != "read first line: "+fifo+": not a regular file (p---------)" {
		t.Errorf("FIFO ReadFirstLine: err = %v", err)
	}
	_, err = LoadEnv(fifo, nil)
	if err == nil || err.Error() != "load env file: "+fifo+": not a regular file (p---------)" {
		t.Errorf("FIFO LoadEnv: err = %v", err)
	}

	file := filepath.Join(dir, "plain")
	write(t, file, "x\n")
	below := filepath.Join(file, "locals")
	_, _, err = ReadControl(below)
	if err == nil || errors.Is(err, fs.ErrNotExist) ||
		err.Error() != "read control file: stat "+below+": not a directory" {
		t.Errorf("below a file: err = %v", err)
	}

	locked := filepath.Join(dir, "locked")
	write(t, locked, "secret\n")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	lines, _, err := ReadControl(locked)
	if os.Geteuid() == 0 {
		// root reads it anyway; the FIFO and not-a-directory cases above
		// cover unreadable files for root.
		if err != nil || len(lines) != 1 || lines[0].Text != "secret" {
			t.Errorf("chmod 000 as root: %v %v", lines, err)
		}
	} else if err == nil || err.Error() != "read control file: open "+locked+": permission denied" {
		t.Errorf("chmod 000: err = %v", err)
	}

	sub := filepath.Join(dir, "aliases")
	write(t, filepath.Join(sub, "ok"), "a: b\n")
	write(t, filepath.Join(sub, "zz"), strings.Repeat("x", 10<<20))
	_, _, err = ReadControl(sub)
	if err == nil || err.Error() != sub+"/zz:1: line longer than 1048576 bytes" {
		t.Errorf("huge line in directory: err = %v", err)
	}
}

func TestReadFirstLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"mail.example.com\nignored\n", "mail.example.com"},
		{"  1w2d  \r\n", "1w2d"},
		{"# comment\n\n  host\n", "host"},
		{"", ""},
		{"\n\n", ""},
		{"no newline", "no newline"},
	} {
		p := filepath.Join(dir, "me")
		write(t, p, tc.content)
		got, err := ReadFirstLine(p)
		if err != nil || got != tc.want {
			t.Errorf("ReadFirstLine(%q) = %q, %v; want %q", tc.content, got, err, tc.want)
		}
	}
	if _, err := ReadFirstLine(dir); err == nil || err.Error() != "read first line: "+dir+": is a directory, not a file" {
		t.Errorf("directory: err = %v", err)
	}
}

func TestSkipName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"system": false, "a.b": false, "dpkg": false, "x.rpm": false,
		".x": true, "x~": true, "x.bak": true, "x.dpkg-old": true, "x.dpkg-new": true,
		"x.dpkg-dist": true, "x.dpkg-tmp": true, "x.rpmnew": true, "x.rpmsave": true,
		"x.orig": true, "x.ucf-old": true, "": true,
	} {
		if got := SkipName(name); got != want {
			t.Errorf("SkipName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseAuthRC(t *testing.T) {
	t.Parallel()
	in := "##VERSION: x\n# LDAP_URI commented\nLDAP_URI\t\tldaps://a, ldaps://b  \n  LDAP_TLS 1\nMYSQL_SELECT_CLAUSE SELECT '$(local_part)' \\\nEMPTY\n##NAME: MARKER:0\n"
	f, err := ParseAuthRC("authldaprc", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{
		{Name: "LDAP_URI", Value: "ldaps://a, ldaps://b", File: "authldaprc", Line: 3},
		{Name: "LDAP_TLS", Value: "1", File: "authldaprc", Line: 4},
		{Name: "MYSQL_SELECT_CLAUSE", Value: `SELECT '$(local_part)' \`, File: "authldaprc", Line: 5},
		{Name: "EMPTY", Value: "", File: "authldaprc", Line: 6},
	}
	if !reflect.DeepEqual(f.Vars, want) || len(f.Warnings) != 0 {
		t.Errorf("got %#v warnings %v", f.Vars, f.Warnings)
	}

	f, err = ParseAuthRC("authmysqlrc", strings.NewReader("MYSQL_SERVER localhost\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || f.Warnings[0].String() !=
		`authmysqlrc: no "##NAME: MARKER:0" line (authlib refuses such a file; run sysconftool after an upgrade)` {
		t.Errorf("warnings %v", f.Warnings)
	}

	_, err = ParseAuthRC("authldaprc", strings.NewReader("A 1\n"+strings.Repeat("x", 10<<20)))
	if err == nil || err.Error() != "authldaprc:2: line longer than 1048576 bytes" {
		t.Errorf("huge line: err = %v", err)
	}
	if _, err := LoadAuthRC(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: err = %v", err)
	}
}
