package maildrop

// maildrop's patterns are PCRE patterns (maildropfilter(7), "Patterns"); they run on
// regexp2, which reads a few bracket forms differently. pcreToRegexp2 rewrites those forms
// before compiling, and refuses what PCRE refuses, so that a recipe matches what it matches
// with Courier's maildrop:
//   - POSIX classes inside brackets ("[[:alpha:]_]", "[[:^digit:]]"), which regexp2 would
//     skip, become the ASCII ranges PCRE gives them (PCRE without Unicode properties);
//   - an unknown class name ("[[:wbreak:]]") and the collating forms "[[.x.]]" and "[[=x=]]"
//     are errors, as is a POSIX class outside brackets ("[:wbreak:]", maildrop 1.x syntax
//     still shown in maildropex(7)), which regexp2 would read as a plain set;
//   - a ']' right after the opening '[' or "[^" is a literal, and so is '[' inside brackets.

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// posixClasses are PCRE's POSIX class names and the ASCII ranges they stand for.
var posixClasses = map[string][][2]rune{
	"alnum":  {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}},
	"alpha":  {{'A', 'Z'}, {'a', 'z'}},
	"ascii":  {{0, 0x7f}},
	"blank":  {{'\t', '\t'}, {' ', ' '}},
	"cntrl":  {{0, 0x1f}, {0x7f, 0x7f}},
	"digit":  {{'0', '9'}},
	"graph":  {{'!', '~'}},
	"lower":  {{'a', 'z'}},
	"print":  {{' ', '~'}},
	"punct":  {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}},
	"space":  {{'\t', '\r'}, {' ', ' '}},
	"upper":  {{'A', 'Z'}},
	"word":   {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}},
	"xdigit": {{'0', '9'}, {'A', 'F'}, {'a', 'f'}},
}

// errPOSIXOutside and friends are PCRE's complaints, reported with the pattern.
var (
	errPOSIXOutside  = errors.New("POSIX named classes are supported only within a class")
	errPOSIXName     = errors.New("unknown POSIX class name")
	errPOSIXCollate  = errors.New("POSIX collating elements are not supported")
	errMissingSquare = errors.New("missing terminating ] for character class")
)

// posixForm reports whether src[i] starts "[:name:]", "[.name.]" or "[=name=]" (no ']'
// before the closing pair) and returns the delimiter, the name and the index just past it.
func posixForm(src string, i int) (delim byte, name string, end int, ok bool) {
	if i+1 >= len(src) || src[i] != '[' || strings.IndexByte(":.=", src[i+1]) < 0 {
		return 0, "", 0, false
	}
	delim = src[i+1]
	rest := src[i+2:]
	j := strings.Index(rest, string(delim)+"]")
	if j < 0 || strings.IndexByte(rest[:j], ']') >= 0 {
		return 0, "", 0, false
	}
	return delim, rest[:j], i + 2 + j + 2, true
}

// classRanges writes the ranges of a POSIX class, or of its complement over all of Unicode.
func classRanges(b *strings.Builder, rs [][2]rune, negate bool) {
	if negate {
		// regexp2 folds case over all of Unicode: with the i option the long s (U+017F)
		// and the Kelvin sign (U+212A) in a complement would let it match 's' and 'k',
		// which PCRE's complement of the class does not match. Leave them out with the
		// letters they fold to.
		in := func(c rune) bool {
			for _, r := range rs {
				if c >= r[0] && c <= r[1] {
					return true
				}
			}
			return false
		}
		if in('s') {
			rs = append(rs[:len(rs):len(rs)], [2]rune{0x17f, 0x17f})
		}
		if in('k') {
			rs = append(rs[:len(rs):len(rs)], [2]rune{0x212a, 0x212a})
		}
		sort.Slice(rs, func(a, b int) bool { return rs[a][0] < rs[b][0] })
		var out [][2]rune
		next := rune(0)
		for _, r := range rs {
			if r[0] > next {
				out = append(out, [2]rune{next, r[0] - 1})
			}
			next = r[1] + 1
		}
		out = append(out, [2]rune{next, 0x10ffff})
		rs = out
	}
	for _, r := range rs {
		fmt.Fprintf(b, `\x{%X}`, r[0])
		if r[1] != r[0] {
			fmt.Fprintf(b, `-\x{%X}`, r[1])
		}
	}
}

// pcreToRegexp2 rewrites a PCRE pattern into the regexp2 pattern that matches the same text,
// or returns PCRE's error for a pattern PCRE refuses.
func pcreToRegexp2(src string) (string, error) {
	if !strings.Contains(src, "[") {
		return src, nil
	}
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			b.WriteString(src[i : i+2])
			i++
		case c == '[':
			if _, _, _, ok := posixForm(src, i); ok {
				return "", errPOSIXOutside
			}
			end, err := translateClass(&b, src, i)
			if err != nil {
				return "", err
			}
			i = end - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// translateClass copies the bracket expression that starts at src[start] for regexp2 and
// returns the index just past its closing ']'.
func translateClass(b *strings.Builder, src string, start int) (int, error) {
	return walkClass(b, src, start,
		func(i int) (int, error) {
			b.WriteString(src[i : i+2])
			return i + 2, nil
		},
		func(name string, negate bool, _ string) {
			classRanges(b, posixClasses[name], negate)
		})
}

// walkClass walks the PCRE bracket expression at src[start], writing it to b in another
// dialect: a ']' right after the opening "[" or "[^" and a '[' that starts no POSIX class are
// literals, written escaped; escape writes the escape at src[i] (a backslash) and returns
// the index after it; posix writes a known POSIX class (its name without '^', whether it was
// negated, and its source text). It returns the index just past the closing ']', or PCRE's
// error.
func walkClass(b *strings.Builder, src string, start int, escape func(i int) (int, error), posix func(name string, negate bool, text string)) (int, error) {
	b.WriteByte('[')
	i := start + 1
	if i < len(src) && src[i] == '^' {
		b.WriteByte('^')
		i++
	}
	if i < len(src) && src[i] == ']' {
		b.WriteString(`\]`)
		i++
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ']':
			b.WriteByte(']')
			return i + 1, nil
		case c == '\\' && i+1 < len(src):
			n, err := escape(i)
			if err != nil {
				return 0, err
			}
			i = n
		case c == '[':
			delim, name, end, ok := posixForm(src, i)
			if !ok {
				b.WriteString(`\[`)
				i++
				continue
			}
			if delim != ':' {
				return 0, errPOSIXCollate
			}
			bare := strings.TrimPrefix(name, "^")
			if _, known := posixClasses[bare]; !known {
				return 0, errPOSIXName
			}
			posix(bare, bare != name, src[i:end])
			i = end
		default:
			b.WriteByte(c)
			i++
		}
	}
	return 0, errMissingSquare
}
