package search

import (
	"strings"
)

// An address-list token (RFC 5322 §3.2): an atom (dots are separate specials), a quoted
// string or a comment (content without the delimiters), or one special character.
type tokKind uint8

const (
	tAtom tokKind = iota
	tQuoted
	tComment
	tSpecial
)

type token struct {
	kind tokKind
	text string
}

const specials = "()<>@,;:\\\".[]"

func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '"':
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				if s[i] != '\r' && s[i] != '\n' {
					b.WriteByte(s[i])
				}
				i++
			}
			i++ // closing quote (or end)
			out = append(out, token{tQuoted, b.String()})
		case c == '(':
			var b strings.Builder
			depth := 0
			for i < len(s) {
				ch := s[i]
				if ch == '\\' && i+1 < len(s) {
					if depth > 0 {
						b.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				if ch == '(' {
					depth++
					if depth > 1 {
						b.WriteByte(ch)
					}
				} else if ch == ')' {
					depth--
					if depth == 0 {
						i++
						break
					}
					b.WriteByte(ch)
				} else if ch != '\r' && ch != '\n' {
					b.WriteByte(ch)
				}
				i++
			}
			out = append(out, token{tComment, b.String()})
		case strings.IndexByte(specials, c) >= 0:
			out = append(out, token{tSpecial, string(c)})
			i++
		default:
			j := i
			for j < len(s) && s[j] > ' ' && s[j] != 0x7f && strings.IndexByte(specials, s[j]) < 0 {
				j++
			}
			if j == i { // a control character: skip it
				j++
			} else {
				out = append(out, token{tAtom, s[i:j]})
			}
			i = j
		}
	}
	return out
}

// Address is one entry of an address list as Courier sees it.
type Address struct {
	Name    string // display name, RFC 2047 decoded ("" if none)
	Mailbox string // local part ("" for a group marker or a name without address)
	Host    string // domain as written ("" if none)
	Group   int    // 0 for a mailbox, 1 for the start of a group (Name is its name), 2 for its end
}

// addrSpec returns local@host (or the local part alone).
func (a Address) addrSpec() string {
	if a.Host == "" {
		return a.Mailbox
	}
	return a.Mailbox + "@" + a.Host
}

// ParseAddressList parses an address field value leniently, as Courier's parser does:
// words not joined by "." or "@" are separate addresses ("name only" is two), a comment
// after an address without a name becomes its name, a comment after "<...>" becomes an
// address of its own, and groups are kept as start and end markers.
func ParseAddressList(v string) []Address {
	toks := tokenize(v)
	var out []Address
	inGroup := false
	for len(toks) > 0 {
		// one element: up to a top-level "," or ";" (a ":" starts a group)
		end := 0
		angle := false
		colon := -1
		for end < len(toks) {
			t := toks[end]
			if t.kind == tSpecial {
				if t.text == "<" {
					angle = true
				} else if t.text == ">" {
					angle = false
				} else if !angle && (t.text == "," || t.text == ";") {
					break
				} else if !angle && t.text == ":" && colon < 0 && !inGroup {
					colon = end
					break
				}
			}
			end++
		}
		elem := toks[:end]
		var sep token
		if end < len(toks) {
			sep = toks[end]
			toks = toks[end+1:]
		} else {
			toks = nil
		}
		if colon >= 0 {
			out = append(out, Address{Name: DecodeWords(phrase(elem)), Group: 1})
			inGroup = true
			continue
		}
		out = append(out, parseElement(elem)...)
		if sep.text == ";" && inGroup {
			out = append(out, Address{Group: 2})
			inGroup = false
		}
	}
	if inGroup {
		out = append(out, Address{Group: 2})
	}
	return out
}

