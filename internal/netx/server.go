// Package netx runs the network side of every service: listeners, connection limits in the
// manner of Courier's couriertcpd (MAXDAEMONS, MAXPERIP), TLS, connection ids and draining.
//
// Invariants: every accepted connection holds exactly one slot in its Server's counters until
// it is closed (by the handler, by Shutdown, or by the refusal path); a slot is released once,
// however often Close is called. Limits and handlers can be swapped while the server runs
// (configuration reload) and apply to connections accepted afterwards; connections already
// open are never disturbed by a reload.
package netx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"courier/internal/netx/access"
)

// Limits are couriertcpd's connection limits for one service. Zero means unlimited.
type Limits struct {
	MaxConns int // MAXDAEMONS: connections open at once for this listener
	MaxPerIP int // MAXPERIP: connections open at once from one remote address
	// Access is the access file (ACCESSFILE, IMAPACCESSFILE): addresses it denies are
	// dropped at once, as couriertcpd drops them; the variables it sets for an address are
	// the connection's Env, and its MAXCPERIP overrides MaxPerIP. nil: no access file.
	Access *access.File
}

// Handler speaks one protocol on accepted connections.
type Handler interface {
	// ServeConn runs one session. It owns c and must close it before returning, unless it
	// hands c over to another owner that closes it later (as the HTTP server does).
	ServeConn(ctx context.Context, c *Conn)
	// Refuse tells a client that it cannot be served, in the protocol's own words
	// ("421 …" for SMTP, "* BYE …" for IMAP, "-ERR …" for POP3), before the connection
	// is closed. reason is a short human text.
	Refuse(c net.Conn, reason string)
}

// Observer receives connection events; metrics use it. Every method must be cheap and safe
// for concurrent use. A nil Observer is allowed.
type Observer interface {
	ConnOpened(service string)
	ConnClosed(service string)
	// ConnRefused reports a connection turned away; limit is "maxdaemons", "maxperip" or
	// "access" (the access file denies the address).
	ConnRefused(service, limit string)
}

// IDSource hands out connection ids unique within one running app.
type IDSource struct{ n atomic.Uint64 }

// Next returns a fresh connection id such as "c0000001a".
func (s *IDSource) Next() string {
	return "c" + strconv.FormatUint(s.n.Add(1), 36)
}

// Conn is an accepted connection with what the protocol servers need to know about it.
type Conn struct {
	net.Conn
	ID      string       // connection id, on every log line of the session
	Service string       // service name: smtp, imaps, http, …
	Remote  string       // remote IP address, for limits and logs
	Log     *slog.Logger // logger with conn id and remote address attached
	// TLS is set when the connection started with implicit TLS (imaps, pop3s, smtps).
	TLS *tls.Conn
	// Env holds the variables the access file sets for the remote address (RELAYCLIENT,
	// BLOCK, SIZELIMIT, …); nil when none.
	Env map[string]string

	release func()
	once    sync.Once
}

// Close closes the connection and frees its slot.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.release != nil {
			c.release()
		}
	})
	return err
}

// StartTLS upgrades the connection in place (STARTTLS, STLS) with cfg and completes the
// handshake within the given time.
func (c *Conn) StartTLS(cfg *tls.Config, timeout time.Duration) error {
	tc := tls.Server(c.Conn, cfg)
	if timeout > 0 {
		_ = tc.SetDeadline(time.Now().Add(timeout))
	}
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	_ = tc.SetDeadline(time.Time{})
	c.Conn = tc
	c.TLS = tc
	return nil
}

// Server accepts connections for one service on one address.
type Server struct {
	Service string
	Log     *slog.Logger
	IDs     *IDSource
	Obs     Observer

	handler atomic.Pointer[handlerBox]
	limits  atomic.Pointer[Limits]
	tlsCfg  atomic.Pointer[tls.Config]

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*Conn]struct{}
	perIP   map[string]int
	closing bool
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

type handlerBox struct{ h Handler }

// NewServer makes a server for one service; call Configure before Serve.
func NewServer(service string, log *slog.Logger, ids *IDSource, obs Observer) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		Service: service, Log: log, IDs: ids, Obs: obs,
		conns: map[*Conn]struct{}{}, perIP: map[string]int{},
		ctx: ctx, cancel: cancel,
	}
}

// Configure sets (or, on reload, replaces) the handler, limits and implicit-TLS config.
// tlsCfg nil means plain TCP. It applies to connections accepted from now on.
func (s *Server) Configure(h Handler, lim Limits, tlsCfg *tls.Config) {
	s.handler.Store(&handlerBox{h})
	s.limits.Store(&lim)
	s.tlsCfg.Store(tlsCfg)
}

