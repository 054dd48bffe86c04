// Package pop3 is the POP3 server: RFC 1939 with CAPA (RFC 2449), STLS (RFC 2595), SASL
// AUTH (RFC 5034), UTF8 and LANG (RFC 6856) and response codes (RFC 2449 §8, RFC 3206), in
// the manner of Courier's pop3login + courierpop3d: the same replies, the same message
// numbering and UIDLs (the Maildrop decides those), the same bytes on the wire.
//
// A session is one goroutine. It reads one command line at a time (at most MaxLine octets;
// longer lines are refused and skipped), answers it, and flushes its output whenever no
// further command is already waiting (PIPELINING). The maildrop is opened at login and its
// message list is fixed for the session (RFC 1939 §5); DELE only marks messages, and they
// are removed in the UPDATE state that QUIT enters from TRANSACTION. A session that ends any
// other way (end of input, idle timeout, a dropped connection, server shutdown) removes
// nothing. The server holds no lock while writing to a client.
package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"courier/internal/auth"
	"courier/internal/netx"
)

// DefaultIdleTimeout is how long a session may wait for a command: RFC 1939 §3 says at
// least 10 minutes.
const DefaultIdleTimeout = 10 * time.Minute

// Config is what a Server needs; app builds it.
type Config struct {
	// Auth verifies credentials (normally an *auth.Chain). Service "pop3".
	Auth auth.Module
	// Throttle slows down repeated failed logins; nil disables it.
	Throttle *auth.Throttle
	// Opener opens an authenticated account's Maildir.
	Opener Opener
	// Settings returns the settings in force for a service ("pop3", "pop3s") now.
	Settings func(service string) (*Settings, error)
	// Log receives session events; each session adds its connection id.
	Log *slog.Logger
	// IdleTimeout ends a session that sends no command for this long; zero means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Hostname goes into SASL CRAM challenges.
	Hostname string
	// Handoff, when set, moves sessions of accounts with their own uid into processes
	// running as that uid (see handoff.go).
	Handoff Handoff
}

// Server serves POP3 sessions; it implements netx.Handler. Safe for concurrent use.
type Server struct {
	cfg  Config
	bufs sync.Pool // *[]byte read buffers for message files
}

// New makes a server.
func New(cfg Config) *Server {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg}
	s.bufs.New = func() any { b := make([]byte, 64<<10); return &b }
	return s
}

// Refuse implements netx.Handler: a connection over the limits is told why and closed.
func (s *Server) Refuse(c net.Conn, reason string) {
	fmt.Fprintf(c, "-ERR [SYS/TEMP] %s\r\n", reason)
}

// ServeConn implements netx.Handler: one network session, from the greeting to QUIT.
func (s *Server) ServeConn(ctx context.Context, c *netx.Conn) {
	defer c.Close()
	log := c.Log
	if log == nil {
		log = s.cfg.Log.With("conn", c.ID, "remote", c.Remote)
	}
	var set *Settings
	var err error
	if s.cfg.Settings != nil {
		set, err = s.cfg.Settings(c.Service)
	}
	if err != nil || set == nil {
		log.Error("pop3 settings", "err", err)
		fmt.Fprintf(c, "-ERR [SYS/TEMP] Temporary problem, please try again later\r\n")
		return
	}
	ss := s.newSession(log, set)
	ss.conn = c
	ss.remote = c.Remote
	ss.attach(c)
	// Server shutdown: interrupt a read that waits for the next command. A session in the
	// middle of a command finishes it first (see nextLine).
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })
	defer stop()
	ss.ctx = ctx
	ss.reply("+OK Hello there.")
	ss.run()
}

// ServeMaildrop runs a pre-authenticated session (courierpop3d's mode: what
// "courier pop3d MAILDIR" does on standard input and output): it greets "+OK logged in."
// and starts in the TRANSACTION state on md, which it closes. At the end of input it stops
// silently, removing nothing unless QUIT was sent.
func (s *Server) ServeMaildrop(ctx context.Context, in io.Reader, out io.Writer, md Maildrop) error {
	ss := s.newSession(s.cfg.Log, &Settings{MaildirPath: "Maildir"})
	ss.ctx = ctx
	ss.stdio = true
	ss.r = bufio.NewReaderSize(in, MaxLine+2)
	ss.out = out
	ss.w = bufio.NewWriterSize(out, 32<<10)
	ss.open(md)
	ss.reply("+OK logged in.")
	ss.run()
	return ss.werr
}

// newSession makes a session in the AUTHORIZATION state.
func (s *Server) newSession(log *slog.Logger, set *Settings) *session {
	return &session{srv: s, set: set, log: log, state: stateAuthorization, started: time.Now()}
}

// deadlineWriter pushes the write deadline forward on every write, so a client that stops
// reading is dropped after the idle timeout while a long download on a slow link goes on.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

// attach points the session's reader and writer at c (again after STLS).
func (ss *session) attach(c net.Conn) {
	ss.r = bufio.NewReaderSize(c, MaxLine+2)
	ss.out = deadlineWriter{c, ss.srv.cfg.IdleTimeout}
	ss.w = bufio.NewWriterSize(ss.out, 16<<10)
}

// downloadBuffer is the output buffer of a session once it sends a message: each write to
// the socket carries up to this much (several messages of typical size, or one large one in
// a few writes), where the replies of the AUTHORIZATION state need little.
const downloadBuffer = 256 << 10

// growWriter gives the session its download buffer, before the first RETR or TOP reply.
func (ss *session) growWriter() {
	if ss.out == nil || ss.w.Size() >= downloadBuffer {
		return
	}
	if ss.flush() != nil {
		return
	}
	ss.w = bufio.NewWriterSize(ss.out, downloadBuffer)
}

// tlsState returns the connection's TLS state, nil without TLS.
func (ss *session) tlsState() *tls.ConnectionState {
	if ss.conn == nil || ss.conn.TLS == nil {
		return nil
	}
	st := ss.conn.TLS.ConnectionState()
	return &st
}

// secure reports whether the session is encrypted. A pre-authenticated session on standard
// input and output counts as secure: it runs over whatever channel started it (ssh).
func (ss *session) secure() bool {
	return ss.stdio || (ss.conn != nil && ss.conn.TLS != nil)
}

// errTooLong reports a command line over MaxLine.
var errTooLong = errors.New("pop3: command line too long")

// nextLine reads one command line without its line end. It returns io.EOF at the end of
// input and errTooLong (having skipped the line) for an overlong one.
func (ss *session) nextLine() ([]byte, error) {
	if !ss.lineBuffered() {
		if err := ss.flush(); err != nil {
			return nil, err
		}
	}
	if ss.conn != nil {
		_ = ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.IdleTimeout))
		// A shutdown that struck before the deadline was set would be lost: look again.
		if ss.ctx.Err() != nil {
			return nil, ss.ctx.Err()
		}
	}
	line, err := ss.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			ss.rcvd += int64(len(line))
			_, err = ss.r.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		return nil, errTooLong
	}
	ss.rcvd += int64(len(line))
	if err != nil {
		// An unterminated last line: courierpop3d still runs it, and so does the
		// pre-authenticated session; a network session drops it, so that a connection cut in
		// the middle of "QUIT" deletes nothing.
		if errors.Is(err, io.EOF) && len(line) > 0 && ss.stdio {
			return trimEOL(line), nil
		}
		return nil, err
	}
	return trimEOL(line), nil
}

// lineBuffered reports whether a whole command line is already buffered (a pipelining
// client), so the replies so far need not be flushed yet.
func (ss *session) lineBuffered() bool {
	b, _ := ss.r.Peek(ss.r.Buffered())
	for _, c := range b {
		if c == '\n' {
			return true
		}
	}
	return false
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// reply writes one response line with CRLF.
func (ss *session) reply(line string) {
	if ss.werr != nil {
		return
	}
	n, err := ss.w.WriteString(line)
	ss.sent += int64(n)
	if err == nil {
		err = ss.w.WriteByte('\r')
	}
	if err == nil {
		err = ss.w.WriteByte('\n')
	}
	ss.sent += 2
	if err != nil {
		ss.werr = err
	}
}

// replyf formats one response line.
func (ss *session) replyf(format string, args ...any) { ss.reply(fmt.Sprintf(format, args...)) }

// flush sends buffered output.
func (ss *session) flush() error {
	if ss.werr != nil {
		return ss.werr
	}
	if err := ss.w.Flush(); err != nil {
		ss.werr = err
	}
	return ss.werr
}

// run is the command loop; it returns when the session ends.
func (ss *session) run() {
	defer ss.finish()
	for ss.state != stateDone {
		line, err := ss.nextLine()
		if errors.Is(err, errTooLong) {
			ss.reply("-ERR Command line too long.")
			continue
		}
		if err != nil {
			var ne net.Error
			switch {
			case ss.ctx.Err() != nil:
				ss.reply("-ERR [SYS/TEMP] Server shutting down, try again later.")
				ss.log.Info("session ended by server shutdown")
			case errors.As(err, &ne) && ne.Timeout():
				ss.reply("-ERR Disconnected for inactivity.")
				ss.log.Info("idle timeout")
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
				ss.log.Debug("client disconnected")
			default:
				ss.log.Info("read failed", "err", err)
			}
			_ = ss.flush()
			return
		}
		if !ss.command(line) {
			return
		}
		if ss.werr != nil {
			ss.log.Info("write failed", "err", ss.werr)
			return
		}
	}
}

// command runs one command line; false ends the session (a bug caught, or STLS failure).
func (ss *session) command(line []byte) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ss.log.Error("pop3 command panicked", "panic", r)
			ss.reply("-ERR [SYS/TEMP] Internal error, disconnecting.")
			_ = ss.flush()
			ok = false
		}
	}()
	return ss.dispatch(ParseCommand(line))
}

// finish ends the session: close the maildrop (after UPDATE, if QUIT ran it) and log.
func (ss *session) finish() {
	_ = ss.flush()
	if ss.md != nil {
		if l, ok := ss.md.(interface{ LockRenames() (func(), error) }); ok && len(ss.seen) > 0 {
			if unlock, err := l.LockRenames(); err == nil {
				defer unlock()
			} else {
				ss.log.Warn("cannot lock the maildrop for the seen flags", "err", err)
			}
		}
		for _, i := range ss.seen {
			if ss.deleted[i] && ss.quit {
				continue // removed by UPDATE
			}
			if err := ss.md.Seen(i); err != nil && !errors.Is(err, ErrGone) {
				ss.log.Warn("cannot mark a message seen", "msg", i+1, "err", err)
			}
		}
		if err := ss.md.Close(); err != nil {
			ss.log.Warn("closing maildrop", "err", err)
		}
	}
	if ss.loginName != "" || ss.md != nil {
		ss.log.Info("logout", "user", ss.loginName, "top", ss.topBytes, "retr", ss.retrBytes,
			"rcvd", ss.rcvd, "sent", ss.sent, "time", time.Since(ss.started).Round(time.Second).String())
	}
}
