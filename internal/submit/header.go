package submit

import (
	"bytes"
	"mime"
	"strings"
)

// Field is one header field as it came: its name and its raw lines (the first line and
// any continuation lines, each ending in LF).
type Field struct {
	Name string
	Raw  []byte
}

// Value returns the unfolded value after the colon.
func (f Field) Value() string {
	_, v, _ := bytes.Cut(f.Raw, []byte{':'})
	s := strings.ReplaceAll(string(v), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "")
	return strings.TrimSpace(s)
}

// fieldName returns the name of a header line ("To" of "To: x"), or "" if the line does
// not start a field (RFC 5322 section 2.2: printable ASCII but the colon, then a colon).
func fieldName(line []byte) string {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return ""
	}
	for _, c := range line[:i] {
		if c < 33 || c > 126 {
			return ""
		}
	}
	return string(line[:i])
}

// SplitFields splits a header block (LF-terminated lines, no blank line) into fields. A
// continuation line before any field is kept as a nameless field.
func SplitFields(block []byte) []Field {
	var out []Field
	for len(block) > 0 {
		i := bytes.IndexByte(block, '\n')
		line := block
		if i >= 0 {
			line = block[:i+1]
		}
		block = block[len(line):]
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].Raw = append(out[len(out)-1].Raw, line...)
			continue
		}
		out = append(out, Field{Name: fieldName(line), Raw: append([]byte(nil), line...)})
	}
	return out
}

// Mailbox is one address of an address list.
type Mailbox struct {
	Name string // display name, unquoted; "" if none
	Addr string // addr-spec
}

// ParseAddressList extracts the addresses of an address-list field value (To:, Cc:,
// Bcc:, From:), tolerantly: display names, quoted strings, comments, groups, source
// routes and bare local names ("root") are understood; what is left of an entry that
// still is no address (CheckAddr) is returned in bad. It never fails as a whole: a
// sendmail that gives up on a To: line would lose mail.
func ParseAddressList(s string) (list []Mailbox, bad []string) {
	for _, item := range splitTop(s) {
		mb, ok := parseMailbox(item)
		if !ok {
			continue // an empty entry, or a group's empty member list
		}
		if CheckAddr(mb.Addr) != nil {
			bad = append(bad, strings.TrimSpace(item))
			continue
		}
		list = append(list, mb)
	}
	return list, bad
}

// splitTop splits s at the commas, and at the colon and semicolon of a group, that are
// outside quotes, comments and angle brackets; a group's name is dropped.
func splitTop(s string) []string {
	var out []string
	start, depth, angle, quoted, literal := 0, 0, false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case literal: // a domain literal, "[IPv6:::1]"
			if c == '\\' {
				i++
			} else if c == ']' {
				literal = false
			}
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			switch c {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case angle:
			if c == '>' {
				angle = false
			}
		case c == '<':
			angle = true
		case c == '[':
			literal = true
		case c == ':':
			start = i + 1 // "group-name:" — what came before names the group
		case c == ',' || c == ';':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start <= len(s) {
		out = append(out, s[start:])
	}
	return out
}

// parseMailbox reads one entry: "Name <addr>", "addr (Name)" or "addr".
func parseMailbox(item string) (Mailbox, bool) {
	var name, comment, bare strings.Builder
	var addr string
	haveAngle := false
	depth, quoted := 0, false
	for i := 0; i < len(item); i++ {
		c := item[i]
		switch {
		case quoted:
			switch c {
			case '\\':
				if i+1 < len(item) {
					i++
					name.WriteByte(item[i])
					bare.WriteByte('\\')
					bare.WriteByte(item[i])
				}
			case '"':
				quoted = false
				bare.WriteByte('"')
			default:
				name.WriteByte(c)
				bare.WriteByte(c)
			}
		case depth > 0:
			switch c {
			case '\\':
				if i+1 < len(item) {
					i++
					comment.WriteByte(item[i])
				}
			case '(':
				depth++
				comment.WriteByte(c)
			case ')':
				depth--
				if depth > 0 {
					comment.WriteByte(c)
				}
			default:
				comment.WriteByte(c)
			}
		case c == '"':
			quoted = true
			bare.WriteByte('"')
		case c == '(':
			depth++
			if comment.Len() > 0 {
				comment.WriteByte(' ')
			}
		case c == '<' && !haveAngle:
			end := strings.IndexByte(item[i+1:], '>')
			if end < 0 {
				end = len(item) - i - 1
			}
			addr = stripRoute(strings.TrimSpace(item[i+1 : i+1+end]))
			haveAngle = true
			i += end + 1
		case haveAngle:
			// text after "<addr>" is a stray; comments were handled above
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if name.Len() > 0 {
				name.WriteByte(' ')
			}
		default:
			name.WriteByte(c)
			bare.WriteByte(c)
		}
	}
	if haveAngle {
		n := strings.Join(strings.Fields(name.String()), " ")
		if n == "" {
			n = strings.TrimSpace(comment.String())
		}
		return Mailbox{Name: decodeWords(n), Addr: addr}, addr != ""
	}
	a := bare.String()
	if a == "" {
		return Mailbox{}, false
	}
	return Mailbox{Name: decodeWords(strings.TrimSpace(comment.String())), Addr: a}, true
}

// stripRoute drops an obsolete source route ("@a,@b:user@c", RFC 5322 section 4.4).
func stripRoute(a string) string {
	if strings.HasPrefix(a, "@") {
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			return a[i+1:]
		}
	}
	return a
}