// Addr is the bound address, once Serve has been given a listener.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Open counts the connections open now.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Serve accepts on ln until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	var backoff time.Duration
	for {
		raw, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait a little instead of spinning.
			backoff = min(max(backoff*2, 5*time.Millisecond), time.Second)
			s.Log.Warn("accept failed", "service", s.Service, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.accept(raw)
	}
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func (s *Server) accept(raw net.Conn) {
	hb := s.handler.Load()
	lim := *s.limits.Load()
	ip := remoteIP(raw.RemoteAddr())
	id := s.IDs.Next()
	log := s.Log.With("conn", id, "service", s.Service, "remote", ip)

	var env map[string]string
	if lim.Access != nil {
		addr, _ := netip.ParseAddr(ip)
		r, err := lim.Access.Lookup(addr)
		if err != nil {
			log.Warn("access file", "file", lim.Access.Path(), "err", err)
		}
		if r.Deny {
			log.Info("connection refused", "limit", "access", "entry", r.Key)
			if s.Obs != nil {
				s.Obs.ConnRefused(s.Service, "access")
			}
			raw.Close()
			return
		}
		env = r.Env
		if v, ok := env["MAXCPERIP"]; ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				lim.MaxPerIP = n
			}
		}
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		raw.Close()
		return
	}
	reason, limit := "", ""
	switch {
	case lim.MaxConns > 0 && len(s.conns) >= lim.MaxConns:
		reason, limit = "Too many connections, try again later.", "maxdaemons"
	case lim.MaxPerIP > 0 && s.perIP[ip] >= lim.MaxPerIP:
		reason, limit = "Too many connections from your IP address, try again later.", "maxperip"
	}
	if reason != "" {
		s.mu.Unlock()
		log.Info("connection refused", "limit", limit)
		if s.Obs != nil {
			s.Obs.ConnRefused(s.Service, limit)
		}
		// The refusal is written from its own goroutine with a deadline so that a client
		// that never reads cannot stall the accept loop.
		go func() {
			_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
			if tc := s.tlsCfg.Load(); tc != nil {
				t := tls.Server(raw, tc)
				if t.Handshake() == nil {
					hb.h.Refuse(t, reason)
				}
				t.Close()
				return
			}
			hb.h.Refuse(raw, reason)
			raw.Close()
		}()
		return
	}
	c := &Conn{Conn: raw, ID: id, Service: s.Service, Remote: ip, Log: log, Env: env}
	s.conns[c] = struct{}{}
	s.perIP[ip]++
	s.wg.Add(1)
	s.mu.Unlock()
	c.release = func() {
		s.mu.Lock()
		delete(s.conns, c)
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
		s.mu.Unlock()
		if s.Obs != nil {
			s.Obs.ConnClosed(s.Service)
		}
		s.wg.Done()
	}
	if s.Obs != nil {
		s.Obs.ConnOpened(s.Service)
	}
	log.Debug("connection accepted")
	go s.serveOne(hb.h, c)
}

func (s *Server) serveOne(h Handler, c *Conn) {
	defer func() {
		if r := recover(); r != nil {
			c.Log.Error("session panicked", "panic", r)
			c.Close()
		}
	}()
	if tc := s.tlsCfg.Load(); tc != nil {
		t := tls.Server(c.Conn, tc)
		_ = t.SetDeadline(time.Now().Add(30 * time.Second))
		if err := t.Handshake(); err != nil {
			c.Log.Info("tls handshake failed", "err", err)
			c.Close()
			return
		}
		_ = t.SetDeadline(time.Time{})
		c.Conn = t
		c.TLS = t
	}
	h.ServeConn(s.ctx, c)
}

// StopAccepting closes the listener; open sessions go on undisturbed until they end or
// Shutdown is called. A reload that removes a listener uses it.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
}

// Shutdown stops accepting, tells sessions to finish (their context is cancelled), waits for
// them until ctx is done, then closes whatever is still open.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	s.mu.Lock()
	left := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		left = append(left, c)
	}
	s.mu.Unlock()
	if len(left) > 0 {
		s.Log.Warn("drain deadline passed; closing sessions", "service", s.Service, "open", len(left))
	}
	for _, c := range left {
		c.Close()
	}
	<-done
}

// Listen opens a TCP listener on addr ("127.0.0.1:143", ":0", "[::1]:25").
func Listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
