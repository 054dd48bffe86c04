package foldername

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// b64 is the modified BASE64 alphabet of RFC 3501 §5.1.3: RFC 2045's with ',' in place of '/'.
const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// Base64Value maps a byte of modified UTF-7's BASE64 alphabet to its 6-bit value, or -1 when
// the byte is not in the alphabet.
func Base64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == ',':
		return 63
	}
	return -1
}

// printable reports whether r stands for itself in modified UTF-7 (RFC 3501 §5.1.3: 0x20–0x7e).
func printable(r rune) bool { return r >= 0x20 && r <= 0x7e }

// EncodeMUTF7 encodes a UTF-8 string in IMAP's modified UTF-7 (RFC 3501 §5.1.3). Printable
// US-ASCII stands for itself, "&" becomes "&-", everything else is UTF-16 in modified BASE64
// between "&" and "-". The result is canonical: DecodeMUTF7 accepts it and returns s. Bytes
// that are not valid UTF-8 are encoded as U+FFFD.
func EncodeMUTF7(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	var units []uint16
	flush := func() {
		if len(units) == 0 {
			return
		}
		b.WriteByte('&')
		var acc uint32
		bits := 0
		for _, u := range units {
			acc = acc<<16 | uint32(u)
			bits += 16
			for bits >= 6 {
				bits -= 6
				b.WriteByte(b64[(acc>>uint(bits))&0x3f])
			}
		}
		if bits > 0 {
			b.WriteByte(b64[(acc<<uint(6-bits))&0x3f])
		}
		b.WriteByte('-')
		units = units[:0]
	}
	for _, r := range s {
		if printable(r) {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		units = utf16.AppendRune(units, r)
	}
	flush()
	return b.String()
}

// DecodeMUTF7 decodes IMAP's modified UTF-7 into UTF-8. It is strict and accepts only the
// canonical form EncodeMUTF7 produces: raw bytes outside printable US-ASCII, an unterminated
// or empty shift sequence, characters outside the modified BASE64 alphabet, non-zero padding
// bits, a dangling half UTF-16 unit, unpaired surrogates, printable US-ASCII encoded in BASE64
// and two adjacent shift sequences are all errors.
func DecodeMUTF7(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	prevShift := false // the previous item was a BASE64 shift sequence
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("modified UTF-7: byte 0x%02x at offset %d is not printable ASCII", c, i)
		}
		if c != '&' {
			b.WriteByte(c)
			prevShift = false
			i++
			continue
		}
		start := i
		i++
		end := strings.IndexByte(s[i:], '-')
		if end < 0 {
			return "", fmt.Errorf("modified UTF-7: unterminated shift sequence at offset %d", start)
		}
		seq := s[i : i+end]
		i += end + 1
		if seq == "" { // "&-" is "&"
			b.WriteByte('&')
			prevShift = false
			continue
		}
		if prevShift {
			return "", fmt.Errorf("modified UTF-7: adjacent shift sequences at offset %d", start)
		}
		if err := decodeShift(&b, seq); err != nil {
			return "", fmt.Errorf("modified UTF-7: shift sequence at offset %d: %w", start, err)
		}
		prevShift = true
	}
	return b.String(), nil
}

// Base64Units decodes the modified BASE64 text of a shift sequence (without "&" and "-")
// into UTF-16 units; bits and acc are what is left over (fewer than 16 bits, which RFC 3501
// wants fewer than 6 and zero). bad is the index of the first byte outside the alphabet, or
// -1.
func Base64Units(seq string) (units []uint16, bits int, acc uint32, bad int) {
	units = make([]uint16, 0, len(seq)*6/16)
	for j := 0; j < len(seq); j++ {
		v := Base64Value(seq[j])
		if v < 0 {
			return units, bits, acc, j
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 16 {
			bits -= 16
			units = append(units, uint16(acc>>uint(bits)))
			acc &= 1<<uint(bits) - 1
		}
	}
	return units, bits, acc, -1
}

// decodeShift decodes the BASE64 text of one shift sequence (without "&" and "-") into b.
func decodeShift(b *strings.Builder, seq string) error {
	units, bits, acc, bad := Base64Units(seq)
	if bad >= 0 {
		return fmt.Errorf("byte %q is not modified BASE64", seq[bad])
	}
	if bits >= 6 {
		return fmt.Errorf("dangling partial UTF-16 unit")
	}
	if acc != 0 {
		return fmt.Errorf("non-zero padding bits")
	}
	if len(units) == 0 {
		return fmt.Errorf("empty shift sequence")
	}
	for k := 0; k < len(units); k++ {
		u := units[k]
		var r rune
		switch {
		case utf16.IsSurrogate(rune(u)):
			if u >= 0xdc00 || k+1 >= len(units) {
				return fmt.Errorf("unpaired UTF-16 surrogate 0x%04x", u)
			}
			r = utf16.DecodeRune(rune(u), rune(units[k+1]))
			if r == utf8.RuneError {
				return fmt.Errorf("unpaired UTF-16 surrogate 0x%04x", u)
			}
			k++
		default:
			r = rune(u)
		}
		if printable(r) {
			return fmt.Errorf("printable ASCII %q must not be encoded", r)
		}
		b.WriteRune(r)
	}
	return nil
}

// ValidMUTF7 reports whether s is canonical modified UTF-7.
func ValidMUTF7(s string) bool {
	_, err := DecodeMUTF7(s)
	return err == nil
}
