// Package wire is the SMTP wire format (RFC 5321 and its extensions): the command-line
// parser (verbs, MAIL FROM and RCPT TO paths with their ESMTP parameters), reply formatting
// with enhanced status codes (RFC 2034, RFC 3463), and the DATA reader (dot-unstuffing,
// line endings, size and line-length limits).
//
// Invariants: nothing returned by a parser contains a control character (CR, LF, NUL …), so
// values may be copied into headers and logs as they are; the DATA reader ends a message only
// at CRLF "." CRLF (never at a bare LF before or after the dot, so SMTP smuggling does not
// work) and always leaves the connection positioned after the terminator when it reports a
// policy violation and Drain is called. The package holds no state of its own.
package wire

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// Reply is one SMTP reply: a three-digit code, an enhanced status code (may be empty) and
// one or more text lines. A Reply is also an error, so handlers can return the protocol
// outcome as it will be sent.
type Reply struct {
	Code     int
	Enhanced string // "5.1.1"; empty for none
	Lines    []string
}

// R builds a one-line reply.
func R(code int, enhanced, text string) *Reply {
	return &Reply{Code: code, Enhanced: enhanced, Lines: []string{text}}
}

// Rf builds a one-line reply with a formatted text.
func Rf(code int, enhanced, format string, args ...any) *Reply {
	return R(code, enhanced, fmt.Sprintf(format, args...))
}

// Error implements error.
func (r *Reply) Error() string {
	return strconv.Itoa(r.Code) + " " + strings.TrimSpace(r.Enhanced+" "+strings.Join(r.Lines, " / "))
}

// Temporary reports a 4xx reply.
func (r *Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// WriteTo writes the reply in wire form ("250-first", …, "250 last"). With enhanced false the
// enhanced code is left out (before EHLO negotiated ENHANCEDSTATUSCODES, or for replies that
// must not carry one: the greeting and EHLO). Text is cleaned of control characters.
func (r *Reply) WriteTo(w *bufio.Writer, enhanced bool) error {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	for i, l := range lines {
		w.WriteString(strconv.Itoa(r.Code))
		if i < len(lines)-1 {
			w.WriteByte('-')
		} else {
			w.WriteByte(' ')
		}
		if enhanced && r.Enhanced != "" {
			w.WriteString(r.Enhanced)
			if l != "" {
				w.WriteByte(' ')
			}
		}
		writeClean(w, l)
		if _, err := w.WriteString("\r\n"); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
	}
	return nil
}

// writeClean writes s with every control character replaced by '?'.
func writeClean(w *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		w.WriteByte(c)
	}
}
