package maildrop

import (
	"fmt"
	"strings"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF     tokKind = iota
	tSep             // end of a statement: a newline or ';'
	tText            // a text literal: quoted strings, backticks and unquoted words
	tPattern         // /pattern/:options,weight1,weight2
	tOp              // an operator or punctuation: ( ) { } , = =~ == != < <= > >= || && | & + - * / ! ~
)

// partKind says how a part of a text literal is evaluated.
type partKind int

const (
	partSingle   partKind = iota // '...': no substitution
	partDouble                   // "...": variable substitution
	partWord                     // unquoted text: variable substitution
	partBacktick                 // `...`: substitution, then run by the shell
)

// textPart is one quoted string, backtick command or unquoted word of a text literal.
type textPart struct {
	kind partKind
	s    string
}

// token is one lexical token with the line it started on.
type token struct {
	kind  tokKind
	line  int
	op    string     // tOp
	parts []textPart // tText
	pat   *Pattern   // tPattern
	sep   string     // tSep: "\n" or ";"
}

// word returns the text of a token that is a single unquoted word, or "".
func (t token) word() string {
	if t.kind == tText && len(t.parts) == 1 && t.parts[0].kind == partWord {
		return t.parts[0].s
	}
	return ""
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tSep:
		if t.sep == ";" {
			return ";"
		}
		return "end of line"
	case tText:
		var b strings.Builder
		for _, p := range t.parts {
			b.WriteString(p.s)
		}
		return fmt.Sprintf("%q", b.String())
	case tPattern:
		return "/" + t.pat.Source + "/"
	}
	return t.op
}

// maxTokenBytes bounds one token, so a runaway literal cannot use unbounded memory.
const maxTokenBytes = 1 << 20

// lexer splits a filter file into tokens. maildrop's lexical structure depends on context in
// two places, both handled here: a '/' starts a pattern unless white space follows it (then
// it is division) or it comes right after the '=' of an assignment (then it starts unquoted
// text, so that MAILDIR=/var/mail works); and text literals written next to each other on a
// line are one literal ("a" 'b' c is "abc").
type lexer struct {
	src  string
	pos  int
	line int
	file string
	prev tokKind
	pop  string // the previous token's operator
}

func newLexer(file, src string) *lexer {
	return &lexer{src: src, line: 1, file: file, prev: tSep}
}

// isWordByte reports whether c may appear in unquoted text (maildropfilter(7): letters,
// digits and _-.:/${}@; bytes above 127 are taken as letters).
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
		strings.IndexByte("_-.:/$@", c) >= 0
}

func (lx *lexer) errorf(line int, format string, args ...any) error {
	return &SyntaxError{File: lx.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// skipSpace skips blanks, comments and backslash-newline continuations.
func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			lx.pos++
		case c == '\\' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '\n':
			lx.pos += 2
			lx.line++
		case c == '\\' && lx.pos+2 < len(lx.src) && lx.src[lx.pos+1] == '\r' && lx.src[lx.pos+2] == '\n':
			lx.pos += 3
			lx.line++
		case c == '#':
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
		default:
			return
		}
	}
}

// next returns the next token.
func (lx *lexer) next() (token, error) {
	t, err := lx.scan()
	if err == nil {
		lx.prev = t.kind
		lx.pop = t.op
	}
	return t, err
}

