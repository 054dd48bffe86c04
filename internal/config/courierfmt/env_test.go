package courierfmt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func baseEnv(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestParseEnvValues(t *testing.T) {
	t.Parallel()
	base := baseEnv(map[string]string{"IMAP_CAPABILITY": "IMAP4rev1 IDLE", "sysconfdir": "/etc/courier", "HOME": "/root"})
	tests := []struct {
		name, in string
		want     []Var // File is filled in by the test
	}{
		{"plain", "A=b\n", []Var{{Name: "A", Value: "b", Line: 1}}},
		{"empty", "A=\n", []Var{{Name: "A", Value: "", Line: 1}}},
		{"no final newline", "A=b", []Var{{Name: "A", Value: "b", Line: 1}}},
		{"crlf", "A=b\r\nB=c\r\n", []Var{{Name: "A", Value: "b", Line: 1}, {Name: "B", Value: "c", Line: 2}}},
		{"bom", "\xef\xbb\xbfA=b\n", []Var{{Name: "A", Value: "b", Line: 1}}},
		{"single quotes literal", `A='x $HOME \n "y"'`, []Var{{Name: "A", Value: `x $HOME \n "y"`, Line: 1}}},
		{"double quotes escapes", `A="a\"b\\c\$d\e\` + "`" + `"`, []Var{{Name: "A", Value: `a"b\c$d\e` + "`", Line: 1}}},
		{"double quotes expansion", `A="$HOME/x ${HOME}y"`, []Var{{Name: "A", Value: "/root/x /rooty", Line: 1}}},
		{"unquoted escapes", `A=a\ b\$c\\d`, []Var{{Name: "A", Value: `a b$c\d`, Line: 1}}},
		{"unquoted expansion", "A=${sysconfdir}/smtpaccess", []Var{{Name: "A", Value: "/etc/courier/smtpaccess", Line: 1}}},
		{"base variable", `IMAP_CAPABILITY_TLS="$IMAP_CAPABILITY AUTH=PLAIN"`,
			[]Var{{Name: "IMAP_CAPABILITY_TLS", Value: "IMAP4rev1 IDLE AUTH=PLAIN", Line: 1}}},
		{"file shadows base", "HOME=/home/x\nB=$HOME", []Var{{Name: "HOME", Value: "/home/x", Line: 1}, {Name: "B", Value: "/home/x", Line: 2}}},
		{"unset expands empty", "A=x${NOPE}y$NOPE", []Var{{Name: "A", Value: "xy", Line: 1}}},
		{"lone dollar literal", `A=$ B="a$" C=$/x D="$"`, []Var{{Name: "A", Value: "$", Line: 1}, {Name: "B", Value: "a$", Line: 1}, {Name: "C", Value: "$/x", Line: 1}, {Name: "D", Value: "$", Line: 1}}},
		{"name ends expansion", "A=1\nB=$A-x$Ay", []Var{{Name: "A", Value: "1", Line: 1}, {Name: "B", Value: "1-x", Line: 2}}},
		{"concatenation", `A="x"'y'z"$HOME"`, []Var{{Name: "A", Value: "xyz/root", Line: 1}}},
		{"hash inside word", "A=b#c", []Var{{Name: "A", Value: "b#c", Line: 1}}},
		{"hash starts value", "A=#c", []Var{{Name: "A", Value: "#c", Line: 1}}},
		{"trailing comment", "A=b # comment\nB='x # y' # c", []Var{{Name: "A", Value: "b", Line: 1}, {Name: "B", Value: "x # y", Line: 2}}},
		{"comments and markers", "##VERSION: $Id$\n##NAME: ADDRESS:0\n#\n  # indented\n\nADDRESS=0\n", []Var{{Name: "ADDRESS", Value: "0", Line: 6}}},
		{"export forms", "export A=1\nexport A\nB=2\nexport B C\n", []Var{{Name: "A", Value: "1", Line: 1}, {Name: "B", Value: "2", Line: 3}}},
		{"several per line", "A=1 B=2\tC=$A$B", []Var{{Name: "A", Value: "1", Line: 1}, {Name: "B", Value: "2", Line: 1}, {Name: "C", Value: "12", Line: 1}}},
		{"continuation unquoted", "A=abc\\\ndef\nB=x", []Var{{Name: "A", Value: "abcdef", Line: 1}, {Name: "B", Value: "x", Line: 3}}},
		{"continuation double quoted", "A=\"abc \\\n def\"\nB=x", []Var{{Name: "A", Value: "abc  def", Line: 1}, {Name: "B", Value: "x", Line: 3}}},
		{"continuation between words", "A=1 \\\n B=2\nC=3", []Var{{Name: "A", Value: "1", Line: 1}, {Name: "B", Value: "2", Line: 2}, {Name: "C", Value: "3", Line: 3}}},
		{"multi-line single quote", "A='x\ny'\nB=1", []Var{{Name: "A", Value: "x\ny", Line: 1}, {Name: "B", Value: "1", Line: 3}}},
		{"multi-line double quote", "A=\"x\n$HOME\"\nB=1", []Var{{Name: "A", Value: "x\n/root", Line: 1}, {Name: "B", Value: "1", Line: 3}}},
		{"backslash at eof", "A=x\\", []Var{{Name: "A", Value: "x", Line: 1}}},
		{"indented", "  \tA=1", []Var{{Name: "A", Value: "1", Line: 1}}},
		{"duplicate kept", "A=1\nA=2", []Var{{Name: "A", Value: "1", Line: 1}, {Name: "A", Value: "2", Line: 2}}},
		{"utf8", "A=Persönlich", []Var{{Name: "A", Value: "Persönlich", Line: 1}}},
		{"export is a name", "export=1 source=2", []Var{{Name: "export", Value: "1", Line: 1}, {Name: "source", Value: "2", Line: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseEnv("imapd", strings.NewReader(tc.in), base)
			if err != nil {
				t.Fatalf("ParseEnv: %v", err)
			}
			for i := range tc.want {
				tc.want[i].File = "imapd"
			}
			if !reflect.DeepEqual(f.Vars, tc.want) {
				t.Errorf("got  %#v\nwant %#v", f.Vars, tc.want)
			}
		})
	}
}

func TestParseEnvSourced(t *testing.T) {
	t.Parallel()
	f, err := ParseEnv("courierd", strings.NewReader("A=1\n. /etc/environment\nsource \"$A\"/x # c\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{{Text: "/etc/environment", File: "courierd", Line: 2}, {Text: "1/x", File: "courierd", Line: 3}}
	if !reflect.DeepEqual(f.Sourced, want) {
		t.Errorf("Sourced = %#v, want %#v", f.Sourced, want)
	}
}

func TestEnvFileLookupMap(t *testing.T) {
	t.Parallel()
	f, err := ParseEnv("x", strings.NewReader("A=1\nB=2\nA=3\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := f.Lookup("A"); !ok || v.Value != "3" || v.Line != 3 || v.Pos() != "x:3" {
		t.Errorf("Lookup(A) = %+v, %v", v, ok)
	}
	if _, ok := f.Lookup("C"); ok {
		t.Error("Lookup(C) found")
	}
	if m := f.Map(); !reflect.DeepEqual(m, map[string]string{"A": "3", "B": "2"}) {
		t.Errorf("Map = %v", m)
	}
}

func TestParseEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"unterminated single quote", "A=1\nB='abc\nC=2\n", "imapd:2: unterminated single quote"},
		{"unterminated double quote", "A=1\n\nB=\"abc\\\"\n", "imapd:3: unterminated double quote"},
		{"unterminated double quote after continuation", "B=\"abc\\\n", "imapd:1: unterminated double quote"},
		{"bad name digit", "1ABC=x", `imapd:1: bad variable name "1ABC=x"`},
		{"bad name dash", "\nFOO-BAR=x", `imapd:2: bad variable name "FOO-BAR=x"`},
		{"missing equals", "A=1\nFOO bar", `imapd:2: missing '=' after "FOO"`},
		{"missing equals alone", "FOO", `imapd:1: missing '=' after "FOO"`},
		{"text after value", "A=b c", `imapd:1: unexpected "c" after the value of A (quote values that contain blanks)`},
		{"command substitution", "A=`date`", "imapd:1: command substitution `...` is not supported"},
		{"dollar paren", "A=\"$(date)\"", "imapd:1: command substitution $(...) is not supported"},
		{"default expansion", "A=${B:-x}", `imapd:1: unsupported parameter expansion "${B:-x}" (only ${NAME} is supported)`},
		{"missing brace", "A=${B", "imapd:1: missing '}' in ${...}"},
		{"special parameter", "A=$1", `imapd:1: special parameter $1 is not supported (write \$ for a literal $)`},
		{"semicolon", "A=1; B=2", `imapd:1: unsupported shell syntax ";" (quote the value)`},
		{"pipe", "A=1|x", `imapd:1: unsupported shell syntax "|" (quote the value)`},
		{"export alone", "export", `imapd:1: missing name after "export"`},
		{"dot alone", ".", `imapd:1: missing file name after ". (source)"`},
		{"nul", "A=1\nB=\x00", "imapd:2: NUL byte in line"},
		{"if statement", "if [ -f x ]; then", `imapd:1: missing '=' after "if"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEnv("imapd", strings.NewReader(tc.in), nil)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q\nwant  %q", err, tc.want)
			}
		})
	}
}