func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// FormatMailbox writes "Name <addr>" ("<addr>" without a name), quoting or encoding the
// name as RFC 5322 and RFC 2047 need.
func FormatMailbox(name, addr string) string {
	if name == "" {
		return "<" + addr + ">"
	}
	return phrase(name) + " <" + addr + ">"
}

// phrase renders a display name: as it is when made of atoms, quoted when it holds
// specials, RFC 2047-encoded when it is not ASCII.
func phrase(s string) string {
	ascii, atoms := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			ascii = false
		case c < 0x20 || c == 0x7f:
			ascii = false // control characters travel encoded
		case c == ' ':
		case strings.IndexByte("()<>[]:;@\\,.\"", c) >= 0:
			atoms = false
		}
	}
	switch {
	case !ascii:
		return mime.QEncoding.Encode("utf-8", s)
	case atoms:
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// HeaderOptions say how sendmail rewrites the header of a message (sendmail(1), "SENDER
// ADDRESS"), and whether it takes the recipients from it.
type HeaderOptions struct {
	// User and Host make the From: added when there is none; Name is its display name.
	User, Host, Name string
	// NewName, NewUser and NewHost, when set, replace the display name, local part and
	// domain of an existing From: (-F or MAILNAME/NAME, MAILUSER, MAILHOST).
	NewName, NewUser, NewHost string
	// Rcpts: collect the recipients of To:, Cc: and Bcc: (BccOnly: of Bcc: only).
	Rcpts   bool
	BccOnly bool
}

// RewriteHeader applies o to the fields of a header: every Bcc: field goes (they are
// never shown to recipients, whoever the recipients are), a From: is added when missing or
// rewritten as o says, and with o.Rcpts the recipients are collected. It returns the new
// header block, the recipients and the entries that were no address.
func RewriteHeader(fields []Field, o HeaderOptions) (block []byte, rcpts []string, bad []string) {
	var out bytes.Buffer
	seenFrom := false
	seen := map[string]bool{}
	collect := func(f Field) {
		list, b := ParseAddressList(f.Value())
		bad = append(bad, b...)
		for _, mb := range list {
			if k := strings.ToLower(mb.Addr); !seen[k] {
				seen[k] = true
				rcpts = append(rcpts, mb.Addr)
			}
		}
	}
	for _, f := range fields {
		switch {
		case strings.EqualFold(f.Name, "Bcc"):
			if o.Rcpts {
				collect(f)
			}
			continue
		case strings.EqualFold(f.Name, "To"), strings.EqualFold(f.Name, "Cc"):
			if o.Rcpts && !o.BccOnly {
				collect(f)
			}
		case strings.EqualFold(f.Name, "From") && !seenFrom:
			seenFrom = true
			if o.NewName != "" || o.NewUser != "" || o.NewHost != "" {
				if nf, ok := rewriteFrom(f, o); ok {
					out.WriteString(nf)
					continue
				}
			}
		}
		out.Write(f.Raw)
	}
	if !seenFrom {
		addr := o.User
		if o.Host != "" {
			addr += "@" + o.Host
		}
		from := "From: " + FormatMailbox(o.Name, addr) + "\n"
		return append([]byte(from), out.Bytes()...), rcpts, bad
	}
	return out.Bytes(), rcpts, bad
}

// rewriteFrom replaces parts of the first address of a From: field.
func rewriteFrom(f Field, o HeaderOptions) (string, bool) {
	list, _ := ParseAddressList(f.Value())
	if len(list) == 0 {
		return "", false
	}
	mb := list[0]
	local, domain, hasAt := mb.Addr, "", false
	if i := strings.LastIndexByte(mb.Addr, '@'); i >= 0 {
		local, domain, hasAt = mb.Addr[:i], mb.Addr[i+1:], true
	}
	if o.NewUser != "" {
		local = o.NewUser
	}
	if o.NewHost != "" {
		domain, hasAt = o.NewHost, true
	}
	addr := local
	if hasAt {
		addr += "@" + domain
	}
	name := mb.Name
	if o.NewName != "" {
		name = o.NewName
	}
	if CheckAddr(addr) != nil {
		return "", false
	}
	return f.Name + ": " + FormatMailbox(name, addr) + "\n", true
}
