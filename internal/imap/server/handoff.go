package server

// Privilege separation, as Courier's imaplogin does it: once an account with a uid of its
// own has logged in, the session goes on in another process that runs as that uid
// (`courier imapd`, started by the Handoff that app wires to internal/privsep). This side
// offers the session to the Handoff right after a successful login (LOGIN, AUTHENTICATE,
// or SMAP's LOGIN); the other side, ServeLoggedIn, answers the login's tagged OK in the new
// process, as Courier's imapd does when it finds IMAPLOGINTAG in its environment.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"courier/internal/auth"
	"courier/internal/netx"
	"courier/internal/store"
)

// HandoffSession is a logged-in session offered to a Handoff.
type HandoffSession struct {
	// Service is the listener's service ("imap", "imaps").
	Service string
	// Account is the authenticated account; User its login name (AUTHENTICATED).
	Account *auth.Account
	User    string
	// Maildir is the account's Maildir as the login stage resolved it.
	Maildir string
	// Tag is the tag of the LOGIN or AUTHENTICATE command, which the new process answers
	// (IMAPLOGINTAG). It is empty for an SMAP login, whose answer is the SMAP session's
	// first line (PROTOCOL=SMAP1).
	Tag  string
	SMAP bool
	// TLS says the client connection is encrypted (implicit TLS or STARTTLS).
	TLS bool
	// Remote is the client's address (TCPREMOTEIP).
	Remote string
	// Conn is the client connection: a *net.TCPConn, or the *tls.Conn that decrypts it.
	Conn net.Conn
	// Buffered holds what the client sent after the login command that the server has
	// read but not used (pipelined commands); the new process must read it first.
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
// `courier imapd`: what the login stage passes on to a handed-off session.
func SessionSettings() []string {
	return []string{"IMAP_CAPABILITY", "IMAP_CAPABILITY_TLS", "IMAP_KEYWORDS", "IMAP_ACL",
		"SMAP_CAPABILITY", "IMAP_TRASHFOLDERNAME", "IMAP_EMPTYTRASH", "IMAP_MOVE_EXPUNGE_TO_TRASH",
		"IMAP_IDLE_TIMEOUT", "IMAP_DISABLETHREADSORT", "OUTBOX", "APPENDLIMIT", "MAILDIRPATH",
		"IMAP_SHAREDINDEXFILE", "IMAP_ENHANCEDIDLE", "IMAP_CHECK_ALL_FOLDERS", "IMAP_USELOCKS"}
}

// handoff offers a logged-in session to the configured Handoff. done says the login has
// been dealt with: st is then the answer to give (a refusal), or nil when another process
// served the session, which is over; this session then only closes the connection.
func (ss *session) handoff(a *auth.Account, user, method, maildir string) (st *status, done bool) {
	h := ss.srv.cfg.Handoff
	if h == nil || ss.conn == nil {
		return nil, false
	}
	// What this process answered so far (a pipelined CAPABILITY, say) goes out before the
	// new process speaks.
	if ss.flush() != nil {
		ss.state = stateLogout
		return nil, true
	}
	login := a.Address
	if login == "" {
		login = user
	}
	buffered, _ := ss.br.Peek(ss.br.Buffered())
	smap := strings.HasPrefix(method, "SMAP")
	hs := &HandoffSession{
		Service: ss.conn.Service, Account: a, User: login, Maildir: maildir, SMAP: smap,
		TLS: ss.conn.TLS != nil, Remote: ss.remote, Conn: ss.conn.Conn, Buffered: buffered, Log: ss.log,
		Started: func(pid int) {
			ss.log.Info("login", "user", login, "method", method, "tls", ss.secure(), "handoff", pid)
		},
	}
	if !smap {
		hs.Tag = ss.tag
	}
	handed, err := h.Serve(ss.ctx, hs)
	switch {
	case err != nil && errors.Is(err, auth.ErrDisabled):
		ss.log.Warn("login refused", "user", login, "method", method, "err", err)
		return no("CONTACTADMIN", "Login disabled for this account."), true
	case err != nil:
		ss.log.Error("login: cannot start the session process", "user", login, "method", method, "err", err)
		return no("UNAVAILABLE", "Unable to open your mailbox, try again later."), true
	case !handed:
		return nil, false
	}
	// The session process logged the logout; privsep logged its end.
	// The connection was the other process's: nothing more from this one, whatever the
	// caller would still write.
	ss.pooled = false // the buffered input went with the connection: not for another session
	ss.w = bufio.NewWriterSize(io.Discard, 64)
	ss.state = stateLogout
	return nil, true
}

// LoggedIn describes a session whose login the login stage accepted before it started this
// process (Courier's imapd with IMAPLOGINTAG set).
type LoggedIn struct {
	// Tag is the login command's tag, answered first.
	Tag string
	// User is the login name (AUTHENTICATED); Options the account's (OPTIONS), for ACL
	// groups.
	User    string
	Options auth.Options
	// Maildir is where st lives.
	Maildir string
	// TLS says the client's connection is encrypted (IMAP_TLS=1): the capability is then
	// IMAP_CAPABILITY_TLS.
	TLS bool
	// Remote is the client's address (TCPREMOTEIP).
	Remote string
}

// ServeLoggedIn runs the rest of a session that logged in in the login stage: it answers
// "TAG OK [CAPABILITY …] LOGIN Ok." — what an in-process login answers — and serves the
// authenticated state on st, which it closes. When in and out are the same net.Conn (the
// connection or socketpair inherited as standard input and output), the session has a
// network session's timeouts and ends with "* BYE" when ctx ends; otherwise it runs on the
// streams like ServeStdio, without timeouts.
func (s *Server) ServeLoggedIn(ctx context.Context, in io.Reader, out io.Writer, st store.Store, set *Settings, li LoggedIn) error {
	log := s.cfg.Log
	ss := newSession(s, ctx, log, loggedInSettings(set, li.TLS))
	ss.remote = li.Remote
	if c, ok := in.(net.Conn); ok && any(out) == any(in) {
		// Not closed here: it is standard input, which the process's exit closes.
		nc := &netx.Conn{Conn: c, Service: "imap", Remote: li.Remote, Log: log}
		ss.conn = nc
		ss.attach(nc)
		stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })
		defer stop()
	} else {
		// A stdio session counts as secure; loggedInSettings already chose the capability.
		ss.stdio = true
		ss.br = bufio.NewReaderSize(in, 16<<10)
		ss.w = bufio.NewWriterSize(out, 32<<10)
		ss.setupReader()
	}
	ss.account = &auth.Account{Address: li.User, Options: li.Options}
	ss.st, ss.ownsSt, ss.maildir, ss.user = st, true, li.Maildir, li.User
	ss.state = stateAuth
	ss.tag = li.Tag
	ss.tagged(ok("CAPABILITY "+ss.capability(), "LOGIN Ok."))
	ss.tag = ""
	ss.run()
	ss.finish()
	return ss.werr
}

// loggedInSettings fixes the capability list for a session whose TLS the login stage
// terminated: this process cannot see the encryption, so the choice between
// IMAP_CAPABILITY and IMAP_CAPABILITY_TLS is made here, from the login stage's word.
func loggedInSettings(set *Settings, tls bool) *Settings {
	c := *set
	if tls && len(c.CapabilityTLS) > 0 {
		c.Capability = c.CapabilityTLS
	} else {
		c.CapabilityTLS = nil
	}
	return &c
}
