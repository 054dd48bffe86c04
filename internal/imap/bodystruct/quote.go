package bodystruct

import (
	"encoding/base64"
	"strconv"
	"unicode"
)

// appendNString appends s as an IMAP string the way Courier's msgappends writes it: in double
// quotes with '"' and '\' escaped, and, unless the client enabled UTF-8, any string with 8-bit
// bytes first turned into RFC 2047 encoded words (charset utf-8, invalid UTF-8 dropped).
//
// Courier would also put a CR into a quoted string; RFC 3501 §4.3 forbids that, so a string
// holding CR or LF is sent as a literal instead.
func appendQuoted(dst []byte, s string, utf8 bool) []byte {
	if !utf8 && has8bit(s) {
		s = encodeWords(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' || s[i] == 0 {
			dst = append(dst, '{')
			dst = strconv.AppendInt(dst, int64(len(s)), 10)
			dst = append(dst, "}\r\n"...)
			return append(dst, s...)
		}
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// appendNilOr appends NIL for an empty string, else the quoted string (Courier's contentstr).
func appendNilOr(dst []byte, s string, utf8 bool) []byte {
	if s == "" {
		return append(dst, "NIL"...)
	}
	return appendQuoted(dst, s, utf8)
}

func has8bit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// decodeUTF8 decodes s as glibc's iconv does for Courier: invalid sequences are dropped (a bad
// lead byte alone, an incomplete sequence with the continuation bytes read so far, an overlong
// form or a surrogate whole), and sequences of up to six bytes (values up to 0x7FFFFFFF) are
// accepted.
func decodeUTF8(s string) []rune {
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			out = append(out, rune(c))
			i++
			continue
		}
		var cnt int
		var v uint32
		switch {
		case c >= 0xc2 && c < 0xe0:
			cnt, v = 2, uint32(c&0x1f)
		case c&0xf0 == 0xe0:
			cnt, v = 3, uint32(c&0x0f)
		case c&0xf8 == 0xf0:
			cnt, v = 4, uint32(c&0x07)
		case c&0xfc == 0xf8:
			cnt, v = 5, uint32(c&0x03)
		case c&0xfe == 0xfc:
			cnt, v = 6, uint32(c&0x01)
		default:
			i++
			continue
		}
		j := 1
		for ; j < cnt && i+j < len(s); j++ {
			b := s[i+j]
			if b&0xc0 != 0x80 {
				break
			}
			v = v<<6 | uint32(b&0x3f)
		}
		if j < cnt || (cnt > 2 && v>>(5*uint(cnt)-4) == 0) || (v >= 0xd800 && v <= 0xdfff) {
			i += j
			continue
		}
		out = append(out, rune(v))
		i += cnt
	}
	return out
}

// appendUTF8 encodes code points as UTF-8, up to six bytes (glibc's internal to UTF-8).
func appendUTF8(dst []byte, rs []rune) []byte {
	for _, r := range rs {
		v := uint32(r)
		switch {
		case v < 0x80:
			dst = append(dst, byte(v))
		case v < 0x800:
			dst = append(dst, byte(0xc0|v>>6), byte(0x80|v&0x3f))
		case v < 0x10000:
			dst = append(dst, byte(0xe0|v>>12), byte(0x80|(v>>6)&0x3f), byte(0x80|v&0x3f))
		case v < 0x200000:
			dst = append(dst, byte(0xf0|v>>18), byte(0x80|(v>>12)&0x3f), byte(0x80|(v>>6)&0x3f), byte(0x80|v&0x3f))
		case v < 0x4000000:
			dst = append(dst, byte(0xf8|v>>24), byte(0x80|(v>>18)&0x3f), byte(0x80|(v>>12)&0x3f), byte(0x80|(v>>6)&0x3f), byte(0x80|v&0x3f))
		default:
			dst = append(dst, byte(0xfc|v>>30), byte(0x80|(v>>24)&0x3f), byte(0x80|(v>>18)&0x3f), byte(0x80|(v>>12)&0x3f), byte(0x80|(v>>6)&0x3f), byte(0x80|v&0x3f))
		}
	}
	return dst
}

func isEncSpace(r rune) bool { return r == '\t' || r == '\r' || r == '\n' || r == ' ' }

// needsEncoding is Courier's DOENCODEWORD with every character allowed.
func needsEncoding(r rune) bool {
	return r < 0x20 || r > 0x7f || r == '"' || r == '_' || r == '=' || r == '?'
}

