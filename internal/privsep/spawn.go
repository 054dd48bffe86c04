package privsep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"courier/internal/auth"
)

// Defaults of Options.
const (
	// DefaultKillAfter is how long a child may take to end after SIGTERM.
	DefaultKillAfter = 10 * time.Second
	// finalOutputGrace bounds how long the parent goes on delivering what a child wrote
	// before it exited to a client that does not read.
	finalOutputGrace = 30 * time.Second
	// waitDelay bounds how long Wait waits for the child's standard error to close after
	// the child has exited (a grandchild could hold it open).
	waitDelay = 5 * time.Second
	// proxyBuf is the copy buffer of each proxy direction.
	proxyBuf = 32 << 10
)

// Options configure a Spawner.
type Options struct {
	// Executable is the program a child runs; empty means this process's own executable
	// (os.Executable), run with argv[0] "courier" so that it dispatches on its first
	// argument whatever link name the server was started by.
	Executable string
	// KillAfter is how long a child may take to end after SIGTERM before it gets SIGKILL;
	// zero means DefaultKillAfter.
	KillAfter time.Duration
	// Geteuid returns the server's effective uid; nil means os.Geteuid. Tests fake it.
	Geteuid func() int
	// Lookup finds system accounts; nil means LookupSystemUser.
	Lookup UserLookup
}

// Spawner starts session processes. Safe for concurrent use.
type Spawner struct {
	exe       string
	exeErr    error
	killAfter time.Duration
	geteuid   func() int
	lookup    UserLookup
}

// New makes a Spawner. The executable is resolved now, once: a server whose binary is
// replaced by an upgrade goes on starting the binary at the same path.
func New(o Options) *Spawner {
	s := &Spawner{exe: o.Executable, killAfter: o.KillAfter, geteuid: o.Geteuid, lookup: o.Lookup}
	if s.exe == "" {
		s.exe, s.exeErr = os.Executable()
		if s.exeErr != nil {
			s.exeErr = fmt.Errorf("privsep: cannot find the server's executable: %w", s.exeErr)
		}
	}
	if s.killAfter <= 0 {
		s.killAfter = DefaultKillAfter
	}
	if s.geteuid == nil {
		s.geteuid = os.Geteuid
	}
	if s.lookup == nil {
		s.lookup = LookupSystemUser
	}
	return s
}

// Spec describes one session process.
type Spec struct {
	// Cred is the identity it runs with.
	Cred Credential
	// Dir is its working directory (the account's home); the change happens after the
	// identity change, so the account itself must be able to enter it.
	Dir string
	// Args follow argv[0]: {"imapd"}, {"pop3d"}.
	Args []string
	// Env is its complete environment, NAME=value.
	Env []string
	// Conn is the client connection; the child speaks the protocol on it. A *net.TCPConn is
	// passed as it is when Buffered is empty; anything else (a *tls.Conn) is proxied.
	Conn net.Conn
	// Buffered holds bytes read from Conn that the server did not use; the child reads
	// them first.
	Buffered []byte
	// Log receives the process's events and its standard error.
	Log *slog.Logger
}

// Process is a running session process.
type Process struct {
	cmd       *exec.Cmd
	log       *slog.Logger
	relay     *logRelay
	killAfter time.Duration
	started   time.Time

	// Proxy mode only.
	conn     net.Conn
	pipe     *net.UnixConn
	buffered []byte
	stopping atomic.Bool
}

// Pid is the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Proxied reports whether the parent copies the session's bytes (TLS, or input buffered
// before the handoff) rather than having given the connection to the child.
func (p *Process) Proxied() bool { return p.pipe != nil }

