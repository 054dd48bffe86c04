package maildrop

import (
	"bytes"
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

	"courier/internal/store/keywords"
	"courier/internal/store/maildir"
)

// isPipe reports whether a mailbox is a command ("| program").
func isPipe(mailbox string) bool {
	return strings.HasPrefix(strings.TrimLeft(mailbox, " \t"), "|")
}

// Deliver delivers the current message to a mailbox as the to and cc statements do: "| cmd"
// runs cmd through $SHELL with the message on its standard input (the returned code is its
// exit status, also stored in EXITCODE); "!addr ..." forwards through $SENDMAIL; a directory
// is a maildir (FLAGS, KEYWORDS and MAILDIRQUOTA apply); anything else is an mbox file,
// dot-locked and flocked. Each delivery is written to the logfile, if one is open.
func (in *Interp) Deliver(mailbox string) (int, error) {
	mb := strings.TrimLeft(mailbox, " \t")
	var (
		code int
		err  error
	)
	size := in.msg.Size()
	switch {
	case mb == "":
		return 0, errors.New("deliver: empty mailbox name")
	case strings.HasPrefix(mb, "|"):
		cmd := strings.TrimLeft(mb[1:], " \t")
		_, code, err = in.runShell(cmd, in.msg.Bytes(), in.opts.Stdout, false)
		if err != nil {
			return 0, fmt.Errorf("deliver to %q: %w", cmd, err)
		}
		in.vars["EXITCODE"] = strconv.Itoa(code)
	case strings.HasPrefix(mb, "!"):
		code, err = in.forward(strings.Fields(mb[1:]))
		if err != nil {
			return 0, err
		}
	default:
		p := in.path(mb)
		fi, serr := os.Stat(p)
		if serr == nil && fi.IsDir() {
			err = in.deliverMaildir(p)
		} else {
			size, err = in.deliverMbox(p)
		}
		if err != nil {
			return 0, err
		}
	}
	in.logDelivery(mb, size)
	return code, nil
}

func (in *Interp) deliverMaildir(dir string) error {
	flags := in.vars["FLAGS"]
	var keep strings.Builder
	for _, c := range flags {
		if strings.ContainsRune("DFRS", c) {
			keep.WriteRune(c)
		}
	}
	opt := &maildir.DeliverOptions{
		QuotaOverride: in.vars["MAILDIRQUOTA"],
		Seq:           &in.seq,
		Host:          in.opts.Host,
		NoSync:        in.opts.NoSync,
		Now:           in.opts.Now,
	}
	if keep.Len() > 0 {
		opt.Cur, opt.Flags = true, keep.String()
	}
	d, err := maildir.DeliverTo(dir, bytes.NewReader(in.msg.Bytes()), opt)
	if errors.Is(err, maildir.ErrOverQuota) {
		return fmt.Errorf("maildir over quota: %w", err)
	}
	if err != nil {
		return fmt.Errorf("unable to deliver to maildir: %w", err)
	}
	if in.opts.QuotaWarnPercent >= 0 && in.opts.QuotaWarnFile != "" {
		host := in.opts.Host
		if host == "" {
			host = maildir.HostName()
		}
		// The message is delivered: a warning that cannot be given is only logged.
		if _, err := maildir.DeliverQuotaWarning(dir, in.opts.QuotaWarnPercent, in.path(in.opts.QuotaWarnFile), host, in.opts.Now()); err != nil {
			in.opts.Logger.Warn("maildrop: quota warning not given", "maildir", dir, "err", err)
		}
	}
	if kw := in.vars["KEYWORDS"]; kw != "" {
		var list []string
		for _, k := range strings.Split(kw, ",") {
			if k = strings.TrimSpace(k); k != "" && keywords.ValidKeyword(k) == nil {
				list = append(list, k)
			}
		}
		if len(list) > 0 {
			st := keywords.Open(dir, keywords.Options{Now: in.opts.Now})
			if err := st.Set(keywords.BaseName(d.Name), list); err != nil {
				in.opts.Logger.Warn("maildrop: cannot set keywords", "maildir", dir, "err", err)
			}
		}
	}
	return nil
}

// ctime is the From_ line date: C's ctime without the newline.
func ctime(t time.Time) string { return t.Format("Mon Jan _2 15:04:05 2006") }

func (in *Interp) deliverMbox(path string) (int, error) {
	n, err := in.writeMbox(path)
	return n, err
}

// writeMbox appends the message to an mbox file and returns the size of the message as
// written (with its '>' escapes).
func (in *Interp) writeMbox(path string) (int, error) {
	unlock, err := in.lock("dotlock", path+in.lockExt())
	if err != nil {
		return 0, fmt.Errorf("unable to create a dot-lock at %s: %w", path, err)
	}
	defer unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666&^in.umask())
	if err != nil {
		return 0, fmt.Errorf("unable to open mailbox %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("unable to lock mailbox %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("mailbox %s: %w", path, err)
	}
	var b bytes.Buffer
	from := in.vars["FROM"]
	if from == "" {
		from = "MAILER-DAEMON"
	}
	fmt.Fprintf(&b, "From %s %s\n", from, ctime(in.opts.Now()))
	head := b.Len()
	data := in.msg.Bytes()
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		if isFromLine(line) {
			b.WriteByte('>')
		}
		b.Write(line)
	}
	size := b.Len() - head
	if b.Len() > 0 && b.Bytes()[b.Len()-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Truncate(fi.Size()) //nolint:errcheck
		return 0, fmt.Errorf("write mailbox %s: %w", path, err)
	}
	if !in.opts.NoSync {
		if err := f.Sync(); err != nil {
			f.Truncate(fi.Size()) //nolint:errcheck
			return 0, fmt.Errorf("fsync mailbox %s: %w", path, err)
		}
	}
	return size, nil
}

