// Package pipe implements courier-authlib's authpipe module: an external
// program, started once and kept running, answers authdaemon-protocol
// requests on its standard input and output (README_authlib, "The authpipe
// protocol"):
//
//	PRE . <service> <user>\n                          lookup, no password
//	AUTH <n>\n<service>\n<authtype>\n<authdata>       n bytes of payload
//	PASSWD <service>\t<user>\t<old>\t<new>\n           password change
//	ENUMERATE\n                                        every account
//
// PRE and AUTH are answered with KEY=value lines ending with ".", or
// "FAIL"; PASSWD with "OK" or "FAIL"; ENUMERATE with
// "name\tuid\tgid\thome\tmaildir\toptions" lines ending with ".".
//
// One request is in flight at a time, as with authlib (one program per
// authdaemond process). A program that exits is restarted at the next
// request (it may exit after every answer); one that says nothing within
// Timeout, answers out of protocol or dies mid-answer is killed and the
// request is a temporary failure (auth.ErrTempFail), as authlib closes the
// pipe when a request fails that way.
package pipe

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"courier/internal/auth"
)

// ModuleName is the authmodulelist name of this module.
const ModuleName = "authpipe"

// DefaultTimeout bounds one request (authdaemond allows 30 seconds).
const DefaultTimeout = 30 * time.Second

// Module runs the authpipe program. Safe for concurrent use (requests are
// serialised).
type Module struct {
	prog string
	args []string
	// Timeout bounds one request, reply included; DefaultTimeout if zero.
	Timeout time.Duration
	// Stderr receives the program's standard error; os.Stderr if nil.
	Stderr io.Writer

	mu    sync.Mutex // one request at a time; guards child
	child *child
}

// child is one running copy of the program.
type child struct {
	cmd  *exec.Cmd
	in   *os.File // its standard input (our write end)
	out  *os.File // its standard output (our read end)
	rd   *bufio.Reader
	cnt  *countingReader
	used bool // has answered a request
	done chan struct{}
}

// countingReader counts the bytes read from the program, so a request the
// program never started to answer can be told apart.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// New returns the module for the program at path, run with args.
func New(path string, args ...string) *Module {
	return &Module{prog: path, args: args}
}

// Name implements auth.Module.
func (m *Module) Name() string { return ModuleName }

// Close stops the program.
func (m *Module) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kill()
	return nil
}

// kill stops the current child, if any. Called with mu held.
func (m *Module) kill() {
	c := m.child
	m.child = nil
	if c == nil {
		return
	}
	c.in.Close()
	c.out.Close()
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// start runs a new child. Called with mu held.
func (m *Module) start() error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return err
	}
	cmd := exec.Command(m.prog, m.args...)
	cmd.Stdin, cmd.Stdout = inR, outW
	cmd.Stderr = m.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return err
	}
	cnt := &countingReader{r: outR}
	c := &child{cmd: cmd, in: inW, out: outR, rd: bufio.NewReaderSize(cnt, 4096), cnt: cnt, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	m.child = c
	return nil
}

// alive reports whether the child is still running.
func (c *child) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// roundTrip sends req and lets read parse the answer, restarting the
// program first if it has exited. A failure to talk to the program kills
// it and is auth.ErrTempFail; read's own errors are returned as they are
// unless they are protocol errors (which also kill the program).
func (m *Module) roundTrip(ctx context.Context, req string, read func(*bufio.Reader) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for attempt := 0; ; attempt++ {
		if m.child != nil && !m.child.alive() {
			m.kill()
		}
		if m.child == nil {
			if err := m.start(); err != nil {
				return fmt.Errorf("authpipe: start %s: %v: %w", m.prog, err, auth.ErrTempFail)
			}
		}
		c := m.child
		_ = c.in.SetWriteDeadline(deadline)
		_ = c.out.SetReadDeadline(deadline)
		// Cancelling ctx interrupts a read or write in progress.
		stop := context.AfterFunc(ctx, func() {
			_ = c.in.SetWriteDeadline(time.Unix(1, 0))
			_ = c.out.SetReadDeadline(time.Unix(1, 0))
		})
		_, werr := io.WriteString(c.in, req)
		if werr != nil {
			stop()
			m.kill()
			// The program may have exited just after its last answer:
			// start it again once.
			if attempt == 0 && ctx.Err() == nil {
				continue
			}
			return fmt.Errorf("authpipe: write: %v: %w", werr, auth.ErrTempFail)
		}
		before := c.cnt.n
		err := read(c.rd)
		stop()
		if err == nil || auth.IsReject(err) {
			c.used = true
			return err
		}
		m.kill()
		if attempt == 0 && c.used && c.cnt.n == before && errors.Is(err, io.EOF) && ctx.Err() == nil {
			// A program that exits after each answer was still exiting
			// when this request was written: ask a new one.
			continue
		}
		if ctx.Err() != nil {
			return fmt.Errorf("authpipe: %v: %w", ctx.Err(), auth.ErrTempFail)
		}
		return fmt.Errorf("%v: %w", err, auth.ErrTempFail)
	}
}

