package maildrop

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Exit codes, as sysexits.h and Courier's maildrop use them.
const (
	ExitOK       = 0
	ExitNoUser   = 67 // EX_NOUSER
	ExitTempFail = 75 // EX_TEMPFAIL: the MTA keeps the message and retries
)

// Defaults of the safety limits.
const (
	DefaultMatchTimeout    = 2 * time.Second
	DefaultWatchdog        = 5 * time.Minute
	DefaultMaxIncludeDepth = 20
)

// Options configure an Interp. The zero value works: output goes nowhere, logs are dropped.
type Options struct {
	Logger *slog.Logger
	// Stdout receives echo output and the output of system commands; Stderr their errors.
	Stdout, Stderr io.Writer
	// Env is the environment maildrop started with; import reads it.
	Env map[string]string
	// WorkDir is the directory relative file names are taken from ("" is the process's).
	WorkDir string
	// MatchTimeout bounds one regular expression match (default DefaultMatchTimeout); a match
	// that runs longer stops the filter (see ErrTimeout).
	MatchTimeout time.Duration
	// Watchdog bounds the whole run (default DefaultWatchdog), as maildrop's watchdog timer.
	Watchdog time.Duration
	// MaxIncludeDepth bounds nested include statements (default DefaultMaxIncludeDepth).
	MaxIncludeDepth int
	// Host is the host name in maildir file names ("" is the system's).
	Host string
	// NoSync skips fsyncs in maildir deliveries (benchmarks).
	NoSync bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Embedded applies embedded mode's restrictions (maildrop -m, -M): no deliveries,
	// commands, locks, logs or GDBM writes.
	Embedded bool
	// RCSDir is the maildroprcs directory: files included from it run without embedded
	// mode's restrictions, after some variables get their initial values back.
	RCSDir string
	// QuotaWarnPercent and QuotaWarnFile are -w and -W: after each delivery to a maildir
	// whose quota is at least that full, the warning message is put into it (at most once a
	// day; see maildir.DeliverQuotaWarning). A negative percent disables the warning; the
	// zero Options leave it off too, since QuotaWarnFile is empty then.
	QuotaWarnPercent int
	QuotaWarnFile    string
}

// ErrTimeout is wrapped by the error a run returns when a regular expression match or the
// whole run took too long. The caller should deliver the message to DEFAULT: the filter
// cannot be trusted to finish.
var ErrTimeout = errors.New("maildrop: time limit exceeded")

// FatalError is an error that ends filtering with EX_TEMPFAIL unless an exception statement
// traps it: a failed delivery, a missing include file, a failed xfilter.
type FatalError struct {
	File string
	Line int
	Err  error
}

func (e *FatalError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *FatalError) Unwrap() error { return e.Err }

// stop ends filtering early: exit, or a to statement that delivered.
type stop struct {
	code      int
	delivered bool
}

func (s *stop) Error() string { return "maildrop: stop" }

// Outcome is how a filter run ended.
type Outcome struct {
	// Done is set when the filter disposed of the message (a to statement or exit): the
	// caller must not deliver it to DEFAULT.
	Done bool
	// ExitCode is the process exit code when Done.
	ExitCode int
}

// Interp runs filter programs against one message. It is not safe for concurrent use.
type Interp struct {
	opts     Options
	vars     map[string]string
	msg      *Message
	file     string // the file being run, for messages
	depth    int
	deadline time.Time
	logFile  *os.File
	gdbm     *gdbmFile // the file gdbmopen opened, per filter file
	// restricted is set while embedded mode's restrictions apply.
	restricted bool
	// initial holds the starting values of the variables a maildroprcs include resets.
	initial map[string]string
	seq     atomic.Uint64
}

