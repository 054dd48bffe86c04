package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"courier/internal/auth"
	"courier/internal/imap/wire"
	"courier/internal/netx"
	"courier/internal/store"
)

// Session states (RFC 3501 §3).
const (
	stateNotAuth = iota
	stateAuth
	stateSelected
	stateLogout
)

// Timeouts: RFC 3501 §5.4 asks for at least 30 minutes of inactivity before an
// authenticated client is logged out; before login Courier allows 60 seconds.
const (
	preAuthTimeout = 60 * time.Second
	authTimeout    = 30 * time.Minute
	tlsTimeout     = 30 * time.Second
)

// Buffer sizes: small, because most connections sit idle; big writes bypass the buffer.
const (
	readBufSize  = 4 << 10
	writeBufSize = 8 << 10
)

// session is one client connection (or one stdio session).
type session struct {
	srv    *Server
	ctx    context.Context
	log    *slog.Logger
	set    *Settings
	conn   *netx.Conn // nil for stdio
	stdio  bool
	remote string

	br   *bufio.Reader
	w    *bufio.Writer
	r    *wire.Reader
	werr error

	state   int
	user    string // login name as the account knows it
	account *auth.Account
	maildir string
	st      store.Store
	ownsSt  bool
	sel     *selected

	utf8     bool // ENABLE UTF8=ACCEPT
	tag      string
	started  time.Time
	lastIdle time.Time
}

func newSession(s *Server, ctx context.Context, log *slog.Logger, set *Settings) *session {
	return &session{srv: s, ctx: ctx, log: log, set: set, started: s.cfg.Now()}
}

// attach sets up buffered I/O on a network connection (again after STARTTLS).
func (ss *session) attach(c net.Conn) {
	ss.br = bufio.NewReaderSize(c, readBufSize)
	ss.w = bufio.NewWriterSize(deadlineWriter{c, authTimeout}, writeBufSize)
	ss.setupReader()
}

func (ss *session) setupReader() {
	ss.r = wire.NewReader(ss.br)
	ss.r.Continue = func() error {
		ss.w.WriteString("+ OK\r\n")
		return ss.flush()
	}
	if ss.set != nil && ss.set.AppendLimit > wire.DefaultMaxLiteral {
		// An APPEND streams its message; other literals stay small.
		ss.r.MaxLiteral = wire.DefaultMaxLiteral
	}
}

// deadlineWriter pushes the write deadline forward on every write, so a client that stops
// reading is dropped while a long download on a slow link goes on.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

// tlsState returns the connection's TLS state, nil without TLS.
func (ss *session) tlsState() *tls.ConnectionState {
	if ss.conn == nil || ss.conn.TLS == nil {
		return nil
	}
	st := ss.conn.TLS.ConnectionState()
	return &st
}

// secure reports whether the session is encrypted. A stdio session counts as secure: it
// runs over whatever channel started it.
func (ss *session) secure() bool {
	return ss.stdio || (ss.conn != nil && ss.conn.TLS != nil)
}

// flush writes out buffered responses.
func (ss *session) flush() error {
	if ss.werr != nil {
		return ss.werr
	}
	if err := ss.w.Flush(); err != nil {
		ss.werr = err
	}
	return ss.werr
}

// untagged writes "* " + s + CRLF.
func (ss *session) untagged(s string) {
	ss.w.WriteString("* ")
	ss.w.WriteString(s)
	ss.w.WriteString("\r\n")
}

// untaggedf is untagged with formatting.
func (ss *session) untaggedf(format string, args ...any) {
	ss.untagged(fmt.Sprintf(format, args...))
}

// writeRaw writes bytes as they are (a response built with wire.Append*).
func (ss *session) writeRaw(b []byte) {
	ss.w.Write(b)
}

// status is a command's outcome: OK, NO or BAD with an optional response code.
type status struct {
	kind string // "OK", "NO", "BAD"
	code string // without brackets
	text string
}

func (e *status) Error() string { return e.kind + " " + e.text }

