package maildrop

// Patterns run on one of two engines. Go's regexp (RE2: linear time, nothing to time out)
// takes every pattern it reads the way PCRE does: pcreToGo translates the syntax both share
// and refuses everything else (back-references, look-around, possessive quantifiers, \Q, \p,
// inline options, …). The rest runs on a backtracking PCRE-like engine, regexp2, with a time
// limit per match. Both give leftmost-first matches and the same groups for the patterns
// pcreToGo accepts; FuzzEnginesAgree checks that.
//
// The engine for the second kind comes from a build-tagged file: in the full courier binary
// regexp2 is linked in (pattern_pcre.go); the lean courier-mda binary (-tags lean) does not
// link it — regexp2 builds large Unicode tables when a program starts, a tenth of a
// per-message maildrop run — and hands such patterns to `courier maildrop-pcre`
// (pattern_remote.go), started the first time one is needed.

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// matcher is a compiled pattern.
type matcher interface {
	// first returns the whole match and the groups of the first match in s, or nil.
	first(s string) ([]string, error)
	// all returns up to max successive non-overlapping matches in s.
	all(s string, max int) ([][]string, error)
}

// errBadPattern is wrapped by compileMatcher for a pattern PCRE would refuse; the message
// says why.
var errBadPattern = errors.New("invalid pattern")

// errMatchTimeout is wrapped by a matcher whose match ran out of time.
var errMatchTimeout = errors.New("pattern match timed out")

// compileMatcher compiles a maildrop pattern (PCRE syntax): on Go's regexp when pcreToGo
// takes it, else on the PCRE engine of this build.
func compileMatcher(src string, icase bool, timeout time.Duration) (matcher, error) {
	if g, ok := pcreToGo(src); ok {
		if icase {
			g = "(?i)" + g
		}
		if re, err := regexp.Compile(g); err == nil && goAgrees(re) {
			return goMatcher{re}, nil
		}
	}
	return compilePCRE(src, icase, timeout)
}

type goMatcher struct{ re *regexp.Regexp }

func (g goMatcher) first(s string) ([]string, error) { return g.re.FindStringSubmatch(s), nil }

func (g goMatcher) all(s string, max int) ([][]string, error) {
	return g.re.FindAllStringSubmatch(s, max), nil
}

// goAgrees reports whether Go's regexp gives the matches and groups a backtracking engine
// gives for a pattern whose syntax both read alike. Two kinds stay on the PCRE engine:
// patterns that can match the empty string (after an empty match Go's FindAll skips a match
// that touches the previous one, which a PCRE loop, foreach over a text, would report), and
// repetitions of something that can match empty with a group inside ("((0)*)*0"), whose
// groups RE2 fills differently from Perl and PCRE.
func goAgrees(re *regexp.Regexp) bool {
	p, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return false
	}
	return minLen(p) > 0 && !emptyLoopCapture(p)
}

// emptyLoopCapture reports whether a repetition in re of something that can match empty
// holds a group.
func emptyLoopCapture(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if minLen(re.Sub[0]) == 0 && hasCapture(re.Sub[0]) {
			return true
		}
	}
	for _, s := range re.Sub {
		if emptyLoopCapture(s) {
			return true
		}
	}
	return false
}

func hasCapture(re *syntax.Regexp) bool {
	if re.Op == syntax.OpCapture {
		return true
	}
	for _, s := range re.Sub {
		if hasCapture(s) {
			return true
		}
	}
	return false
}

// minLen is the length of the shortest text a parsed pattern matches.
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minLen(s); n < 0 || m < n {
				n = m
			}
		}
		if n < 0 {
			return 0
		}
		return n
	}
	// Star, quest, empty match, anchors, word boundaries, no match.
	return 0
}

// pcreToGo translates a PCRE pattern into Go's syntax when the two engines read it the same
// way; ok is false for anything else (see the file comment). Differences it bridges: \s
// includes the vertical tab in PCRE (\S likewise), \e is escape, \b inside brackets is a
// backspace, and a backslash before any other non-alphanumeric character is that character.
func pcreToGo(src string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case '\\':
			n, ok := goEscape(&b, src, i, false)
			if !ok {
				return "", false
			}
			i = n
		case '[':
			if _, _, _, ok := posixForm(src, i); ok {
				return "", false // a POSIX class outside brackets: PCRE's error
			}
			n, ok := goClass(&b, src, i)
			if !ok {
				return "", false
			}
			i = n
		case '(':
			if strings.HasPrefix(src[i:], "(?:") {
				b.WriteString("(?:")
				i += 3
				continue
			}
			if strings.HasPrefix(src[i:], "(?") || strings.HasPrefix(src[i:], "(*") {
				return "", false
			}
			b.WriteByte('(')
			i++
		case '*', '+', '?':
			b.WriteByte(c)
			i++
			if i < len(src) && src[i] == '+' {
				return "", false // possessive
			}
		case '{':
			// A quantifier as PCRE reads one, with its numbers as Go wants them (no
			// leading zeros, at most 1000); any other '{' is a literal.
			if strings.HasPrefix(src[i:], "{,") {
				// A quantifier in newer PCRE2, a literal in Debian 12's: left to the
				// PCRE engine.
				return "", false
			}
			q, n, ok := pcreQuantifier(src[i:])
			if !ok {
				b.WriteString(`\{`)
				i++
				continue
			}
			if q == "" {
				return "", false
			}
			b.WriteString(q)
			i += n
			if i < len(src) && src[i] == '+' {
				return "", false // possessive
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), true
}