// encodeWords is Courier's rfc2047_encode_str(s, "utf-8", rfc2047_qp_allow_any): white space
// is kept, each run of words that need encoding (joined by the white space between them) is
// encoded as Q or B, whichever is shorter (B on a tie), in pieces of (76-27)/2 characters for
// the first run and 38 for the others, never splitting a grapheme cluster.
func encodeWords(s string) string {
	uc := decodeUTF8(s)
	var out []byte
	offset := 27
	for len(uc) > 0 {
		if isEncSpace(uc[0]) {
			out = append(out, byte(uc[0]))
			uc = uc[1:]
			continue
		}
		i, flag := encodeRun(uc)
		if !flag {
			out = appendUTF8(out, uc[:i])
		} else {
			q := encodeMethod(nil, uc[:i], offset, false)
			b := encodeMethod(nil, uc[:i], offset, true)
			if len(q) < len(b) {
				out = append(out, q...)
			} else {
				out = append(out, b...)
			}
		}
		offset = 0
		uc = uc[i:]
	}
	return string(out)
}

// encodeRun returns the end of the next word, or of the run of words that all need encoding
// when the first one does, and whether they need it.
func encodeRun(uc []rune) (int, bool) {
	word := func(i int) (int, bool) {
		enc := false
		for ; i < len(uc) && !isEncSpace(uc[i]); i++ {
			if needsEncoding(uc[i]) {
				enc = true
			}
		}
		return i, enc
	}
	i, flag := word(0)
	if !flag {
		return i, false
	}
	j := i
	for j < len(uc) {
		if isEncSpace(uc[j]) {
			j++
			continue
		}
		k, enc := word(j)
		if !enc {
			break
		}
		i, j = k, k
	}
	return i, true
}

func encodeMethod(dst []byte, uc []rune, offset int, b64 bool) []byte {
	first := true
	var buf []byte
	for len(uc) > 0 {
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		j := (76 - offset) / 2
		if j >= len(uc) {
			j = len(uc)
		} else {
			for i := j; i > 0; i-- {
				if graphemeBreak(uc[i-1], uc[i]) {
					j = i
					break
				}
			}
		}
		buf = appendUTF8(buf[:0], uc[:j])
		if b64 {
			dst = append(dst, "=?utf-8?B?"...)
			dst = base64.StdEncoding.AppendEncode(dst, buf)
		} else {
			dst = append(dst, "=?utf-8?Q?"...)
			for _, c := range buf {
				switch {
				case c == ' ':
					dst = append(dst, '_')
				case c < 0x20 || c >= 0x80 || c == '"' || c == '_' || c == '=' || c == '?':
					dst = append(dst, '=', hexUpper[c>>4], hexUpper[c&15])
				default:
					dst = append(dst, c)
				}
			}
		}
		dst = append(dst, "?="...)
		offset = 0
		uc = uc[j:]
	}
	return dst
}

const hexUpper = "0123456789ABCDEF"

// graphemeBreak approximates courier-unicode's pairwise unicode_grapheme_break (UAX #29):
// it only decides where a long encoded word is cut.
func graphemeBreak(a, b rune) bool {
	switch {
	case a == '\r' && b == '\n':
		return false
	case isControl(a) || isControl(b):
		return true
	case b == 0x200d || isExtend(b) || unicode.Is(unicode.Mc, b):
		return false
	case a == 0x200d && isPictographic(b):
		return false
	case isRegional(a) && isRegional(b):
		return false
	}
	la, lb := hangul(a), hangul(b)
	switch {
	case la == 'L' && (lb == 'L' || lb == 'V' || lb == 'l' || lb == 'x'):
		return false
	case (la == 'l' || la == 'V') && (lb == 'V' || lb == 'T'):
		return false
	case (la == 'x' || la == 'T') && lb == 'T':
		return false
	}
	return true
}

func isControl(r rune) bool {
	if r == 0x200c || r == 0x200d || r > unicode.MaxRune {
		return false
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
		(unicode.Is(unicode.Cf, r) && r != 0x200c && r != 0x200d)
}

func isExtend(r rune) bool {
	if r > unicode.MaxRune {
		return false
	}
	return r == 0x200c || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) ||
		(r >= 0x1f3fb && r <= 0x1f3ff) || (r >= 0xe0020 && r <= 0xe007f)
}

func isPictographic(r rune) bool {
	return (r >= 0x1f000 && r <= 0x1faff) || (r >= 0x2600 && r <= 0x27bf)
}

func isRegional(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// hangul classifies Hangul jamo and syllables: 'L', 'V', 'T', 'l' (LV) or 'x' (LVT).
func hangul(r rune) byte {
	switch {
	case (r >= 0x1100 && r <= 0x115f) || (r >= 0xa960 && r <= 0xa97c):
		return 'L'
	case (r >= 0x1160 && r <= 0x11a7) || (r >= 0xd7b0 && r <= 0xd7c6):
		return 'V'
	case (r >= 0x11a8 && r <= 0x11ff) || (r >= 0xd7cb && r <= 0xd7fb):
		return 'T'
	case r >= 0xac00 && r <= 0xd7a3:
		if (r-0xac00)%28 == 0 {
			return 'l'
		}
		return 'x'
	}
	return 0
}
