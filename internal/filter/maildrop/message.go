package maildrop

import (
	"bytes"
	"encoding/base64"
	"io"
	stdmime "mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"courier/internal/mail/charset"

	"courier/internal/mail/mime"
)

// Message is the message being filtered: its bytes as read (plus any -A headers) and, built
// on first use, the text that patterns search.
type Message struct {
	data  []byte
	added int          // lines of headers added with -A, which LINES does not count
	lines []searchLine // nil until built
	built bool
}

// searchLine is one line of the search text: a header (unfolded, decoded, canonical) or a
// body line (decoded to UTF-8 when the message is MIME).
type searchLine struct {
	text   string
	header bool
}

// NewMessage makes a Message of the given bytes.
func NewMessage(data []byte) *Message { return &Message{data: data} }

// NewMessageWithHeaders makes a Message of the given bytes with header lines put before them
// (maildrop's -A option); SIZE counts them, LINES does not.
func NewMessageWithHeaders(headers []string, data []byte) *Message {
	var b []byte
	for _, h := range headers {
		b = append(b, strings.TrimRight(h, "\n")...)
		b = append(b, '\n')
	}
	return &Message{data: append(b, data...), added: len(headers)}
}

// Bytes returns the message as it will be delivered.
func (m *Message) Bytes() []byte { return m.data }

// Size is the SIZE variable: the number of bytes.
func (m *Message) Size() int { return len(m.data) }

// Lines is the LINES variable: the number of newline characters. A last line without a
// newline is not counted, as Courier's maildrop does not count it either (maildropfilter(7)
// calls LINES an approximation).
func (m *Message) Lines() int {
	return bytes.Count(m.data, []byte{'\n'}) - m.added
}

// HeaderValue returns the raw value of the first header field with this name (unfolded,
// trimmed), or "".
func (m *Message) HeaderValue(name string) string {
	hdr := m.data
	if i := bytes.Index(hdr, []byte("\n\n")); i >= 0 {
		hdr = hdr[:i+1]
	}
	var cur string
	found := false
	for _, line := range strings.SplitAfter(string(hdr), "\n") {
		line = strings.TrimRight(line, "\r\n")
		if found {
			if line != "" && (line[0] == ' ' || line[0] == '\t') {
				cur += " " + line
				continue
			}
			return strings.TrimSpace(cur)
		}
		if i := strings.IndexByte(line, ':'); i > 0 && strings.EqualFold(strings.TrimSpace(line[:i]), name) {
			cur, found = line[i+1:], true
		}
	}
	if found {
		return strings.TrimSpace(cur)
	}
	return ""
}

// maxSearchBytes bounds the decoded search text of one message part.
const maxSearchBytes = 64 << 20

// search returns the search text, building it on first use.
func (m *Message) search() []searchLine {
	if m.built {
		return m.lines
	}
	m.built = true
	root, err := mime.Parse(bytes.NewReader(m.data), int64(len(m.data)))
	if err != nil {
		return nil
	}
	m.walk(root, true)
	return m.lines
}

func (m *Message) walk(p *mime.Part, root bool) {
	for _, f := range p.Header.Fields {
		m.lines = append(m.lines, searchLine{text: canonicalField(f), header: true})
	}
	switch {
	case len(p.Parts) > 0:
		for _, c := range p.Parts {
			m.walk(c, false)
		}
	case p.Message != nil:
		m.walk(p.Message, false)
	case root && p.MIMEVersion == "":
		body := m.data[p.BodyStart:p.End]
		// maildrop does not search a last line that lacks its line break
		if i := bytes.LastIndexByte(body, '\n'); i >= 0 {
			body = body[:i+1]
		} else {
			body = nil
		}
		m.addBody(body, "", "")
	case p.Type == "text" || p.Type == "TEXT" || strings.EqualFold(p.Type, "text"):
		cs := ""
		for _, prm := range p.Params {
			if prm.Name == "charset" {
				cs = prm.Value
			}
		}
		m.addBody(m.data[p.BodyStart:p.End], p.Encoding, cs)
	}
}