func (lx *lexer) scan() (token, error) {
	lx.skipSpace()
	if lx.pos >= len(lx.src) {
		return token{kind: tEOF, line: lx.line}, nil
	}
	line := lx.line
	c := lx.src[lx.pos]
	switch {
	case c == '\n':
		lx.pos++
		lx.line++
		return token{kind: tSep, line: line, sep: "\n"}, nil
	case c == ';':
		lx.pos++
		return token{kind: tSep, line: line, sep: ";"}, nil
	case c == '/' && !(lx.prev == tOp && lx.pop == "="):
		if lx.pos+1 >= len(lx.src) || isBlank(lx.src[lx.pos+1]) {
			lx.pos++
			return token{kind: tOp, line: line, op: "/"}, nil
		}
		return lx.pattern()
	case c == '"' || c == '\'' || c == '`' || isWordByte(c) && !(c == '-' && !lx.wordAfterDash()):
		return lx.text()
	}
	// operators, longest first
	for _, op := range []string{"=~", "==", "!=", "<=", ">=", "||", "&&"} {
		if strings.HasPrefix(lx.src[lx.pos:], op) {
			lx.pos += len(op)
			return token{kind: tOp, line: line, op: op}, nil
		}
	}
	if strings.IndexByte("(){},=<>|&+-*/!~", c) >= 0 {
		lx.pos++
		return token{kind: tOp, line: line, op: string(c)}, nil
	}
	return token{}, lx.errorf(line, "unexpected character %q", c)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// wordAfterDash reports whether the '-' at pos starts unquoted text ("-5") rather than being
// the minus operator.
func (lx *lexer) wordAfterDash() bool {
	return lx.pos+1 < len(lx.src) && isWordByte(lx.src[lx.pos+1]) && lx.src[lx.pos+1] != '/'
}

// text reads a text literal: one or more quoted strings, backtick commands and unquoted words
// on the same line, with only blanks between them.
func (lx *lexer) text() (token, error) {
	t := token{kind: tText, line: lx.line}
	first := true
	for {
		if !first {
			// A keyword, a function name or a comparison word stands alone.
			if len(t.parts) == 1 && t.parts[0].kind == partWord && isReserved(t.parts[0].s) {
				return t, nil
			}
			save, saveLine := lx.pos, lx.line
			lx.skipSpace()
			if lx.pos >= len(lx.src) || saveLine != lx.line {
				lx.pos, lx.line = save, saveLine
				return t, nil
			}
			c := lx.src[lx.pos]
			if !(c == '"' || c == '\'' || c == '`' || isWordByte(c) && c != '/' && !(c == '-' && !lx.wordAfterDash())) {
				lx.pos, lx.line = save, saveLine
				return t, nil
			}
			// The comparison words end a literal: "b" lt "a" compares.
			if w := lx.peekWord(); isTextOp(w) {
				lx.pos, lx.line = save, saveLine
				return t, nil
			}
		}
		first = false
		c := lx.src[lx.pos]
		switch c {
		case '"', '\'', '`':
			s, err := lx.quoted(c)
			if err != nil {
				return t, err
			}
			k := partDouble
			if c == '\'' {
				k = partSingle
			} else if c == '`' {
				k = partBacktick
			}
			t.parts = append(t.parts, textPart{kind: k, s: s})
		default:
			t.parts = append(t.parts, textPart{kind: partWord, s: lx.word()})
		}
	}
}

// peekWord returns the unquoted word at pos without consuming it.
func (lx *lexer) peekWord() string {
	i := lx.pos
	for i < len(lx.src) && isWordByte(lx.src[i]) {
		i++
	}
	return lx.src[lx.pos:i]
}

// isReserved reports words that never join a text literal: statement keywords, function
// names and the text comparison operators.
func isReserved(w string) bool {
	switch w {
	case "if", "else", "elsif", "while", "foreach", "exception", "dotlock", "flock", "exit",
		"import", "echo", "log", "logfile", "to", "cc", "xfilter", "system", "include":
		return true
	}
	if _, ok := functions[w]; ok {
		return true
	}
	return isTextOp(w)
}

func isTextOp(w string) bool {
	switch w {
	case "lt", "le", "gt", "ge", "eq", "ne":
		return true
	}
	return false
}

// word reads unquoted text; "${...}" may hold any character but '}'.
func (lx *lexer) word() string {
	start := lx.pos
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		if c == '$' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '{' {
			j := strings.IndexByte(lx.src[lx.pos:], '}')
			nl := strings.IndexByte(lx.src[lx.pos:], '\n')
			if j >= 0 && (nl < 0 || j < nl) {
				lx.pos += j + 1
				continue
			}
		}
		if !isWordByte(c) {
			break
		}
		lx.pos++
	}
	return lx.src[start:lx.pos]
}

