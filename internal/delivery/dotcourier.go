package delivery

// .courier delivery instructions (dot-courier(5)): $HOME/.courier for the account,
// $HOME/.courier-EXT for user-EXT addresses (with the -default fallbacks), and the
// configuration's aliasdir/.courier-NAME for local addresses that are no account.
//
// What a file says, line by line: "./path" or "/path" delivers into a Maildir (a directory,
// or a name ending in "/") or appends to an mbox file (locked with flock, as Courier, which
// does no dot-locking); "| command" runs the command through /bin/sh with the message on
// its standard input and Courier's exit-code meanings; "|| command" does the same and reads
// more instructions from its output (at most 8191 octets, 4 levels deep); anything else is
// a comma-separated list of addresses to forward to (a leading & or ! is ignored). An empty
// or missing $HOME/.courier means the default delivery; a file with no instructions
// discards the message; a missing $HOME/.courier-EXT means the address does not exist.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"courier/internal/auth"
	"courier/internal/queue"
	"courier/internal/store/maildir"
)

// instrKind is the kind of one delivery instruction.
type instrKind int

const (
	instrMailbox instrKind = iota // Maildir or mbox
	instrProgram                  // | command
	instrDynamic                  // || command
	instrForward                  // addresses
)

type instruction struct {
	kind  instrKind
	text  string   // the path or the command
	addrs []string // instrForward
}

const (
	// maxDynamicOutput is how much of a || command's output is read as instructions
	// (Courier's limit with glibc).
	maxDynamicOutput = 8191
	// maxDynamicDepth is how deeply || instructions may produce more || instructions.
	maxDynamicDepth = 4
	// dotCourierMax bounds a .courier file.
	dotCourierMax = 1 << 20
)

// parseInstructions reads delivery instructions. Lines ending in "\" continue on the next.
func parseInstructions(b []byte) []instruction {
	var out []instruction
	var cur strings.Builder
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		cur.Reset()
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			i++
			line = lines[i]
		}
		cur.WriteString(line)
		s := strings.TrimSpace(cur.String())
		if s == "" || s[0] == '#' {
			continue
		}
		switch {
		case s[0] == '.' || s[0] == '/':
			out = append(out, instruction{kind: instrMailbox, text: s})
		case strings.HasPrefix(s, "||"):
			out = append(out, instruction{kind: instrDynamic, text: strings.TrimSpace(s[2:])})
		case s[0] == '|':
			out = append(out, instruction{kind: instrProgram, text: strings.TrimSpace(s[1:])})
		default:
			s = strings.TrimLeft(s, "&!")
			var addrs []string
			for _, a := range strings.Split(s, ",") {
				a = strings.TrimSpace(a)
				a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
				if a != "" {
					addrs = append(addrs, a)
				}
			}
			if len(addrs) > 0 {
				out = append(out, instruction{kind: instrForward, addrs: addrs})
			}
		}
	}
	return out
}

// extName is the file-name form of an address extension: lower case, periods as colons.
// It returns "" for an extension that could name a file outside the directory.
func extName(ext string) string {
	ext = strings.ToLower(strings.ReplaceAll(ext, ".", ":"))
	if ext == "" || strings.ContainsAny(ext, "/\x00") {
		return ""
	}
	return ext
}

// findExtFile finds the instructions for extension ext in dir: .courier-EXT, then
// .courier-A-B-default, .courier-A-default and .courier-default for EXT "A-B-C". def is
// the part a -default file stood for (the DEFAULT variable). A missing file is
// fs.ErrNotExist.
func findExtFile(dir, ext string) (path, def string, err error) {
	name := extName(ext)
	if name == "" {
		return "", "", fs.ErrNotExist
	}
	try := func(p string) (bool, error) {
		st, err := os.Stat(p)
		if err == nil && st.Mode().IsRegular() {
			return true, nil
		}
		if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return false, nil
		}
		return false, err
	}
	p := filepath.Join(dir, ".courier-"+name)
	if ok, err := try(p); ok || err != nil {
		return p, "", err
	}
	parts := strings.Split(name, "-")
	origParts := strings.Split(ext, "-")
	for n := len(parts) - 1; n >= 0; n-- {
		base := ".courier-default"
		if n > 0 {
			base = ".courier-" + strings.Join(parts[:n], "-") + "-default"
		}
		p := filepath.Join(dir, base)
		if ok, err := try(p); ok || err != nil {
			d := ""
			if n < len(origParts) {
				d = strings.Join(origParts[n:], "-")
			}
			return p, d, err
		}
	}
	return "", "", fs.ErrNotExist
}