// TestParseEnvHugeLine: a 10 MB line is refused cleanly, without reading it
// all into memory first.
func TestParseEnvHugeLine(t *testing.T) {
	t.Parallel()
	huge := "A=1\nB=" + strings.Repeat("x", 10<<20) + "\nC=2\n"
	_, err := ParseEnv("imapd", strings.NewReader(huge), nil)
	if err == nil || err.Error() != "imapd:2: line longer than 1048576 bytes" {
		t.Fatalf("err = %v", err)
	}
	// A line of exactly MaxLine bytes is accepted.
	ok := "A=" + strings.Repeat("x", MaxLine-2) + "\n"
	f, err := ParseEnv("imapd", strings.NewReader(ok), nil)
	if err != nil || len(f.Vars[0].Value) != MaxLine-2 {
		t.Fatalf("MaxLine line: %v", err)
	}
}

func TestParseEnvLongStatement(t *testing.T) {
	t.Parallel()
	// Many short continuation lines add up to more than MaxLine.
	part := strings.Repeat("y", 1000) + "\\\n"
	in := "A=1\nB=" + strings.Repeat(part, MaxLine/1000+10) + "\n"
	_, err := ParseEnv("esmtpd", strings.NewReader(in), nil)
	if err == nil || err.Error() != "esmtpd:2: statement longer than 1048576 bytes" {
		t.Fatalf("err = %v", err)
	}
	// An open quote swallowing the rest of a large file.
	in = "A=1\nB='" + strings.Repeat(strings.Repeat("z", 1000)+"\n", MaxLine/1000+10)
	_, err = ParseEnv("esmtpd", strings.NewReader(in), nil)
	if err == nil || err.Error() != "esmtpd:2: statement longer than 1048576 bytes" {
		t.Fatalf("err = %v", err)
	}
}

