package maildrop

// The maildrop command itself (maildrop(1)): option parsing, the delivery and filter-file
// modes, the variables maildrop starts with, which files it reads and the exit code. Both
// `courier maildrop` and local delivery (which runs it in-process for a `| maildrop` line)
// go through Main.

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

	"courier/internal/cnum"
)

// MaxMessage bounds the message maildrop reads from standard input.
const MaxMessage = 1 << 30

// Args are maildrop's command-line options.
type Args struct {
	User         string // -d
	From         string // -f
	Filter       string // the filter file (filter-file mode) or -M's name
	DeliveryMode bool
	Embedded     bool // -m or -M
	EmbeddedName string
	FromSet      bool
	Headers      []string // -A
	Verbose      int      // -V
	WarnPercent  int      // -w: quota warning threshold; -1 without -w
	WarnFile     string   // -W: quota warning message
	Rest         []string // $1, $2, ...
}

// ParseArgs reads Courier's options: each may be written "-fX" or "-f X"; the first
// argument that is not an option is the filter file (unless -d or -M was given) and the
// rest are $1, $2, ...
func ParseArgs(args []string) (*Args, error) {
	a := &Args{WarnPercent: -1}
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
			a.User, a.DeliveryMode = val, true
		case 'f':
			a.From, a.FromSet = val, true
		case 'V':
			a.Verbose, _ = strconv.Atoi(val)
		case 'A':
			a.Headers = append(a.Headers, val)
		case 'w':
			a.WarnPercent = cnum.Atoi(val)
		case 'W':
			a.WarnFile = val
		case 'D', 't':
			// Courier's -D uid/gid and Dovecot's socket: accepted, unused
		case 'a':
		case 'm':
			a.Embedded = true
		case 'M':
			a.Embedded, a.EmbeddedName, a.DeliveryMode = true, val, true
		default:
			return nil, fmt.Errorf("unknown option -%c", opt)
		}
	}
	switch {
	case a.EmbeddedName != "":
	case !a.DeliveryMode && i < len(args):
		a.Filter = args[i]
		i++
	case a.Filter == "":
		a.DeliveryMode = true
	}
	a.Rest = args[i:]
	return a, nil
}

// User is the part of an account maildrop needs.
type User struct {
	Name, Home, Shell string
	UID, GID          int
}

// LookupPasswd finds a user in a passwd file by name (or, name "", by uid).
func LookupPasswd(file, name string, uid int) (*User, error) {
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
			return &User{Name: fs[0], UID: u, GID: g, Home: fs[5], Shell: fs[6]}, nil
		}
	}
	return nil, fmt.Errorf("passwd: no user %q", name)
}

// Invocation is one run of the maildrop command.
type Invocation struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Env is the environment maildrop started with.
	Env map[string]string
	// ConfigDir holds maildroprc and maildroprcs/ (Courier's /etc/courier).
	ConfigDir string
	// PasswdFile is where users are looked up ("" is /etc/passwd).
	PasswdFile string
	// Self, when set, is the user maildrop runs as, instead of the passwd entry of the
	// process's uid: local delivery runs maildrop in-process for an account this way. It
	// also forbids changing the process's user: a -d naming someone else fails.
	Self   *User
	Logger *slog.Logger
	// Host is the host name in maildir file names ("" is the system's).
	Host string
	// NoSync skips fsyncs (benchmarks).
	NoSync bool
}

