package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"courier/internal/filter/maildrop"
	"courier/internal/store/maildir"
)

// maxMaildropMessage bounds the message maildrop reads from standard input.
const maxMaildropMessage = 1 << 30

func init() {
	register(&Command{
		Name:  "maildrop",
		Usage: "[-f sender] [-A 'Header: value'] [-V level] [-d user | filterfile [arg...]]",
		Short: "filter the message on standard input with a maildrop recipe and deliver it",
		Link:  true,
		Run:   runMaildrop,
	})
}

// passwdEntry is the part of a passwd line maildrop needs.
type passwdEntry struct {
	name, home, shell string
	uid, gid          int
}

// lookupPasswd finds a user in the passwd file by name (or, name "", by uid).
func lookupPasswd(file, name string, uid int) (*passwdEntry, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("passwd: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ":")
		if len(fs) < 7 {
			continue
		}
		u, err1 := strconv.Atoi(fs[2])
		g, err2 := strconv.Atoi(fs[3])
		if err1 != nil || err2 != nil {
			continue
		}
		if (name != "" && fs[0] == name) || (name == "" && u == uid) {
			return &passwdEntry{name: fs[0], uid: u, gid: g, home: fs[5], shell: fs[6]}, nil
		}
	}
	return nil, fmt.Errorf("passwd: no user %q", name)
}

type maildropArgs struct {
	user, from, filter string
	deliveryMode       bool
	headers            []string
	verbose            int
	rest               []string
}

// parseMaildropArgs reads Courier's options: each may be written "-fX" or "-f X"; the first
// argument that is not an option is the filter file (unless -d was given) and the rest are
// $1, $2, ...
func parseMaildropArgs(args []string) (*maildropArgs, error) {
	a := &maildropArgs{}
	i := 0
	for ; i < len(args); i++ {
		s := args[i]
		if s == "--" {
			i++
			break
		}
		if len(s) < 2 || s[0] != '-' {
			break
		}
		opt := s[1]
		val := s[2:]
		takes := strings.IndexByte("dfVAMwWDt", opt) >= 0
		if takes && val == "" {
			if i+1 >= len(args) {
				return nil, errors.New("missing option value")
			}
			i++
			val = args[i]
		}
		switch opt {
		case 'd':
			a.user, a.deliveryMode = val, true
		case 'f':
			a.from = val
		case 'V':
			a.verbose, _ = strconv.Atoi(val)
		case 'A':
			a.headers = append(a.headers, val)
		case 'w', 'W', 'D', 't':
			// quota warnings, Courier's -D uid/gid and Dovecot's socket: accepted, unused
		case 'a':
		case 'm', 'M':
			return nil, errors.New("embedded mode (-m, -M) is not supported")
		default:
			return nil, fmt.Errorf("unknown option -%c", opt)
		}
	}
	if !a.deliveryMode && i < len(args) {
		a.filter = args[i]
		i++
	} else if a.filter == "" {
		a.deliveryMode = true
	}
	a.rest = args[i:]
	return a, nil
}

