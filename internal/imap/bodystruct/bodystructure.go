// Package bodystruct renders what IMAP FETCH prints about a message's MIME structure (BODY,
// BODYSTRUCTURE, ENVELOPE) and extracts body sections (BODY[section]<partial>, RFC822,
// RFC822.HEADER, RFC822.TEXT), byte for byte as Courier-IMAP does.
//
// It works on the part tree of internal/mail/mime, whose sizes already follow Courier. Where
// Courier breaks an RFC the code says so and follows the RFC instead; everything else, odd or
// not, is Courier's behaviour, checked against Debian's courier-imap 5.0.13.
package bodystruct

import (
	"strconv"
	"strings"

	"courier/internal/mail/mime"
)

// BodyStructure returns the BODY (extended=false) or BODYSTRUCTURE (extended=true) list of
// RFC 3501 §7.4.2 for p, as Courier-IMAP prints it to a client that has not enabled UTF-8.
func BodyStructure(p *mime.Part, extended bool) []byte {
	return AppendBodyStructure(nil, p, extended, false)
}

// AppendBodyStructure appends the BODY or BODYSTRUCTURE list of p to dst. utf8 tells whether
// the client enabled UTF8=ACCEPT (8-bit text is then sent raw instead of as RFC 2047 words).
//
// Courier's choices, all reproduced:
//   - a part without Content-Transfer-Encoding reports "8bit" (RFC 3501 suggests 7BIT);
//   - a part without MIME-Version (or inside a message/rfc822 without one) is "text" "plain"
//     with no parameters, and no charset is added;
//   - a multipart whose boundary never appears is shown as a single part "multipart" "mixed";
//   - a multipart's extension data is its parameters, disposition and Content-Language as a
//     string (no location); a single part's is MD5, disposition and NIL for the language;
//   - Content-ID is sent in angle brackets; a disposition with parameters but no value is
//     ("" (...)); only "text" parts have a line count; type and subtype keep Courier's split,
//     so "Content-Type: text" is "text" "".
func AppendBodyStructure(dst []byte, p *mime.Part, extended, utf8 bool) []byte {
	dst = append(dst, '(')
	if p.IsMultipart() {
		for _, c := range p.Parts {
			dst = AppendBodyStructure(dst, c, extended, utf8)
		}
		dst = append(dst, ' ')
		sub := ""
		if i := strings.IndexByte(p.ContentType, '/'); i >= 0 {
			sub = p.ContentType[i+1:]
		}
		dst = appendQuoted(dst, sub, utf8)
		if extended {
			dst = append(dst, ' ')
			dst = appendParams(dst, p.Params, utf8)
			dst = append(dst, ' ')
			dst = appendDisposition(dst, p, utf8)
			dst = append(dst, ' ')
			dst = appendNilOr(dst, p.Language, utf8)
		}
		return append(dst, ')')
	}
	dst = appendQuoted(dst, p.Type, utf8)
	dst = append(dst, ' ')
	dst = appendQuoted(dst, p.Subtype, utf8)
	dst = append(dst, ' ')
	dst = appendParams(dst, p.Params, utf8)
	dst = append(dst, ' ')
	if p.ID == "" {
		dst = append(dst, "NIL"...)
	} else {
		dst = appendQuoted(dst, "<"+p.ID+">", utf8)
	}
	dst = append(dst, ' ')
	dst = appendNilOr(dst, p.Description, utf8)
	dst = append(dst, ' ')
	dst = appendQuoted(dst, p.EncodingOrDefault(), utf8)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, p.BodySize, 10)
	if ct := p.ContentType; len(ct) >= 4 && strings.EqualFold(ct[:4], "text") && (len(ct) == 4 || ct[4] == '/') {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, p.BodyLines, 10)
	}
	if p.Message != nil {
		dst = append(dst, ' ')
		dst = AppendEnvelope(dst, p.Message.Header, utf8)
		dst = append(dst, ' ')
		dst = AppendBodyStructure(dst, p.Message, extended, utf8)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, p.BodyLines, 10)
	}
	if extended {
		dst = append(dst, ' ')
		dst = appendNilOr(dst, p.MD5, utf8)
		dst = append(dst, ' ')
		dst = appendDisposition(dst, p, utf8)
		dst = append(dst, " NIL"...)
	}
	return append(dst, ')')
}

func appendParams(dst []byte, ps []mime.Param, utf8 bool) []byte {
	if len(ps) == 0 {
		return append(dst, "NIL"...)
	}
	dst = append(dst, '(')
	for i, a := range ps {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendQuoted(dst, a.Name, utf8)
		dst = append(dst, ' ')
		// Courier is built with IMAP_CLIENT_BUGS: backslashes are taken out of parameter
		// values (a workaround for Netscape): name="a\\b" is sent as "ab".
		dst = appendQuoted(dst, strings.ReplaceAll(a.Value, `\`, ""), utf8)
	}
	return append(dst, ')')
}

func appendDisposition(dst []byte, p *mime.Part, utf8 bool) []byte {
	if p.Disposition == "" && len(p.DispositionParams) == 0 {
		return append(dst, "NIL"...)
	}
	dst = append(dst, '(')
	dst = appendQuoted(dst, p.Disposition, utf8)
	dst = append(dst, ' ')
	dst = appendParams(dst, p.DispositionParams, utf8)
	return append(dst, ')')
}
