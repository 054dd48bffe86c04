package delivery

// In-process maildrop. A "| maildrop ..." delivery instruction (in a .courier file, an
// aliasdir file or DEFAULTDELIVERY) that names our maildrop runs the filter language of
// internal/filter/maildrop inside the server instead of starting /bin/sh and a second
// process: the same environment (HOME, SENDER, RECIPIENT, EXT, DEFAULT, ...), the same
// arguments, the same message on "standard input" and the same exit code, mapped by
// exitResult as any "|" command's.
//
// It stays out of process when that would change who runs the recipe: when the server is
// root and the account has a user of its own, the recipe must run with that user's uid,
// and Go cannot change the uid of one goroutine; then `courier maildrop` (this binary) is
// started with the account's credential, without a shell. A command the parser does not
// fully understand (shell syntax beyond plain words and quotes), or one naming another
// program called maildrop that exists on disk and is not this binary, goes through /bin/sh
// as before.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"courier/internal/auth"
	"courier/internal/filter/maildrop"
	"courier/internal/store/maildir"
)

// maxMaildropStderr bounds what is kept of maildrop's error output for the log.
const maxMaildropStderr = 4096

// splitCommand splits a command line into words as /bin/sh would for the simple cases:
// blanks separate words, single quotes keep everything literally, double quotes keep
// everything but \" \\ \$ \` and a backslash quotes the next character. ok is false for
// anything that needs a real shell: an unquoted metacharacter (| & ; < > ( ) $ ` * ? [ ~ { }
// #, a newline), $ or ` inside double quotes, an unterminated quote, or a leading
// NAME=value assignment.
func splitCommand(s string) (words []string, ok bool) {
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch s[i] {
				case '$', '`':
					return nil, false
				case '\\':
					if i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
						i++
					}
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) || s[i+1] == '\n' {
				return nil, false
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?[~{}#\n\r", c) >= 0:
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 || strings.Contains(words[0], "=") {
		return nil, false
	}
	return words, true
}

// maildropArgs recognises a command that runs our maildrop ("maildrop", "/usr/bin/maildrop",
// "/usr/lib/courier/bin/maildrop", "courier maildrop", "/usr/sbin/courier maildrop", any of
// them with arguments) and returns maildrop's arguments. self is this binary's path; a
// named program that exists and is another file than self is someone else's maildrop.
func maildropArgs(command, path, self string) ([]string, bool) {
	w, ok := splitCommand(command)
	if !ok {
		return nil, false
	}
	switch filepath.Base(w[0]) {
	case "maildrop":
	case "courier":
		if len(w) < 2 || w[1] != "maildrop" {
			return nil, false
		}
		if !isSelf(w[0], path, self) {
			return nil, false
		}
		return w[2:], true
	default:
		return nil, false
	}
	if !isSelf(w[0], path, self) {
		return nil, false
	}
	return w[1:], true
}

// isSelf reports whether the program name resolves (through PATH when it has no slash) to
// this binary, to the lean courier-mda installed beside it, or to nothing at all.
func isSelf(name, path, self string) bool {
	var found string
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err == nil {
			found = name
		}
	} else {
		for _, dir := range filepath.SplitList(path) {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				found = p
				break
			}
		}
	}
	if found == "" {
		return true
	}
	a, err := os.Stat(found)
	if err != nil {
		return false
	}
	for _, p := range []string{self, filepath.Join(filepath.Dir(self), "courier-mda")} {
		if b, err := os.Stat(p); err == nil && os.SameFile(a, b) {
			return true
		}
	}
	return false
}