func runMaildrop(e *Env) int {
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := parseMaildropArgs(e.Args)
	if err != nil {
		return fail(e, "maildrop", maildrop.ExitTempFail, "bad command line arguments: %v", err)
	}
	data, err := io.ReadAll(io.LimitReader(e.Stdin, maxMaildropMessage+1))
	if err != nil {
		return fail(e, "maildrop", maildrop.ExitTempFail, "reading the message: %v", err)
	}
	if len(data) > maxMaildropMessage {
		return fail(e, "maildrop", maildrop.ExitTempFail, "message larger than %d bytes", maxMaildropMessage)
	}
	msg := maildrop.NewMessageWithHeaders(a.headers, data)

	passwd := e.Env("COURIER_PASSWD")
	if passwd == "" {
		passwd = "/etc/passwd"
	}
	me, err := lookupPasswd(passwd, "", os.Getuid())
	if err != nil {
		me = &passwdEntry{name: strconv.Itoa(os.Getuid()), uid: os.Getuid(), gid: os.Getgid(), home: e.Env("HOME"), shell: "/bin/sh"}
	}
	user := me
	if a.deliveryMode && a.user != "" && a.user != me.name {
		u, err := lookupPasswd(passwd, a.user, 0)
		if err != nil {
			return fail(e, "maildrop", maildrop.ExitNoUser, "invalid user specified: %s", a.user)
		}
		if me.uid != 0 {
			return fail(e, "maildrop", maildrop.ExitTempFail, "-d %s: only root may deliver for another user", a.user)
		}
		user = u
	}

	env := environMap(e)
	vars := map[string]string{}
	if !a.deliveryMode {
		for k, v := range env {
			vars[k] = v
		}
	} else {
		for k, v := range env {
			if k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
				vars[k] = v
			}
		}
	}
	shell := user.shell
	if shell == "" {
		shell = "/bin/sh"
	}
	host, _ := os.Hostname()
	for k, v := range map[string]string{
		"HOME": user.home, "LOGNAME": user.name, "SHELL": shell,
		"DEFAULT": "/var/mail/" + user.name, "PATH": "/bin:/usr/bin:/usr/local/bin",
		"LOCKEXT": ".lock", "LOCKREFRESH": "15", "LOCKSLEEP": "5", "LOCKTIMEOUT": "60",
		"MAILDIRQUOTA": "", "SENDMAIL": "/usr/sbin/sendmail -oi", "UMASK": "077", "HOSTNAME": host,
	} {
		vars[k] = v
	}
	workDir := ""
	if a.deliveryMode {
		workDir = user.home
		// Courier's own maildrop: when delivering for the invoking user, the MTA's HOME,
		// SHELL, LOGNAME and MAILDIRQUOTA are kept, and MAILDROPDEFAULT gives DEFAULT.
		if user == me {
			for _, k := range []string{"HOME", "SHELL", "LOGNAME", "MAILDIRQUOTA"} {
				if v := env[k]; v != "" {
					vars[k] = v
				}
			}
			workDir = vars["HOME"]
		}
		if v := env["MAILDROPDEFAULT"]; v != "" {
			vars["DEFAULT"] = v
		} else if fi, err := os.Stat(filepath.Join(workDir, "Maildir")); err == nil && fi.IsDir() {
			vars["DEFAULT"] = "./Maildir"
		}
	} else {
		vars["MAILFILTER"] = a.filter
		for i, v := range a.rest {
			vars[strconv.Itoa(i+1)] = v
		}
	}
	from := a.from
	if from == "" {
		from = returnPath(msg.HeaderValue("Return-Path"))
	}
	if from == "" {
		from = "MAILER-DAEMON"
	}
	vars["FROM"] = from

	in := maildrop.New(msg, vars, maildrop.Options{
		Logger: log, Stdout: e.Stdout, Stderr: e.Stderr, Env: env, WorkDir: workDir,
		Host: maildir.HostName(),
	})
	defer in.Close()

	var files []fileToRun
	if a.deliveryMode {
		if code := checkHome(e, workDir); code != 0 {
			return code
		}
		if me.uid == 0 && user.uid != 0 {
			if err := dropPrivileges(user); err != nil {
				return fail(e, "maildrop", maildrop.ExitTempFail, "cannot change to user %s: %v", user.name, err)
			}
		}
		rc := filepath.Join(maildirmakeConfigDir(e), "maildroprc")
		files = append(files, fileToRun{path: rc, optional: true})
		files = append(files, fileToRun{path: filepath.Join(workDir, ".mailfilter"), optional: true, owner: user.uid, checkPerm: true})
	} else {
		files = append(files, fileToRun{path: a.filter})
	}
	// Every file is parsed before anything runs.
	var progs []*maildrop.Program
	for _, f := range files {
		p, code := loadFilter(e, f)
		if code != 0 {
			return code
		}
		if p != nil {
			progs = append(progs, p)
		}
	}
	for _, p := range progs {
		out, err := in.Run(p)
		if errors.Is(err, maildrop.ErrTimeout) {
			log.Error("maildrop: filtering stopped; delivering to DEFAULT", "file", p.File, "err", err)
			break
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "maildrop: %v\n", err)
			return maildrop.ExitTempFail
		}
		if out.Done {
			return out.ExitCode
		}
	}
	def := in.Var("DEFAULT")
	if _, err := in.Deliver(def); err != nil {
		fmt.Fprintf(e.Stderr, "maildrop: %v\n", err)
		return maildrop.ExitTempFail
	}
	return int(numberPrefix(in.Var("EXITCODE")))
}

