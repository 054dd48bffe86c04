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
)

// wordDecoder decodes RFC 2047 encoded words in any charset we know.
var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// header is one header line of a message or MIME part: the name as written and the value
// with folding kept ("\n" before each continuation line).
type header struct {
	name, value string
}

// part is a MIME section of the original message, located by byte offsets into it the way
// Courier's rfc2045 library locates them: start is where its headers begin, bodyStart where
// its body begins, end where it ends (a part inside a multipart ends before the newline that
// precedes the next boundary line; the whole message ends at the end of the input).
type part struct {
	start, bodyStart, end int
	headers               []header
	ctype                 string // lower case, "text/plain" when missing
	params                map[string]string
	children              []*part
}

// get returns the value of the last header called name (as Courier's reply code keeps the
// last one), unfolded and trimmed, and whether there was one.
func (p *part) get(name string) (string, bool) {
	v, ok := "", false
	for _, h := range p.headers {
		if strings.EqualFold(h.name, name) {
			v, ok = unfold(h.value), true
		}
	}
	return v, ok
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

// parseHeaders reads the header block of data[start:end]; it returns the headers and where
// the body begins.
func parseHeaders(data []byte, start, end int) ([]header, int) {
	var hs []header
	pos := start
	for pos < end {
		i := bytes.IndexByte(data[pos:end], '\n')
		next := end
		if i >= 0 {
			next = pos + i + 1
		}
		line := strings.TrimRight(string(data[pos:next]), "\r\n")
		pos = next
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(hs) > 0 {
			hs[len(hs)-1].value += "\n" + line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		hs = append(hs, header{name: strings.TrimRight(name, " \t"), value: strings.TrimLeft(value, " \t")})
	}
	return hs, pos
}

// parseMessage parses the message as Courier's rfc2045 parser does, far enough for replies
// and forwards: a message without a Mime-Version header is plain text whatever its
// Content-Type says.
// A last line without a newline is not part of the message for it (only -a, which copies
// the input to its end, shows it).
func parseMessage(data []byte) *part {
	return parsePart(data, 0, bytes.LastIndexByte(data, '\n')+1, true, 0)
}

func parsePart(data []byte, start, end int, top bool, depth int) *part {
	p := &part{start: start, end: end, ctype: "text/plain", params: map[string]string{}}
	p.headers, p.bodyStart = parseHeaders(data, start, end)
	if _, mv := p.get("Mime-Version"); top && !mv {
		return p
	}
	if ct, ok := p.get("Content-Type"); ok {
		if t, params, err := mime.ParseMediaType(ct); err == nil {
			p.ctype, p.params = strings.ToLower(t), params
		} else if t, _, _ := strings.Cut(ct, ";"); strings.Contains(t, "/") {
			p.ctype = strings.ToLower(strings.TrimSpace(t))
		}
	}
	b := p.params["boundary"]
	if !strings.HasPrefix(p.ctype, "multipart/") || b == "" || depth > 20 {
		return p
	}
	delim := "--" + b
	// Walk the body's lines, cutting at each boundary line.
	pos, partStart := p.bodyStart, -1
	for pos < end {
		i := bytes.IndexByte(data[pos:end], '\n')
		next := end
		if i >= 0 {
			next = pos + i + 1
		}
		line := strings.TrimRight(string(data[pos:next]), " \t\r\n")
		if strings.HasPrefix(line, delim) {
			rest := line[len(delim):]
			if rest == "" || rest == "--" {
				if partStart >= 0 {
					e := pos
					if e > partStart && data[e-1] == '\n' {
						e--
						if e > partStart && data[e-1] == '\r' {
							e--
						}
					}
					if e < partStart {
						e = partStart
					}
					c := parsePart(data, partStart, e, false, depth+1)
					if c.ctype == "message/rfc822" {
						// An attached message keeps the newline before the boundary.
						c.end = pos
					}
					p.children = append(p.children, c)
				}
				if rest == "--" {
					return p
				}
				partStart = next
			}
		}
		pos = next
	}
	if partStart >= 0 && partStart < end {
		p.children = append(p.children, parsePart(data, partStart, end, false, depth+1))
	}
	return p
}

// searchContentType is rfc2045_searchcontenttype: the part itself when of type ct, else the
// first child of that type, descending into the first multipart child met on the way.
func searchContentType(p *part, ct string) *part {
	if p.ctype == ct {
		return p
	}
	for _, c := range p.children {
		if c.ctype == ct {
			return c
		}
		if strings.HasPrefix(c.ctype, "multipart/") {
			return searchContentType(c, ct)
		}
	}
	return nil
}

// decodedText returns a text part's content decoded from its transfer encoding and converted
// from its charset to UTF-8.
func decodedText(data []byte, p *part) string {
	raw := data[p.bodyStart:p.end]
	cte, _ := p.get("Content-Transfer-Encoding")
	var body []byte
	switch strings.ToLower(cte) {
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
	cs := p.params["charset"]
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
func reformat(b *bytes.Buffer, data []byte, p *part, adjust int, outCharset string) {
	text := decodedText(data, p)
	flowed := strings.EqualFold(p.params["format"], "flowed")
	delsp := strings.EqualFold(p.params["delsp"], "yes")
	enc := newEncoder(outCharset)
	text = strings.TrimSuffix(text, "\n")
	if text == "" && p.end-p.bodyStart == 0 {
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
