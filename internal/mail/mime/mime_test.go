package mime

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) *Part {
	t.Helper()
	p, err := Parse(strings.NewReader(s), int64(len(s)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The message of ../shared/conformance/imap-mime-fetch.sh; the numbers are Courier's
// (BODYSTRUCTURE and RFC822.SIZE of courier-imap 5.0.13).
const conformanceMsg = `From: Alice Example <alice@example.org>
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Bob,=0Athe figures are attached.

--inner
Content-Type: text/html; charset=utf-8

<p>Hello Bob,<br>the figures are attached.</p>
--inner--

--outer
Content-Type: application/octet-stream; name="figures.bin"
Content-Disposition: attachment; filename="figures.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=

--outer
Content-Type: message/rfc822

From: Eve <eve@example.org>
Subject: forwarded note
MIME-Version: 1.0

inner body line
--outer--
`

func TestParseTree(t *testing.T) {
	root := mustParse(t, conformanceMsg)
	if root.ContentType != "multipart/mixed" || len(root.Parts) != 3 || !root.IsMultipart() {
		t.Fatalf("root %q with %d parts", root.ContentType, len(root.Parts))
	}
	alt := root.Parts[0]
	if alt.Subtype != "alternative" || len(alt.Parts) != 2 {
		t.Fatalf("part 1: %q/%q, %d parts", alt.Type, alt.Subtype, len(alt.Parts))
	}
	for _, tc := range []struct {
		p                   *Part
		typ, sub, enc       string
		size, lines         int64
		charset             string
		disposition, dparam string
	}{
		{alt.Parts[0], "text", "plain", "quoted-printable", 40, 1, "utf-8", "", ""},
		{alt.Parts[1], "text", "html", "", 46, 0, "utf-8", "", ""},
		{root.Parts[1], "application", "octet-stream", "base64", 46, 1, "", "attachment", "figures.bin"},
		{root.Parts[2], "message", "rfc822", "", 91, 4, "", "", ""},
		{root.Parts[2].Message.Parts0(), "text", "plain", "", 16, 0, "", "", ""},
	} {
		p := tc.p
		cs, _ := p.Param("charset")
		if p.Type != tc.typ || p.Subtype != tc.sub || p.Encoding != tc.enc || p.BodySize != tc.size || p.BodyLines != tc.lines || cs != tc.charset || p.Disposition != tc.disposition {
			t.Errorf("part %s/%s enc %q size %d lines %d charset %q disp %q", p.Type, p.Subtype, p.Encoding, p.BodySize, p.BodyLines, cs, p.Disposition)
		}
		if tc.dparam != "" && (len(p.DispositionParams) != 1 || p.DispositionParams[0].Value != tc.dparam) {
			t.Errorf("disposition params %v", p.DispositionParams)
		}
	}
	// Offsets: the text/plain part's body is the line before the boundary, without the line
	// break that belongs to the boundary.
	tp := alt.Parts[0]
	got := conformanceMsg[tp.BodyStart:tp.End]
	if got != "Hello Bob,=0Athe figures are attached.\n" {
		t.Errorf("body of 1.1 = %q", got)
	}
	if h := conformanceMsg[tp.HeaderStart:tp.BodyStart]; !strings.HasPrefix(h, "Content-Type: text/plain") || !strings.HasSuffix(h, "\n\n") {
		t.Errorf("header of 1.1 = %q", h)
	}
	if root.Size != int64(len(conformanceMsg))+int64(strings.Count(conformanceMsg, "\n")) {
		t.Errorf("root size %d", root.Size)
	}
	if got := root.Header.Get("from"); got != "Alice Example <alice@example.org>" {
		t.Errorf("Get(from) = %q", got)
	}
	if inner := root.Parts[2].Message; inner.Header.Get("Subject") != "forwarded note" {
		t.Errorf("inner subject %q", inner.Header.Get("Subject"))
	}
	n := 0
	_ = root.Walk(func(*Part) error { n++; return nil })
	if n != 7 {
		t.Errorf("Walk visited %d parts, want 7", n)
	}
}

// Parts0 returns the enclosed message itself when it is not a multipart (test helper).
func (p *Part) Parts0() *Part { return p }

func TestCourierQuirks(t *testing.T) {
	// No MIME-Version: the structure is ignored.
	p := mustParse(t, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n")
	if p.ContentType != "text/plain" || len(p.Parts) != 0 || p.Params != nil {
		t.Errorf("without MIME-Version: %q %v", p.ContentType, p.Params)
	}
	// Inherited charset comes first; a repeated parameter keeps its place, takes the last value.
	p = mustParse(t, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b; charset=ISO-8859-1\nContent-Transfer-Encoding: 7bit\n\n--b\nContent-Type: text/plain; format=flowed; charset=UTF-8; format=fixed\n\nx\n--b--\n")
	c := p.Parts[0]
	if fmt.Sprint(c.Params) != "[{charset utf-8} {format fixed}]" || c.Encoding != "7bit" {
		t.Errorf("inherited params %v encoding %q", c.Params, c.Encoding)
	}
	// A boundary that never appears: a multipart shown as one part.
	p = mustParse(t, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=nothere\n\nbody\n")
	if p.IsMultipart() || p.IsLeaf() || p.Type != "multipart" {
		t.Errorf("boundary not found: multipart=%v leaf=%v", p.IsMultipart(), p.IsLeaf())
	}
	// Content-Type "text" splits as Courier's strtok does.
	p = mustParse(t, "MIME-Version: 1.0\nContent-Type: text\n\n")
	if p.Type != "text" || p.Subtype != "" {
		t.Errorf("text: %q %q", p.Type, p.Subtype)
	}
	// Too many parts: Courier stops at 300 and ignores the rest, sizes included.
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n")
	for i := 0; i < 310; i++ {
		fmt.Fprintf(&b, "--b\n\nx%d\n", i)
	}
	b.WriteString("--b--\n")
	p = mustParse(t, b.String())
	if !p.TooComplex || len(p.Parts) != MaxParts || p.Size != 3846 {
		t.Errorf("many parts: complex=%v parts=%d size=%d", p.TooComplex, len(p.Parts), p.Size)
	}
	// 8-bit header flag.
	if p := mustParse(t, "Subject: caf\xc3\xa9\n\nx\n"); !p.Has8BitHeader {
		t.Error("8-bit header not flagged")
	}
}

func TestCRLFMatchesLF(t *testing.T) {
	lf := mustParse(t, conformanceMsg)
	crlfMsg := strings.ReplaceAll(conformanceMsg, "\n", "\r\n")
	crlf := mustParse(t, crlfMsg)
	var a, b []string
	_ = lf.Walk(func(p *Part) error {
		a = append(a, fmt.Sprint(p.ContentType, p.Size, p.BodySize, p.HeaderSize, p.Lines, p.BodyLines, p.Params))
		return nil
	})
	_ = crlf.Walk(func(p *Part) error {
		b = append(b, fmt.Sprint(p.ContentType, p.Size, p.BodySize, p.HeaderSize, p.Lines, p.BodyLines, p.Params))
		if p.Parent != nil && len(p.Parts) == 0 && p.Message == nil {
			body := crlfMsg[p.BodyStart:p.End]
			if strings.Contains(body, "\r\n") && strings.HasSuffix(body, "\r") {
				t.Errorf("CRLF part body ends inside a line break: %q", body)
			}
		}
		return nil
	})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("CRLF differs:\n%v\n%v", a, b)
	}
}

func TestTokenizeAndAddresses(t *testing.T) {
	toks := Tokenize(`"a\"b" (c (d)) <x@y> =?utf-8?q?J=C3=BC?= ; )\`)
	var kinds []string
	for _, tk := range toks {
		k := rune(tk.Kind)
		if k == TokAtom {
			k = 'A'
		}
		kinds = append(kinds, fmt.Sprintf("%c:%s", k, tk.Text))
	}
	if got := strings.Join(kinds, "|"); got != `":a\"b|(:(c (d))|<:<|A:x|@:@|A:y|>:>|A:=?utf-8?q?J=C3=BC?=|;:;` {
		t.Errorf("tokens %s", got)
	}
	if got := string(PrintTokens(nil, Tokenize(`john . "q\"x" @ host`))); got != `john."q\"x"@host` {
		t.Errorf("PrintTokens = %s", got)
	}
	as := ParseAddresses(`Group: a@b, "Dan, the man" <dan@x>;, john doe@x (Doe)`)
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("[%s|%s]", PrintTokens(nil, a.Name), PrintTokens(nil, a.Tokens)))
	}
	if got := strings.Join(out, ""); got != `[Group:|][|a@b]["Dan, the man"|dan@x][;|][|john][(Doe)|doe@x]` {
		t.Errorf("addresses %s", got)
	}
}

func TestHeaderCaps(t *testing.T) {
	big := "X-Big: " + strings.Repeat("a", MaxHeaderBytes) + "\nSubject: s\n\nbody\n"
	p := mustParse(t, big)
	if !p.Header.Truncated || p.Header.Get("Subject") != "" {
		t.Errorf("cap not applied: truncated=%v", p.Header.Truncated)
	}
	if p.BodySize != 6 {
		t.Errorf("body size %d", p.BodySize)
	}
}

// FuzzParse: any input parses, within bounds, and the offsets stay inside the message.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		conformanceMsg,
		"",
		"\n",
		"no header, no newline",
		"Subject: x\r\rContent-Type: text/plain\r\r\r",
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"\"\n\n--\n----\n",
		"MIME-Version: 1.0\x00\nContent-Type: multipart/mixed; boundary=\x00\n\n--\x00\n",
		"Subject: \xff\xfe\xc3\n\n\xe9",
		strings.Repeat("MIME-Version: 1.0\nContent-Type: message/rfc822\n\n", 400),
		strings.Repeat("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=a\n\n--a\n", 200),
		"X: " + strings.Repeat("y", 20000) + "\n\n",
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" + strings.Repeat("z", 9000) + "\n--b--\n",
		"MIME-Version: 1.0\nContent-Type: text/plain; (unclosed\n\n",
		"MIME-Version: 1.0\nContent-Type: text/plain; a=\"unclosed\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		root, err := Parse(bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		n := int64(len(msg))
		count := 0
		_ = root.Walk(func(p *Part) error {
			count++
			if p.HeaderStart < 0 || p.BodyStart < 0 || p.End < 0 || p.HeaderStart > n || p.BodyStart > n || p.End > n {
				t.Fatalf("offsets out of the message: %d %d %d of %d", p.HeaderStart, p.BodyStart, p.End, n)
			}
			if p.Lines < 0 || p.BodyLines < 0 {
				t.Fatalf("negative line count")
			}
			return nil
		})
		if count > MaxParts+2 {
			t.Fatalf("%d parts", count)
		}
	})
}

// BenchmarkParse parses a typical 20 KB multipart message.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\nSubject: report\nDate: Tue, 03 Mar 2020 10:15:00 +0100\nMessage-ID: <x@y>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: multipart/alternative; boundary=\"b2\"\n\n--b2\nContent-Type: text/plain; charset=utf-8\n\n")
	for i := 0; i < 60; i++ {
		sb.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n")
	}
	sb.WriteString("--b2\nContent-Type: text/html; charset=utf-8\n\n")
	for i := 0; i < 60; i++ {
		sb.WriteString("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.</p>\n")
	}
	sb.WriteString("--b2--\n--b1\nContent-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"a.pdf\"\n\n")
	for sb.Len() < 20000 {
		sb.WriteString("JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZUR\n")
	}
	sb.WriteString("--b1--\n")
	msg := []byte(sb.String())
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msg), int64(len(msg))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaseline reads the same amount of data through bufio, to judge BenchmarkParse on a
// busy machine.
func BenchmarkBaseline(b *testing.B) {
	msg := bytes.Repeat([]byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"), 250)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		n := 0
		for _, l := range bytes.Split(msg, []byte("\n")) {
			n += len(l)
		}
		_ = n
	}
}
