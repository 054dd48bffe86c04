package delivery

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"maildrop", []string{"maildrop"}},
		{"  /usr/bin/maildrop  -A 'X-A: b c' ./rc", []string{"/usr/bin/maildrop", "-A", "X-A: b c", "./rc"}},
		{`maildrop -A "X-B: \"q\"" a\ b`, []string{"maildrop", "-A", `X-B: "q"`, "a b"}},
		{`maildrop ''`, []string{"maildrop", ""}},
		{"maildrop | cat", nil},
		{"maildrop; rm x", nil},
		{"maildrop $HOME/rc", nil},
		{`maildrop "$HOME/rc"`, nil},
		{"maildrop 'unterminated", nil},
		{"FOO=1 maildrop", nil},
		{"maildrop > out", nil},
		{"maildrop `x`", nil},
		{"", nil},
	} {
		got, ok := splitCommand(c.in)
		if ok != (c.want != nil) || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestMaildropArgs(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "courier")
	other := filepath.Join(dir, "bin", "maildrop")
	os.MkdirAll(filepath.Dir(other), 0o755)
	os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755)
	link := filepath.Join(dir, "links", "maildrop")
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	// install-links points maildrop at the lean companion when it sits beside us
	lean := filepath.Join(dir, "courier-mda")
	os.WriteFile(lean, []byte("#!/bin/sh\n"), 0o755)
	leanLink := filepath.Join(dir, "lean", "maildrop")
	os.MkdirAll(filepath.Dir(leanLink), 0o755)
	if err := os.Symlink(lean, leanLink); err != nil {
		t.Fatal(err)
	}
	path := "/nonexistent:" + filepath.Join(dir, "links")
	for _, c := range []struct {
		cmd  string
		path string
		want []string
		ok   bool
	}{
		{"maildrop", path, []string{}, true},
		{"/usr/lib/courier/bin/maildrop -A 'X: y'", path, []string{"-A", "X: y"}, true},
		{self + " maildrop ./rc", path, []string{"./rc"}, true},
		{"courier maildrop", path, []string{}, true},
		{link + " -V 2", path, []string{"-V", "2"}, true},
		{leanLink + " rc", path, []string{"rc"}, true},
		{"maildrop", filepath.Join(dir, "lean"), []string{}, true},
		{other + " rc", path, nil, false},             // someone else's maildrop
		{"maildrop", filepath.Dir(other), nil, false}, // found on PATH, not ours
		{"courier imapd", path, nil, false},
		{"procmail", path, nil, false},
		{"maildrop | tee x", path, nil, false},
	} {
		got, ok := maildropArgs(c.cmd, c.path, self)
		if ok != c.ok || (ok && strings.Join(got, "\x00") != strings.Join(c.want, "\x00")) {
			t.Errorf("maildropArgs(%q) = %q, %v; want %q, %v", c.cmd, got, ok, c.want, c.ok)
		}
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"maildrop", "/usr/bin/maildrop -A 'X: y' rc", `maildrop "a\"b" c\ d`, "a | b", "x=1 y", "'", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, ok := splitCommand(s)
		if !ok {
			return
		}
		if len(words) == 0 || strings.Contains(words[0], "=") {
			t.Fatalf("splitCommand(%q) accepted %q", s, words)
		}
		for _, w := range words {
			if strings.ContainsAny(w, "\n\r") && !strings.ContainsAny(s, "'\"") {
				t.Fatalf("splitCommand(%q): newline in unquoted word %q", s, w)
			}
		}
	})
}