// Spawn starts a session process. On error nothing has been read from or written to the
// connection, so the caller can still answer the client.
func (s *Spawner) Spawn(spec Spec) (*Process, error) {
	if s.exeErr != nil {
		return nil, s.exeErr
	}
	if spec.Cred.UID == 0 {
		// Plan never asks for it; this is the last line of defence.
		return nil, errors.New("privsep: refusing to start a session process as root")
	}
	if spec.Log == nil {
		spec.Log = slog.New(slog.DiscardHandler)
	}
	p := &Process{log: spec.Log, relay: &logRelay{log: spec.Log}, killAfter: s.killAfter}
	cmd := &exec.Cmd{
		Path: s.exe,
		Args: append([]string{"courier"}, spec.Args...),
		Env:  append([]string{}, spec.Env...),
		Dir:  spec.Dir,
		SysProcAttr: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: spec.Cred.UID, Gid: spec.Cred.GID, Groups: spec.Cred.Groups},
			// Its own process group: a terminal's ^C reaches the server, which drains and
			// stops the children itself, instead of killing every session at once.
			Setpgid: true,
			// A server that dies without draining takes its sessions along. (Go sets this
			// after the identity change, which would otherwise clear it.)
			Pdeathsig: syscall.SIGTERM,
		},
		Stderr:    p.relay,
		WaitDelay: waitDelay,
	}
	if len(cmd.SysProcAttr.Credential.Groups) == 0 {
		cmd.SysProcAttr.Credential.Groups = []uint32{spec.Cred.GID}
	}
	// childEnd is the descriptor that becomes the child's standard input and output; the
	// parent closes its copy once the child has it.
	var childEnd *os.File
	if tc, ok := spec.Conn.(*net.TCPConn); ok && len(spec.Buffered) == 0 {
		f, err := tc.File()
		if err != nil {
			return nil, fmt.Errorf("privsep: connection descriptor: %w", err)
		}
		childEnd = f
	} else {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("privsep: socketpair: %w", err)
		}
		pf := os.NewFile(uintptr(fds[0]), "privsep-parent")
		childEnd = os.NewFile(uintptr(fds[1]), "privsep-child")
		c, err := net.FileConn(pf)
		pf.Close()
		if err != nil {
			childEnd.Close()
			return nil, fmt.Errorf("privsep: socketpair: %w", err)
		}
		p.pipe = c.(*net.UnixConn)
		p.conn = spec.Conn
		p.buffered = spec.Buffered
	}
	cmd.Stdin, cmd.Stdout = childEnd, childEnd
	p.cmd = cmd
	err := cmd.Start()
	childEnd.Close()
	if err != nil {
		if p.pipe != nil {
			p.pipe.Close()
		}
		return nil, fmt.Errorf("privsep: start %s %v as uid %d in %s: %w", s.exe, spec.Args, spec.Cred.UID, spec.Dir, err)
	}
	p.started = time.Now()
	mode := "direct"
	if p.pipe != nil {
		mode = "proxy"
	}
	p.log.Info("session process started", "pid", cmd.Process.Pid, "uid", spec.Cred.UID, "gid", spec.Cred.GID,
		"dir", spec.Dir, "mode", mode, "buffered", len(spec.Buffered))
	return p, nil
}

// Wait follows the process to its end: it proxies the connection if needed, stops the
// process when ctx ends (SIGTERM, then SIGKILL after KillAfter), reaps it, and returns its
// exit error (nil for a clean exit). It returns once the child has exited and, in proxy
// mode, what the child wrote has been delivered (or could not be); the caller then closes
// the connection.
func (p *Process) Wait(ctx context.Context) error {
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	var up, down chan struct{}
	if p.pipe != nil {
		// The login stage's read and write deadlines belong to its own timeouts; the child
		// now keeps the session's.
		_ = p.conn.SetDeadline(time.Time{})
		up, down = make(chan struct{}), make(chan struct{})
		go p.copyUp(up)
		go p.copyDown(down)
	}
	var err error
	select {
	case err = <-exited:
	case <-ctx.Done():
		p.log.Info("stopping session process", "pid", p.Pid())
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(p.killAfter)
		select {
		case err = <-exited:
		case <-t.C:
			p.log.Warn("session process did not stop; killing it", "pid", p.Pid(), "after", p.killAfter)
			_ = p.cmd.Process.Kill()
			err = <-exited
		}
		t.Stop()
	}
	p.relay.flush()
	if p.pipe != nil {
		// What the child wrote before it exited is in the socketpair: deliver it, but not to
		// a client that never reads.
		t := time.NewTimer(finalOutputGrace)
		select {
		case <-down:
		case <-t.C:
			_ = p.conn.SetWriteDeadline(time.Now())
			p.pipe.Close()
			<-down
		}
		t.Stop()
		p.stopping.Store(true)
		_ = p.conn.SetReadDeadline(time.Now())
		<-up
		p.pipe.Close()
	}
	status := "exit 0"
	if err != nil {
		status = err.Error()
	}
	p.log.Info("session process ended", "pid", p.Pid(), "status", status,
		"duration", time.Since(p.started).Round(time.Millisecond))
	return err
}