// TestParseEnvExpansionBomb: repeated expansion of a big value is bounded.
func TestParseEnvExpansionBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("A=" + strings.Repeat("x", 1000) + "\n")
	b.WriteString("B=" + strings.Repeat("$A", 2000) + "\n") // 2 MB
	_, err := ParseEnv("f", strings.NewReader(b.String()), nil)
	if err == nil || err.Error() != "f:2: value longer than 1048576 bytes" {
		t.Fatalf("err = %v", err)
	}
	b.Reset()
	b.WriteString("A=" + strings.Repeat("x", MaxLine-2) + "\n")
	for range 20 {
		b.WriteString("B=$A\n")
	}
	_, err = ParseEnv("f", strings.NewReader(b.String()), nil)
	if err == nil || err.Error() != "f:17: names and values exceed 16777216 bytes in total" {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "pop3d")
	if err := os.WriteFile(p, []byte("PORT=110\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadEnv(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Lookup("PORT"); v.Value != "110" || v.File != p || v.Line != 1 || f.Path != p {
		t.Errorf("got %+v", v)
	}

	_, err = LoadEnv(filepath.Join(dir, "missing"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	_, err = LoadEnv(dir, nil)
	if err == nil || err.Error() != "load env file: "+dir+": is a directory, not a file" {
		t.Errorf("directory: err = %v", err)
	}
}
