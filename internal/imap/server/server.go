// Package server is the IMAP server: IMAP4rev1 (RFC 3501) in the manner of Courier-IMAP —
// the same responses, the same numbering, the same bytes on the wire where a client can
// see them — with the extensions Courier has (UIDPLUS, CHILDREN, NAMESPACE, SORT, THREAD,
// QUOTA, IDLE, ACL, ID, ENABLE, UTF8=ACCEPT, keywords) and those clients now expect
// (LITERAL+, MOVE, UNSELECT, SPECIAL-USE, LIST-EXTENDED, LIST-STATUS, ESEARCH, APPENDLIMIT,
// STATUS=SIZE, SASL-IR).
//
// A session is one goroutine: it reads a command (wire.Reader), runs it against the
// account's store.Store and the selected store.Mailbox, and writes the responses to a
// buffered writer that is flushed when no further command is waiting. The session keeps its
// own list of the selected mailbox's messages (the IMAP view: sequence number i is
// msgs[i-1]); it changes only when the session reports the change to the client, so
// sequence numbers stay what the client was told (RFC 3501 §7.4.1). Changes made by others
// are picked up, as Courier does, by NOOP, CHECK, IDLE and EXPUNGE, never in the middle of
// FETCH, STORE or SEARCH. The server holds no lock while writing to a client.
//
// Idle connections cost little (session.go, cmd_idle.go, await_tls.go): over TCP, plain or
// TLS, a session waits for its client's next command, and IDLE waits for DONE, without
// reading, holding no buffer (its reader and writer go back to the Server's pools) and no
// goroutine but its own; IDLE learns of changes through the mailbox's OnUpdate, which
// interrupts that wait.
//
// Each command runs under a recover: a bug answers BAD and the session goes on.
package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"courier/internal/auth"
	"courier/internal/netx"
	"courier/internal/store"
	"courier/internal/store/hdrcache"
)

// Opener opens an account's mail store at the Maildir path.
type Opener func(ctx context.Context, a *auth.Account, maildir string) (store.Store, error)

// SMAPSession describes the account an SMAP session runs for.
type SMAPSession struct {
	User    string
	Groups  []string
	Maildir string
	Env     map[string]string // the imapd settings SMAP honours (IMAP_KEYWORDS, …)
}

// SMAPHandler runs a Courier SMAP session on a connection that logged in with Courier's
// "\SMAP1" tag; its first line answers the login. It returns when the session ends.
type SMAPHandler func(ctx context.Context, in *bufio.Reader, out io.Writer, st store.Store, s SMAPSession) error

// Config is what a Server needs; app builds it.
type Config struct {
	// Auth verifies credentials (normally an *auth.Chain). Service "imap".
	Auth auth.Module
	// Throttle slows down repeated failed logins; nil disables it.
	Throttle *auth.Throttle
	// Open opens an authenticated account's store.
	Open Opener
	// Settings returns the settings in force for a service ("imap", "imaps") now.
	Settings func(service string) (*Settings, error)
	// SMAP, when set, serves SMAP1 sessions.
	SMAP SMAPHandler
	// Outbox sends a message appended or copied to the Outbox folder (OUTBOX); nil means
	// sending is not available and such an APPEND or COPY fails.
	Outbox func(ctx context.Context, user string, msg io.Reader) error
	// Handoff, when set, moves sessions of accounts with their own uid into processes
	// running as that uid (see handoff.go).
	Handoff Handoff
	// Log receives session events; each session adds its connection id.
	Log *slog.Logger
	// Hostname goes into SASL CRAM challenges.
	Hostname string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server serves IMAP sessions; it implements netx.Handler. Safe for concurrent use.
type Server struct {
	cfg Config
	// Buffers of network sessions, lent while a session has input to handle (session.go):
	// thousands of idle connections then share a few.
	readers, writers sync.Pool
	// headers is the process's header cache for SEARCH (hdrcache.go), shared by sessions.
	headers *hdrcache.Cache
}

// New makes a server.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, headers: hdrcache.New(headerCacheBytes, cfg.Log)}
	s.readers.New = func() any { return bufio.NewReaderSize(nil, readBufSize) }
	s.writers.New = func() any { return bufio.NewWriterSize(nil, writeBufSize) }
	return s
}

// Refuse implements netx.Handler: a connection over the limits is told why and closed.
func (s *Server) Refuse(c net.Conn, reason string) {
	fmt.Fprintf(c, "* BYE [UNAVAILABLE] %s\r\n", reason)
}

// ServeConn implements netx.Handler: one network session, from the greeting to LOGOUT.
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
		log.Error("imap settings", "err", err)
		fmt.Fprintf(c, "* BYE [UNAVAILABLE] Temporary problem, please try again later\r\n")
		return
	}
	ss := newSession(s, ctx, log, set)
	ss.conn = c
	ss.remote = c.Remote
	ss.attach(c)
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })
	defer stop()
	ss.untagged("OK [CAPABILITY " + ss.capability() + "] " + set.Greeting)
	ss.run()
	ss.finish()
	ss.putBufs()
}

// ServeStdio runs a pre-authenticated session on in and out (what `courier imapd` does
// after a login stage, or under a tunnel): it purges old Trash messages (IMAP_EMPTYTRASH),
// then greets "* PREAUTH Ready." in the authenticated state on st, which it does not close.
// At the end of input it stops silently.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, st store.Store, maildir, user string, set *Settings) error {
	ss := newSession(s, ctx, s.cfg.Log, set)
	ss.stdio = true
	ss.br = bufio.NewReaderSize(in, 16<<10)
	ss.w = bufio.NewWriterSize(out, 32<<10)
	ss.setupReader()
	ss.st, ss.maildir, ss.user = st, maildir, user
	ss.state = stateAuth
	// Courier's imapd empties Trash at start, before its greeting. The store is the caller's,
	// so finish (which purges owned stores at logout) does not do it here.
	ss.emptyTrash()
	ss.untagged("PREAUTH Ready.")
	ss.run()
	ss.finish()
	return ss.werr
}
