package pop3

import (
	"reflect"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		line string
		want Command
	}{
		{"", Command{}},
		{"   ", Command{}},
		{"STAT", Command{Name: "STAT"}},
		{"stat", Command{Name: "STAT"}},
		{" \tLiSt 1", Command{Name: "LIST", Args: []string{"1"}, Rest: "1"}},
		{"TOP 1  2 3", Command{Name: "TOP", Args: []string{"1", "2", "3"}, Rest: "1  2 3"}},
		{"PASS  secret with spaces ", Command{Name: "PASS", Args: []string{"secret", "with", "spaces"}, Rest: " secret with spaces "}},
		{"STAT\t", Command{Name: "STAT", Rest: ""}},
		{"USER d\xc3\xa9mo", Command{Name: "USER", Args: []string{"d\xc3\xa9mo"}, Rest: "d\xc3\xa9mo"}},
	} {
		got := ParseCommand([]byte(c.line))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseCommand(%q) = %#v, want %#v", c.line, got, c.want)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for _, c := range []struct {
		s  string
		n  uint32
		ok bool
	}{
		{"1", 1, true}, {"01", 1, true}, {"+1", 1, true}, {"1x", 1, true}, {"x", 0, true}, {"", 0, true},
		{"-1", 0, false}, {"4294967295", 4294967295, true}, {"4294967296", 0, false},
		{"99999999999999999999999", 0, false}, {"++1", 0, true},
	} {
		n, ok := parseNumber(c.s)
		if n != c.n || ok != c.ok {
			t.Errorf("parseNumber(%q) = %d, %v; want %d, %v", c.s, n, ok, c.n, c.ok)
		}
	}
	for _, c := range []struct {
		s string
		n int64
	}{{"0", 0}, {"5", 5}, {"x", 0}, {"-1", -1}, {"+3", 3}, {"99999999999999999999", -1}} {
		if n := parseLines(c.s); n != c.n {
			t.Errorf("parseLines(%q) = %d, want %d", c.s, n, c.n)
		}
	}
}

// FuzzParseCommand checks that any line parses without a panic, that the keyword is upper
// case without white space, and that the arguments are the white-space-separated words of
// the rest.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "LIST 1", "TOP 1 10", "PASS a b  c", "  uidl\t2", "", "\x00\xff", "AUTH PLAIN =",
		"USER d\xc3\xa9mo", "RETR 4294967297", "TOP 1 -1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c := ParseCommand(line)
		for i := 0; i < len(c.Name); i++ {
			if isSpace(c.Name[i]) {
				t.Fatalf("keyword %q holds white space", c.Name)
			}
		}
		if c.Name == "" && (len(c.Args) > 0 || c.Rest != "") {
			t.Fatalf("no keyword but arguments: %#v", c)
		}
		for _, a := range c.Args {
			if a == "" {
				t.Fatalf("empty argument in %#v", c)
			}
			_, _ = parseNumber(a)
			_ = parseLines(a)
		}
	})
}