// pcreQuantifier reads "{n}", "{n,}" or "{n,m}" at the start of s and returns it in Go's
// spelling and its length; ok is false when s does not start with one (PCRE then reads the
// '{' as a literal). q is "" for counts Go
// cannot take (over 1000).
func pcreQuantifier(s string) (q string, n int, ok bool) {
	// num reads digits at s[i:]: their value (capped) and the index after them, or -1.
	num := func(i int) (int, int) {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return -1, j
		}
		if j-i > 5 {
			return 100000, j
		}
		v, _ := strconv.Atoi(s[i:j])
		return v, j
	}
	lo, i := num(1)
	if lo < 0 || i >= len(s) {
		return "", 0, false
	}
	hi := lo
	open := false
	if s[i] == ',' {
		hi, i = num(i + 1)
		open = hi < 0
	}
	if i >= len(s) || s[i] != '}' {
		return "", 0, false
	}
	switch {
	case lo > 1000 || hi > 1000:
		return "", i + 1, true
	case open:
		return fmt.Sprintf("{%d,}", lo), i + 1, true
	case hi == lo && s[i-1] != ',':
		return fmt.Sprintf("{%d}", lo), i + 1, true
	}
	return fmt.Sprintf("{%d,%d}", lo, hi), i + 1, true
}

// goEscape translates the escape at src[i] (a backslash) and returns the index after it.
func goEscape(b *strings.Builder, src string, i int, inClass bool) (int, bool) {
	if i+1 >= len(src) {
		return 0, false
	}
	d := src[i+1]
	switch {
	case d == 's':
		if inClass {
			b.WriteString(`\t\n\v\f\r `)
		} else {
			b.WriteString(`[\t\n\v\f\r ]`)
		}
	case d == 'S':
		if inClass {
			return 0, false
		}
		b.WriteString(`[^\t\n\v\f\r ]`)
	case d == 'b' && inClass:
		b.WriteString(`\x08`)
	case d == 'e':
		b.WriteString(`\x1B`)
	case strings.IndexByte("dDwWtnrfa", d) >= 0, !inClass && strings.IndexByte("bBAz", d) >= 0:
		b.WriteString(src[i : i+2])
	case d == 'x':
		// \xHH or \x{H…}; PCRE also takes fewer digits, which Go does not.
		if j := strings.IndexByte(src[i:], '}'); strings.HasPrefix(src[i+2:], "{") && j > 3 && isHexString(src[i+3:i+j]) {
			b.WriteString(src[i : i+j+1])
			return i + j + 1, true
		}
		if i+4 <= len(src) && isHexString(src[i+2:i+4]) {
			b.WriteString(src[i : i+4])
			return i + 4, true
		}
		return 0, false
	case d >= '0' && d <= '9', d >= 'a' && d <= 'z', d >= 'A' && d <= 'Z', d >= 0x80:
		return 0, false
	default:
		// Any other ASCII character escaped is itself in both (Go takes the escape of any
		// non-alphanumeric); kept escaped, since "-" in a class is not itself unescaped.
		b.WriteString(src[i : i+2])
	}
	return i + 2, true
}

func isHexString(s string) bool {
	if s == "" || len(s) > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// goClass translates the bracket expression at src[start] and returns the index after it.
func goClass(b *strings.Builder, src string, start int) (int, bool) {
	n, err := walkClass(b, src, start,
		func(i int) (int, error) {
			n, ok := goEscape(b, src, i, true)
			if !ok {
				return 0, errNotGo
			}
			return n, nil
		},
		// Go's POSIX classes are ASCII, as PCRE's are without Unicode properties.
		func(_ string, _ bool, text string) { b.WriteString(text) })
	return n, err == nil
}

// errNotGo stops a translation to Go's syntax.
var errNotGo = errors.New("not for Go's regexp")

// badPattern is the error of a pattern the PCRE engine refuses.
func badPattern(err error) error { return fmt.Errorf("%w: %v", errBadPattern, err) }
