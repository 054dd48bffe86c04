package wire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzDataReader checks the DATA reader on arbitrary input: it never panics, what it
// returns never contains a line ending other than LF at the end of a line, and whenever it
// reports the end of the message, the octets consumed end with CRLF "." CRLF at a line start
// that followed a CRLF (no smuggling through bare LF).
func FuzzDataReader(f *testing.F) {
	for _, s := range []string{".\r\n", "a\r\n.\r\n", "a\n.\r\nb\r\n.\r\n", "a\r\n.\nb\r\n.\r\n", "..x\r\n.\r\n",
		"a\x00\r\n.\r\n", "a\rb\r\n.\r\n", strings.Repeat("y", 1200) + "\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cr := &countReader{r: bytes.NewReader(in)}
		br := bufio.NewReaderSize(cr, 16)
		d := NewDataReader(br, Limits{MaxLine: 1000, MaxSize: 1 << 16})
		for {
			l, err := d.ReadLine()
			if err == io.EOF {
				consumed := cr.n - br.Buffered()
				c := in[:consumed]
				if !(bytes.Equal(c, []byte(".\r\n")) || bytes.HasSuffix(c, []byte("\r\n.\r\n"))) {
					t.Fatalf("ended after %q", c)
				}
				return
			}
			if err != nil {
				if d.Drain() == nil {
					consumed := cr.n - br.Buffered()
					c := in[:consumed]
					if !(bytes.Equal(c, []byte(".\r\n")) || bytes.HasSuffix(c, []byte("\r\n.\r\n"))) {
						t.Fatalf("drained to %q", c)
					}
				}
				return
			}
			if len(l) == 0 || l[len(l)-1] != '\n' || bytes.IndexByte(l[:len(l)-1], '\n') >= 0 {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}

// FuzzDataRoundTrip: any text dot-stuffed and framed as a client would comes back intact.
func FuzzDataRoundTrip(f *testing.F) {
	f.Add("hello\n.\n..x\n\nlast")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\x00") {
			return
		}
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		var wireb, want strings.Builder
		for _, l := range lines {
			if strings.HasPrefix(l, ".") {
				wireb.WriteString(".")
			}
			wireb.WriteString(l + "\r\n")
			want.WriteString(l + "\n")
		}
		wireb.WriteString(".\r\n")
		d := NewDataReader(bufio.NewReader(strings.NewReader(wireb.String())), Limits{})
		var got strings.Builder
		for {
			l, err := d.ReadLine()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Write(l)
		}
		if got.String() != want.String() {
			t.Fatalf("got %q want %q", got.String(), want.String())
		}
	})
}

// FuzzCommand: the parsers never panic, and what they accept holds no control characters.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{"MAIL FROM:<a@b.c> SIZE=10 BODY=8BITMIME", "RCPT TO:<postmaster>", "RCPT TO:<\"q\\\"x\"@[1.2.3.4]> NOTIFY=NEVER",
		"MAIL FROM:<> ENVID=a+2Bb", "RCPT TO:<a@b> ORCPT=rfc822;a+0Db", "EHLO x", "MAIL FROM:<@a,@b:c@d>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCommand(line)
		if err != nil {
			return
		}
		check := func(s string) {
			if !cleanText(s) {
				t.Fatalf("control character in %q", s)
			}
		}
		switch c.Verb {
		case "MAIL":
			if m, err := ParseMail(c.Arg); err == nil {
				check(m.From.String())
				check(m.EnvID)
				check(m.Auth)
			}
		case "RCPT":
			if r, err := ParseRcpt(c.Arg); err == nil {
				check(r.To.String())
				check(r.ORCPT)
			}
		}
	})
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
