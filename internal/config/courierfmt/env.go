package courierfmt

import (
	"fmt"
	"io"
	"strings"
)

// Var is one NAME=value assignment.
type Var struct {
	Name  string // variable name
	Value string // value after quote removal, escapes and $NAME expansion
	File  string // file the assignment was read from
	Line  int    // line on which the assignment starts (1-based)
}

// Pos returns "file:line" for use in messages.
func (v Var) Pos() string { return fmt.Sprintf("%s:%d", v.File, v.Line) }

// EnvFile is a parsed NAME=value (or authlib "NAME value") file.
type EnvFile struct {
	Path string // file name as given to the parser
	// Vars holds every assignment in file order; a name assigned twice
	// appears twice, and the later assignment wins.
	Vars []Var
	// Sourced lists the files named by ". FILE" or "source FILE" lines
	// (Courier's courierd has ". /etc/environment"). They are recorded, with
	// the path in Text, but not read.
	Sourced []Line
	// Warnings lists problems that did not stop parsing.
	Warnings []Warning
}

// Lookup returns the last assignment of name.
func (f *EnvFile) Lookup(name string) (Var, bool) {
	for i := len(f.Vars) - 1; i >= 0; i-- {
		if f.Vars[i].Name == name {
			return f.Vars[i], true
		}
	}
	return Var{}, false
}

// Map returns name → value, the last assignment of each name winning.
func (f *EnvFile) Map() map[string]string {
	m := make(map[string]string, len(f.Vars))
	for _, v := range f.Vars {
		m[v.Name] = v.Value
	}
	return m
}

// LoadEnv opens path and parses it with [ParseEnv]. A missing file gives an
// error for which errors.Is(err, fs.ErrNotExist) holds.
func LoadEnv(path string, base func(string) (string, bool)) (*EnvFile, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("load env file: %w", err)
	}
	defer f.Close()
	return ParseEnv(path, f, base)
}

