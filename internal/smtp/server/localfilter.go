package server

// Local mail filtering at SMTP time (localmailfilter(7)). When the configuration file
// maildropfilter names a filter program, a RCPT naming a local account runs
//
//	HOME=$HOME FILTER -D uid/gid -M rcptfilter[-ext] TCPREMOTEHOST TCPREMOTEIP SENDER BOUNCE BOUNCE2
//
// (the five trailing arguments are what Courier's module.local passes, maildrop's $1..$5).
// Exit 0 accepts the recipient ("whitelisted"), 99 accepts it but asks for the content
// filter, anything else refuses it with the filter's output as the reply. After the message
// content, every recipient whose rcptfilter said 99 runs again with -M smtpfilter[-ext] and
// the message on standard input; a non-zero exit refuses the message.
//
// When the program is our maildrop it runs in-process in embedded mode, after a cheap check
// that the account has a $HOME/.mailfilters file the -M name would use (no file: accepted as
// whitelisted, which is what maildrop's default amounts to). When the server is root and the
// account has a uid of its own, `courier maildrop` (or courier-mda) is started with that
// credential instead; another program always runs as a separate process, with the account's
// credential when the server is root. A filter never runs as root for an account, and every
// run has a time limit.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"courier/internal/auth"
	"courier/internal/config/courierfmt"
	"courier/internal/delivery"
	"courier/internal/filter/maildrop"
	"courier/internal/queue"
	"courier/internal/smtp/wire"
	"courier/internal/store/maildir"
)

// Exit codes of a local mail filter (localmailfilter(7)).
const (
	FilterAccept  = 0  // the sender is acceptable (whitelisted)
	FilterContent = 99 // acceptable, but run the content filter once the message is in
)

// maxFilterOutput bounds what is kept of a filter's output (Courier keeps 2 KiB).
const maxFilterOutput = 2048

// FilterEnv describes the transaction to the filters.
type FilterEnv struct {
	Sender     string            // the envelope sender
	RemoteIP   string            // TCPREMOTEIP
	RemoteHost string            // TCPREMOTEHOST
	Access     map[string]string // the smtpaccess variables of the connection
}

// FilterResult is a filter's verdict: its exit code and what it printed.
type FilterResult struct {
	Exit   int
	Output string
}

// LocalFilter runs the recipients' local mail filters. Implementations must be safe for
// concurrent use.
type LocalFilter interface {
	// Enabled reports whether a filter program is configured (the maildropfilter file).
	Enabled() bool
	// Rcpt runs the recipient filter of r (rcptfilter). A recipient that is no account,
	// or an account without a filter, gives FilterAccept.
	Rcpt(ctx context.Context, env *FilterEnv, r *queue.Recipient) (FilterResult, error)
	// Content runs the content filter of r (smtpfilter) on the message.
	Content(ctx context.Context, env *FilterEnv, r *queue.Recipient, msg []byte) (FilterResult, error)
}

// FilterOptions configure Filters.
type FilterOptions struct {
	ConfigDir string      // holds maildropfilter, maildroprc and maildroprcs/
	Auth      auth.Module // account lookups
	Log       *slog.Logger
	// Timeout bounds one filter run (default one minute): the client is waiting.
	Timeout time.Duration
}

// Filters is the LocalFilter of a configuration directory.
type Filters struct {
	o FilterOptions

	mu      sync.Mutex
	checked time.Time
	stamp   time.Time
	prog    string
}

// NewFilters returns the local mail filters of o.ConfigDir.
func NewFilters(o FilterOptions) *Filters {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	return &Filters{o: o}
}

var _ LocalFilter = (*Filters)(nil)

// program returns the configured filter program, re-reading maildropfilter when it
// changed (looked at no more than once a second). Courier ignores a name that is not an
// absolute path.
func (f *Filters) program() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) < time.Second {
		return f.prog
	}
	f.checked = time.Now()
	p := filepath.Join(f.o.ConfigDir, "maildropfilter")
	st, err := os.Stat(p)
	if err != nil {
		f.prog, f.stamp = "", time.Time{}
		return ""
	}
	if st.ModTime().Equal(f.stamp) {
		return f.prog
	}
	f.stamp = st.ModTime()
	line, err := courierfmt.ReadFirstLine(p)
	line = strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(line, "/") {
		if line != "" {
			f.o.Log.Warn("maildropfilter: not an absolute path; local mail filtering is off", "program", line)
		}
		f.prog = ""
		return ""
	}
	f.prog = line
	return f.prog
}

// Enabled implements LocalFilter.
func (f *Filters) Enabled() bool { return f.program() != "" }

// Rcpt implements LocalFilter.
func (f *Filters) Rcpt(ctx context.Context, env *FilterEnv, r *queue.Recipient) (FilterResult, error) {
	return f.run(ctx, env, r, "rcptfilter", nil)
}

