// Package server is the ESMTP server (RFC 5321) for the smtp, submission (RFC 6409) and
// smtps (RFC 8314) services: EHLO with AUTH, STARTTLS, PIPELINING, 8BITMIME, SMTPUTF8,
// SIZE, DSN, ENHANCEDSTATUSCODES and CHUNKING; recipients checked at RCPT time through a
// Router; messages written to the durable queue before the 250.
//
// Invariants:
//   - A 250 after DATA or BDAT LAST is sent only after the queue has made the message
//     durable (queue.Writer.Commit). A client that vanishes or times out mid-message gets
//     nothing acknowledged and leaves nothing behind (the writer is aborted).
//   - Relaying (a recipient the Router does not call ours) needs an authenticated session
//     or a RELAYCLIENT_FROM network, on every port; otherwise 550 5.7.1 at RCPT.
//   - Replies are buffered and flushed only when the client has no more pipelined input
//     waiting (RFC 2920), before blocking on a read; STARTTLS throws away any input
//     pipelined after it (no plaintext command injection into the TLS session).
//   - One goroutine per connection; a panic in a command becomes a 451 and the session ends.
package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"courier/internal/auth"
	"courier/internal/netx"
	"courier/internal/queue"
)

// Settings are the per-service settings, read from the service's files (esmtpd,
// esmtpd-msa, esmtpd-ssl) and Courier's control files.
type Settings struct {
	Hostname      string         // me: greeting, Received:, Message-ID
	AuthRequired  bool           // AUTH_REQUIRED: nothing but AUTH, EHLO, RSET, NOOP, QUIT before AUTH
	AuthMechs     []string       // ESMTPAUTH: offered without TLS
	AuthMechsTLS  []string       // ESMTPAUTH_TLS: offered with TLS (and from PlaintextFrom)
	TLS           *tls.Config    // for STARTTLS; nil: not offered
	TLSRequired   bool           // ESMTP_TLS_REQUIRED: STARTTLS before anything else
	NoVRFY        bool           // BOFHNOVRFY
	NoEXPN        bool           // BOFHNOEXPN
	AddMessageID  bool           // !NOADDMSGID: add Message-ID: when missing (submission)
	AddDate       bool           // !NOADDDATE: add Date: when missing (submission)
	RelayFrom     []netip.Prefix // RELAYCLIENT_FROM: networks that may relay without AUTH
	PlaintextFrom []netip.Prefix // PLAINTEXT_LOGIN_FROM: AUTH PLAIN/LOGIN without TLS
	MaxSize       int64          // SIZELIMIT / sizelimit; 0: unlimited
	MaxLine       int            // octets per content line incl. CRLF; 0: unlimited
	MaxHeader     int            // BOFHHEADERLIMIT: octets of the header block
	MaxRcpts      int            // bofh maxrcpts: RCPTs accepted per message
	MaxErrors     int            // bad commands before the session is closed
	Timeout       time.Duration  // waiting for a command or a data line
	TLSTimeout    time.Duration  // TLS handshake
}

// Defaults fills the zero fields of s with Courier's defaults.
func (s Settings) Defaults() Settings {
	if s.Hostname == "" {
		s.Hostname = "localhost"
	}
	if s.MaxHeader == 0 {
		s.MaxHeader = 100000
	}
	if s.MaxRcpts == 0 {
		s.MaxRcpts = 100
	}
	if s.MaxErrors == 0 {
		s.MaxErrors = 20
	}
	if s.Timeout == 0 {
		s.Timeout = 5 * time.Minute
	}
	if s.TLSTimeout == 0 {
		s.TLSTimeout = 60 * time.Second
	}
	return s
}

// Router decides at RCPT time where mail for an address goes (delivery.Resolver).
type Router interface {
	Route(ctx context.Context, addr string, relay bool) ([]queue.Recipient, error)
}

// Spool receives accepted messages: the queue (QueueSpool), or sendmail -bs's pickup
// directory.
type Spool interface {
	Create(env *queue.Envelope) (MessageWriter, error)
}

// MessageWriter takes one message's content; Commit makes it durable (the 250 follows only
// then), Abort throws it away.
type MessageWriter interface {
	io.Writer
	ID() string
	Commit() error
	Abort()
}

// QueueSpool is the queue as a Spool.
type QueueSpool struct{ Q *queue.Queue }

// Create implements Spool.
func (s QueueSpool) Create(env *queue.Envelope) (MessageWriter, error) {
	w, err := s.Q.Create(env)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Options configure a Server.
type Options struct {
	Service  string // smtp, submission, smtps
	Log      *slog.Logger
	Settings func() Settings // read at the start of every session (reload takes effect)
	Auth     auth.Module     // for AUTH (the auth chain)
	// Throttle slows down repeated failed AUTH attempts (shared with the other protocols);
	// nil disables it.
	Throttle *auth.Throttle
	Router   Router
	Queue    Spool
	// LocalFilter runs the local recipients' mail filters (localmailfilter(7)); nil
	// disables them.
	LocalFilter LocalFilter
	Now         func() time.Time
	// OnShutdown runs once after Shutdown has waited for the sessions (the composition
	// root closes the queue there).
	OnShutdown func(ctx context.Context)
}

// Server is the ESMTP protocol server; it implements netx.Handler.
type Server struct {
	o        Options
	sessions sync.WaitGroup
	once     sync.Once
}

// New returns a server.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{o: o}
}

var _ netx.Handler = (*Server)(nil)

// Refuse implements netx.Handler: the connection limit's answer (RFC 5321 section 3.8).
func (s *Server) Refuse(c net.Conn, reason string) {
	fmt.Fprintf(c, "421 4.7.0 %s\r\n", reason)
}

// ServeConn implements netx.Handler.
func (s *Server) ServeConn(ctx context.Context, c *netx.Conn) {
	s.sessions.Add(1)
	defer s.sessions.Done()
	defer c.Close()
	st := s.o.Settings().Defaults()
	ss := newSession(ctx, s, c, st)
	ss.run()
}

// Shutdown waits for the sessions to end (netx cancels their context, which ends idle ones
// at once and others after their current command) until ctx is done, then runs OnShutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.once.Do(func() {
		if s.o.OnShutdown != nil {
			s.o.OnShutdown(ctx)
		}
	})
	return nil
}

// newBuffers makes the reader and writer of a connection.
func newBuffers(c net.Conn) (*bufio.Reader, *bufio.Writer) {
	return bufio.NewReaderSize(c, 8<<10), bufio.NewWriterSize(c, 4<<10)
}
