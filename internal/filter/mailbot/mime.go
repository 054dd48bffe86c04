package mailbot

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"

	"courier/internal/mail/charset"
	mailmime "courier/internal/mail/mime"
)

// wordDecoder decodes RFC 2047 encoded words in any charset we know.
var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// header is one header line of a message or MIME part: the name as written and the value
// with folding kept ("\n" before each continuation line).
type header struct {
	name, value string
}

// parseMessage parses the message with the rfc2045-compatible parser, which gives the parts'
// offsets and types as Courier's mailbot sees them.
// A last line without a newline is not part of the message for it (only -a, which copies
// the input to its end, shows it).
func parseMessage(data []byte) *mailmime.Part {
	n := bytes.LastIndexByte(data, '\n') + 1
	p, err := mailmime.Parse(bytes.NewReader(data[:n]), int64(n))
	if err != nil {
		// Reading from memory does not fail.
		p = &mailmime.Part{ContentType: "text/plain"}
	}
	return p
}

// headers returns a part's header lines as Courier's reply code reads them: the name as
// written up to the colon (a line without one is all name) and the value without its
// leading blanks.
func headers(p *mailmime.Part) []header {
	hs := make([]header, 0, len(p.Header.Fields))
	for _, f := range p.Header.Fields {
		value := strings.TrimPrefix(string(f.Raw[len(f.Name):]), ":")
		hs = append(hs, header{name: f.Name, value: strings.TrimLeft(value, " \t")})
	}
	return hs
}

// get returns the value of the last header called name (as Courier's reply code keeps the
// last one), unfolded and trimmed, and whether there was one.
func get(p *mailmime.Part, name string) (string, bool) {
	v, ok := "", false
	for _, h := range headers(p) {
		if strings.EqualFold(h.name, name) {
			v, ok = unfold(h.value), true
		}
	}
	return v, ok
}

// param returns a Content-Type parameter of a part, "" when it has none.
func param(p *mailmime.Part, name string) string {
	v, _ := p.Param(name)
	return v
}

// unfold joins a folded header value into one line, each line break and the blanks after it
// becoming one space, and trims it.
func unfold(v string) string {
	if strings.IndexByte(v, '\n') >= 0 {
		var b strings.Builder
		for i, line := range strings.Split(v, "\n") {
			if i > 0 {
				b.WriteByte(' ')
				line = strings.TrimLeft(line, " \t")
			}
			b.WriteString(line)
		}
		v = b.String()
	}
	return strings.Trim(v, " \t\r")
}

// searchContentType is rfc2045_searchcontenttype: the part itself when of type ct, else the
// first child of that type, descending into the first multipart child met on the way. The
// children are a multipart's parts, or the message a message/rfc822 part encloses.
func searchContentType(p *mailmime.Part, ct string) *mailmime.Part {
	if p.ContentType == ct {
		return p
	}
	children := p.Parts
	if p.Message != nil {
		children = []*mailmime.Part{p.Message}
	}
	for _, c := range children {
		if c.ContentType == ct {
			return c
		}
		if strings.HasPrefix(c.ContentType, "multipart/") {
			return searchContentType(c, ct)
		}
	}
	return nil
}

// decodedText returns a text part's content decoded from its transfer encoding and converted
// from its charset to UTF-8.
func decodedText(data []byte, p *mailmime.Part) string {
	raw := data[p.BodyStart:p.End]
	var body []byte
	switch p.Encoding {
	case "quoted-printable":
		body, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, raw)
		body, _ = base64.RawStdEncoding.DecodeString(strings.TrimRight(string(clean), "="))
	default:
		body = raw
	}
	cs := param(p, "charset")
	if cs == "" || strings.EqualFold(cs, "us-ascii") || utf8.Valid(body) && isUTF8Name(cs) {
		if utf8.Valid(body) {
			return string(body)
		}
		cs = "iso-8859-1"
	}
	if isUTF8Name(cs) {
		return strings.ToValidUTF8(string(body), "")
	}
	enc, err := charset.Lookup(cs)
	if err != nil {
		return strings.ToValidUTF8(string(body), "")
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return strings.ToValidUTF8(string(body), "")
	}
	return string(out)
}

func isUTF8Name(cs string) bool {
	n := strings.ToLower(strings.ReplaceAll(cs, "-", ""))
	return n == "utf8"
}

// encoder converts UTF-8 text to the reply's character set, dropping what the character set
// cannot represent, as Courier's unicode conversion does.
type encoder struct {
	ascii bool
	enc   *encoding.Encoder
}

func newEncoder(cs string) encoder {
	if isUTF8Name(cs) {
		return encoder{}
	}
	n := strings.ToLower(strings.ReplaceAll(cs, "-", ""))
	if n == "usascii" || n == "ascii" || n == "ansix3.41968" {
		return encoder{ascii: true}
	}
	e, err := charset.Lookup(cs)
	if err != nil || e == unicode.UTF8 {
		return encoder{}
	}
	return encoder{enc: e.NewEncoder()}
}

func (e encoder) convert(s string) string {
	if e.enc == nil && !e.ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		if e.ascii {
			continue
		}
		if out, err := e.enc.String(string(r)); err == nil {
			b.WriteString(out)
		}
	}
	return b.String()
}

// reformat writes a text part the way Courier's reply code does through its RFC 3676
// parser: each line prefixed with quote marks (adjust of them, plus the line's own when the
// text is flowed), space-stuffed, trailing blanks dropped except on flowed lines.
func reformat(b *bytes.Buffer, data []byte, p *mailmime.Part, adjust int, outCharset string) {
	text := decodedText(data, p)
	flowed := strings.EqualFold(param(p, "format"), "flowed")
	delsp := strings.EqualFold(param(p, "delsp"), "yes")
	enc := newEncoder(outCharset)
	text = strings.TrimSuffix(text, "\n")
	if text == "" && p.End == p.BodyStart {
		return
	}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		level := adjust
		if flowed {
			q := 0
			for q < len(line) && line[q] == '>' {
				q++
			}
			level += q
			line = line[q:]
			line = strings.TrimPrefix(line, " ")
			// A flowed line ends with a space: it joins the next of the same level.
			for line != "" && line[len(line)-1] == ' ' && line != "-- " {
				if delsp {
					line = line[:len(line)-1]
				}
				b.WriteString(strings.Repeat(">", level))
				writeContents(b, enc.convert(line), level, flowed, true)
				b.WriteString(" \n")
				line = ""
				if i+1 >= len(lines) {
					break
				}
				nl := strings.TrimSuffix(lines[i+1], "\r")
				nq := 0
				for nq < len(nl) && nl[nq] == '>' {
					nq++
				}
				if nq+adjust != level {
					break
				}
				i++
				line = strings.TrimPrefix(nl[nq:], " ")
			}
		}
		b.WriteString(strings.Repeat(">", level))
		writeContents(b, enc.convert(line), level, flowed, false)
		b.WriteByte('\n')
	}
}

// writeContents writes a line's text after its quote marks: space-stuffed, trailing blanks
// dropped unless keep.
func writeContents(b *bytes.Buffer, s string, level int, flowed, keep bool) {
	if s == "" {
		return
	}
	if flowed {
		if level > 0 || s[0] == ' ' || s[0] == '>' {
			b.WriteByte(' ')
		}
	} else if (level > 0 && s[0] != '>') || s[0] == ' ' {
		b.WriteByte(' ')
	}
	if !keep {
		s = strings.TrimRight(s, " ")
	}
	b.WriteString(s)
}
