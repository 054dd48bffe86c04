package submit

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParseAddressList(t *testing.T) {
	cases := []struct {
		in   string
		want []Mailbox
		bad  int
	}{
		{"demo@example.test", []Mailbox{{"", "demo@example.test"}}, 0},
		{"root", []Mailbox{{"", "root"}}, 0},
		{`"Doe, John" <jd@x.test>, ann@y.test (Ann B)`, []Mailbox{{"Doe, John", "jd@x.test"}, {"Ann B", "ann@y.test"}}, 0},
		{"Team: a@x.test, b@x.test;, c@x.test", []Mailbox{{"", "a@x.test"}, {"", "b@x.test"}, {"", "c@x.test"}}, 0},
		{"undisclosed-recipients:;", nil, 0},
		{"<@relay.test,@r2.test:u@x.test>", []Mailbox{{"", "u@x.test"}}, 0},
		{"=?utf-8?q?J=C3=B6rg?= <j@x.test>", []Mailbox{{"Jörg", "j@x.test"}}, 0},
		{`"john smith"@x.test`, []Mailbox{{"", `"john smith"@x.test`}}, 0},
		{"u@[IPv6:::1], v@x.test", []Mailbox{{"", "u@[IPv6:::1]"}, {"", "v@x.test"}}, 0},
		{"a@x.test,,  , b@x.test", []Mailbox{{"", "a@x.test"}, {"", "b@x.test"}}, 0},
		{"Name <>", nil, 0},
		{"a@x.test (comment (nested) here)", []Mailbox{{"comment (nested) here", "a@x.test"}}, 0},
		{"Broken <a@x.test", []Mailbox{{"Broken", "a@x.test"}}, 0},
		{"two words@x.test", []Mailbox{{"", "twowords@x.test"}}, 0},
		{"x@y\x01z", nil, 1},
	}
	for _, c := range cases {
		got, bad := ParseAddressList(c.in)
		if !slices.Equal(got, c.want) || len(bad) != c.bad {
			t.Errorf("%q: got %q bad %q, want %q and %d bad", c.in, got, bad, c.want, c.bad)
		}
	}
}

