// Package wire reads IMAP4rev1 commands (RFC 3501 §9, with LITERAL+ and LITERAL- of RFC 7888
// and literal8 of RFC 3516) and writes the pieces of responses.
//
// A Reader is contextual, as the grammar is: the server's command parsers pull the tokens
// they expect (an atom, an astring, a sequence set, a parenthesised list…) from the command
// being read. A synchronising literal ({n}) makes the Reader ask its Continue callback to
// send a continuation request before it reads the literal's octets; a non-synchronising one
// ({n+}) is read at once. Literals are held in memory up to MaxLiteral octets; a command that
// streams a large literal (APPEND) asks for it with LiteralReader instead.
//
// Invariants: a Reader never allocates more than MaxLine octets for a line and MaxLiteral for
// one in-memory literal, and never more than MaxCommand for the whole of one command (lines
// plus in-memory literals); input beyond a limit is an *Error, never a panic or unbounded
// growth. After an *Error the command's remainder is discarded by Discard, which also skips
// the octets of any non-synchronising literal the client announced, so the connection stays
// in step.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Default limits.
const (
	DefaultMaxLine    = 64 << 10  // one line of a command
	DefaultMaxLiteral = 64 << 10  // one literal held in memory
	DefaultMaxCommand = 1 << 20   // lines and in-memory literals of one command
	maxNonSyncDiscard = 100 << 20 // the most a non-synchronising literal we refuse may be skipped
)

// Error is a syntax error or a refused command; the server answers it with BAD (or NO when
// Code says so) and goes on with the next command unless Fatal is set.
type Error struct {
	Msg   string
	Code  string // response code without brackets, e.g. "TOOBIG"; empty for none
	No    bool   // answer NO rather than BAD
	Fatal bool   // the connection cannot be resynchronised: answer and close it
}

func (e *Error) Error() string { return e.Msg }

