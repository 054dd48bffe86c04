package downgrade

import "bufio"

// maxQPLine is the longest encoded line before the soft line break's '=' (RFC 2045
// section 6.7 rule 5: at most 76 characters including it).
const maxQPLine = 75

// qpWriter quoted-printable encodes a body given as line pieces (RFC 2045 section 6.7).
// Line breaks of the body become hard line breaks; everything but printable ASCII other
// than '=' is written =XX; white space is literal except at the end of a line (rule 3),
// which is only known once the next octet comes, so one space or tab waits in ws.
type qpWriter struct {
	w   *bufio.Writer
	col int    // characters on the current output line
	ws  byte   // a space or tab not yet written (0: none)
	nl  string // line ending of soft line breaks: the message's own
}

// piece encodes one piece of a line; a piece ending in LF (or CRLF) ends its line.
func (q *qpWriter) piece(l []byte) {
	body, eol := l, ""
	switch n := len(l); {
	case n >= 2 && l[n-2] == '\r' && l[n-1] == '\n':
		body, eol = l[:n-2], "\r\n"
	case n >= 1 && l[n-1] == '\n':
		body, eol = l[:n-1], "\n"
	}
	for _, c := range body {
		q.octet(c)
	}
	if eol != "" {
		q.endLine(eol)
	}
}

// token writes an encoded unit, breaking the line first when it would not fit.
func (q *qpWriter) token(s string) {
	if q.col+len(s) > maxQPLine {
		q.w.WriteString("=" + q.nl)
		q.col = 0
	}
	q.w.WriteString(s)
	q.col += len(s)
}

func (q *qpWriter) octet(c byte) {
	if q.ws != 0 {
		q.token(string(q.ws)) // not at the end of the line after all
		q.ws = 0
	}
	switch {
	case c == ' ' || c == '\t':
		q.ws = c
	case c >= 33 && c <= 126 && c != '=':
		q.token(string(c))
	default:
		q.token(hexEsc(c))
	}
}

// endLine ends the current line with a hard line break.
func (q *qpWriter) endLine(eol string) {
	if q.ws != 0 {
		q.token(hexEsc(q.ws))
		q.ws = 0
	}
	q.w.WriteString(eol)
	q.col = 0
}

// flush ends a body whose last line has no line break.
func (q *qpWriter) flush() {
	if q.ws != 0 {
		q.token(hexEsc(q.ws))
		q.ws = 0
	}
}