// maildropHook runs a "| command" line that names our maildrop without a shell: in-process,
// or as `courier maildrop` with the account's credential when the server is root and the
// account has its own user. handled is false when the command is anything else.
func (d *dotRun) maildropHook(ctx context.Context, command string) (code int, handled bool, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, false, nil
	}
	env := append(d.env(), d.maildropEnv()...)
	envMap := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
	}
	args, ok := maildropArgs(command, envMap["PATH"], self)
	if !ok {
		return 0, false, nil
	}
	if cred := d.credential(); cred != nil {
		code, err := d.execTool(ctx, self, "maildrop", args, env, cred)
		return code, true, err
	}
	in, err := d.open()
	if err != nil {
		return 0, true, err
	}
	defer in.Close()
	name := envMap["USER"]
	if name == "" {
		name = "mail"
	}
	var stderr limitedBuffer
	stderr.max = maxMaildropStderr
	start := time.Now()
	code = maildrop.Main(&maildrop.Invocation{
		Args:      args,
		Stdin:     in,
		Stderr:    &stderr,
		Env:       envMap,
		ConfigDir: d.l.o.ConfigDir,
		Self:      &maildrop.User{Name: name, Home: d.home, Shell: "/bin/sh", UID: os.Getuid(), GID: os.Getgid()},
		Logger:    d.l.o.Log,
		Host:      maildir.HostName(),
		NoSync:    d.l.o.NoSync,
	})
	lvl := "delivery: maildrop in-process"
	if code != 0 && code != 99 {
		d.l.o.Log.Warn(lvl, "id", d.m.ID, "rcpt", d.m.Env.Rcpts[d.i].Addr, "exit", code, "stderr", strings.TrimSpace(stderr.String()))
	} else {
		d.l.o.Log.Debug(lvl, "id", d.m.ID, "rcpt", d.m.Env.Rcpts[d.i].Addr, "exit", code, "took", time.Since(start))
	}
	return code, true, nil
}

// maildropEnv is what Courier adds for its maildrop (maildropfilter(7)): MAILDROPDEFAULT,
// the account's mailbox (maildrop's DEFAULT; Courier's DEFAULT environment variable is the
// -default part of the address), LOGNAME and the account's MAILDIRQUOTA.
func (d *dotRun) maildropEnv() []string {
	if d.acct == nil {
		return nil
	}
	var e []string
	if d.acct.Maildir != "" {
		e = append(e, "MAILDROPDEFAULT="+d.acct.Maildir)
	}
	name := d.acct.Address
	if d.acct.SysUser != "" {
		name = d.acct.SysUser
	}
	e = append(e, "LOGNAME="+name)
	if d.acct.Quota != "" {
		e = append(e, "MAILDIRQUOTA="+d.acct.Quota)
	}
	return e
}

// execTool starts one of our per-message tools (maildrop, deliverquota) with the
// account's credential: the lean courier-mda beside this binary when it is there (a third
// of the start-up), else `courier TOOL`.
func (d *dotRun) execTool(ctx context.Context, self, tool string, args, env []string, cred *syscall.Credential) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.l.o.ProgramTimeout)
	defer cancel()
	bin := self
	if lean := filepath.Join(filepath.Dir(self), "courier-mda"); isExecutable(lean) {
		bin = lean
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{tool}, args...)...)
	cmd.Dir = d.home
	if st, err := os.Stat(d.home); err != nil || !st.IsDir() {
		cmd.Dir = "/"
	}
	cmd.Env = append(env, "COURIER_CONFIG="+d.l.o.ConfigDir)
	in, err := d.open()
	if err != nil {
		return 0, err
	}
	defer in.Close()
	cmd.Stdin = in
	var stderr limitedBuffer
	stderr.max = maxMaildropStderr
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setsid: true}
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s timed out after %s", tool, d.l.o.ProgramTimeout)
		}
		if ee.ExitCode() < 0 {
			return 0, fmt.Errorf("%s killed: %w", tool, err)
		}
		if ee.ExitCode() != 99 {
			d.l.o.Log.Warn("delivery: "+tool, "id", d.m.ID, "exit", ee.ExitCode(), "output", string(bytes.TrimSpace(stderr.Bytes())))
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("running %s %s: %w", bin, tool, err)
	}
	return 0, nil
}

// isExecutable reports whether p is a regular file with an execute bit.
func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// MaildropArgs reports whether command (a program path, possibly with arguments) runs our
// maildrop, as a "| maildrop" delivery line is recognised, and returns the arguments given
// after the program name. path is the PATH used to find a bare name, self this binary. The
// SMTP server's local mail filter (maildropfilter) uses it to run the filter in-process.
func MaildropArgs(command, path, self string) ([]string, bool) {
	return maildropArgs(command, path, self)
}

// AccountIDs returns the uid and gid of an account's own user: its system user's (USERNAME),
// else its UID and GID. ok is false when there is none (no system user, or uid 0): such an
// account has no credential of its own to run a program with.
func AccountIDs(a *auth.Account) (uid, gid int, ok bool) {
	if a.SysUser != "" {
		u, err := user.Lookup(a.SysUser)
		if err != nil {
			return 0, 0, false
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		return uid, gid, err1 == nil && err2 == nil && uid != 0
	}
	return a.UID, a.GID, a.UID != 0
}