// isFromLine reports a line that mbox readers take as a message start: "From " after any
// number of '>'.
func isFromLine(line []byte) bool {
	line = bytes.TrimLeft(line, ">")
	return bytes.HasPrefix(line, []byte("From "))
}

func (in *Interp) lockExt() string {
	if v, ok := in.vars["LOCKEXT"]; ok && v != "" {
		return v
	}
	return ".lock"
}

func (in *Interp) numVar(name string, def int) time.Duration {
	if v := in.vars[name]; v != "" {
		if n := toNumber(v); n > 0 {
			return time.Duration(n * float64(time.Second))
		}
	}
	return time.Duration(def) * time.Second
}

// lock takes a dot-lock (a file created exclusively; one older than LOCKTIMEOUT is stale and
// removed) or an flock on the named file, and returns the function that releases it.
func (in *Interp) lock(kind, name string) (func(), error) {
	if kind == "flock" {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666&^in.umask())
		if err != nil {
			return nil, fmt.Errorf("flock %s: %w", name, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", name, err)
		}
		return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil //nolint:errcheck
	}
	timeout := in.numVar("LOCKTIMEOUT", 60)
	sleep := in.numVar("LOCKSLEEP", 5)
	give := in.opts.Now().Add(2 * timeout)
	for {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(name) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, serr := os.Stat(name); serr == nil && in.opts.Now().Sub(fi.ModTime()) > timeout {
			os.Remove(name)
			continue
		}
		if in.opts.Now().After(give) || in.opts.Now().After(in.deadline) {
			return nil, fmt.Errorf("dot-lock %s: timed out", name)
		}
		time.Sleep(min(sleep, time.Second))
	}
}

// forward runs $SENDMAIL with the addresses, the message on its standard input; no shell is
// involved.
func (in *Interp) forward(addrs []string) (int, error) {
	if len(addrs) == 0 {
		return 0, errors.New("forward: no addresses")
	}
	argv := strings.Fields(in.vars["SENDMAIL"])
	if len(argv) == 0 {
		argv = []string{"/usr/sbin/sendmail", "-oi"}
	}
	if from := in.vars["FROM"]; from != "" {
		argv = append(argv, "-f", from)
	}
	argv = append(argv, addrs...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = in.environ()
	cmd.Dir = in.opts.WorkDir
	cmd.Stdin = bytes.NewReader(in.msg.Bytes())
	cmd.Stdout = in.opts.Stdout
	cmd.Stderr = in.opts.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return 0, fmt.Errorf("forward: %s exited with %d", argv[0], ee.ExitCode())
	}
	if err != nil {
		return 0, fmt.Errorf("forward: %w", err)
	}
	return 0, nil
}

// maxCommandOutput bounds what a backtick command or xfilter may produce.
const maxCommandOutput = 256 << 20

// runShell runs a command line through $SHELL -c. The recipe asked for it: backticks,
// system, xfilter and "| program" are the only places maildrop starts a shell. stdin nil means
// /dev/null. capture returns the standard output; otherwise it goes to out.
func (in *Interp) runShell(command string, stdin []byte, out io.Writer, capture bool) ([]byte, int, error) {
	shell := in.vars["SHELL"]
	if shell == "" {
		shell = "/bin/sh"
	}
	cmd := exec.Command(shell, "-c", command)
	cmd.Env = in.environ()
	cmd.Dir = in.opts.WorkDir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var buf limitedBuffer
	if capture {
		cmd.Stdout = &buf
	} else {
		cmd.Stdout = out
	}
	cmd.Stderr = in.opts.Stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("run %s: %w", shell, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Until(in.deadline)):
		cmd.Process.Kill() //nolint:errcheck
		<-done
		return nil, 0, fmt.Errorf("command %q: %w", command, ErrTimeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code < 0 {
			code = 128
		}
		return buf.b.Bytes(), code, nil
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return nil, 0, fmt.Errorf("run %q: %w", command, err)
	}
	if buf.over {
		return nil, 0, fmt.Errorf("command %q: output larger than %d bytes", command, maxCommandOutput)
	}
	return buf.b.Bytes(), 0, nil
}

type limitedBuffer struct {
	b    bytes.Buffer
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.b.Len()+len(p) > maxCommandOutput {
		l.over = true
		return len(p), nil
	}
	return l.b.Write(p)
}

// logDelivery writes the logfile record of a delivery.
func (in *Interp) logDelivery(mailbox string, size int) {
	if in.logFile == nil {
		return
	}
	subj := in.msg.HeaderValue("Subject")
	if len(subj) > 64 {
		subj = subj[:64]
	}
	from := in.msg.HeaderValue("From")
	if len(from) > 64 {
		from = from[:64]
	}
	fmt.Fprintf(in.logFile, "Date: %s\nFrom: %s\nSubj: %s\nFile: %-68s(%d)\n\n",
		ctime(in.opts.Now()), from, subj, filepath.Clean(mailbox), size)
}