func TestFormatMailbox(t *testing.T) {
	for _, c := range [][3]string{
		{"", "a@b", "<a@b>"},
		{"Root User", "a@b", "Root User <a@b>"},
		{"Doe, J.", "a@b", `"Doe, J." <a@b>`},
		{`say "hi"`, "a@b", `"say \"hi\"" <a@b>`},
		{"Jörg", "a@b", "=?utf-8?q?J=C3=B6rg?= <a@b>"},
	} {
		if got := FormatMailbox(c[0], c[1]); got != c[2] {
			t.Errorf("FormatMailbox(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestRewriteHeader(t *testing.T) {
	block := []byte("To: a@x.test,\n  B <b@x.test>\nCc: c@x.test, a@x.test\nBcc: secret@x.test\n  , hidden@x.test\nSubject: s\nBCC: more@x.test\n")
	o := HeaderOptions{User: "root", Host: "example.test", Name: "Root User", Rcpts: true}
	out, rcpts, bad := RewriteHeader(SplitFields(block), o)
	want := "From: Root User <root@example.test>\nTo: a@x.test,\n  B <b@x.test>\nCc: c@x.test, a@x.test\nSubject: s\n"
	if string(out) != want {
		t.Errorf("header:\n%s\nwant:\n%s", out, want)
	}
	if w := []string{"a@x.test", "b@x.test", "c@x.test", "secret@x.test", "hidden@x.test", "more@x.test"}; !slices.Equal(rcpts, w) || len(bad) != 0 {
		t.Errorf("recipients %q bad %q", rcpts, bad)
	}
	o.BccOnly = true
	if _, rcpts, _ = RewriteHeader(SplitFields(block), o); !slices.Equal(rcpts, []string{"secret@x.test", "hidden@x.test", "more@x.test"}) {
		t.Errorf("-bcc recipients %q", rcpts)
	}
	o.Rcpts = false
	if _, rcpts, _ = RewriteHeader(SplitFields(block), o); rcpts != nil {
		t.Errorf("recipients taken from the header with addresses given: %q", rcpts)
	}

	// an existing From: stays, unless a name, user or host replaces parts of it
	from := []byte("From: Old Name <old@elsewhere.test>\nSubject: s\n")
	if out, _, _ := RewriteHeader(SplitFields(from), HeaderOptions{User: "root", Host: "h"}); string(out) != string(from) {
		t.Errorf("From: changed without reason: %q", out)
	}
	out, _, _ = RewriteHeader(SplitFields(from), HeaderOptions{NewName: "New Name", NewHost: "new.test"})
	if string(out) != "From: New Name <old@new.test>\nSubject: s\n" {
		t.Errorf("rewritten From: %q", out)
	}
	out, _, _ = RewriteHeader(nil, HeaderOptions{User: "root", Host: "example.test"})
	if string(out) != "From: <root@example.test>\n" {
		t.Errorf("From: for an empty header: %q", out)
	}
}

// readAll reads a message with a Reader: the header block, the separator, the body.
func readAll(t *testing.T, in io.Reader, ignoreDots bool) (string, bool, string) {
	t.Helper()
	r := NewReader(in, ignoreDots)
	h, sep, err := r.ReadHeader()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return string(h), sep, b.String()
}

func TestReader(t *testing.T) {
	cases := []struct {
		in         string
		ignoreDots bool
		hdr        string
		sep        bool
		body       string
	}{
		{"Subject: a\r\n\r\nline\r\n.\r\nafter\r\n", false, "Subject: a\n", true, "line\n"},
		{"Subject: a\n\nline\n.\nafter\n", true, "Subject: a\n", true, "line\n.\nafter\n"},
		{"Subject: a\n\n.\n", false, "Subject: a\n", true, ""},
		{"Subject: a\n\nend.\n..\n.x\n", false, "Subject: a\n", true, "end.\n..\n.x\n"},
		{".\nSubject: a\n", false, "", false, ""},
		{"From root Mon Jan 1 00:00:00 2026\nSubject: a\n\nb\n", false, "Subject: a\n", true, "b\n"},
		{"Subject: a\n  folded\nno header here\nmore\n", false, "Subject: a\n  folded\n", true, "no header here\nmore\n"},
		{"just a body line\n", false, "", true, "just a body line\n"},
		{"Subject: no newline", false, "Subject: no newline\n", false, ""},
		{"Subject: a\n\nlast line.", false, "Subject: a\n", true, "last line."},
		{"Subject: a\n\n.", false, "Subject: a\n", true, ""},
		{"", false, "", false, ""},
		{"Subject: a\n\nbare\rCR\n", false, "Subject: a\n", true, "bare\rCR\n"},
	}
	for _, c := range cases {
		for _, oneByte := range []bool{false, true} {
			var in io.Reader = strings.NewReader(c.in)
			if oneByte {
				in = iotest.OneByteReader(in)
			}
			h, sep, b := readAll(t, in, c.ignoreDots)
			if h != c.hdr || sep != c.sep || b != c.body {
				t.Errorf("%q (-i %v): header %q sep %v body %q; want %q %v %q", c.in, c.ignoreDots, h, sep, b, c.hdr, c.sep, c.body)
			}
		}
	}
}

func TestReaderLongLines(t *testing.T) {
	long := strings.Repeat("x", 200000)
	in := "Subject: " + long + "\r\n\r\n" + long + "\r\n" + strings.Repeat("y", 65535) + "\r\n.\r\n"
	h, sep, b := readAll(t, strings.NewReader(in), false)
	if h != "Subject: "+long+"\n" || !sep || b != long+"\n"+strings.Repeat("y", 65535)+"\n" {
		t.Errorf("long lines: header %d octets, body %d octets", len(h), len(b))
	}
	r := NewReader(strings.NewReader("X-Big: "+strings.Repeat("z", MaxHeader)+"\n\n"), false)
	if _, _, err := r.ReadHeader(); err != ErrHeaderTooBig {
		t.Errorf("a header beyond MaxHeader: %v", err)
	}
}

func TestWriteContent(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rc := received{host: "example.test", user: "root (x)", uid: 0, id: "Q1", now: now, date: now.Add(-time.Minute)}
	var b bytes.Buffer
	if err := writeContent(&b, strings.NewReader("Subject: s\r\n\r\nbody\r\nline\r"), rc); err != nil {
		t.Fatal(err)
	}
	want := "Received: by example.test (from user root _x_, uid 0)\n  with local\n  id Q1; Wed, 04 Mar 2026 05:06:07 +0000\n" +
		"Date: Wed, 04 Mar 2026 05:05:07 +0000\nMessage-ID: <courier.Q1@example.test>\nSubject: s\n\nbody\nline\r"
	if b.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", b.String(), want)
	}
	b.Reset()
	writeContent(&b, strings.NewReader("date: x\nMESSAGE-ID: <y>\n\nb\n"), rc)
	if strings.Count(b.String(), "Date:") != 0 || strings.Contains(b.String(), "courier.Q1") {
		t.Errorf("added fields that were there:\n%s", b.String())
	}
	b.Reset()
	writeContent(&b, strings.NewReader("no header\n"), rc)
	if !strings.HasSuffix(b.String(), "@example.test>\n\nno header\n") {
		t.Errorf("a body without header needs the blank line:\n%q", b.String())
	}
}

// FuzzAddressList: never panics, and every address returned would pass the envelope
// check.
func FuzzAddressList(f *testing.F) {
	for _, s := range []string{`"Doe, John" <jd@x.test>, ann@y.test (Ann)`, "Team: a@x, b@y;", "<@r:u@x>", "=?utf-8?q?a?= <a@b>", `"a\"b"@c`, "(((", "<<>>", "[a,b]@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, _ := ParseAddressList(s)
		for _, mb := range list {
			if err := CheckAddr(mb.Addr); err != nil {
				t.Fatalf("%q gave %q: %v", s, mb.Addr, err)
			}
		}
		out, rcpts, _ := RewriteHeader(SplitFields([]byte("To: "+strings.ReplaceAll(s, "\n", " ")+"\n")), HeaderOptions{User: "u", Host: "h", Rcpts: true})
		if !bytes.HasPrefix(out, []byte("From: ")) || len(rcpts) > len(s) {
			t.Fatalf("rewrite of %q: %q %q", s, out, rcpts)
		}
	})
}

// FuzzReader: never panics; with -i nothing is lost but CRs of CRLF and an mbox line.
func FuzzReader(f *testing.F) {
	f.Add([]byte("Subject: a\r\n\r\nline\r\n.\r\nafter\r\n"), false)
	f.Add([]byte("From x\nTo: y\n  z\nbody\n"), true)
	f.Add([]byte("\r"), true)
	f.Fuzz(func(t *testing.T, in []byte, ignoreDots bool) {
		r := NewReader(bytes.NewReader(in), ignoreDots)
		h, sep, err := r.ReadHeader()
		if err != nil {
			return
		}
		var b bytes.Buffer
		if _, err := r.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		if len(h)+len(b.Bytes()) > len(in)+1 {
			t.Fatalf("grew: %q → %q %v %q", in, h, sep, b.Bytes())
		}
		if ignoreDots && !bytes.HasPrefix(in, []byte("From ")) {
			// the header, the blank line if there was one, the body: the input again
			norm := strings.ReplaceAll(string(in), "\r\n", "\n")
			hs, bs := string(h), b.String()
			ok := false
			for _, c := range []string{hs + "\n" + bs, hs + bs} {
				ok = ok || c == norm || c == norm+"\n"
			}
			if !ok {
				t.Fatalf("%q came out as header %q, sep %v, body %q", in, hs, sep, bs)
			}
		}
	})
}
