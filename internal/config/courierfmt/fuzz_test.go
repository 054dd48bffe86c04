package courierfmt

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var fuzzErrRE = regexp.MustCompile(`^fuzz:[0-9]+: `)

// FuzzParseEnv: ParseEnv never panics or hangs, errors read "file:line: ...",
// and every value it returns survives quoting and parsing again.
func FuzzParseEnv(f *testing.F) {
	f.Add([]byte("A=1\nB=\"$A x\"\nexport C='y'\n"))
	f.Add([]byte("A=\"unterminated\n"))
	f.Add([]byte("A='x\\\n"))
	base := func(name string) (string, bool) {
		if name == "BASE" {
			return "from base", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := ParseEnv("fuzz", bytes.NewReader(data), base)
		if err != nil {
			if !fuzzErrRE.MatchString(err.Error()) {
				t.Fatalf("error without file:line: %q", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, v := range ef.Vars {
			if !validName(v.Name) || v.File != "fuzz" || v.Line < 1 || v.Line > lines {
				t.Fatalf("bad var %+v (input has %d lines)", v, lines)
			}
			if strings.Contains(v.Value, "\r") {
				continue // "\r\n" inside a multi-line quote reads as "\n"
			}
			quoted := v.Name + "='" + strings.ReplaceAll(v.Value, "'", `'\''`) + "'\n"
			again, err := ParseEnv("again", strings.NewReader(quoted), nil)
			if err != nil {
				t.Fatalf("reparse of %q: %v", quoted, err)
			}
			if len(again.Vars) != 1 || again.Vars[0].Value != v.Value {
				t.Fatalf("reparse of %q: got %+v, want %q", quoted, again.Vars, v.Value)
			}
		}
		for _, s := range ef.Sourced {
			if s.Line < 1 || s.Line > lines {
				t.Fatalf("bad sourced line %+v", s)
			}
		}
	})
}

// FuzzParseControl: ParseControl never panics, and the lines it returns obey
// its rules.
func FuzzParseControl(f *testing.F) {
	f.Add([]byte("# c\n\nexample.com \n\tcont\r\n"))
	f.Add([]byte("a\x00b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseControl("fuzz", bytes.NewReader(data))
		if err != nil {
			if !fuzzErrRE.MatchString(err.Error()) {
				t.Fatalf("error without file:line: %q", err)
			}
			return
		}
		prev := 0
		for _, l := range lines {
			trimmed := strings.TrimLeft(l.Text, " \t\v\f")
			if trimmed == "" || trimmed[0] == '#' || strings.TrimRight(l.Text, " \t\v\f\r") != l.Text ||
				strings.Contains(l.Text, "\n") || l.Line <= prev {
				t.Fatalf("bad line %+v after line %d", l, prev)
			}
			prev = l.Line
		}
	})
}

// FuzzParseAuthRC: ParseAuthRC never panics and returns well-formed names.
func FuzzParseAuthRC(f *testing.F) {
	f.Add([]byte("LDAP_URI ldap://x\n##NAME: MARKER:0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := ParseAuthRC("fuzz", bytes.NewReader(data))
		if err != nil {
			if !fuzzErrRE.MatchString(err.Error()) {
				t.Fatalf("error without file:line: %q", err)
			}
			return
		}
		for _, v := range ef.Vars {
			if v.Name == "" || strings.ContainsAny(v.Name, " \t\n") || strings.HasPrefix(v.Name, "#") {
				t.Fatalf("bad var %+v", v)
			}
		}
	})
}