// Content implements LocalFilter.
func (f *Filters) Content(ctx context.Context, env *FilterEnv, r *queue.Recipient, msg []byte) (FilterResult, error) {
	return f.run(ctx, env, r, "smtpfilter", msg)
}

// run runs one filter for recipient r.
func (f *Filters) run(ctx context.Context, env *FilterEnv, r *queue.Recipient, kind string, msg []byte) (FilterResult, error) {
	prog := f.program()
	if prog == "" || !r.Local || r.Account == "" || r.Instr != "" || r.AliasDir {
		return FilterResult{Exit: FilterAccept}, nil
	}
	a, err := f.o.Auth.Lookup(ctx, "esmtp", r.Account)
	if err != nil {
		if auth.IsReject(err) {
			return FilterResult{Exit: FilterAccept}, nil // delivery will report it
		}
		return FilterResult{}, fmt.Errorf("local filter: account %s: %w", r.Account, err)
	}
	if a.Home == "" {
		return FilterResult{Exit: FilterAccept}, nil
	}
	name := kind
	if r.Ext != "" {
		name += "-" + r.Ext
	}
	self, _ := os.Executable()
	const path = "/bin:/usr/bin:/usr/local/bin"
	extra, ours := delivery.MaildropArgs(prog, path, self)
	if ours && !hasFilterFile(a.Home, name) {
		// The per-RCPT fast path: nothing to run.
		return FilterResult{Exit: FilterAccept}, nil
	}
	root := os.Geteuid() == 0
	uid, gid, own := delivery.AccountIDs(a)
	if !own {
		if root && !ours {
			// Never start a program as root for an account (Courier does not deliver
			// to uid 0 either).
			return FilterResult{}, fmt.Errorf("local filter: account %s has no user of its own to run %s as", r.Account, prog)
		}
		// An account that is the server's own user (a quickstart run as root makes its
		// accounts so, and local delivery runs their maildrop in-process too): embedded
		// mode runs no commands and writes nothing, so the recipe is interpreted here.
		uid, gid, root = os.Getuid(), os.Getgid(), false
	}
	args := []string{"-D", strconv.Itoa(uid) + "/" + strconv.Itoa(gid), "-M", name,
		env.RemoteHost, env.RemoteIP, env.Sender, env.Access["BOUNCE"], env.Access["BOUNCE2"]}
	vars := f.environ(env, a)
	ctx, cancel := context.WithTimeout(ctx, f.o.Timeout)
	defer cancel()
	start := time.Now()
	var res FilterResult
	switch {
	case ours && !root:
		res, err = f.inProcess(ctx, append(extra, args...), vars, a, msg)
	case ours:
		bin := self
		if lean := filepath.Join(filepath.Dir(self), "courier-mda"); isExecutable(lean) {
			bin = lean
		}
		cmdArgs := append([]string{"maildrop"}, append(extra, args...)...)
		res, err = f.exec(ctx, bin, filepath.Base(bin), cmdArgs, vars, a.Home, uid, gid, root, msg)
	default:
		res, err = f.exec(ctx, prog, filepath.Base(prog), args, vars, a.Home, uid, gid, root, msg)
	}
	if err != nil {
		return FilterResult{}, err
	}
	f.o.Log.Debug("local filter", "filter", name, "account", r.Account, "exit", res.Exit, "took", time.Since(start))
	return res, nil
}

