package search

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// needle is a search string prepared for matching: folded and with white space collapsed
// like the text it is looked for in (see fold), and trimmed.
type needle struct {
	b []byte
}

func newNeedle(s string) *needle {
	b := fold(nil, []byte(s), false)
	return &needle{b: bytes.Trim(b, " ")}
}

// empty reports whether the needle matches any text (Courier: an empty or all-blank string
// matches every message that has the field).
func (n *needle) empty() bool { return len(n.b) == 0 }

func (n *needle) in(folded []byte) bool { return bytes.Contains(folded, n.b) }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// fold appends src to dst case-folded (simple Unicode lower-case mapping, rune by rune) with
// each run of white space replaced by one space. prevSpace says whether dst already ends in a
// collapsed space. Invalid UTF-8 bytes are copied unchanged.
func fold(dst, src []byte, prevSpace bool) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			i++
			if isSpace(c) {
				if !prevSpace {
					dst = append(dst, ' ')
					prevSpace = true
				}
				continue
			}
			prevSpace = false
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			continue
		}
		prevSpace = false
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += size
	}
	return dst
}