type fileToRun struct {
	path      string
	optional  bool
	checkPerm bool
	owner     int
}

// loadFilter reads and parses one filter file; a missing optional file gives nil.
func loadFilter(e *Env, f fileToRun) (*maildrop.Program, int) {
	fh, err := os.Open(f.path)
	if err != nil {
		if f.optional && errors.Is(err, fs.ErrNotExist) {
			return nil, 0
		}
		return nil, fail(e, "maildrop", maildrop.ExitTempFail, "unable to open filter file %s: %v", f.path, err)
	}
	defer fh.Close()
	if f.checkPerm {
		fi, err := fh.Stat()
		if err != nil {
			return nil, fail(e, "maildrop", maildrop.ExitTempFail, "%s: %v", f.path, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && int(st.Uid) != f.owner {
			return nil, fail(e, "maildrop", maildrop.ExitTempFail, "%s: not owned by the recipient", f.path)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fail(e, "maildrop", maildrop.ExitTempFail, "%s: must not be accessible to group or others", f.path)
		}
	}
	src, err := io.ReadAll(io.LimitReader(fh, maildrop.MaxFileBytes+1))
	if err != nil {
		return nil, fail(e, "maildrop", maildrop.ExitTempFail, "reading %s: %v", f.path, err)
	}
	p, err := maildrop.Parse(f.path, src)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return nil, maildrop.ExitTempFail
	}
	return p, 0
}

// checkHome refuses delivery when the home directory has the sticky bit (mail held while
// the user edits the filter) or is writable by everyone.
func checkHome(e *Env, home string) int {
	fi, err := os.Stat(home)
	if err != nil {
		return fail(e, "maildrop", maildrop.ExitTempFail, "home directory %s: %v", home, err)
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		return fail(e, "maildrop", maildrop.ExitTempFail, "%s: sticky bit set, delivery deferred", home)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return fail(e, "maildrop", maildrop.ExitTempFail, "%s: home directory is world-writable", home)
	}
	return 0
}

func dropPrivileges(u *passwdEntry) error {
	if err := syscall.Setgroups([]int{u.gid}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(u.gid); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(u.uid); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	return nil
}

// returnPath takes the address out of a Return-Path value ("<a@b>" gives "a@b").
func returnPath(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j >= 0 {
			return v[i+1 : i+j]
		}
	}
	return v
}

// environMap returns the environment the tool runs with.
func environMap(e *Env) map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 {
			m[kv[:i]] = kv[i+1:]
		}
	}
	if e.Getenv != nil {
		// in-process runs (tests) see only what their Getenv provides for the names maildrop
		// cares about
		for _, k := range []string{"HOME", "SHELL", "LOGNAME", "MAILDIRQUOTA", "MAILDROPDEFAULT", "PATH", "COURIER_CONFIG"} {
			if v := e.Getenv(k); v != "" {
				m[k] = v
			} else {
				delete(m, k)
			}
		}
	}
	return m
}

// numberPrefix is C's atof on an exit code variable.
func numberPrefix(s string) float64 {
	s = strings.TrimSpace(s)
	j := 0
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[:j])
	return float64(n)
}
