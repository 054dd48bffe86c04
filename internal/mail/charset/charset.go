// Package charset finds the decoder for a MIME charset name as mail carries it: the IANA
// names and aliases (RFC 2046, the IANA character-set registry) and the labels mail programs
// write that the registry lacks (WHATWG's "gb2312" for GBK, "x-sjis", "ks_c_5601-1987",
// "cp1252", "iso8859-1" and so on).
//
// It replaces go-message's charset package on purpose: that one pulls in net, crypto and
// x/text's language tables, and x/text's ianaindex builds a map of every name at program
// start; together about half a millisecond, much of what the per-message maildrop and
// deliverquota programs spend before reading their message. The encodings themselves are
// x/text's; the registry's names come from ianaindex through gen.go (names.go) and are put in
// a map on first use.
//
// US-ASCII and its aliases decode as Windows-1252, as WHATWG's encoding standard does: mail
// labelled ASCII that carries 8-bit bytes is nearly always Latin text.
package charset

//go:generate go run gen.go

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// ErrUnknown is wrapped by Lookup and Reader for a charset no decoder exists for.
var ErrUnknown = errors.New("unknown charset")

// names are the IANA registry's names and aliases, built on first use.
var names = sync.OnceValue(func() map[string]encoding.Encoding { return ianaNames(charmap.Windows1252) })

// labels are the names mail carries that the IANA registry does not know, or knows as an
// encoding x/text does not decode; mostly WHATWG's labels (what browsers and the mail
// programs built on them write).
var labels = map[string]encoding.Encoding{
	// GB2312 mail is in practice GBK; x/text has no GB2312 of its own.
	"gb2312": simplifiedchinese.GBK, "csgb2312": simplifiedchinese.GBK, "gb_2312": simplifiedchinese.GBK,
	"gb_2312-80": simplifiedchinese.GBK, "x-gbk": simplifiedchinese.GBK, "cp936": simplifiedchinese.GBK,
	"ms936": simplifiedchinese.GBK, "euc-cn": simplifiedchinese.GBK, "chinese": simplifiedchinese.GBK,
	"iso-ir-58": simplifiedchinese.GBK, "csiso58gb231280": simplifiedchinese.GBK,
	"big5-hkscs": traditionalchinese.Big5, "x-x-big5": traditionalchinese.Big5, "cn-big5": traditionalchinese.Big5,
	"sjis": japanese.ShiftJIS, "x-sjis": japanese.ShiftJIS, "windows-31j": japanese.ShiftJIS,
	"ms932": japanese.ShiftJIS, "cp932": japanese.ShiftJIS, "ms_kanji": japanese.ShiftJIS,
	"x-euc-jp": japanese.EUCJP, "cseucpkdfmtjapanese": japanese.EUCJP,
	"ks_c_5601-1987": korean.EUCKR, "ks_c_5601-1989": korean.EUCKR, "ksc5601": korean.EUCKR,
	"ksc_5601": korean.EUCKR, "korean": korean.EUCKR, "iso-ir-149": korean.EUCKR,
	"windows-949": korean.EUCKR, "csksc56011987": korean.EUCKR, "cp949": korean.EUCKR,
	"x-user-defined": charmap.XUserDefined,
	"x-mac-roman":    charmap.Macintosh, "mac": charmap.Macintosh,
	"x-mac-cyrillic": charmap.MacintoshCyrillic, "x-mac-ukrainian": charmap.MacintoshCyrillic,
	"tis-620": charmap.Windows874, "iso-8859-11": charmap.Windows874, "dos-874": charmap.Windows874,
	"windows-874":      charmap.Windows874,
	"ansi_x3.110-1983": charmap.ISO8859_1,
	"utf8":             unicode.UTF8, "x-utf_8j": unicode.UTF8,
	"dos-866": charmap.CodePage866,
}

// normalize lower-cases a label and spells the ISO 8859 and Windows code-page families one
// way: "ISO8859-1", "iso_8859-1", "8859-1" → "iso-8859-1"; "cp1252", "x-cp1252",
// "win-1252" → "windows-1252".
func normalize(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.Trim(n, "\"'")
	for _, p := range []string{"iso-8859-", "iso_8859-", "iso8859-", "iso8859_", "iso8859", "8859-", "8859_"} {
		if rest, ok := strings.CutPrefix(n, p); ok && digits(rest) {
			return "iso-8859-" + rest
		}
	}
	for _, p := range []string{"windows-", "x-cp", "cp", "win-", "win"} {
		if rest, ok := strings.CutPrefix(n, p); ok && len(rest) == 4 && strings.HasPrefix(rest, "125") && digits(rest) {
			return "windows-" + rest
		}
	}
	return n
}

func digits(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Lookup returns the encoding for a charset name; the error wraps ErrUnknown.
func Lookup(name string) (encoding.Encoding, error) {
	n := normalize(name)
	if e, ok := labels[n]; ok {
		return e, nil
	}
	if n != "" {
		for _, c := range []string{n, "cs" + n} {
			if e, ok := names()[c]; ok {
				return e, nil
			}
		}
	}
	return nil, fmt.Errorf("charset %q: %w", name, ErrUnknown)
}

// Reader returns a reader that converts input in the named charset to UTF-8. Its signature
// is mime.WordDecoder's CharsetReader.
func Reader(name string, input io.Reader) (io.Reader, error) {
	e, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return e.NewDecoder().Reader(input), nil
}
