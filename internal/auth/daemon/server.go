package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"courier/internal/auth"
)

// Server answers authdaemon requests from a module (normally an
// *auth.Chain). Zero values of the optional fields take the defaults noted.
type Server struct {
	Auth    auth.Module
	Logger  *slog.Logger  // nil: discard
	Timeout time.Duration // per request (30s, as authdaemond)
	// MaxConns bounds concurrent requests (Courier's "daemons"; 0 → 64).
	MaxConns int
	// Debug is DEBUG_LOGIN: 1 logs requests and outcomes, 2 also passwords.
	Debug int
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Serve accepts connections until ctx ends or l fails; it closes l when ctx
// ends and waits for requests in progress.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	maxc := s.MaxConns
	if maxc <= 0 {
		maxc = 64
	}
	sem := make(chan struct{}, maxc)
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("authdaemon: accept: %w", err)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			c.Close()
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.ServeConn(ctx, c)
		}()
	}
}

// ServeConn answers one request on c and closes it.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.SetDeadline(time.Now().Add(timeout))
	defer func() {
		if r := recover(); r != nil {
			s.logger().Error("authdaemon: panic in request", "panic", fmt.Sprint(r))
		}
	}()
	req, err := ReadRequest(bufio.NewReaderSize(c, 4096))
	if err != nil {
		s.logger().Debug("authdaemon: bad request", "err", err)
		return
	}
	reply := s.Handle(ctx, req)
	if reply != nil {
		c.Write(reply)
	}
}

// Handle computes the reply to one request; nil means close without
// answering (temporary failure).
func (s *Server) Handle(ctx context.Context, req *Request) []byte {
	log := s.logger()
	if req.Fail {
		return []byte("FAIL\n")
	}
	switch req.Command {
	case CmdPre:
		if s.Debug > 0 {
			log.Info("authdaemon: received userid lookup request", "service", req.Service, "user", req.User)
		}
		a, err := s.Auth.Lookup(ctx, req.Service, req.User)
		return s.accountReply(a, err, req)
	case CmdAuth:
		ar, ok := req.AuthRequest()
		if s.Debug > 0 {
			attrs := []any{"service", req.Service, "authtype", req.AuthType}
			if ok {
				attrs = append(attrs, "user", ar.User)
				if s.Debug > 1 {
					attrs = append(attrs, "password", ar.Password)
				}
			}
			log.Info("authdaemon: received auth request", attrs...)
		}
		if !ok {
			return []byte("FAIL\n")
		}
		a, err := s.Auth.Authenticate(ctx, ar)
		return s.accountReply(a, err, req)
	case CmdPasswd:
		err := s.Auth.ChangePassword(ctx, req.Service, req.User, req.OldPW, req.NewPW)
		if err != nil {
			log.Info("authdaemon: password change failed", "service", req.Service, "user", req.User, "err", err)
			return []byte("FAIL\n")
		}
		log.Info("authdaemon: password changed", "service", req.Service, "user", req.User)
		return []byte("OK\n")
	case CmdEnumerate:
		return s.enumerate(ctx)
	}
	return nil
}

// accountReply formats a PRE/AUTH outcome.
func (s *Server) accountReply(a *auth.Account, err error, req *Request) []byte {
	if err == nil {
		if s.Debug > 0 {
			s.logger().Info("authdaemon: accepted", "service", req.Service, "user", a.Address, "module", a.Module)
		}
		return FormatAccount(a)
	}
	if auth.IsReject(err) {
		if s.Debug > 0 {
			s.logger().Info("authdaemon: rejected", "service", req.Service, "err", err)
		}
		return []byte("FAIL\n")
	}
	s.logger().Warn("authdaemon: temporary failure", "service", req.Service, "err", err)
	return nil
}

// enumerate lists every account, with a "# module" header per module as
// authdaemond does; an error part-way leaves the reply without its final
// ".", which clients read as a temporary failure.
func (s *Server) enumerate(ctx context.Context) []byte {
	var out []byte
	mods := []auth.Module{s.Auth}
	var defaults auth.Options
	if ch, ok := s.Auth.(*auth.Chain); ok {
		mods, defaults = ch.Modules, ch.DefaultOptions
	}
	for _, m := range mods {
		out = append(out, "# "+m.Name()+"\n\n"...)
		err := m.Enumerate(ctx, func(a *auth.Account) error {
			a.Options = a.Options.Merge(defaults)
			out = append(out, FormatEnumerated(a)...)
			return nil
		})
		if err != nil && !errors.Is(err, auth.ErrNotSupported) {
			s.logger().Warn("authdaemon: enumeration terminated prematurely", "module", m.Name(), "err", err)
			return out
		}
	}
	return append(out, ".\n"...)
}

// Listen creates the socket at path for the daemon: the directory is made
// (0750) if missing, a stale socket left by a dead daemon is removed, a live
// one is an error, and the socket is made world-connectable (0777) as
// Courier's is (the directory's mode is what restricts access).
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("authdaemon: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("authdaemon: %s: another daemon is answering", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("authdaemon: remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("authdaemon: %w", err)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		l.Close()
		return nil, fmt.Errorf("authdaemon: %w", err)
	}
	return l, nil
}