func (inv *Invocation) fail(code int, format string, args ...any) int {
	fmt.Fprintf(inv.Stderr, "maildrop: %s\n", strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
	return code
}

// Main runs maildrop and returns its exit code: 0 delivered, EX_TEMPFAIL (75) try again
// later, another code as the filter's EXITCODE or the program it delivered to said.
func Main(inv *Invocation) int {
	if inv.Stdout == nil {
		inv.Stdout = io.Discard
	}
	if inv.Stderr == nil {
		inv.Stderr = io.Discard
	}
	log := inv.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(inv.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := ParseArgs(inv.Args)
	if err != nil {
		return inv.fail(ExitTempFail, "bad command line arguments: %v", err)
	}
	data, err := io.ReadAll(io.LimitReader(inv.Stdin, MaxMessage+1))
	if err != nil {
		return inv.fail(ExitTempFail, "reading the message: %v", err)
	}
	if len(data) > MaxMessage {
		return inv.fail(ExitTempFail, "message larger than %d bytes", MaxMessage)
	}
	msg := NewMessageWithHeaders(a.Headers, data)

	configDir := inv.ConfigDir
	if configDir == "" {
		configDir = "/etc/courier"
	}
	passwd := inv.PasswdFile
	if passwd == "" {
		passwd = "/etc/passwd"
	}
	env := inv.Env
	if env == nil {
		env = map[string]string{}
	}
	me := inv.Self
	if me == nil {
		me, err = LookupPasswd(passwd, "", os.Getuid())
		if err != nil {
			me = &User{Name: strconv.Itoa(os.Getuid()), UID: os.Getuid(), GID: os.Getgid(), Home: env["HOME"], Shell: "/bin/sh"}
		}
	}
	user := me
	if a.DeliveryMode && a.User != "" && a.User != me.Name {
		if inv.Self != nil {
			return inv.fail(ExitTempFail, "-d %s: cannot deliver for another user here", a.User)
		}
		u, err := LookupPasswd(passwd, a.User, 0)
		if err != nil {
			return inv.fail(ExitNoUser, "invalid user specified: %s", a.User)
		}
		if me.UID != 0 {
			return inv.fail(ExitTempFail, "-d %s: only root may deliver for another user", a.User)
		}
		user = u
	}

	vars := map[string]string{}
	if !a.DeliveryMode {
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
	shell := user.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	host, _ := os.Hostname()
	for k, v := range map[string]string{
		"HOME": user.Home, "LOGNAME": user.Name, "SHELL": shell,
		"DEFAULT": "/var/mail/" + user.Name, "PATH": "/bin:/usr/bin:/usr/local/bin",
		"LOCKEXT": ".lock", "LOCKREFRESH": "15", "LOCKSLEEP": "5", "LOCKTIMEOUT": "60",
		"MAILDIRQUOTA": "", "SENDMAIL": "/usr/sbin/sendmail -oi", "UMASK": "077", "HOSTNAME": host,
	} {
		vars[k] = v
	}
	workDir := ""
	if a.DeliveryMode {
		workDir = user.Home
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
		vars["MAILFILTER"] = a.Filter
	}
	if !a.DeliveryMode || a.Embedded {
		for i, v := range a.Rest {
			vars[strconv.Itoa(i+1)] = v
		}
	}
	from := a.From
	if from == "" {
		from = returnPath(msg.HeaderValue("Return-Path"))
	}
	if from == "" {
		from = "MAILER-DAEMON"
	}
	vars["FROM"] = from

	warnFile := a.WarnFile
	if warnFile == "" {
		warnFile = filepath.Join(configDir, "quotawarnmsg")
	}
	in := New(msg, vars, Options{
		Logger: log, Stdout: inv.Stdout, Stderr: inv.Stderr, Env: env, WorkDir: workDir,
		Host: inv.Host, NoSync: inv.NoSync, Embedded: a.Embedded, RCSDir: filepath.Join(configDir, "maildroprcs"),
		QuotaWarnPercent: a.WarnPercent, QuotaWarnFile: warnFile,
	})
	defer in.Close()

	if a.Embedded {
		return inv.embedded(in, a, me, user, workDir)
	}

	var files []fileToRun
	if a.DeliveryMode {
		if code := inv.checkHome(workDir); code != 0 {
			return code
		}
		if inv.Self == nil && me.UID == 0 && user.UID != 0 {
			if err := dropPrivileges(user); err != nil {
				return inv.fail(ExitTempFail, "cannot change to user %s: %v", user.Name, err)
			}
		}
		files = append(files, fileToRun{path: filepath.Join(inv.ConfigDir, "maildroprc"), optional: true})
		files = append(files, fileToRun{path: filepath.Join(workDir, ".mailfilter"), optional: true, owner: user.UID, checkPerm: true})
	} else {
		files = append(files, fileToRun{path: a.Filter})
	}
	// Every file is parsed before anything runs.
	var progs []*Program
	for _, f := range files {
		p, code := inv.loadFilter(f)
		if code != 0 {
			return code
		}
		if p != nil {
			progs = append(progs, p)
		}
	}
	for _, p := range progs {
		out, err := in.Run(p)
		if errors.Is(err, ErrTimeout) {
			log.Error("maildrop: filtering stopped; delivering to DEFAULT", "file", p.File, "err", err)
			break
		}
		if err != nil {
			fmt.Fprintf(inv.Stderr, "maildrop: %v\n", err)
			return ExitTempFail
		}
		if out.Done {
			return out.ExitCode
		}
	}
	def := in.Var("DEFAULT")
	if _, err := in.Deliver(def); err != nil {
		fmt.Fprintf(inv.Stderr, "maildrop: %v\n", err)
		return ExitTempFail
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
func (inv *Invocation) loadFilter(f fileToRun) (*Program, int) {
	fh, err := os.Open(f.path)
	if err != nil {
		if f.optional && errors.Is(err, fs.ErrNotExist) {
			return nil, 0
		}
		return nil, inv.fail(ExitTempFail, "unable to open filter file %s: %v", f.path, err)
	}
	defer fh.Close()
	if f.checkPerm {
		fi, err := fh.Stat()
		if err != nil {
			return nil, inv.fail(ExitTempFail, "%s: %v", f.path, err)
		}
		if code := inv.checkOwner(f.path, fi, f.owner); code != 0 {
			return nil, code
		}
	}
	src, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return nil, inv.fail(ExitTempFail, "reading %s: %v", f.path, err)
	}
	p, err := Parse(f.path, src)
	if err != nil {
		fmt.Fprintln(inv.Stderr, err)
		return nil, ExitTempFail
	}
	return p, 0
}

// checkOwner refuses a file or directory not owned by the user or open to group or others.
func (inv *Invocation) checkOwner(path string, fi fs.FileInfo, owner int) int {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != owner {
		return inv.fail(ExitTempFail, "%s: not owned by the recipient", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return inv.fail(ExitTempFail, "%s: must not be accessible to group or others", path)
	}
	return 0
}

// checkHome refuses delivery when the home directory has the sticky bit (mail held while
// the user edits the filter) or is writable by everyone.
func (inv *Invocation) checkHome(home string) int {
	fi, err := os.Stat(home)
	if err != nil {
		return inv.fail(ExitTempFail, "home directory %s: %v", home, err)
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		return inv.fail(ExitTempFail, "%s: sticky bit set, delivery deferred", home)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return inv.fail(ExitTempFail, "%s: home directory is world-writable", home)
	}
	return 0
}

func dropPrivileges(u *User) error {
	if err := syscall.Setgroups([]int{u.GID}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(u.GID); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(u.UID); err != nil {
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
