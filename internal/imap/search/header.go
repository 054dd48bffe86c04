package search

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"unicode/utf8"

	"courier/internal/mail/charset"
)

// HeaderEnd returns the length of the header block at the start of msg, including the blank
// line that ends it (LF or CRLF), or len(msg) if there is no blank line.
func HeaderEnd(msg []byte) int {
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			return len(msg)
		}
		line := msg[i : i+j]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return i + j + 1
		}
		i += j + 1
	}
	return len(msg)
}

// EachField calls fn with the name and raw value (folding and line ends kept, the space
// after the colon not removed) of every field of the header block hdr, in order, until fn
// returns false. Lines before the first field that are not fields are skipped; a line
// without a colon ends nothing (it is ignored), a blank line ends the header.
func EachField(hdr []byte, fn func(name, value []byte) bool) {
	i := 0
	for i < len(hdr) {
		j := bytes.IndexByte(hdr[i:], '\n')
		end := len(hdr)
		if j >= 0 {
			end = i + j + 1
		}
		line := hdr[i:end]
		if t := bytes.TrimRight(line, "\r\n"); len(t) == 0 {
			return
		}
		if line[0] == ' ' || line[0] == '\t' {
			i = end // a continuation with no field before it
			continue
		}
		// the field runs over its continuation lines
		k := end
		for k < len(hdr) && (hdr[k] == ' ' || hdr[k] == '\t') {
			n := bytes.IndexByte(hdr[k:], '\n')
			if n < 0 {
				k = len(hdr)
				break
			}
			k += n + 1
		}
		field := hdr[i:k]
		i = k
		c := bytes.IndexByte(field, ':')
		if c <= 0 {
			continue
		}
		name := bytes.TrimRight(field[:c], " \t")
		if len(name) == 0 || bytes.ContainsAny(name, " \t\r\n") {
			continue
		}
		if !fn(name, field[c+1:]) {
			return
		}
	}
}

// FieldValue returns the raw value of the first field called name (case-insensitive).
func FieldValue(hdr []byte, name string) ([]byte, bool) {
	var v []byte
	found := false
	EachField(hdr, func(n, val []byte) bool {
		if bytes.EqualFold(n, []byte(name)) {
			v, found = val, true
			return false
		}
		return true
	})
	return v, found
}

// unfold removes line breaks of a folded value and trims surrounding white space.
func unfold(v []byte) string {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(bytes.Trim(v, " \t"))
	}
	var b strings.Builder
	for _, c := range v {
		if c != '\r' && c != '\n' {
			b.WriteByte(c)
		}
	}
	return strings.Trim(b.String(), " \t")
}

// isAddressField reports whether Courier shows the field as an address list (and so matches
// FROM/TO/CC/BCC and HEADER against that display form).
func isAddressField(name []byte) bool {
	if len(name) > 11 || len(name) < 2 {
		return false
	}
	var low [11]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(name)]) { // no allocation: the compiler compares in place
	case "from", "to", "cc", "bcc", "resent-from", "resent-to", "resent-cc", "resent-bcc":
		return true
	}
	return false
}

// needsDecoding reports whether a raw value may change under RFC 2047 decoding.
func needsDecoding(v []byte) bool { return bytes.Contains(v, []byte("=?")) }

// DecodeWords decodes RFC 2047 encoded-words in a header value to UTF-8 the way Courier
// does: an encoded-word is recognised anywhere (even inside quotes or glued to other text),
// white space between two adjacent encoded-words is dropped, a "*language" suffix of the
// charset (RFC 2231 §5) is ignored, invalid quoted-printable escapes and undecodable base64
// produce nothing, and words in an unknown charset produce their bytes unconverted. Other
// bytes, including raw 8-bit text, are kept as they are.
func DecodeWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	var b strings.Builder
	pendingSpace := "" // white space after an encoded-word, dropped if another one follows
	lastWasWord := false
	for len(v) > 0 {
		i := strings.Index(v, "=?")
		if i < 0 {
			b.WriteString(pendingSpace)
			b.WriteString(v)
			break
		}
		before := v[:i]
		dec, n, ok := decodeWord(v[i:])
		if !ok {
			b.WriteString(pendingSpace)
			pendingSpace = ""
			b.WriteString(v[:i+2])
			v = v[i+2:]
			lastWasWord = false
			continue
		}
		if lastWasWord && strings.Trim(before, " \t\r\n") == "" {
			before = "" // adjacent encoded-words: the space between them goes (RFC 2047 §6.2)
		} else {
			b.WriteString(pendingSpace)
		}
		pendingSpace = ""
		b.WriteString(before)
		b.WriteString(dec)
		v = v[i+n:]
		lastWasWord = true
		// hold the white space that follows until we know what comes after it
		j := 0
		for j < len(v) && (v[j] == ' ' || v[j] == '\t' || v[j] == '\r' || v[j] == '\n') {
			j++
		}
		pendingSpace = v[:j]
		v = v[j:]
	}
	if pendingSpace != "" && b.Len() > 0 {
		b.WriteString(pendingSpace)
	}
	return b.String()
}

// decodeWord decodes one encoded-word at the start of s: "=?charset?enc?text?=". It returns
// the decoded text, the length consumed and whether s starts with a well-formed word.
func decodeWord(s string) (string, int, bool) {
	if !strings.HasPrefix(s, "=?") {
		return "", 0, false
	}
	rest := s[2:]
	q1 := strings.IndexByte(rest, '?')
	if q1 <= 0 || q1+2 >= len(rest) || rest[q1+2] != '?' {
		return "", 0, false
	}
	cs := rest[:q1]
	enc := rest[q1+1]
	text := rest[q1+3:]
	end := strings.Index(text, "?=")
	if end < 0 {
		return "", 0, false
	}
	text = text[:end]
	if strings.ContainsAny(text, " \t\r\n") || strings.ContainsAny(cs, " \t\r\n") {
		return "", 0, false
	}
	consumed := 2 + q1 + 3 + end + 2
	if k := strings.IndexByte(cs, '*'); k >= 0 {
		cs = cs[:k]
	}
	var raw []byte
	switch enc {
	case 'q', 'Q':
		raw = decodeQ(text)
	case 'b', 'B':
		d, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return "", consumed, true
		}
		raw = d
	default:
		return "", 0, false
	}
	return toUTF8(cs, raw), consumed, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeQ decodes the "Q" encoding of RFC 2047 §4.2; an invalid escape gives nothing.
func decodeQ(t string) []byte {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=':
			if i+2 < len(t) {
				h, ok1 := unhex(t[i+1])
				l, ok2 := unhex(t[i+2])
				if ok1 && ok2 {
					out = append(out, h<<4|l)
					i += 2
					continue
				}
			}
			// invalid escape: Courier drops the "=" and the two characters after it
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

// toUTF8 converts text in the named charset to UTF-8; UTF-8, US-ASCII and charsets we do not
// know are passed through unconverted.
func toUTF8(cs string, raw []byte) string {
	switch strings.ToLower(cs) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return string(raw)
	}
	if utf8ASCII(raw) {
		return string(raw)
	}
	r, err := charset.Reader(cs, bytes.NewReader(raw))
	if err != nil {
		return string(raw)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return string(raw)
	}
	return string(out)
}

func utf8ASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