func no(code, text string) *status  { return &status{kind: "NO", code: code, text: text} }
func bad(code, text string) *status { return &status{kind: "BAD", code: code, text: text} }
func ok(code, text string) *status  { return &status{kind: "OK", code: code, text: text} }

// errUnknown is Courier's answer to anything it cannot parse or run.
var errUnknown = no("", "Error in IMAP command received by server.")

// run reads and runs commands until LOGOUT, the end of input or a broken connection.
func (ss *session) run() {
	for ss.state != stateLogout && ss.werr == nil {
		if ss.r.Buffered() == 0 {
			if ss.flush() != nil {
				return
			}
		}
		if ss.conn != nil {
			t := authTimeout
			if ss.state == stateNotAuth {
				t = preAuthTimeout
			}
			_ = ss.conn.SetReadDeadline(time.Now().Add(t))
			if ss.ctx.Err() != nil {
				ss.untagged("BYE Server shutting down")
				ss.flush()
				return
			}
		}
		err := ss.r.Begin()
		if err != nil {
			var we *wire.Error
			if errors.As(err, &we) {
				ss.untagged("BAD " + we.Msg)
				if we.Fatal || !ss.r.Discard() {
					ss.untagged("BYE Protocol error")
					ss.flush()
					return
				}
				continue
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				if ss.ctx.Err() != nil {
					ss.untagged("BYE Server shutting down")
				} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
					ss.untagged("BYE Disconnected for inactivity.")
				}
				ss.flush()
			}
			return
		}
		ss.command()
	}
	ss.flush()
}

// command reads the tag and name of one command and runs it.
func (ss *session) command() {
	ss.tag = ""
	if ss.state == stateNotAuth && ss.smapAvailable() && ss.r.PeekFold(smapTag) {
		ss.smapCommand()
		return
	}
	tag, err := ss.r.Tag()
	if err != nil {
		ss.untagged("BAD Missing command tag")
		if !ss.r.Discard() {
			ss.state = stateLogout
		}
		return
	}
	ss.tag = tag
	var st *status
	func() {
		defer func() {
			if p := recover(); p != nil {
				ss.log.Error("imap command panicked", "panic", p, "stack", string(debug.Stack()))
				st = bad("", "Internal server error.")
			}
		}()
		st = ss.dispatch()
	}()
	if st == nil {
		// The handler answered already, or the connection is going away.
		return
	}
	if st.kind != "OK" && !ss.r.AtEnd() {
		if !ss.r.Discard() {
			ss.tagged(st)
			ss.untagged("BYE Protocol error")
			ss.state = stateLogout
			return
		}
	}
	ss.tagged(st)
}

// tagged writes the command's completion.
func (ss *session) tagged(st *status) {
	var b strings.Builder
	b.WriteString(ss.tag)
	b.WriteByte(' ')
	b.WriteString(st.kind)
	if st.code != "" {
		b.WriteString(" [")
		b.WriteString(st.code)
		b.WriteByte(']')
	}
	if st.text != "" {
		b.WriteByte(' ')
		b.WriteString(st.text)
	}
	b.WriteString("\r\n")
	ss.w.WriteString(b.String())
}

// wireErr turns a parse error into a status.
func wireErr(err error) *status {
	var we *wire.Error
	if errors.As(err, &we) {
		if we.No {
			return no(we.Code, we.Msg)
		}
		return bad(we.Code, we.Msg)
	}
	var st *status
	if errors.As(err, &st) {
		return st
	}
	return bad("", "Syntax error: "+err.Error())
}

// finish releases what the session holds.
func (ss *session) finish() {
	if ss.sel != nil {
		ss.closeSelected(false)
	}
	if ss.st != nil && ss.ownsSt {
		ss.emptyTrash()
		ss.st.Close()
	}
	ss.st = nil
	if ss.user != "" && !ss.stdio {
		ss.log.Info("logout", "user", ss.user, "duration", ss.srv.cfg.Now().Sub(ss.started).Round(time.Millisecond))
	}
}