func syntax(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// ErrLineTooLong is returned (wrapped in an *Error) when a line exceeds MaxLine.
var ErrLineTooLong = errors.New("line too long")

// Reader reads IMAP commands from a client.
type Reader struct {
	br *bufio.Reader
	// Continue sends a continuation request ("+ ...") and flushes; called before a
	// synchronising literal is read.
	Continue func() error
	// Limits; zero means the defaults above.
	MaxLine, MaxLiteral, MaxCommand int64

	line    []byte // current line, CRLF removed
	pos     int
	used    int64 // octets of this command so far
	pending *literalInfo
	lineBuf []byte
}

// literalInfo is a literal announced at the end of the current line that has not been read.
type literalInfo struct {
	size    int64
	sync    bool
	binary  bool // literal8 (~{n})
	started bool
}

// NewReader returns a Reader over br.
func NewReader(br *bufio.Reader) *Reader {
	return &Reader{br: br}
}

// Buffered reports whether input is already waiting (pipelined commands).
func (r *Reader) Buffered() int { return r.br.Buffered() }

func (r *Reader) maxLine() int64 {
	if r.MaxLine > 0 {
		return r.MaxLine
	}
	return DefaultMaxLine
}

func (r *Reader) maxLiteral() int64 {
	if r.MaxLiteral > 0 {
		return r.MaxLiteral
	}
	return DefaultMaxLiteral
}

func (r *Reader) maxCommand() int64 {
	if r.MaxCommand > 0 {
		return r.MaxCommand
	}
	return DefaultMaxCommand
}

// readLine reads one line into r.line. An overlong line is consumed to its end and
// reported as a *Error wrapping ErrLineTooLong. io.EOF at the start of a line is returned
// as is.
func (r *Reader) readLine() error {
	r.line = r.lineBuf[:0]
	r.pos = 0
	max := r.maxLine()
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if int64(len(r.line)+len(chunk)) > max+2 {
				tooLong = true
				r.line = r.line[:0]
			} else {
				r.line = append(r.line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(chunk) == 0 && len(r.line) == 0 && !tooLong {
				return io.EOF
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		break
	}
	if cap(r.line) <= 4096 {
		r.lineBuf = r.line[:0]
	} else {
		r.lineBuf = nil // let a huge line's buffer go
	}
	if tooLong {
		r.line = r.line[:0]
		return &Error{Msg: "Command line too long", Code: "TOOBIG"}
	}
	r.line = bytes.TrimSuffix(r.line, []byte("\n"))
	r.line = bytes.TrimSuffix(r.line, []byte("\r"))
	r.used += int64(len(r.line))
	if r.used > r.maxCommand() {
		return &Error{Msg: "Command too long", Code: "TOOBIG"}
	}
	r.noteLiteral()
	return nil
}

// noteLiteral records a literal announced at the end of the current line.
func (r *Reader) noteLiteral() {
	r.pending = nil
	l := r.line
	if len(l) < 3 || l[len(l)-1] != '}' {
		return
	}
	i := bytes.LastIndexByte(l, '{')
	if i < 0 {
		return
	}
	inner := l[i+1 : len(l)-1]
	sync := true
	if len(inner) > 0 && (inner[len(inner)-1] == '+' || inner[len(inner)-1] == '-') {
		// RFC 7888: {n+} is LITERAL+, {n-} LITERAL-; both are non-synchronising.
		sync = false
		inner = inner[:len(inner)-1]
	}
	if len(inner) == 0 || len(inner) > 19 {
		return
	}
	n, err := strconv.ParseInt(string(inner), 10, 64)
	if err != nil || n < 0 {
		return
	}
	r.pending = &literalInfo{size: n, sync: sync, binary: i > 0 && l[i-1] == '~'}
}

// Begin starts a new command: it reads its first line. It returns io.EOF at the end of
// input between commands.
func (r *Reader) Begin() error {
	r.used = 0
	r.pending = nil
	return r.readLine()
}

// Discard skips what remains of the current command after an error: the rest of the line
// and, when the line announced a non-synchronising literal, its octets and the lines that
// follow. A synchronising literal the client announced is not sent by the client (it waits
// for a continuation it will not get), so nothing more is read for it. It reports whether
// the connection is still in step.
func (r *Reader) Discard() bool {
	for r.pending != nil && !r.pending.sync && !r.pending.started {
		n := r.pending.size
		if n > maxNonSyncDiscard {
			return false
		}
		if _, err := io.CopyN(io.Discard, r.br, n); err != nil {
			return false
		}
		if err := r.readLine(); err != nil {
			var we *Error
			if errors.As(err, &we) {
				continue
			}
			return false
		}
	}
	if r.pending != nil && r.pending.started {
		return false
	}
	r.line = r.line[:0]
	r.pos = 0
	r.pending = nil
	return true
}

// AtEnd reports whether the command has no more tokens.
func (r *Reader) AtEnd() bool { return r.pos >= len(r.line) }

// Peek returns the next octet of the command without consuming it, or 0 at the end.
func (r *Reader) Peek() byte {
	if r.pos >= len(r.line) {
		return 0
	}
	return r.line[r.pos]
}

// PeekFold reports whether the next octets are s, compared case-insensitively (ASCII).
func (r *Reader) PeekFold(s string) bool {
	if len(r.line)-r.pos < len(s) {
		return false
	}
	return bytes.EqualFold(r.line[r.pos:r.pos+len(s)], []byte(s))
}

// Skip consumes n octets known to be there (after Peek or PeekFold).
func (r *Reader) Skip(n int) {
	r.pos += n
	if r.pos > len(r.line) {
		r.pos = len(r.line)
	}
}

// Expect consumes the octet c or fails.
func (r *Reader) Expect(c byte) error {
	if r.Peek() != c || r.AtEnd() {
		if c == ' ' {
			return syntax("Expected a space")
		}
		return syntax("Expected %q", c)
	}
	r.pos++
	return nil
}

// SP consumes one space.
func (r *Reader) SP() error { return r.Expect(' ') }

// End checks that the command has no more tokens.
func (r *Reader) End() error {
	if !r.AtEnd() {
		return syntax("Unexpected characters at the end of the command")
	}
	if r.pending != nil && !r.pending.started {
		return syntax("Unexpected literal")
	}
	return nil
}

// Rest returns the unparsed remainder of the current line (for logging and SASL).
func (r *Reader) Rest() string {
	s := string(r.line[r.pos:])
	r.pos = len(r.line)
	return s
}

// isAtomChar reports whether c is an ATOM-CHAR (RFC 3501 §9): no atom-specials.
func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return c > 0x20 && c < 0x7f
}

// isAStringChar adds resp-specials (']') to the atom characters.
func isAStringChar(c byte) bool { return c == ']' || isAtomChar(c) }

// isTagChar is an ASTRING-CHAR except '+'.
func isTagChar(c byte) bool { return c != '+' && isAStringChar(c) }

// isListChar is an ATOM-CHAR or a list wildcard (list-mailbox, RFC 3501 §9).
func isListChar(c byte) bool { return c == '%' || c == '*' || c == ']' || isAtomChar(c) }

func (r *Reader) span(ok func(byte) bool) []byte {
	start := r.pos
	for r.pos < len(r.line) && ok(r.line[r.pos]) {
		r.pos++
	}
	return r.line[start:r.pos]
}

// Tag reads a command tag.
func (r *Reader) Tag() (string, error) {
	t := r.span(isTagChar)
	if len(t) == 0 {
		return "", syntax("Missing or invalid tag")
	}
	return string(t), nil
}

// Atom reads an atom.
func (r *Reader) Atom() (string, error) {
	a := r.span(isAtomChar)
	if len(a) == 0 {
		return "", syntax("Expected an atom")
	}
	return string(a), nil
}

// Word reads a run of octets up to the next space, parenthesis or end of line; fetch
// attributes ("BODY.PEEK[...]") and search keys are read with it and parsed further.
func (r *Reader) Word(stop func(byte) bool) string {
	return string(r.span(func(c byte) bool { return !stop(c) }))
}

// Number reads an RFC 3501 number (32 bits).
func (r *Reader) Number() (uint32, error) {
	n, err := r.Number64()
	if err != nil {
		return 0, err
	}
	if n > 0xffffffff {
		return 0, syntax("Number too large")
	}
	return uint32(n), nil
}

// Number64 reads an unsigned decimal number of up to 63 bits.
func (r *Reader) Number64() (uint64, error) {
	d := r.span(func(c byte) bool { return c >= '0' && c <= '9' })
	if len(d) == 0 {
		return 0, syntax("Expected a number")
	}
	n, err := strconv.ParseUint(string(d), 10, 63)
	if err != nil {
		return 0, syntax("Number too large")
	}
	return n, nil
}

// Quoted reads a quoted string (the opening quote is next).
func (r *Reader) quoted() ([]byte, error) {
	r.pos++ // opening quote
	var out []byte
	for r.pos < len(r.line) {
		c := r.line[r.pos]
		r.pos++
		switch c {
		case '"':
			if out == nil {
				out = []byte{}
			}
			return out, nil
		case '\\':
			if r.pos >= len(r.line) {
				return nil, syntax("Unterminated quoted string")
			}
			c = r.line[r.pos]
			if c != '"' && c != '\\' {
				return nil, syntax("Invalid escape in a quoted string")
			}
			r.pos++
		case 0:
			return nil, syntax("NUL in a quoted string")
		}
		out = append(out, c)
	}
	return nil, syntax("Unterminated quoted string")
}

// atLiteral reports whether a literal ({n}, {n+}, ~{n}) starts here and is the one the line
// announced.
func (r *Reader) atLiteral() bool {
	if r.pending == nil || r.pending.started {
		return false
	}
	c := r.Peek()
	if c == '~' {
		return r.pos+1 < len(r.line) && r.line[r.pos+1] == '{' && r.pending.binary && r.literalTail(r.pos+1)
	}
	return c == '{' && r.literalTail(r.pos)
}

// literalTail reports whether the '{' at i is the final token of the line.
func (r *Reader) literalTail(i int) bool {
	return bytes.IndexByte(r.line[i+1:], '{') < 0 && bytes.IndexByte(r.line[i:], '}') == len(r.line)-i-1
}

// literalStart consumes the literal's announcement and sends the continuation request
// when it is synchronising.
func (r *Reader) literalStart(limit int64) (int64, error) {
	p := r.pending
	if p.size > limit {
		if !p.sync {
			// The client sends the octets anyway; Discard skips them (or gives up on the
			// connection when there are too many).
			return 0, &Error{Msg: "Literal too large", Code: "TOOBIG", Fatal: p.size > maxNonSyncDiscard}
		}
		return 0, &Error{Msg: "Literal too large", Code: "TOOBIG"}
	}
	p.started = true
	r.pos = len(r.line)
	if p.sync && r.Continue != nil {
		if err := r.Continue(); err != nil {
			return 0, err
		}
	}
	return p.size, nil
}

// literal reads an in-memory literal and the line that follows it.
func (r *Reader) literal() ([]byte, error) {
	if p := r.pending; r.used+p.size > r.maxCommand() && p.size <= r.maxLiteral() {
		return nil, &Error{Msg: "Command too long", Code: "TOOBIG", Fatal: !p.sync && p.size > maxNonSyncDiscard}
	}
	n, err := r.literalStart(r.maxLiteral())
	if err != nil {
		return nil, err
	}
	r.used += n
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return nil, fmt.Errorf("reading a literal: %w", err)
	}
	if err := r.readLine(); err != nil {
		return nil, err
	}
	return buf, nil
}

// String reads a string: quoted or literal.
func (r *Reader) String() (string, error) {
	b, err := r.StringBytes()
	return string(b), err
}

// StringBytes is String returning bytes.
func (r *Reader) StringBytes() ([]byte, error) {
	switch {
	case r.Peek() == '"':
		return r.quoted()
	case r.atLiteral():
		return r.literal()
	}
	return nil, syntax("Expected a string")
}

// AString reads an astring: an atom (with ']'), a quoted string or a literal.
func (r *Reader) AString() (string, error) {
	if c := r.Peek(); c == '"' || c == '{' || c == '~' {
		return r.String()
	}
	a := r.span(isAStringChar)
	if len(a) == 0 {
		return "", syntax("Expected a string")
	}
	return string(a), nil
}

// NString reads a string or NIL; ok is false for NIL.
func (r *Reader) NString() (s string, ok bool, err error) {
	if r.PeekFold("NIL") {
		r.Skip(3)
		return "", false, nil
	}
	s, err = r.String()
	return s, err == nil, err
}

// ListMailbox reads a list-mailbox: an astring or an atom with the wildcards % and *.
func (r *Reader) ListMailbox() (string, error) {
	if c := r.Peek(); c == '"' || c == '{' || c == '~' {
		return r.String()
	}
	a := r.span(isListChar)
	if len(a) == 0 {
		return "", syntax("Expected a mailbox pattern")
	}
	return string(a), nil
}

// LiteralReader returns a streaming reader for a literal of up to limit octets (APPEND's
// message). The caller must read it to the end (or fail the connection) and then call
// FinishLiteral. binary is true for literal8.
func (r *Reader) LiteralReader(limit int64) (rd io.Reader, size int64, binary bool, err error) {
	if !r.atLiteral() {
		return nil, 0, false, syntax("Expected a literal")
	}
	if r.Peek() == '~' {
		binary = true
	}
	n, err := r.literalStart(limit)
	if err != nil {
		return nil, 0, false, err
	}
	return io.LimitReader(r.br, n), n, binary, nil
}

// FinishLiteral reads the line that follows a streamed literal.
func (r *Reader) FinishLiteral() error {
	return r.readLine()
}

// PendingLiteral returns the size of a literal the current line announces and whether it
// is synchronising; ok is false when there is none. APPEND uses it to refuse an oversized
// message before the client sends it.
func (r *Reader) PendingLiteral() (size int64, sync bool, ok bool) {
	if r.pending == nil || r.pending.started {
		return 0, false, false
	}
	return r.pending.size, r.pending.sync, true
}