// quoted reads a quoted string or backtick command. A backslash before the closing quote or
// another backslash is removed; any other backslash stays. A backslash at the end of a line
// joins the next line without its leading blanks.
func (lx *lexer) quoted(q byte) (string, error) {
	line := lx.line
	lx.pos++
	var b strings.Builder
	for {
		if lx.pos >= len(lx.src) {
			return "", lx.errorf(line, "missing %c", q)
		}
		if b.Len() > maxTokenBytes {
			return "", lx.errorf(line, "text literal too long")
		}
		c := lx.src[lx.pos]
		switch {
		case c == q:
			lx.pos++
			return b.String(), nil
		case c == '\n':
			return "", lx.errorf(line, "missing %c", q)
		case c == '\\' && lx.pos+1 < len(lx.src):
			n := lx.src[lx.pos+1]
			switch {
			case n == q || n == '\\':
				b.WriteByte(n)
				lx.pos += 2
			case n == '\n' || n == '\r' && lx.pos+2 < len(lx.src) && lx.src[lx.pos+2] == '\n':
				lx.pos += 2
				if n == '\r' {
					lx.pos++
				}
				lx.line++
				for lx.pos < len(lx.src) && (lx.src[lx.pos] == ' ' || lx.src[lx.pos] == '\t') {
					lx.pos++
				}
			default:
				b.WriteByte('\\')
				lx.pos++
			}
		default:
			b.WriteByte(c)
			lx.pos++
		}
	}
}

// pattern reads /pattern/ with its optional ":options" and ",weight1[,weight2]".
func (lx *lexer) pattern() (token, error) {
	line := lx.line
	lx.pos++
	var b strings.Builder
	for {
		if lx.pos >= len(lx.src) || lx.src[lx.pos] == '\n' {
			return token{}, lx.errorf(line, "missing / at the end of a pattern")
		}
		c := lx.src[lx.pos]
		if c == '\\' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] != '\n' {
			b.WriteByte(c)
			b.WriteByte(lx.src[lx.pos+1])
			lx.pos += 2
			continue
		}
		if c == '/' {
			lx.pos++
			break
		}
		b.WriteByte(c)
		lx.pos++
	}
	p := &Pattern{Source: b.String()}
	if lx.pos < len(lx.src) && lx.src[lx.pos] == ':' {
		lx.pos++
		for lx.pos < len(lx.src) && isAlpha(lx.src[lx.pos]) {
			p.Options += string(lx.src[lx.pos])
			lx.pos++
		}
		if lx.pos < len(lx.src) && lx.src[lx.pos] == ',' {
			lx.pos++
			w1, ok := lx.number()
			if !ok {
				return token{}, lx.errorf(line, "bad weight after pattern")
			}
			p.Weighted, p.Weight1, p.Weight2 = true, w1, "1"
			if lx.pos < len(lx.src) && lx.src[lx.pos] == ',' {
				lx.pos++
				w2, ok := lx.number()
				if !ok {
					return token{}, lx.errorf(line, "bad weight after pattern")
				}
				p.Weight2 = w2
			}
		}
	}
	return token{kind: tPattern, line: line, pat: p}, nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// number reads a weight: an optional sign, digits and a decimal point.
func (lx *lexer) number() (string, bool) {
	start := lx.pos
	if lx.pos < len(lx.src) && (lx.src[lx.pos] == '-' || lx.src[lx.pos] == '+') {
		lx.pos++
	}
	digits := 0
	for lx.pos < len(lx.src) && (lx.src[lx.pos] >= '0' && lx.src[lx.pos] <= '9' || lx.src[lx.pos] == '.') {
		lx.pos++
		digits++
	}
	return lx.src[start:lx.pos], digits > 0
}