// addBody decodes a body and appends its lines.
func (m *Message) addBody(body []byte, enc, cs string) {
	var r io.Reader = bytes.NewReader(body)
	switch strings.ToLower(enc) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &skipSpaceReader{r: r})
	}
	if cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if cr, err := charset.Reader(cs, r); err == nil {
			r = cr
		}
	}
	dec, _ := io.ReadAll(io.LimitReader(r, maxSearchBytes))
	s := string(dec)
	s = strings.TrimSuffix(s, "\n")
	if s == "" && len(dec) == 0 {
		return
	}
	for _, line := range strings.Split(s, "\n") {
		m.lines = append(m.lines, searchLine{text: strings.TrimSuffix(line, "\r")})
	}
}

// skipSpaceReader drops line breaks and blanks, which base64 bodies carry.
type skipSpaceReader struct{ r io.Reader }

func (s *skipSpaceReader) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

var wordDecoder = stdmime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded words; text that does not decode stays as it is.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// addressHeaders are the fields maildrop rewrites into canonical address lists before
// searching.
var addressHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "sender": true,
	"resent-from": true, "resent-to": true, "resent-cc": true, "resent-bcc": true,
	"resent-sender": true, "resent-reply-to": true,
}

// canonicalField renders a header field as maildrop searches it: "Name: value" on one line
// (each folding line break becomes a blank), the value trimmed, encoded words decoded and
// address lists rewritten in canonical form.
func canonicalField(f mime.Field) string {
	name := f.Name
	raw := f.Value()
	if raw == nil {
		return strings.TrimRight(string(f.Raw), "\r")
	}
	v := strings.ReplaceAll(string(raw), "\r", "")
	v = strings.ReplaceAll(v, "\n", " ")
	v = strings.TrimSpace(v)
	if addressHeaders[strings.ToLower(strings.TrimSpace(name))] {
		v = canonicalAddresses(v)
	} else {
		v = decodeWords(v)
	}
	return name + ": " + v
}

// canonicalAddresses rewrites an address list: "addr (Name)" becomes "Name <addr>", display
// names are decoded and quoted only when they need it, elements are separated by ", ".
func canonicalAddresses(v string) string {
	var b strings.Builder
	prev := ""
	for _, a := range mime.ParseAddresses(v) {
		item, kind := renderAddress(a)
		if kind == "" {
			continue
		}
		if b.Len() > 0 {
			switch {
			case prev == "group":
				b.WriteByte(' ')
			case prev == "end" || kind == "end":
			default:
				b.WriteString(", ")
			}
		}
		b.WriteString(item)
		prev = kind
	}
	return b.String()
}

// renderAddress renders one element; kind is "addr", "group" (a "name:" start), "end" (";")
// or "" (nothing to print).
func renderAddress(a mime.Address) (string, string) {
	if a.Tokens == nil {
		if len(a.Name) == 1 && a.Name[0].Kind == ';' {
			return ";", "end"
		}
		if len(a.Name) > 0 && a.Name[len(a.Name)-1].Kind == ':' {
			return strings.TrimSpace(string(mime.PrintTokens(nil, a.Name))), "group"
		}
		if len(a.Name) == 0 {
			return "", ""
		}
		return decodeWords(nameText(a.Name)), "addr"
	}
	addr := mime.PasteTokens(a.Tokens)
	if len(a.Name) == 0 {
		if addr == "" {
			return "<>", "addr"
		}
		return addr, "addr"
	}
	name := decodeWords(nameText(a.Name))
	if name == "" {
		return addr, "addr"
	}
	return quoteName(name) + " <" + addr + ">", "addr"
}

// nameText joins a display name's tokens: atoms with single blanks, quoted strings and
// comments by their inside.
func nameText(toks []mime.Token) string {
	var parts []string
	for _, t := range toks {
		s := t.Text
		switch t.Kind {
		case mime.TokComment:
			s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
		case mime.TokQuoted:
			if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
				s = s[1 : len(s)-1]
			}
			s = unbackslash(s)
		case mime.TokAtom:
		default:
			s = string(rune(t.Kind))
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func unbackslash(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// quoteName quotes a display name that holds an RFC 822 special.
func quoteName(s string) string {
	if !strings.ContainsAny(s, "()<>@,;:\\\".[]") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// addressList extracts the bare addresses of a header value, as getaddr and hasaddr see them.
func addressList(v string) []string {
	var out []string
	for _, a := range mime.ParseAddresses(v) {
		if a.Tokens == nil {
			continue
		}
		if s := mime.PasteTokens(a.Tokens); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// validUTF8 replaces invalid bytes so the regular expression engine sees runes.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