// copyUp copies client → child: the buffered bytes first, then the connection, until the
// client is done; then the child reads end of input.
func (p *Process) copyUp(done chan struct{}) {
	defer close(done)
	defer func() { _ = p.pipe.CloseWrite() }()
	if len(p.buffered) > 0 {
		if _, err := p.pipe.Write(p.buffered); err != nil {
			return
		}
		p.buffered = nil
	}
	buf := make([]byte, proxyBuf)
	for {
		n, err := p.conn.Read(buf)
		if n > 0 {
			if _, werr := p.pipe.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !p.stopping.Load() {
				// A deadline set by someone else (the server's shutdown nudge): the child
				// decides when the session ends, so keep reading.
				_ = p.conn.SetReadDeadline(time.Time{})
				continue
			}
			return
		}
	}
}

// copyDown copies child → client until the child has closed its end (it exited). If the
// client cannot take more, the child's writes fail too, so that it ends instead of
// blocking.
func (p *Process) copyDown(done chan struct{}) {
	defer close(done)
	buf := make([]byte, proxyBuf)
	if _, err := io.CopyBuffer(writerOnly{p.conn}, p.pipe, buf); err != nil {
		_ = p.pipe.CloseRead()
	}
}

// writerOnly hides a connection's ReadFrom, so io.CopyBuffer uses our buffer (and no
// splice from a socketpair into a TLS connection is attempted).
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(b []byte) (int, error) { return w.w.Write(b) }

// Request is one authenticated session offered to Serve.
type Request struct {
	// Account is the authenticated account; Plan decides on it.
	Account *auth.Account
	// Args, Env, Conn, Buffered and Log are as in Spec.
	Args     []string
	Env      []string
	Conn     net.Conn
	Buffered []byte
	Log      *slog.Logger
	// Started, when set, is called once the child runs (to log the login).
	Started func(p *Process)
}

// Serve runs r's session where Plan says:
//   - (false, nil): the session stays in this process;
//   - (false, err): the login must be refused and the connection is untouched; err wraps
//     auth.ErrDisabled for a refusal by policy and auth.ErrTempFail when the child could
//     not be started (no home directory, say);
//   - (true, nil): a child ran the session, which is over; the caller only closes the
//     connection.
func (s *Spawner) Serve(ctx context.Context, r *Request) (bool, error) {
	mode, cred, err := Plan(r.Account, s.geteuid(), s.lookup)
	if err != nil || mode == InProcess {
		return false, err
	}
	if r.Account.Home == "" {
		return false, fmt.Errorf("privsep: account %s has no home directory: %w", r.Account.Address, auth.ErrTempFail)
	}
	p, err := s.Spawn(Spec{Cred: cred, Dir: r.Account.Home, Args: r.Args, Env: r.Env,
		Conn: r.Conn, Buffered: r.Buffered, Log: r.Log})
	if err != nil {
		return false, fmt.Errorf("%w: %w", err, auth.ErrTempFail)
	}
	if r.Started != nil {
		r.Started(p)
	}
	_ = p.Wait(ctx)
	return true, nil
}