// safe reports whether s can be sent on one protocol line.
func safe(s string) bool { return !strings.ContainsAny(s, "\x00\r\n\t") }

// Lookup implements auth.Module with PRE.
func (m *Module) Lookup(ctx context.Context, service, user string) (*auth.Account, error) {
	if !safe(service) || !safe(user) || strings.Contains(service, " ") {
		return nil, fmt.Errorf("authpipe: %.64q: %w", user, auth.ErrNoUser)
	}
	var a *auth.Account
	err := m.roundTrip(ctx, "PRE . "+service+" "+user+"\n", func(r *bufio.Reader) error {
		var err error
		a, err = ParseAccount(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Authenticate implements auth.Module with AUTH: "login" with the user name
// and password, or a CRAM type with the base64 challenge and the base64
// "user response", as authlib's clients send them.
func (m *Module) Authenticate(ctx context.Context, req *auth.Request) (*auth.Account, error) {
	if !safe(req.Service) || !safe(req.User) {
		return nil, fmt.Errorf("authpipe: %.64q: %w", req.User, auth.ErrNoUser)
	}
	var data string
	switch req.Mech {
	case auth.MechLogin, "":
		if strings.ContainsAny(req.Password, "\x00\n") {
			return nil, fmt.Errorf("authpipe: %.64q: password with a line break: %w", req.User, auth.ErrBadPassword)
		}
		data = "login\n" + req.User + "\n" + req.Password + "\n"
	case auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256:
		data = string(req.Mech) + "\n" + base64.StdEncoding.EncodeToString(req.Challenge) + "\n" +
			base64.StdEncoding.EncodeToString([]byte(req.User+" "+req.Response)) + "\n"
	default:
		return nil, fmt.Errorf("authpipe: mechanism %q: %w", req.Mech, auth.ErrNotSupported)
	}
	payload := req.Service + "\n" + data
	var a *auth.Account
	err := m.roundTrip(ctx, "AUTH "+strconv.Itoa(len(payload))+"\n"+payload, func(r *bufio.Reader) error {
		var err error
		a, err = ParseAccount(r)
		if errors.Is(err, auth.ErrNoUser) {
			// FAIL to AUTH: wrong credentials or no such user; the
			// program does not say which.
			return fmt.Errorf("authpipe: %.64q: %w", req.User, auth.ErrBadPassword)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.ClearPasswd == "" && (req.Mech == auth.MechLogin || req.Mech == "") {
		a.ClearPasswd = req.Password
	}
	return a, nil
}

// ChangePassword implements auth.Module with PASSWD.
func (m *Module) ChangePassword(ctx context.Context, service, user, oldPassword, newPassword string) error {
	for _, s := range []string{service, user, oldPassword, newPassword} {
		if !safe(s) {
			return fmt.Errorf("authpipe: change password %.64q: forbidden character: %w", user, auth.ErrBadPassword)
		}
	}
	return m.roundTrip(ctx, "PASSWD "+service+"\t"+user+"\t"+oldPassword+"\t"+newPassword+"\n", ParseStatus)
}

// Enumerate implements auth.Module with ENUMERATE. When fn stops the walk
// the rest of the reply is unread, so the program is restarted.
func (m *Module) Enumerate(ctx context.Context, fn func(*auth.Account) error) error {
	var fnErr error
	err := m.roundTrip(ctx, "ENUMERATE\n", func(r *bufio.Reader) error {
		var perr error
		fnErr, perr = readEnumerate(r, fn)
		if fnErr != nil {
			return errAbandoned
		}
		return perr
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// errAbandoned makes roundTrip kill a program whose reply was left unread.
var errAbandoned = errors.New("authpipe: enumeration abandoned")

var _ auth.Module = (*Module)(nil)
