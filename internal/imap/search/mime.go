package search

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// maxMIMEDepth bounds the nesting of multiparts and attached messages we descend into; deeper
// entities are not searched (a hostile message cannot exhaust the stack).
const maxMIMEDepth = 40

// walker visits the searchable strings of a message: every header field (name with colon,
// decoded value) of every entity, and the decoded text of text and message leaf parts.
type walker struct {
	header func(name, value []byte) // a field of any entity
	body   func(text []byte)        // one decoded text part
}

// entityInfo is what the MIME walk needs from an entity's header.
type entityInfo struct {
	typ, sub string // lower case; "" when absent or invalid
	params   map[string]string
	cte      string
	mime     bool // the entity is MIME (MIME-Version seen, or it is inside a multipart)
}

func (w *walker) walk(msg []byte) { w.entity(msg, false, "", 0) }

// entity walks one entity; inMultipart says whether it is a body part (so MIME without a
// MIME-Version of its own); defType is the default content type of its context.
func (w *walker) entity(e []byte, inMultipart bool, defType string, depth int) {
	hend := HeaderEnd(e)
	hdr, body := e[:hend], e[hend:]
	info := entityInfo{mime: inMultipart}
	var ctype []byte
	haveCT := false
	EachField(hdr, func(name, value []byte) bool {
		if w.header != nil {
			w.header(name, value)
		}
		switch strings.ToLower(string(name)) {
		case "mime-version":
			info.mime = true
		case "content-type":
			if !haveCT {
				ctype, haveCT = value, true
			}
		case "content-transfer-encoding":
			if info.cte == "" {
				info.cte = strings.ToLower(strings.TrimSpace(unfold(value)))
			}
		}
		return true
	})
	if depth > maxMIMEDepth {
		return
	}
	if info.mime && haveCT {
		info.typ, info.sub, info.params = parseContentType(unfold(ctype))
	} else {
		t := defType
		if t == "" || !info.mime {
			t = "text/plain"
		}
		info.typ, info.sub, _ = strings.Cut(t, "/")
	}
	switch {
	case info.typ == "multipart":
		b := info.params["boundary"]
		if b == "" {
			return
		}
		def := "text/plain"
		if info.sub == "digest" {
			def = "message/rfc822"
		}
		for _, part := range splitMultipart(body, b) {
			w.entity(part, true, def, depth+1)
		}
	case info.typ == "message" && (info.sub == "rfc822" || info.sub == "global"):
		w.entity(decodeCTE(body, info.cte), false, "", depth+1)
	case info.typ == "text" || info.typ == "message":
		if w.body == nil {
			return
		}
		text := decodeCTE(body, info.cte)
		if info.mime {
			if cs := info.params["charset"]; cs != "" {
				text = []byte(toUTF8(cs, text))
			}
		}
		w.body(text)
	}
}

// parseContentType splits "type/sub; a=b; c="d"" leniently; an invalid type gives "".
func parseContentType(v string) (typ, sub string, params map[string]string) {
	params = map[string]string{}
	head, rest, _ := strings.Cut(v, ";")
	head = strings.ToLower(strings.TrimSpace(stripComments(head)))
	t, s, ok := strings.Cut(head, "/")
	t, s = strings.TrimSpace(t), strings.TrimSpace(s)
	if !ok || t == "" || s == "" {
		t, s = "", ""
	}
	for rest != "" {
		var p string
		p, rest = cutParam(rest)
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' {
			val = unquote(val)
		}
		if _, dup := params[k]; !dup {
			params[k] = val
		}
	}
	return t, s, params
}

// cutParam returns the text up to the next ";" outside quotes.
func cutParam(s string) (string, string) {
	q := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if q {
				i++
			}
		case '"':
			q = !q
		case ';':
			if !q {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

func unquote(v string) string {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			b.WriteByte(v[i])
			continue
		}
		if c == '"' {
			break
		}
		b.WriteByte(c)
	}
	return b.String()
}

func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitMultipart returns the body parts between "--boundary" lines (RFC 2046 §5.1.1); the
// preamble and epilogue are dropped. An unterminated last part runs to the end.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1
	for i := 0; i <= len(body); {
		j := bytes.IndexByte(body[i:], '\n')
		end := len(body)
		next := len(body) + 1
		if j >= 0 {
			end = i + j
			next = end + 1
		}
		line := bytes.TrimRight(body[i:end], "\r")
		if bytes.HasPrefix(line, delim) {
			tail := line[len(delim):]
			closing := bytes.HasPrefix(tail, []byte("--"))
			if closing {
				tail = tail[2:]
			}
			if len(bytes.Trim(tail, " \t")) == 0 {
				if start >= 0 {
					// the line break before the delimiter belongs to it
					p := body[start:i]
					p = bytes.TrimSuffix(p, []byte("\n"))
					p = bytes.TrimSuffix(p, []byte("\r"))
					parts = append(parts, p)
				}
				if closing {
					return parts
				}
				start = next
				if start > len(body) {
					start = len(body)
				}
			}
		}
		i = next
	}
	if start >= 0 && start <= len(body) {
		parts = append(parts, body[start:])
	}
	return parts
}

// decodeCTE undoes a Content-Transfer-Encoding; unknown encodings pass through.
func decodeCTE(b []byte, cte string) []byte {
	switch cte {
	case "quoted-printable":
		return decodeQP(b)
	case "base64":
		return decodeBase64(b)
	}
	return b
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7) leniently: soft line breaks join lines,
// an invalid escape is kept as written.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		// soft line break: "=" then optional white space then a line end
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		if j < len(b) && (b[j] == '\n' || b[j] == '\r') {
			if b[j] == '\r' && j+1 < len(b) && b[j+1] == '\n' {
				j++
			}
			i = j
			continue
		}
		if j == len(b) {
			i = j
			continue
		}
		if i+2 < len(b) {
			h, ok1 := unhex(b[i+1])
			l, ok2 := unhex(b[i+2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// decodeBase64 decodes base64 leniently: characters outside the alphabet (line breaks,
// padding, garbage) are skipped and a final partial group gives what bytes it holds.
func decodeBase64(b []byte) []byte {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return out[:n]
}