// New makes an interpreter for msg with the given initial variables (which it owns).
func New(msg *Message, vars map[string]string, opts Options) *Interp {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.MatchTimeout <= 0 {
		opts.MatchTimeout = DefaultMatchTimeout
	}
	if opts.Watchdog <= 0 {
		opts.Watchdog = DefaultWatchdog
	}
	if opts.MaxIncludeDepth <= 0 {
		opts.MaxIncludeDepth = DefaultMaxIncludeDepth
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if vars == nil {
		vars = map[string]string{}
	}
	in := &Interp{opts: opts, vars: vars, msg: msg, restricted: opts.Embedded, initial: map[string]string{}}
	for _, k := range resetVars {
		in.initial[k] = vars[k]
	}
	in.deadline = opts.Now().Add(opts.Watchdog)
	in.setMessageVars()
	return in
}

// Close releases the log file.
func (in *Interp) Close() error {
	if in.logFile != nil {
		err := in.logFile.Close()
		in.logFile = nil
		return err
	}
	return nil
}

// Var returns a variable's value.
func (in *Interp) Var(name string) string { return in.vars[name] }

// SetVar sets a variable.
func (in *Interp) SetVar(name, value string) { in.vars[name] = value }

// Message returns the current message (xfilter may have replaced it).
func (in *Interp) Message() *Message { return in.msg }

func (in *Interp) setMessageVars() {
	in.vars["SIZE"] = strconv.Itoa(in.msg.Size())
	in.vars["LINES"] = strconv.Itoa(in.msg.Lines())
}

// Run executes a program. A nil error with Outcome.Done false means the filter ended without
// disposing of the message.
func (in *Interp) Run(p *Program) (Outcome, error) {
	prev := in.file
	in.file = p.File
	defer func() { in.file = prev }()
	err := in.block(p.Stmts)
	var st *stop
	if errors.As(err, &st) {
		return Outcome{Done: true, ExitCode: st.code}, nil
	}
	return Outcome{}, err
}

func (in *Interp) fatal(line int, err error) error {
	return &FatalError{File: in.file, Line: line, Err: err}
}

func (in *Interp) check(line int) error {
	if in.opts.Now().After(in.deadline) {
		return fmt.Errorf("%s:%d: watchdog: filtering took longer than %v: %w", in.file, line, in.opts.Watchdog, ErrTimeout)
	}
	return nil
}

func (in *Interp) block(stmts []Stmt) error {
	for _, s := range stmts {
		if err := in.check(s.stmtLine()); err != nil {
			return err
		}
		if err := in.stmt(s); err != nil {
			return err
		}
	}
	return nil
}

func (in *Interp) stmt(s Stmt) error {
	switch s := s.(type) {
	case *assignStmt:
		name, err := in.eval(s.name)
		if err != nil {
			return err
		}
		v, err := in.eval(s.value)
		if err != nil {
			return err
		}
		in.vars[name] = v
	case *exprStmt:
		_, err := in.eval(s.x)
		return err
	case *ifStmt:
		c, err := in.eval(s.cond)
		if err != nil {
			return err
		}
		if truth(c) {
			return in.block(s.then)
		}
		return in.block(s.els)
	case *whileStmt:
		for {
			if err := in.check(s.line); err != nil {
				return err
			}
			c, err := in.eval(s.cond)
			if err != nil {
				return err
			}
			if !truth(c) {
				return nil
			}
			if err := in.block(s.body); err != nil {
				return err
			}
		}
	case *foreachStmt:
		matches, err := in.foreachMatches(s.m)
		if err != nil {
			return err
		}
		for _, m := range matches {
			in.vars["MATCH"] = m
			if err := in.block(s.body); err != nil {
				return err
			}
		}
	case *blockStmt:
		return in.blockStmt(s)
	case *cmdStmt:
		return in.command(s)
	}
	return nil
}

func (in *Interp) blockStmt(s *blockStmt) error {
	switch s.kind {
	case "exception":
		err := in.block(s.body)
		var fe *FatalError
		if errors.As(err, &fe) {
			in.opts.Logger.Info("maildrop: exception trapped", "file", in.file, "line", s.line, "err", fe)
			return nil
		}
		return err
	case "dotlock", "flock":
		if in.restricted {
			return in.fatal(s.line, fmt.Errorf("'%s' disabled in embedded mode", s.kind))
		}
		name, err := in.eval(s.arg)
		if err != nil {
			return err
		}
		unlock, err := in.lock(s.kind, in.path(name))
		if err != nil {
			return in.fatal(s.line, err)
		}
		defer unlock()
		return in.block(s.body)
	}
	return nil
}

func (in *Interp) command(s *cmdStmt) error {
	var arg string
	if s.arg != nil && s.cmd != "import" {
		v, err := in.eval(s.arg)
		if err != nil {
			return err
		}
		arg = v
	}
	if in.restricted && embeddedForbidden[s.cmd] {
		return in.fatal(s.line, fmt.Errorf("'%s' disabled in embedded mode", s.cmd))
	}
	switch s.cmd {
	case "exit":
		return &stop{code: in.exitCode()}
	case "import":
		name, err := in.eval(s.arg)
		if err != nil {
			return err
		}
		in.vars[name] = in.opts.Env[name]
	case "echo":
		text, nl := echoText(arg)
		io.WriteString(in.opts.Stdout, text+nl)
	case "log":
		if in.logFile != nil {
			text, nl := echoText(arg)
			io.WriteString(in.logFile, text+nl)
		}
	case "logfile":
		if in.logFile != nil {
			in.logFile.Close()
			in.logFile = nil
		}
		f, err := os.OpenFile(in.path(arg), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666&^in.umask())
		if err != nil {
			return in.fatal(s.line, fmt.Errorf("logfile: %w", err))
		}
		in.logFile = f
	case "to", "cc":
		code, err := in.Deliver(arg)
		if err != nil {
			return in.fatal(s.line, err)
		}
		if s.cmd == "to" {
			if isPipe(arg) {
				return &stop{code: code, delivered: true}
			}
			return &stop{code: in.exitCode(), delivered: true}
		}
	case "xfilter":
		out, code, err := in.runShell(arg, in.msg.Bytes(), nil, true)
		in.vars["RETURNCODE"] = strconv.Itoa(code)
		if err != nil || code != 0 {
			if err == nil {
				err = fmt.Errorf("exit status %d", code)
			}
			return in.fatal(s.line, fmt.Errorf("xfilter %q: unable to filter message: %w", arg, err))
		}
		in.msg = NewMessage(out)
		in.setMessageVars()
	case "system":
		_, code, err := in.runShell(arg, nil, in.opts.Stdout, false)
		if err != nil {
			return in.fatal(s.line, fmt.Errorf("system %q: %w", arg, err))
		}
		in.vars["RETURNCODE"] = strconv.Itoa(code)
	case "include":
		return in.include(s.line, arg)
	}
	return nil
}

// include runs another filter file, parsed now.
func (in *Interp) include(line int, name string) error {
	if in.depth >= in.opts.MaxIncludeDepth {
		return in.fatal(line, fmt.Errorf("include %q: includes nested deeper than %d", name, in.opts.MaxIncludeDepth))
	}
	rcs, err := in.rcsInclude(name)
	if err != nil {
		return in.fatal(line, err)
	}
	src, err := os.ReadFile(in.path(name))
	if err != nil {
		return in.fatal(line, fmt.Errorf("unable to open include file: %w", err))
	}
	p, err := Parse(name, src)
	if err != nil {
		return in.fatal(line, err)
	}
	if in.restricted && !rcs {
		if err := CheckEmbedded(p); err != nil {
			return in.fatal(line, err)
		}
	}
	if rcs && in.restricted {
		in.restricted = false
		defer func() { in.restricted = true }()
	}
	in.depth++
	saved := in.gdbm
	in.gdbm = nil
	defer func() { in.depth--; in.gdbm = saved }()
	prev := in.file
	in.file = p.File
	defer func() { in.file = prev }()
	return in.block(p.Stmts)
}

// exitCode is EXITCODE as a number (0 when empty).
func (in *Interp) exitCode() int {
	return int(toNumber(in.vars["EXITCODE"]))
}

func (in *Interp) umask() os.FileMode {
	v := in.vars["UMASK"]
	if v == "" {
		return 0o077
	}
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil {
		return 0o077
	}
	return os.FileMode(n) & 0o777
}

// path resolves a file name against WorkDir.
func (in *Interp) path(name string) string {
	if in.opts.WorkDir == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(in.opts.WorkDir, name)
}

// environ exports the variables as the environment of a command.
func (in *Interp) environ() []string {
	out := make([]string, 0, len(in.vars))
	for k, v := range in.vars {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			continue
		}
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// truth is maildrop's notion of true: anything but "" and "0".
func truth(s string) bool { return s != "" && s != "0" }

// echoText interprets the backslash escapes of echo and log: \n \t \r \f \v, \NNN and \0NNN
// in octal, \c (no newline after the text) and \X for any other X. It returns the text and the
// line end to print.
func echoText(s string) (string, string) {
	if !strings.Contains(s, "\\") {
		return s, "\n"
	}
	var b strings.Builder
	nl := "\n"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'c':
			nl = ""
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n := 0
			j := 0
			if c == '0' {
				i++
			}
			for j < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7' {
				n = n*8 + int(s[i]-'0')
				i++
				j++
			}
			i--
			b.WriteByte(byte(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nl
}
