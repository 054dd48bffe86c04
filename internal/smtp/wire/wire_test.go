package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t testing.TB, in string, lim Limits) (string, error, string) {
	br := bufio.NewReaderSize(strings.NewReader(in), 64)
	d := NewDataReader(br, lim)
	var out bytes.Buffer
	for {
		l, err := d.ReadLine()
		if err == io.EOF {
			rest, _ := io.ReadAll(br)
			return out.String(), nil, string(rest)
		}
		if err != nil {
			derr := d.Drain()
			rest, _ := io.ReadAll(br)
			if derr != nil {
				return out.String(), derr, string(rest)
			}
			return out.String(), err, string(rest)
		}
		out.Write(l)
	}
}

func TestDataReader(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, rest string
		err                  error
		lim                  Limits
	}{
		{name: "empty", in: ".\r\nQUIT\r\n", want: "", rest: "QUIT\r\n"},
		{name: "simple", in: "a\r\nb\r\n.\r\nX", want: "a\nb\n", rest: "X"},
		{name: "unstuff", in: "..a\r\n..\r\n.\r\n", want: ".a\n.\n"},
		{name: "bare LF lines", in: "a\nb\n\r\n.\r\n", want: "a\nb\n\n"},
		{name: "LF dot CRLF is not the end", in: "a\n.\r\nMAIL FROM:<x>\r\n.\r\n", want: "a\n.\nMAIL FROM:<x>\n"},
		{name: "CRLF dot LF is not the end", in: "a\r\n.\nb\r\n.\r\n", want: "a\n.\nb\n"},
		{name: "bare CR kept", in: "a\rb\r\n.\r\n", want: "a\rb\n"},
		{name: "CR dot CR LF", in: "a\r.\r\n.\r\n", want: "a\r.\n"},
		{name: "NUL", in: "a\x00b\r\nc\r\n.\r\nNEXT", err: ErrNUL, rest: "NEXT"},
		{name: "too big", in: "0123456789\r\n0123456789\r\n.\r\nN", err: ErrTooBig, rest: "N", lim: Limits{MaxSize: 15}},
		{name: "long line", in: strings.Repeat("x", 3000) + "\r\n.\r\nN", err: ErrLineTooLong, rest: "N", lim: Limits{MaxLine: 1000}},
		{name: "long line then end", in: strings.Repeat("x", 998) + "\r\n.\r\nN", want: strings.Repeat("x", 998) + "\n", rest: "N", lim: Limits{MaxLine: 1000}},
		{name: "vanish", in: "a\r\nb", err: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err, rest := readAll(t, tc.in, tc.lim)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				if rest != tc.rest {
					t.Fatalf("rest %q, want %q", rest, tc.rest)
				}
				return
			}
			if err != nil || got != tc.want || rest != tc.rest {
				t.Fatalf("got %q %v rest %q; want %q rest %q", got, err, rest, tc.want, tc.rest)
			}
		})
	}
}

func TestChunkReader(t *testing.T) {
	c := NewChunkReader(Limits{MaxLine: 20})
	var out bytes.Buffer
	emit := func(l []byte) error { out.Write(l); return nil }
	for _, p := range []string{"ab\r", "\ncd\n", ".e\r\nf"} {
		if err := c.Write([]byte(p), emit); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(emit)
	if out.String() != "ab\ncd\n.e\nf\n" || c.Err() != nil {
		t.Fatalf("%q %v", out.String(), c.Err())
	}
	c = NewChunkReader(Limits{MaxLine: 5})
	c.Write([]byte("0123456789\n"), emit)
	if c.Err() != ErrLineTooLong {
		t.Fatal(c.Err())
	}
}

func TestParseMail(t *testing.T) {
	m, err := ParseMail("FROM:<a.b@example.test> SIZE=100 BODY=8bitmime RET=HDRS ENVID=x+2By AUTH=<>")
	if err != nil {
		t.Fatal(err)
	}
	if m.From.String() != "a.b@example.test" || m.Size != 100 || m.Body != "8BITMIME" || m.Ret != "HDRS" || m.EnvID != "x+y" || m.Auth != "<>" {
		t.Fatalf("%+v", m)
	}
	if m, err := ParseMail("from: <>"); err != nil || !m.From.Null {
		t.Fatal(m, err)
	}
	if m, err := ParseMail(`FROM:<@relay.test,@r2.test:"a b"@x.test>`); err != nil || m.From.String() != `"a b"@x.test` {
		t.Fatal(m, err)
	}
	if m, err := ParseMail("FROM:<é@exämple.test> SMTPUTF8"); err != nil || !m.SMTPUTF8 {
		t.Fatal(m, err)
	}
	for _, bad := range []string{"FROM:<a@b", "TO:<a@b>", "FROM:<a@b> FOO=1", "FROM:<a@b> SIZE=x",
		"FROM:<a@b> SIZE=1 SIZE=2", "FROM:<a..b@c>", "FROM:<a@-b>", "FROM:<é@x.test>", "FROM:<a@b>x",
		"FROM:<" + strings.Repeat("a", 65) + "@b>"} {
		if _, err := ParseMail(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRcpt(t *testing.T) {
	r, err := ParseRcpt("TO:<u@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40example.test")
	if err != nil {
		t.Fatal(err)
	}
	if r.To.Domain != "example.test" || len(r.Notify) != 2 || r.ORCPT != "rfc822;u@example.test" {
		t.Fatalf("%+v", r)
	}
	if r, err := ParseRcpt("TO:<Postmaster>"); err != nil || !r.To.IsPostmaster() {
		t.Fatal(r, err)
	}
	for _, bad := range []string{"TO:<>", "TO:<user>", "TO:<a@b> NOTIFY=NEVER,DELAY", "TO:<a@b> ORCPT=x", "TO:<a@[1.2.3.4>"} {
		if _, err := ParseRcpt(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseCommand(t *testing.T) {
	c, err := ParseCommand([]byte("mail FROM:<a@b>  "))
	if err != nil || c.Verb != "MAIL" || c.Arg != "FROM:<a@b>" {
		t.Fatal(c, err)
	}
	for _, bad := range []string{"MAIL FROM:<a@b>\rRCPT TO:<c@d>", "NOOP \x00", ""} {
		if _, err := ParseCommand([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReply(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	(&Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"a", "b\r\nINJECT"}}).WriteTo(w, true)
	w.Flush()
	if b.String() != "250-2.0.0 a\r\n250 2.0.0 b??INJECT\r\n" {
		t.Fatalf("%q", b.String())
	}
}

func TestXtext(t *testing.T) {
	for _, s := range []string{"", "abc", "a+b=c d\x01"} {
		d, err := DecodeXtext(EncodeXtext(s))
		if err != nil || d != s {
			t.Fatalf("%q: %q %v", s, d, err)
		}
	}
}

func TestReadCommandLine(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("NOOP\r\n"+strings.Repeat("x", 5000)+"\r\nQUIT\n"), 16)
	l, err := ReadCommandLine(br, 100, nil)
	if err != nil || string(l) != "NOOP" {
		t.Fatal(string(l), err)
	}
	if _, err := ReadCommandLine(br, 100, nil); err != ErrCommandTooLong {
		t.Fatal(err)
	}
	if l, err := ReadCommandLine(br, 100, nil); err != nil || string(l) != "QUIT" {
		t.Fatal(string(l), err)
	}
}