// readInstructions reads a .courier file. It refuses one that others than its owner may
// write, as a stranger could otherwise decide where the account's mail goes.
func readInstructions(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%s is writable by others than its owner", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, dotCourierMax+1))
	if err != nil {
		return nil, err
	}
	if len(b) > dotCourierMax {
		return nil, fmt.Errorf("%s is too large", p)
	}
	return b, nil
}

// dotRun is one delivery through instructions.
type dotRun struct {
	l    *Local
	m    *queue.Message
	i    int
	acct *auth.Account // nil for aliasdir deliveries
	home string
	ext  string // the address extension (EXT)
	def  string // what a -default file stood for (DEFAULT)
}

// open returns the message as queued (without Return-Path: and Delivered-To:).
func (d *dotRun) open() (io.ReadCloser, error) {
	c, err := d.m.Open()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d.m.ID, err)
	}
	return c, nil
}

// env is the environment of commands (dot-courier(5) ENVIRONMENT VARIABLES).
func (d *dotRun) env() []string {
	r := d.m.Env.Rcpts[d.i]
	local, host := splitAddr(r.Addr)
	user := ""
	if d.acct != nil {
		user = d.acct.Address
		if d.acct.SysUser != "" {
			user = d.acct.SysUser
		}
	}
	e := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SHELL=/bin/sh", "HOME=" + d.home, "USER=" + user,
		"SENDER=" + d.m.Env.From, "RECIPIENT=" + r.Addr, "HOST=" + host, "LOCAL=" + local,
		"EXT=" + d.ext, "DEFAULT=" + d.def,
		"UFLINE=" + d.fromLine(), "RPLINE=Return-Path: <" + d.m.Env.From + ">\n", "DTLINE=Delivered-To: " + r.Addr + "\n"}
	x := d.ext
	for n := 2; n <= 4; n++ {
		_, x, _ = strings.Cut(x, "-")
		e = append(e, "EXT"+strconv.Itoa(n)+"="+x)
	}
	return e
}

func (d *dotRun) fromLine() string {
	from := d.m.Env.From
	if from == "" {
		from = "MAILER-DAEMON"
	}
	return "From " + from + " " + time.Now().UTC().Format("Mon Jan _2 15:04:05 2006") + "\n"
}

// run carries out instructions; stop says a program asked to end with success (exit 99).
func (d *dotRun) run(ctx context.Context, ins []instruction, depth int) (stop bool, res queue.Result) {
	for _, in := range ins {
		switch in.kind {
		case instrMailbox:
			if res := d.mailbox(in.text); res.Outcome != queue.Delivered {
				return false, res
			}
		case instrForward:
			if d.l.o.Forward == nil {
				return false, queue.Result{Outcome: queue.Retry, Err: errors.New("4.3.0 forwarding is not available")}
			}
			if err := d.l.o.Forward(ctx, d.m, d.i, in.addrs); err != nil {
				return false, queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 forwarding to %s: %w", strings.Join(in.addrs, ", "), err)}
			}
		case instrProgram, instrDynamic:
			dynamic := in.kind == instrDynamic
			out, code, err := d.program(ctx, in.text, dynamic)
			if err != nil {
				return false, queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 running %q: %w", in.text, err)}
			}
			if r, ok := exitResult(code, in.text); !ok {
				return false, r
			}
			if dynamic {
				if depth >= maxDynamicDepth {
					return false, queue.Result{Outcome: queue.Failed, Err: errors.New("5.4.6 dynamic delivery instructions nest too deeply")}
				}
				more := parseInstructions(out)
				stopped, r := d.run(ctx, more, depth+1)
				if r.Outcome != queue.Delivered {
					return false, r
				}
				if stopped {
					return true, r
				}
			}
			if code == 99 {
				return true, queue.Result{Outcome: queue.Delivered}
			}
		}
	}
	return false, queue.Result{Outcome: queue.Delivered}
}

// exitResult maps a command's exit code as Courier does: 0 and 99 succeed; EX_SOFTWARE
// (70) and the hard codes fail for good; anything else is temporary.
func exitResult(code int, cmd string) (queue.Result, bool) {
	switch code {
	case 0, 99:
		return queue.Result{Outcome: queue.Delivered}, true
	case 64, 65, 67, 68, 69, 70, 76, 77, 78, 100, 112:
		return queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.3.0 %q exited with %d", cmd, code)}, false
	}
	return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 %q exited with %d", cmd, code)}, false
}

