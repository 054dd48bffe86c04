package wire

import (
	"strconv"
)

// AppendQuoted appends s as a quoted string if it can be one (no CR, LF or NUL, and no
// 8-bit octets unless utf8 is true), else as a literal.
func AppendQuoted(b []byte, s string, utf8 bool) []byte {
	if !Quotable(s, utf8) {
		return AppendLiteral(b, s)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return append(b, '"')
}

// Quotable reports whether s can be sent as a quoted string.
func Quotable(s string, utf8 bool) bool {
	if len(s) > 1000 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8) {
			return false
		}
	}
	return true
}

// AppendLiteral appends s as a synchronising-form literal ({n} CRLF octets).
func AppendLiteral(b []byte, s string) []byte {
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// AppendNString appends s quoted, or NIL when ok is false.
func AppendNString(b []byte, s string, ok bool) []byte {
	if !ok {
		return append(b, "NIL"...)
	}
	return AppendQuoted(b, s, false)
}

// AppendAString appends s as an atom when it is one, else quoted or literal.
func AppendAString(b []byte, s string, utf8 bool) []byte {
	if s != "" && len(s) < 200 {
		atom := true
		for i := 0; i < len(s); i++ {
			if !isAStringChar(s[i]) {
				atom = false
				break
			}
		}
		if atom && !(len(s) == 3 && (s[0]|0x20) == 'n' && (s[1]|0x20) == 'i' && (s[2]|0x20) == 'l') {
			return append(b, s...)
		}
	}
	return AppendQuoted(b, s, utf8)
}

// AppendUint appends a decimal number.
func AppendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }
