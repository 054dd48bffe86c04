package pop3

// Privilege separation, as Courier's pop3login does it: once an account with a uid of its
// own has logged in, the session goes on in another process that runs as that uid
// (`courier pop3d`, started by the Handoff that app wires to internal/privsep). This side
// offers the session to the Handoff right after a successful USER/PASS or AUTH; the other
// side, ServeLoggedIn, answers "+OK logged in." in the new process, as courierpop3d does.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"courier/internal/auth"
	"courier/internal/netx"
)

// HandoffSession is a logged-in session offered to a Handoff.
type HandoffSession struct {
	// Service is the listener's service ("pop3", "pop3s").
	Service string
	// Account is the authenticated account; User its login name (AUTHENTICATED).
	Account *auth.Account
	User    string
	// Maildir is the account's Maildir as the login stage resolved it.
	Maildir string
	// TLS says the client connection is encrypted (implicit TLS or STLS).
	TLS bool
	// Remote is the client's address (TCPREMOTEIP).
	Remote string
	// Conn is the client connection: a *net.TCPConn, or the *tls.Conn that decrypts it.
	Conn net.Conn
	// Buffered holds what the client sent after the login that the server has read but
	// not used (pipelined commands); the new process must read it first.
	Buffered []byte
	// Log is the session's logger (connection id attached).
	Log *slog.Logger
	// Started is called with the process id once another process serves the session; it
	// logs the login.
	Started func(pid int)
}

// Handoff moves logged-in sessions into processes of their own.
type Handoff interface {
	// Serve hands the session off if the account needs a process of its own, and returns
	// when that process has ended: (true, nil). It returns (false, nil) when the session
	// stays in this process, and (false, err) when the login must be refused, the
	// connection untouched: err wraps auth.ErrDisabled for a refusal by policy and
	// auth.ErrTempFail for a process that could not be started.
	Serve(ctx context.Context, s *HandoffSession) (handedOff bool, err error)
}

// SessionSettings are the names of the settings a session reads from the environment in
// `courier pop3d`: what the login stage passes on to a handed-off session.
func SessionSettings() []string {
	return []string{"POP3_LOG_DELETIONS"}
}

// handoff offers a logged-in session to the configured Handoff and reports whether the
// login has been dealt with (refused, or served by another process and over).
func (ss *session) handoff(a *auth.Account, user, method, maildir string) bool {
	h := ss.srv.cfg.Handoff
	if h == nil || ss.conn == nil {
		return false
	}
	if ss.flush() != nil {
		ss.state = stateDone
		return true
	}
	login := a.Address
	if login == "" {
		login = user
	}
	buffered, _ := ss.r.Peek(ss.r.Buffered())
	handed, err := h.Serve(ss.ctx, &HandoffSession{
		Service: ss.conn.Service, Account: a, User: login, Maildir: maildir, TLS: ss.conn.TLS != nil,
		Remote: ss.remote, Conn: ss.conn.Conn, Buffered: buffered, Log: ss.log,
		Started: func(pid int) {
			ss.log.Info("login", "user", login, "method", method, "tls", ss.conn.TLS != nil, "handoff", pid)
		},
	})
	switch {
	case err != nil && errors.Is(err, auth.ErrDisabled):
		ss.log.Warn("login refused", "user", login, "method", method, "err", err)
		ss.reply("-ERR [SYS/PERM] Login disabled for this account.")
		return true
	case err != nil:
		ss.log.Error("login: cannot start the session process", "user", login, "method", method, "err", err)
		ss.reply("-ERR [SYS/TEMP] Unable to open your mailbox, try again later.")
		return true
	case !handed:
		return false
	}
	// The session process logged the logout; privsep logged its end.
	// The connection was the other process's: nothing more from this one.
	ss.w = bufio.NewWriterSize(io.Discard, 64)
	ss.out = nil
	ss.state = stateDone
	return true
}

// LoggedIn describes a session whose login the login stage accepted before it started this
// process.
type LoggedIn struct {
	// User is the login name (AUTHENTICATED), for the logout line.
	User string
	// Remote is the client's address (TCPREMOTEIP).
	Remote string
}

// ServeLoggedIn runs the TRANSACTION state of a session that logged in in the login stage,
// on the connection (or socketpair) c the process inherited as standard input and output:
// it greets "+OK logged in." as courierpop3d does and serves md, which it closes, with a
// network session's idle timeout and unterminated-line rule; when ctx ends it says so and
// stops, deleting nothing.
func (s *Server) ServeLoggedIn(ctx context.Context, c net.Conn, md Maildrop, set *Settings, li LoggedIn) error {
	ss := s.newSession(s.cfg.Log, set)
	ss.ctx = ctx
	// Not closed here: it is standard input, which the process's exit closes.
	nc := &netx.Conn{Conn: c, Service: "pop3", Remote: li.Remote, Log: s.cfg.Log}
	ss.conn, ss.remote = nc, li.Remote
	ss.attach(nc)
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })
	defer stop()
	ss.loginName = li.User
	ss.open(md)
	ss.reply("+OK logged in.")
	ss.run()
	return ss.werr
}