// hasFilterFile reports whether maildrop -M name would find a file in home/.mailfilters
// (the name itself, its -default fallbacks or "default"). Anything that is not a clear "no"
// (a directory we cannot read, say) counts as yes, so that maildrop itself reports it.
func hasFilterFile(home, name string) bool {
	dir := filepath.Join(home, ".mailfilters")
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if !maildrop.ValidEmbeddedName(name) {
		return true
	}
	for _, c := range maildrop.EmbeddedCandidates(name) {
		if _, err := os.Lstat(filepath.Join(dir, c)); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// environ is the filter's environment: the connection's smtpaccess variables, then what
// Courier's module.local sets (SENDER, HOME, DEFAULT as the account's mailbox, MAILDIRQUOTA)
// and the TCPREMOTE variables.
func (f *Filters) environ(env *FilterEnv, a *auth.Account) map[string]string {
	m := make(map[string]string, len(env.Access)+8)
	for k, v := range env.Access {
		m[k] = v
	}
	m["PATH"] = "/bin:/usr/bin:/usr/local/bin"
	m["SHELL"] = "/bin/sh"
	m["TCPREMOTEIP"] = env.RemoteIP
	m["TCPREMOTEHOST"] = env.RemoteHost
	m["SENDER"] = env.Sender
	m["HOME"] = a.Home
	m["DEFAULT"] = a.MaildirPath()
	m["MAILDIRQUOTA"] = a.Quota
	return m
}

// inProcess runs our maildrop's embedded mode in this process, as the server's user.
func (f *Filters) inProcess(ctx context.Context, args []string, vars map[string]string, a *auth.Account, msg []byte) (FilterResult, error) {
	out := &syncBuffer{max: maxFilterOutput}
	name := a.Address
	if a.SysUser != "" {
		name = a.SysUser
	}
	done := make(chan int, 1)
	go func() {
		done <- maildrop.Main(&maildrop.Invocation{
			Args:      args,
			Stdin:     bytes.NewReader(msg),
			Stdout:    out,
			Stderr:    out,
			Env:       vars,
			ConfigDir: f.o.ConfigDir,
			Self:      &maildrop.User{Name: name, Home: a.Home, Shell: "/bin/sh", UID: os.Getuid(), GID: os.Getgid()},
			Logger:    f.o.Log,
			Host:      maildir.HostName(),
		})
	}()
	select {
	case code := <-done:
		return FilterResult{Exit: code, Output: out.String()}, nil
	case <-ctx.Done():
		// maildrop's own watchdog ends the run; its result is dropped.
		return FilterResult{}, fmt.Errorf("local filter for %s: %w", a.Address, ctx.Err())
	}
}

// exec runs a filter program as a separate process, with the account's credential when the
// server is root.
func (f *Filters) exec(ctx context.Context, bin, argv0 string, args []string, vars map[string]string, home string, uid, gid int, root bool, msg []byte) (FilterResult, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Args[0] = argv0
	cmd.Dir = home
	if st, err := os.Stat(home); err != nil || !st.IsDir() {
		cmd.Dir = "/"
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "COURIER_CONFIG="+f.o.ConfigDir)
	cmd.Stdin = bytes.NewReader(msg)
	out := &syncBuffer{max: maxFilterOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if root {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return FilterResult{}, fmt.Errorf("local filter %s: %w", bin, ctx.Err())
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return FilterResult{Exit: ee.ExitCode(), Output: out.String()}, nil
	case err != nil:
		return FilterResult{}, fmt.Errorf("local filter %s: %w", bin, err)
	}
	return FilterResult{Exit: 0, Output: out.String()}, nil
}

// isExecutable reports whether p is a regular file with an execute bit.
func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// syncBuffer keeps the first max bytes written to it; safe for concurrent writers (stdout
// and stderr of one filter).
type syncBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if room := s.max - s.b.Len(); room > 0 {
		s.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// filterReply turns a filter's output into the reply refusing a recipient (rcpt) or the
// message, as Courier's submit does: the code is the number the output starts with, else
// 511 at RCPT (471 would be a temporary failure the filter did not ask for) and 450 after
// the content (Courier's print_xerror); a number at the start of any line is replaced by
// that code. Without output, RCPT gets Courier's "571 Delivery not authorized, message
// refused." and the content "Access denied.". An enhanced status code may follow the number.
func filterReply(output string, rcpt bool) *wire.Reply {
	output = strings.TrimRight(strings.ReplaceAll(output, "\r", ""), "\n")
	if strings.TrimSpace(output) == "" {
		if rcpt {
			output = "571 Delivery not authorized, message refused."
		} else {
			output = "Access denied."
		}
	}
	lines := strings.Split(output, "\n")
	code := leadingCode(lines[0])
	if code < 400 || code > 599 {
		code = 450
		if rcpt {
			code = 511
		}
	}
	rep := &wire.Reply{Code: code, Enhanced: fmt.Sprintf("%d.7.1", code/100)}
	for i, l := range lines {
		if leadingCode(l) > 0 && len(l) > 3 && (l[3] == ' ' || l[3] == '-') {
			l = l[4:]
		} else if leadingCode(l) > 0 && len(l) == 3 {
			l = ""
		}
		l = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, l)
		if i == 0 {
			if f := strings.Fields(l); len(f) > 0 && isEnhanced(f[0], code) {
				rep.Enhanced = f[0]
				l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), f[0]))
			}
		}
		rep.Lines = append(rep.Lines, l)
	}
	return rep
}

// leadingCode is the three-digit number a line starts with (2xx to 5xx), else 0.
func leadingCode(l string) int {
	if len(l) < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' {
		return 0
	}
	if len(l) > 3 && l[3] != ' ' && l[3] != '-' {
		return 0
	}
	n, _ := strconv.Atoi(l[:3])
	return n
}

// isEnhanced reports whether s is an enhanced status code (RFC 3463) of the reply's class.
func isEnhanced(s string, code int) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || p[0] != strconv.Itoa(code/100) {
		return false
	}
	for _, x := range p[1:] {
		if x == "" || len(x) > 3 {
			return false
		}
		if _, err := strconv.Atoi(x); err != nil {
			return false
		}
	}
	return true
}
