package smap

import (
	"errors"
	"strings"
)

// MaxLine is the longest command line Courier accepts, in bytes, without its line end: its
// buffer is 8192 bytes with room for the terminating NUL. The rest of a longer line is read
// and dropped, and the first MaxLine bytes run as the command, as Courier does.
const MaxLine = 8191

// errSyntax is what a malformed word list gives; Courier reports it as EINVAL.
var errSyntax = errors.New("Invalid argument") //nolint:staticcheck // Courier's strerror(EINVAL) text

// words reads the words of one command line. SMAP quoting (smap.sgml): a word is a run of
// non-space bytes, or text between double quotes where "" stands for one quote. An
// unterminated quoted word runs to the end of the line. Reading past the end gives "".
type words struct {
	s string
	i int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// next returns the next word, "" at the end of the line (or for an empty quoted word).
func (w *words) next() string {
	for w.i < len(w.s) && isSpace(w.s[w.i]) {
		w.i++
	}
	if w.i >= len(w.s) {
		return ""
	}
	if w.s[w.i] != '"' {
		start := w.i
		for w.i < len(w.s) && !isSpace(w.s[w.i]) {
			w.i++
		}
		word := w.s[start:w.i]
		if w.i < len(w.s) {
			w.i++ // the space ending the word
		}
		return word
	}
	w.i++
	var b strings.Builder
	for w.i < len(w.s) {
		c := w.s[w.i]
		if c == '"' {
			if w.i+1 < len(w.s) && w.s[w.i+1] == '"' {
				b.WriteByte('"')
				w.i += 2
				continue
			}
			w.i++
			break
		}
		b.WriteByte(c)
		w.i++
	}
	return b.String()
}

// path reads a folder path: words up to an empty word or the end of the line (Courier's
// fn_fromwords). An empty path is an error.
func (w *words) path() ([]string, error) {
	var out []string
	for {
		word := w.next()
		if word == "" {
			break
		}
		out = append(out, word)
	}
	if len(out) == 0 {
		return nil, errSyntax
	}
	return out, nil
}

// quote renders a word for a reply: in double quotes, a quote doubled.
func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteBody is quote without the surrounding quotes, for words such as "UID=…" whose
// prefix is written by the caller.
func quoteBody(s string) string { return strings.ReplaceAll(s, `"`, `""`) }

// msgRange is one range of message numbers, from ≤ to, 1-based.
type msgRange struct{ from, to uint64 }

// msgSet is a message set as SMAP writes it: words "N" or "N-M" in strictly increasing,
// non-overlapping order.
type msgSet []msgRange

// maxMsgNum caps parsed numbers so arithmetic cannot overflow; no folder holds that many.
const maxMsgNum = 1 << 40

// parseMsgSet reads a message set from w. It stops at the first word that does not start
// with a digit and returns that word ("" at the end of the line). A set that is not in
// increasing order, or a range that runs backwards, is an error (Courier's markmsgset).
func parseMsgSet(w *words) (msgSet, string, error) {
	var set msgSet
	var last uint64
	for {
		word := w.next()
		if word == "" || word[0] < '0' || word[0] > '9' {
			return set, word, nil
		}
		i := 0
		num := func() uint64 {
			var n uint64
			for i < len(word) && word[i] >= '0' && word[i] <= '9' {
				if n < maxMsgNum {
					n = n*10 + uint64(word[i]-'0')
				}
				i++
			}
			return n
		}
		a := num()
		b := a
		if i < len(word) && word[i] == '-' {
			i++
			b = num()
		}
		// Courier ignores anything after the numbers of a word ("3x" is 3).
		if a <= last || b < a {
			return nil, "", errSyntax
		}
		last = b
		set = append(set, msgRange{a, b})
	}
}

// each calls fn for every number of the set up to max (the folder's message count), in
// order; it stops early when fn returns false.
func (s msgSet) each(max int, fn func(n int) bool) {
	for _, r := range s {
		for n := r.from; n <= r.to; n++ {
			if n > uint64(max) {
				return
			}
			if !fn(int(n)) {
				return
			}
		}
	}
}

// upper folds ASCII letters to upper case, as Courier's up() does (bytes ≥ 0x80 untouched).
func upper(s string) string {
	b := []byte(s)
	changed := false
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
			changed = true
		}
	}
	if !changed {
		return s
	}
	return string(b)
}

// cutLine cleans a raw command line the way Courier's C string handling sees it: the line
// ends at the first NUL, and only the first MaxLine bytes count.
func cutLine(line string) string {
	if i := strings.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	if len(line) > MaxLine {
		line = line[:MaxLine]
	}
	return line
}
