package bodystruct

import (
	"strings"

	"courier/internal/mail/mime"
)

// maxEnvHeader is Courier's MAX_HEADER_SIZE: one header line (folding joined) and the joined
// value of a repeated header are cut there.
const maxEnvHeader = 8192

// envelopeFields are the header fields ENVELOPE reports, in order.
var envelopeFields = [...]string{"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id"}

// Envelope returns the ENVELOPE list of RFC 3501 §7.4.2 for a message header, as Courier-IMAP
// prints it for a client that has not enabled UTF-8 (see AppendEnvelope).
func Envelope(h mime.Header) []byte { return AppendEnvelope(nil, h, false) }

// AppendEnvelope appends the ENVELOPE list to dst. Courier's choices, all reproduced:
//   - header values are sent raw (encoded words stay encoded), white space trimmed at both
//     ends, NIL when empty; a folded header is joined by removing its line breaks, CR becomes a
//     space, and a value is cut at 8191 bytes or at a NUL;
//   - a repeated header (two To: lines) is joined with ',';
//   - Sender and Reply-To default to From (to NIL when there is no From);
//   - every address list element without an address (group start, group end, a lone comment)
//     is (NIL NIL "" NIL); an address without '@' has domain ""; the source route is never
//     split out: "@a:b@c" is mailbox "@a:b", host "c";
//   - strings are always quoted; 8-bit text is sent as RFC 2047 words unless utf8 is set
//     (the client enabled UTF8=ACCEPT), when it is sent raw.
func AppendEnvelope(dst []byte, h mime.Header, utf8 bool) []byte {
	var vals [len(envelopeFields)]string
	var set [len(envelopeFields)]bool
	for _, f := range h.Fields {
		line := envLine(f.Raw)
		name, value := line, ""
		if i := strings.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
		}
		name = lowerASCII(name)
		for k, want := range envelopeFields {
			if name != want {
				continue
			}
			if !set[k] {
				set[k] = true
				vals[k] = value
				if len(vals[k]) > maxEnvHeader {
					vals[k] = vals[k][:maxEnvHeader]
				}
				break
			}
			old := vals[k]
			joined := old
			if len(old) > 0 && len(old) < maxEnvHeader {
				joined += ","
			}
			joined += value
			if len(joined) > maxEnvHeader {
				joined = joined[:maxEnvHeader]
			}
			vals[k] = joined
			break
		}
	}
	const from, sender, replyTo = 2, 3, 4
	for _, k := range []int{replyTo, sender} {
		if !set[k] {
			set[k] = true
			vals[k] = vals[from]
		}
	}
	dst = append(dst, '(')
	for k := range envelopeFields {
		if k > 0 {
			dst = append(dst, ' ')
		}
		switch k {
		case 0, 1, 8, 9:
			if !set[k] {
				dst = append(dst, "NIL"...)
				continue
			}
			dst = appendTrimmed(dst, vals[k], utf8)
		default:
			if !set[k] {
				dst = append(dst, "NIL"...)
				continue
			}
			dst = appendAddressList(dst, vals[k], utf8)
		}
	}
	return append(dst, ')')
}

// lowerASCII lower-cases ASCII letters only, as C's tolower in the C locale.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// envLine turns a stored field into the line Courier's read_header returns: line breaks
// removed, CR as a space, cut at 8191 bytes and at the first NUL.
func envLine(raw []byte) string {
	b := make([]byte, 0, min(len(raw), maxEnvHeader-1))
	for _, c := range raw {
		if c == '\n' {
			continue
		}
		if c == '\r' {
			c = ' '
		}
		if len(b) >= maxEnvHeader-1 {
			break
		}
		b = append(b, c)
	}
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return string(b)
}

// appendTrimmed is Courier's doenvs: trim white space, NIL when nothing is left.
func appendTrimmed(dst []byte, s string, utf8 bool) []byte {
	i, j := 0, len(s)
	for i < j && mime.IsSpace(s[i]) {
		i++
	}
	for j > i && mime.IsSpace(s[j-1]) {
		j--
	}
	if i == j {
		return append(dst, "NIL"...)
	}
	return appendQuoted(dst, s[i:j], utf8)
}

// appendAddressList is Courier's doenva.
func appendAddressList(dst []byte, s string, utf8 bool) []byte {
	addrs := mime.ParseAddresses(s)
	if len(addrs) == 0 {
		return append(dst, "NIL"...)
	}
	dst = append(dst, '(')
	var buf []byte
	for _, a := range addrs {
		if a.Tokens == nil {
			dst = append(dst, `(NIL NIL "" NIL)`...)
			continue
		}
		dst = append(dst, '(')
		name := ""
		if a.Name != nil {
			name = displayName(a.Name)
		}
		dst = appendTrimmed(dst, name, utf8)
		dst = append(dst, " NIL "...)
		buf = mime.PrintTokens(buf[:0], a.Tokens)
		addr := string(buf)
		mbox, host := addr, ""
		if at := strings.LastIndexByte(addr, '@'); at >= 0 {
			mbox, host = addr[:at], addr[at+1:]
		}
		dst = appendQuoted(dst, mbox, utf8)
		dst = append(dst, ' ')
		dst = appendQuoted(dst, host, utf8)
		dst = append(dst, ')')
	}
	return append(dst, ')')
}

// displayName is Courier's rfc822_display_name without a character set: quoted strings and
// comments lose their quotes, parentheses and backslashes, atoms are kept as they are (encoded
// words stay encoded), a space goes between two atom-like tokens.
func displayName(toks []mime.Token) string {
	var b []byte
	prev := false
	for _, t := range toks {
		isAtom := t.IsAtomLike()
		if isAtom && prev {
			b = append(b, ' ')
		}
		prev = isAtom
		switch t.Kind {
		case mime.TokQuoted, mime.TokComment:
			s := t.Text
			if t.Kind == mime.TokComment {
				if len(s) > 2 {
					s = s[1 : len(s)-1]
				} else {
					s = ""
				}
			}
			if i := strings.IndexByte(s, 0); i >= 0 {
				s = s[:i]
			}
			for i := 0; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b = append(b, s[i])
			}
		case mime.TokAtom:
			b = append(b, t.Text...)
		default:
			b = append(b, byte(t.Kind))
		}
	}
	return string(b)
}