// program runs a command with the message (without Return-Path: and Delivered-To:, as
// Courier gives it) on its standard input, as the account's user when the server runs as
// root. dynamic captures its output.
func (d *dotRun) program(ctx context.Context, command string, dynamic bool) ([]byte, int, error) {
	if !dynamic {
		if code, ok, err := d.maildropHook(ctx, command); ok {
			return nil, code, err
		}
		if code, ok, err := d.deliverquotaHook(ctx, command); ok {
			return nil, code, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.l.o.ProgramTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir = d.home
	if st, err := os.Stat(d.home); err != nil || !st.IsDir() {
		cmd.Dir = "/"
	}
	cmd.Env = d.env()
	in, err := d.open()
	if err != nil {
		return nil, 0, err
	}
	defer in.Close()
	cmd.Stdin = in
	var out limitedBuffer
	out.max = maxDynamicOutput
	if dynamic {
		cmd.Stdout = &out
	}
	if cred := d.credential(); cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("timed out after %s", d.l.o.ProgramTimeout)
		}
		if ee.ExitCode() < 0 {
			return nil, 0, fmt.Errorf("killed: %w", err)
		}
		return out.Bytes(), ee.ExitCode(), nil
	}
	if err != nil {
		return nil, 0, err
	}
	return out.Bytes(), 0, nil
}

// credential is the account's uid and gid when the server runs as root and the account
// has a user of its own; nil means "as the server".
func (d *dotRun) credential() *syscall.Credential {
	if os.Geteuid() != 0 || d.acct == nil {
		return nil
	}
	uid, gid, ok := d.l.ids(d.acct)
	if !ok || uid == 0 {
		return nil
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// mailbox delivers into a Maildir (a directory, or a path ending in "/") or appends to an
// mbox file. Relative paths are relative to the home directory.
func (d *dotRun) mailbox(p string) queue.Result {
	isDir := strings.HasSuffix(p, "/")
	if !filepath.IsAbs(p) {
		if d.home == "" {
			return queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.3.0 %s: no home directory to find it in", p)}
		}
		p = filepath.Join(d.home, p)
	}
	p = filepath.Clean(p)
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		isDir = true
	}
	r := d.m.Env.Rcpts[d.i]
	pre := "Return-Path: <" + d.m.Env.From + ">\nDelivered-To: " + r.Addr + "\n"
	in, err := d.open()
	if err != nil {
		return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 %w", err)}
	}
	defer in.Close()
	if isDir {
		if _, err := os.Stat(filepath.Join(p, maildir.New)); errors.Is(err, fs.ErrNotExist) {
			return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.0 %s is not a Maildir", p)}
		}
		body := io.MultiReader(strings.NewReader(pre), in)
		_, err := maildir.DeliverTo(p, body, &maildir.DeliverOptions{Unique: "_" + d.m.Token(d.i), NoSync: d.l.o.NoSync})
		if err != nil {
			if errors.Is(err, maildir.ErrOverQuota) {
				return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.2 mailbox full: %w", err)}
			}
			return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.0 %w", err)}
		}
		return queue.Result{Outcome: queue.Delivered}
	}
	if err := d.appendMbox(p, pre, in); err != nil {
		return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.0 %w", err)}
	}
	return queue.Result{Outcome: queue.Delivered}
}

// appendMbox appends the message to an mbox file under an exclusive flock: the From_ line,
// Return-Path: and Delivered-To:, the message with body lines that begin with "From " (after
// any ">") quoted with ">", and a blank line. A failed append is cut off again, so the
// file never keeps half a message.
func (d *dotRun) appendMbox(p, pre string, in io.Reader) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	defer f.Close()
	if cred := d.credential(); cred != nil {
		if st, err := f.Stat(); err == nil && st.Size() == 0 {
			_ = f.Chown(int(cred.Uid), int(cred.Gid))
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("mbox: lock %s: %w", p, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	start := st.Size()
	w := bufio.NewWriterSize(f, 64<<10)
	w.WriteString(d.fromLine())
	w.WriteString(pre)
	br := bufio.NewReaderSize(in, 64<<10)
	atStart, last := true, byte('\n')
	for {
		chunk, rerr := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if atStart && bytes.HasPrefix(bytes.TrimLeft(chunk, ">"), []byte("From ")) {
				w.WriteByte('>')
			}
			w.Write(chunk)
			last = chunk[len(chunk)-1]
			atStart = last == '\n'
		}
		if errors.Is(rerr, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			_ = f.Truncate(start)
			return fmt.Errorf("mbox: reading the message: %w", rerr)
		}
	}
	if last != '\n' {
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
	err = w.Flush()
	if err == nil && !d.l.o.NoSync {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Truncate(start)
		return fmt.Errorf("mbox: writing %s: %w", p, err)
	}
	return nil
}

// limitedBuffer keeps the first max octets written to it and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
