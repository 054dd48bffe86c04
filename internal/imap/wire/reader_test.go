package wire

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func newTestReader(in string) (*Reader, *strings.Builder) {
	var conts strings.Builder
	r := NewReader(bufio.NewReaderSize(strings.NewReader(in), 64))
	r.Continue = func() error { conts.WriteString("+\n"); return nil }
	return r, &conts
}

func TestCommandTokens(t *testing.T) {
	r, conts := newTestReader("a1 LOGIN \"fred \\\"x\\\\\" {5}\r\nsecre\r\nb2 NOOP\r\n")
	if err := r.Begin(); err != nil {
		t.Fatal(err)
	}
	tag, _ := r.Tag()
	r.SP()
	cmd, _ := r.Atom()
	r.SP()
	u, err := r.AString()
	if err != nil {
		t.Fatal(err)
	}
	r.SP()
	p, err := r.AString()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.End(); err != nil {
		t.Fatal(err)
	}
	if tag != "a1" || cmd != "LOGIN" || u != `fred "x\` || p != "secre" {
		t.Fatalf("got %q %q %q %q", tag, cmd, u, p)
	}
	if conts.String() != "+\n" {
		t.Fatalf("continuations %q", conts.String())
	}
	if err := r.Begin(); err != nil {
		t.Fatal(err)
	}
	tag, _ = r.Tag()
	if tag != "b2" {
		t.Fatal(tag)
	}
}

func TestNonSyncLiteralNoContinuation(t *testing.T) {
	r, conts := newTestReader("a LOGIN {3+}\r\nabc pw\r\n")
	r.Begin()
	r.Tag()
	r.SP()
	r.Atom()
	r.SP()
	s, err := r.AString()
	if err != nil || s != "abc" {
		t.Fatalf("%q %v", s, err)
	}
	r.SP()
	s, _ = r.AString()
	if s != "pw" || conts.Len() != 0 {
		t.Fatalf("%q %q", s, conts.String())
	}
}

func TestSeqSet(t *testing.T) {
	for in, want := range map[string]string{"1": "1", "1:3,5": "1:3,5", "*": "9", "7:*": "7:9", "3:1": "1:3"} {
		r, _ := newTestReader("x " + in + "\r\n")
		r.Begin()
		r.Tag()
		r.SP()
		set, err := r.SeqSet()
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var nums []uint32
		for n := uint32(1); n <= 9; n++ {
			if set.Resolve(9).Contains(n) {
				nums = append(nums, n)
			}
		}
		if got := FormatNums(nums); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
	for _, in := range []string{"0", "1:0", "a", ",", "1,", "99999999999"} {
		r, _ := newTestReader("x " + in + "\r\n")
		r.Begin()
		r.Tag()
		r.SP()
		if _, err := r.SeqSet(); err == nil && r.AtEnd() {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestLongLineRefused(t *testing.T) {
	r, _ := newTestReader("a NOOP " + strings.Repeat("x", 70000) + "\r\nb NOOP\r\n")
	err := r.Begin()
	var we *Error
	if !errors.As(err, &we) || we.Code != "TOOBIG" {
		t.Fatalf("got %v", err)
	}
	if !r.Discard() {
		t.Fatal("not in step")
	}
	if err := r.Begin(); err != nil {
		t.Fatal(err)
	}
	if tag, _ := r.Tag(); tag != "b" {
		t.Fatal(tag)
	}
}

func TestHugeLiteralRefused(t *testing.T) {
	r, conts := newTestReader("a LOGIN {107374182400}\r\nb NOOP\r\n")
	r.Begin()
	r.Tag()
	r.SP()
	r.Atom()
	r.SP()
	_, err := r.AString()
	var we *Error
	if !errors.As(err, &we) || we.Fatal {
		t.Fatalf("got %v", err)
	}
	if conts.Len() != 0 {
		t.Fatal("continuation sent for a refused literal")
	}
	if !r.Discard() {
		t.Fatal("a refused synchronising literal must leave the connection usable")
	}
	if err := r.Begin(); err != nil {
		t.Fatal(err)
	}
	// A non-synchronising one that big cannot be skipped: the connection must be closed.
	r, _ = newTestReader("a LOGIN {107374182400+}\r\n")
	r.Begin()
	r.Tag()
	r.SP()
	r.Atom()
	r.SP()
	_, err = r.AString()
	if !errors.As(err, &we) || !we.Fatal {
		t.Fatalf("got %v", err)
	}
}

func TestNonSyncLiteralSkippedAfterError(t *testing.T) {
	r, _ := newTestReader("a BOGUS (x {5+}\r\nhello more\r\nb NOOP\r\n")
	r.Begin()
	if !r.Discard() {
		t.Fatal("not in step")
	}
	if err := r.Begin(); err != nil {
		t.Fatal(err)
	}
	if tag, _ := r.Tag(); tag != "b" {
		t.Fatalf("tag %q", tag)
	}
}

func TestUnterminatedLiteral(t *testing.T) {
	r, _ := newTestReader("a LOGIN {10}\r\nabc")
	r.Begin()
	r.Tag()
	r.SP()
	r.Atom()
	r.SP()
	if _, err := r.AString(); err == nil {
		t.Fatal("accepted")
	}
}

func TestLiteralReaderStreams(t *testing.T) {
	r, _ := newTestReader("a APPEND INBOX {11}\r\nhello world\r\n")
	r.Begin()
	r.Tag()
	r.SP()
	r.Atom()
	r.SP()
	r.AString()
	r.SP()
	rd, n, _, err := r.LiteralReader(100)
	if err != nil || n != 11 {
		t.Fatal(n, err)
	}
	b, _ := io.ReadAll(rd)
	if string(b) != "hello world" {
		t.Fatal(string(b))
	}
	if err := r.FinishLiteral(); err != nil || !r.AtEnd() {
		t.Fatal(err)
	}
}

func TestWriterQuoting(t *testing.T) {
	cases := map[string]string{
		`plain`:   `"plain"`,
		`a"b\c`:   `"a\"b\\c"`,
		"two\nl":  "{5}\r\ntwo\nl",
		"caf\xc3": "{4}\r\ncaf\xc3",
	}
	for in, want := range cases {
		if got := string(AppendQuoted(nil, in, false)); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
	if got := string(AppendAString(nil, "NIL", false)); got != `"NIL"` {
		t.Errorf("NIL atom: %q", got)
	}
	if got := FormatList([]uint32{3, 4, 5, 1, 2}); got != "3:5,1:2" {
		t.Errorf("FormatList %q", got)
	}
}

// FuzzReader feeds arbitrary input to a command parser that pulls every kind of token; it
// must never panic or hang, and memory stays bounded by the limits.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"a1 LOGIN fred secret\r\n",
		"a2 APPEND INBOX (\\Seen) \"01-Jan-2020 00:00:00 +0000\" {5}\r\nhello\r\n",
		"a3 FETCH 1:*,5 (BODY.PEEK[HEADER.FIELDS (Subject)]<0.10>)\r\n",
		"a4 SEARCH CHARSET UTF-8 OR (FROM \"x\") TEXT {3+}\r\nabc\r\n",
		"a5 LOGIN {99999999999999999999}\r\n",
		"a6 X ~{3}\r\nabc\r\n",
		"a7 (((((((((((((((((((((((((((((((((((((((\r\n",
		"\"\\\r\n",
		"a8 LOGIN {5+}\r\nab",
		"{0}\r\n\r\n",
		strings.Repeat("x", 70000) + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bufio.NewReaderSize(strings.NewReader(string(in)), 64))
		r.Continue = func() error { return nil }
		for n := 0; n < 50; n++ {
			if err := r.Begin(); err != nil {
				var we *Error
				if errors.As(err, &we) && r.Discard() {
					continue
				}
				return
			}
			r.Tag()
			for steps := 0; steps < 200 && !r.AtEnd(); steps++ {
				var err error
				switch r.Peek() {
				case ' ', '(', ')', '[', ']', '<', '>', '.':
					r.Skip(1)
				case '"', '{', '~':
					_, err = r.AString()
				default:
					if c := r.Peek(); c >= '0' && c <= '9' || c == '*' {
						_, err = r.SeqSet()
					} else {
						_, err = r.Atom()
						if err != nil {
							r.Skip(1)
							err = nil
						}
					}
				}
				if err != nil {
					if !r.Discard() {
						return
					}
					break
				}
			}
		}
	})
}
