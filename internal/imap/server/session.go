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
	"syscall"
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
// A network session (plain TCP or TLS) holds its buffers only while it has input to handle:
// they come from the Server's pools and go back to them while the session waits for its
// client (see awaitInput), so an idle connection costs no buffer at all.
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

	// Network sessions: in is what br reads from, out what w writes to (the connection,
	// through deadlineWriter); pooled says br and w came from the Server's pools (and go
	// back to them); raw, the TCP socket's descriptor access (under TLS too), lets
	// awaitInput wait for input without reading it; peek is awaitInput's test for input,
	// made once; overTLS says in is a TLS connection (await_tls.go).
	in      io.Reader
	out     io.Writer
	pooled  bool
	raw     syscall.RawConn
	peek    func(fd uintptr) bool
	overTLS bool
	cont    func() error // the wire.Reader's Continue

	state   int
	user    string // login name as the account knows it
	account *auth.Account
	maildir string
	st      store.Store
	ownsSt  bool
	sel     *selected

	utf8     bool      // ENABLE UTF8=ACCEPT
	idling   *idleWait // an IDLE command waiting for run to do its waiting (cmd_idle.go)
	tag      string
	started  time.Time
	lastIdle time.Time
}

func newSession(s *Server, ctx context.Context, log *slog.Logger, set *Settings) *session {
	return &session{srv: s, ctx: ctx, log: log, set: set, started: s.cfg.Now()}
}

// attach sets up buffered I/O on a network connection (again after STARTTLS).
func (ss *session) attach(c net.Conn) {
	ss.putBufs() // empty: STARTTLS refuses input buffered in clear, and flushed its answer
	ss.in, ss.out = c, deadlineWriter{c, authTimeout}
	ss.overTLS = false
	if nc, ok := c.(*netx.Conn); ok && nc.TLS != nil {
		ss.overTLS = true
	}
	ss.raw = rawConn(c)
	if ss.raw != nil && ss.peek == nil {
		ss.peek = peekFunc()
	}
	ss.getBufs()
}

// getBufs takes a reader and a writer from the Server's pools (a new wire.Reader each time:
// nothing of another session's command can be reached through a pooled one).
func (ss *session) getBufs() {
	ss.br = ss.srv.readers.Get().(*bufio.Reader)
	ss.br.Reset(ss.in)
	ss.w = ss.srv.writers.Get().(*bufio.Writer)
	ss.w.Reset(ss.out)
	ss.pooled = true
	ss.setupReader()
}

// putBufs gives the pooled buffers back when they hold nothing (a failed flush leaves the
// writer to the collector). br, w and r are nil until getBufs.
func (ss *session) putBufs() {
	if !ss.pooled {
		return
	}
	ss.pooled = false
	if ss.br.Buffered() == 0 {
		ss.br.Reset(nil)
		ss.srv.readers.Put(ss.br)
	}
	if ss.w.Buffered() == 0 {
		ss.w.Reset(nil)
		ss.srv.writers.Put(ss.w)
	}
	ss.br, ss.w, ss.r = nil, nil, nil
}

// awaitInput waits until the client has sent something, holding no buffers meanwhile, when
// the session can (a TCP socket, nothing buffered, all written). It returns nil when input
// (or the end of it) is there, or the error that ended the wait: the read deadline (also how
// shutdown and IDLE's notifications interrupt it), a broken connection. Either way the
// buffers are back when it returns; the caller's next read meets the same error. deadline
// is the read deadline the caller set (a TLS session's test for input moves it, then puts
// it back).
func (ss *session) awaitInput(deadline time.Time) error {
	if ss.raw == nil || !ss.pooled || ss.br.Buffered() > 0 || ss.w.Buffered() > 0 {
		return nil
	}
	if ss.overTLS {
		return ss.awaitTLSInput(deadline)
	}
	ss.putBufs()
	err := ss.raw.Read(ss.peek)
	ss.getBufs()
	return err
}

func (ss *session) setupReader() {
	ss.r = wire.NewReader(ss.br)
	if ss.cont == nil { // made once: setupReader runs for every command over TCP
		ss.cont = func() error {
			ss.w.WriteString("+ OK\r\n")
			return ss.flush()
		}
	}
	ss.r.Continue = ss.cont
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
		if ss.idling != nil {
			// An IDLE command's wait (cmd_idle.go), here so that no frame of the command
			// stays on the stack while the session waits.
			if ss.idleTurn() {
				ss.idleInput(ss.awaitInput(ss.idling.deadline))
			}
			continue
		}
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
			deadline := time.Now().Add(t)
			_ = ss.conn.SetReadDeadline(deadline)
			if ss.ctx.Err() != nil {
				ss.untagged("BYE Server shutting down")
				ss.flush()
				return
			}
			// Its error, if any, is met again by Begin's read.
			_ = ss.awaitInput(deadline)
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
	ss.endIdle()
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