// phrase joins atoms, quoted strings and specials of a display name with single spaces
// (dots stay attached to their words).
func phrase(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if t.kind == tComment {
			continue
		}
		if b.Len() > 0 && !(t.kind == tSpecial && t.text == ".") && !(i > 0 && toks[i-1].kind == tSpecial && toks[i-1].text == ".") {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

func parseElement(toks []token) []Address {
	if len(toks) == 0 {
		return nil
	}
	lt := -1
	for i, t := range toks {
		if t.kind == tSpecial && t.text == "<" {
			lt = i
			break
		}
	}
	if lt >= 0 {
		gt := len(toks)
		for i := lt + 1; i < len(toks); i++ {
			if toks[i].kind == tSpecial && toks[i].text == ">" {
				gt = i
				break
			}
		}
		// the name keeps its comments, shown in parentheses
		var nb strings.Builder
		for i, t := range toks[:lt] {
			if i > 0 {
				nb.WriteByte(' ')
			}
			if t.kind == tComment {
				nb.WriteString("(" + t.text + ")")
			} else {
				nb.WriteString(t.text)
			}
		}
		a := addrFromSpec(toks[lt+1 : gt])
		a.Name = DecodeWords(nb.String())
		out := []Address{a}
		if gt+1 < len(toks) {
			out = append(out, parseBare(toks[gt+1:])...)
		}
		return out
	}
	return parseBare(toks)
}

// parseBare splits an element without angle brackets into addresses: words joined by "."
// or "@" form one address; a comment names the address before it.
func parseBare(toks []token) []Address {
	var out []Address
	var cur []token
	var comment string
	haveComment := false
	flush := func() {
		if len(cur) == 0 {
			if haveComment {
				out = append(out, Address{Name: DecodeWords(comment)})
			}
		} else {
			a := addrFromSpec(cur)
			if haveComment {
				a.Name = DecodeWords(comment)
			}
			out = append(out, a)
		}
		cur, comment, haveComment = nil, "", false
	}
	for _, t := range toks {
		switch {
		case t.kind == tComment:
			if haveComment {
				flush()
			}
			comment, haveComment = t.text, true
		case t.kind == tSpecial && (t.text == "." || t.text == "@"):
			cur = append(cur, t)
		case t.kind == tSpecial:
			// stray special (":" ">" ...): ignore
		default:
			if len(cur) > 0 {
				last := cur[len(cur)-1]
				if !(last.kind == tSpecial && (last.text == "." || last.text == "@")) {
					flush()
				}
			} else if haveComment {
				flush()
			}
			cur = append(cur, t)
		}
	}
	flush()
	return out
}

// addrFromSpec builds an address from the tokens of local@domain.
func addrFromSpec(toks []token) Address {
	var local, host strings.Builder
	dst := &local
	for _, t := range toks {
		switch {
		case t.kind == tComment:
		case t.kind == tSpecial && t.text == "@" && dst == &local:
			dst = &host
		default:
			dst.WriteString(t.text)
		}
	}
	return Address{Mailbox: local.String(), Host: host.String()}
}

// displayAddresses renders an address field the way Courier shows it (and searches it):
// "Name <addr>", names quoted when they contain specials, IDNA domains in Unicode, ", "
// between addresses, "group: a, b;" for groups (with nothing after the ";").
func displayAddresses(v string) string {
	list := ParseAddressList(v)
	var b strings.Builder
	sep := ""
	first := true
	for _, a := range list {
		switch a.Group {
		case 1:
			if !first {
				b.WriteString(sep)
			}
			b.WriteString(quoteName(a.Name))
			b.WriteString(": ")
			sep, first = "", true
			continue
		case 2:
			b.WriteString(";")
			sep, first = "", false
			continue
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		sep = ", "
		spec := a.Mailbox
		if a.Host != "" {
			spec += "@" + decodeIDNA(a.Host)
		}
		switch {
		case a.Name != "" && spec != "":
			b.WriteString(quoteName(a.Name))
			b.WriteString(" <")
			b.WriteString(spec)
			b.WriteString(">")
		case a.Name != "":
			b.WriteString(a.Name)
		default:
			b.WriteString(spec)
		}
	}
	return b.String()
}

func quoteName(n string) string {
	if !strings.ContainsAny(n, specials) {
		return n
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(n); i++ {
		if n[i] == '"' || n[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(n[i])
	}
	b.WriteByte('"')
	return b.String()
}

// decodeIDNA turns "xn--" labels of a domain into Unicode (RFC 3492); labels that do not
// decode are kept.
func decodeIDNA(host string) string {
	if !strings.Contains(strings.ToLower(host), "xn--") {
		return host
	}
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if len(l) > 4 && strings.EqualFold(l[:4], "xn--") {
			if u, ok := punyDecode(l[4:]); ok {
				labels[i] = u
			}
		}
	}
	return strings.Join(labels, ".")
}

// punyDecode implements the decoding procedure of RFC 3492 §6.2.
func punyDecode(s string) (string, bool) {
	const (
		base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
		initialBias, initialN        = 72, 128
	)
	if len(s) > 255 {
		return "", false
	}
	var out []rune
	rest := s
	if k := strings.LastIndexByte(s, '-'); k >= 0 {
		for _, c := range s[:k] {
			if c >= 0x80 {
				return "", false
			}
			out = append(out, c)
		}
		rest = s[k+1:]
	}
	n, bias, i := initialN, initialBias, 0
	adapt := func(delta, numPoints int, first bool) int {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / numPoints
		k := 0
		for delta > ((base-tmin)*tmax)/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	for p := 0; p < len(rest); {
		oldi, w := i, 1
		for k := base; ; k += base {
			if p >= len(rest) {
				return "", false
			}
			c := rest[p]
			p++
			var digit int
			switch {
			case '0' <= c && c <= '9':
				digit = int(c-'0') + 26
			case 'a' <= c && c <= 'z':
				digit = int(c - 'a')
			case 'A' <= c && c <= 'Z':
				digit = int(c - 'A')
			default:
				return "", false
			}
			i += digit * w
			if i < 0 || i > 1<<30 {
				return "", false
			}
			t := k - bias
			if t < tmin {
				t = tmin
			} else if t > tmax {
				t = tmax
			}
			if digit < t {
				break
			}
			w *= base - t
			if w > 1<<30 {
				return "", false
			}
		}
		bias = adapt(i-oldi, len(out)+1, oldi == 0)
		n += i / (len(out) + 1)
		i %= len(out) + 1
		if n > 0x10FFFF || len(out) > 255 {
			return "", false
		}
		out = append(out, 0)
		copy(out[i+1:], out[i:])
		out[i] = rune(n)
		i++
	}
	return string(out), true
}