// ParseEnv parses a Courier shell-style configuration file read from r; path
// is used in messages only. It accepts what /bin/sh accepts in such files:
//
//   - NAME=value, several per line if separated by blanks, and
//     "export NAME=value" or "export NAME";
//   - single quotes (literal), double quotes (\" \\ \$ \` escapes, "\"
//     newline joins lines, $NAME and ${NAME} expanded), unquoted text
//     (backslash escapes, expansion), pieces concatenated (A="x"'y'z);
//   - a backslash at end of line continues the statement; quotes may span
//     lines;
//   - blank lines, "#" comment lines (sysconftool's "##NAME: X:n" markers
//     included), and " #" comments after a blank outside quotes;
//   - ". FILE" and "source FILE", recorded in EnvFile.Sourced, not read.
//
// $NAME refers to a variable assigned earlier in the file, else to base (which
// may be nil); an unset name expands to "". Anything else the shell would run
// (commands, pipes, `...`, $(...), ${NAME:-x}, $1) is an error, since
// silently ignoring it would give a value other than Courier's. Errors read
// "path:line: what is wrong".
func ParseEnv(path string, r io.Reader, base func(string) (string, bool)) (*EnvFile, error) {
	p := &envParser{
		lr:   newLineReader(path, r),
		file: path,
		base: base,
		vars: map[string]string{},
		out:  &EnvFile{Path: path},
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	return p.out, nil
}

// envParser is the state of one ParseEnv call.
type envParser struct {
	lr     *lineReader
	file   string
	base   func(string) (string, bool)
	vars   map[string]string // assigned so far
	out    *EnvFile
	line   []byte // current physical line
	pos    int    // position in line
	lineNo int    // number of the current physical line
	stmt   int    // bytes of source consumed by the current statement
	budget int    // bytes of names and values produced so far
}

func (p *envParser) errf(line int, format string, args ...any) error {
	return lineError(p.file, line, format, args...)
}

// nextLine advances to the next physical line. It returns false at end of input.
func (p *envParser) nextLine() (bool, error) {
	line, ok, err := p.lr.next()
	if err != nil || !ok {
		return false, err
	}
	p.line, p.pos, p.lineNo = line, 0, p.lr.n
	return true, nil
}

// continueLine advances to the next physical line inside a statement that
// started on line start, enforcing the statement length limit.
func (p *envParser) continueLine(start int) (bool, error) {
	ok, err := p.nextLine()
	if ok {
		p.stmt += len(p.line) + 1
		if p.stmt > MaxLine {
			return false, p.errf(start, "statement longer than %d bytes", MaxLine)
		}
	}
	return ok, err
}

func (p *envParser) run() error {
	for {
		ok, err := p.nextLine()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		p.stmt = len(p.line)
		if err := p.statement(); err != nil {
			return err
		}
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func (p *envParser) skipBlanks() {
	for p.pos < len(p.line) && isBlank(p.line[p.pos]) {
		p.pos++
	}
}

// skipSpace skips blanks and backslash-newline continuations between words
// of a statement that started on line start.
func (p *envParser) skipSpace(start int) error {
	for {
		p.skipBlanks()
		if p.pos != len(p.line)-1 || p.line[p.pos] != '\\' {
			return nil
		}
		ok, err := p.continueLine(start)
		if err != nil {
			return err
		}
		if !ok {
			p.pos = len(p.line)
			return nil
		}
	}
}

// atEnd reports whether the rest of the current line is empty or a comment.
func (p *envParser) atEnd() bool {
	return p.pos >= len(p.line) || p.line[p.pos] == '#'
}

// keyword reports whether the line continues with word followed by a blank
// or the end of the line, and if so consumes the word.
func (p *envParser) keyword(word string) bool {
	rest := p.line[p.pos:]
	if !strings.HasPrefix(string(rest), word) {
		return false
	}
	if len(rest) > len(word) && !isBlank(rest[len(word)]) {
		return false
	}
	p.pos += len(word)
	return true
}

// statement parses one statement starting on the current line.
func (p *envParser) statement() error {
	p.skipBlanks()
	if p.atEnd() {
		return nil
	}
	start := p.lineNo
	switch {
	case p.keyword("export"):
		return p.assignments(true)
	case p.keyword(".") || p.keyword("source"):
		if err := p.skipSpace(start); err != nil {
			return err
		}
		if p.atEnd() {
			return p.errf(start, "missing file name after %q", ". (source)")
		}
		word, err := p.word(start)
		if err != nil {
			return err
		}
		p.skipBlanks()
		if !p.atEnd() {
			return p.errf(p.lineNo, "unexpected %s after file name", quoteToken(p.line[p.pos:]))
		}
		p.out.Sourced = append(p.out.Sourced, Line{Text: word, File: p.file, Line: start})
		return nil
	}
	return p.assignments(false)
}

// quoteToken quotes the token at the start of b (up to a blank), shortened
// for messages.
func quoteToken(b []byte) string {
	end := 0
	for end < len(b) && !isBlank(b[end]) {
		end++
	}
	const max = 40
	if end > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b[:end])
}

// assignments parses blank-separated NAME=value words up to the end of the
// statement. With export set, a bare NAME is accepted and ignored.
func (p *envParser) assignments(export bool) error {
	prev := ""
	start := p.lineNo
	for {
		if err := p.skipSpace(start); err != nil {
			return err
		}
		if p.atEnd() {
			if prev == "" && export {
				return p.errf(p.lineNo, "missing name after \"export\"")
			}
			return nil
		}
		line := p.lineNo
		nameStart := p.pos
		for p.pos < len(p.line) && isNameChar(p.line[p.pos]) {
			p.pos++
		}
		name := string(p.line[nameStart:p.pos])
		bad := name == "" || !isNameStart(name[0])
		next := byte(0)
		if p.pos < len(p.line) {
			next = p.line[p.pos]
		}
		switch {
		case !bad && next == '=':
			// an assignment
		case prev != "" && !export:
			return p.errf(line, "unexpected %s after the value of %s (quote values that contain blanks)",
				quoteToken(p.line[nameStart:]), prev)
		case !bad && export && (next == 0 || isBlank(next)):
			prev = name
			continue
		case !bad && (next == 0 || isBlank(next) || next == '#'):
			return p.errf(line, "missing '=' after %q", name)
		default:
			return p.errf(line, "bad variable name %s", quoteToken(p.line[nameStart:]))
		}
		p.pos++ // '='
		value, err := p.word(line)
		if err != nil {
			return err
		}
		if err := p.spend(line, len(name)+len(value)); err != nil {
			return err
		}
		p.vars[name] = value
		p.out.Vars = append(p.out.Vars, Var{Name: name, Value: value, File: p.file, Line: line})
		prev = name
	}
}

// spend charges n bytes to the file's expansion budget.
func (p *envParser) spend(line, n int) error {
	p.budget += n
	if p.budget > MaxExpanded {
		return p.errf(line, "names and values exceed %d bytes in total", MaxExpanded)
	}
	return nil
}

// word parses one shell word at the current position: quoted and unquoted
// pieces up to an unquoted blank or the end of the statement. start is the
// line the statement began on, for messages.
func (p *envParser) word(start int) (string, error) {
	var b strings.Builder
	grow := func(s string) error {
		if b.Len()+len(s) > MaxLine {
			return p.errf(start, "value longer than %d bytes", MaxLine)
		}
		b.WriteString(s)
		return nil
	}
	for {
		if p.pos >= len(p.line) {
			return b.String(), nil
		}
		c := p.line[p.pos]
		switch {
		case isBlank(c):
			return b.String(), nil
		case c == '\'':
			if err := p.singleQuoted(grow); err != nil {
				return "", err
			}
		case c == '"':
			if err := p.doubleQuoted(start, grow); err != nil {
				return "", err
			}
		case c == '\\':
			p.pos++
			if p.pos >= len(p.line) { // continuation
				ok, err := p.continueLine(start)
				if err != nil {
					return "", err
				}
				if !ok {
					return b.String(), nil
				}
				continue
			}
			if err := grow(string(p.line[p.pos])); err != nil {
				return "", err
			}
			p.pos++
		case c == '$':
			s, err := p.expand()
			if err != nil {
				return "", err
			}
			if err := grow(s); err != nil {
				return "", err
			}
		case c == '`':
			return "", p.errf(p.lineNo, "command substitution `...` is not supported")
		case strings.IndexByte(";&|<>()", c) >= 0:
			return "", p.errf(p.lineNo, "unsupported shell syntax %q (quote the value)", string(c))
		default:
			end := p.pos
			for end < len(p.line) && !isBlank(p.line[end]) &&
				strings.IndexByte("'\"\\$`;&|<>()", p.line[end]) < 0 {
				end++
			}
			if err := grow(string(p.line[p.pos:end])); err != nil {
				return "", err
			}
			p.pos = end
		}
	}
}

// singleQuoted parses '...' at the current position; everything up to the
// closing quote, newlines included, is literal.
func (p *envParser) singleQuoted(grow func(string) error) error {
	open := p.lineNo
	p.pos++
	for {
		rest := p.line[p.pos:]
		if i := strings.IndexByte(string(rest), '\''); i >= 0 {
			p.pos += i + 1
			return grow(string(rest[:i]))
		}
		if err := grow(string(rest) + "\n"); err != nil {
			return err
		}
		ok, err := p.continueLine(open)
		if err != nil {
			return err
		}
		if !ok {
			return p.errf(open, "unterminated single quote")
		}
	}
}

// doubleQuoted parses "..." at the current position.
func (p *envParser) doubleQuoted(start int, grow func(string) error) error {
	open := p.lineNo
	p.pos++
	for {
		if p.pos >= len(p.line) {
			if err := grow("\n"); err != nil {
				return err
			}
			ok, err := p.continueLine(start)
			if err != nil {
				return err
			}
			if !ok {
				return p.errf(open, "unterminated double quote")
			}
			continue
		}
		c := p.line[p.pos]
		switch c {
		case '"':
			p.pos++
			return nil
		case '\\':
			p.pos++
			if p.pos >= len(p.line) { // "\" newline: joined, nothing kept
				ok, err := p.continueLine(start)
				if err != nil {
					return err
				}
				if !ok {
					return p.errf(open, "unterminated double quote")
				}
				continue
			}
			e := p.line[p.pos]
			p.pos++
			var err error
			if strings.IndexByte("\"\\$`", e) >= 0 {
				err = grow(string(e))
			} else {
				err = grow("\\" + string(e))
			}
			if err != nil {
				return err
			}
		case '$':
			s, err := p.expand()
			if err != nil {
				return err
			}
			if err := grow(s); err != nil {
				return err
			}
		case '`':
			return p.errf(p.lineNo, "command substitution `...` is not supported")
		default:
			end := p.pos
			for end < len(p.line) && strings.IndexByte("\"\\$`", p.line[end]) < 0 {
				end++
			}
			if err := grow(string(p.line[p.pos:end])); err != nil {
				return err
			}
			p.pos = end
		}
	}
}

// expand parses $NAME or ${NAME} at the current position and returns its
// value. A "$" not followed by a name is literal.
func (p *envParser) expand() (string, error) {
	p.pos++ // '$'
	if p.pos >= len(p.line) {
		return "$", nil
	}
	c := p.line[p.pos]
	switch {
	case c == '{':
		end := p.pos + 1
		for end < len(p.line) && p.line[end] != '}' {
			end++
		}
		if end >= len(p.line) {
			return "", p.errf(p.lineNo, "missing '}' in ${...}")
		}
		name := string(p.line[p.pos+1 : end])
		if !validName(name) {
			return "", p.errf(p.lineNo, "unsupported parameter expansion %s (only ${NAME} is supported)",
				quoteToken([]byte("${"+name+"}")))
		}
		p.pos = end + 1
		return p.value(name), nil
	case isNameStart(c):
		end := p.pos
		for end < len(p.line) && isNameChar(p.line[end]) {
			end++
		}
		name := string(p.line[p.pos:end])
		p.pos = end
		return p.value(name), nil
	case c == '(':
		return "", p.errf(p.lineNo, "command substitution $(...) is not supported")
	case (c >= '0' && c <= '9') || strings.IndexByte("@*#?$!-", c) >= 0:
		return "", p.errf(p.lineNo, "special parameter $%c is not supported (write \\$ for a literal $)", c)
	}
	return "$", nil
}

// value returns the value of name: assigned earlier in the file, else from
// the base environment, else "".
func (p *envParser) value(name string) string {
	if v, ok := p.vars[name]; ok {
		return v
	}
	if p.base != nil {
		if v, ok := p.base(name); ok {
			return v
		}
	}
	return ""
}

func validName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}
