// Package dbserver starts throw-away database and directory servers for
// tests: PostgreSQL (Debian's postgresql package), MariaDB (mariadb-server)
// and OpenLDAP (slapd), each in its own temporary directory, listening on a
// Unix socket or an ephemeral port of 127.0.0.1, and killed with the test
// binary. A missing program is an error that names the Debian package:
// tests fail, they do not skip.
//
// Servers that refuse to run as root (postgres) are run as the "postgres"
// system user when the test runs as root.
package dbserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// StartTimeout bounds how long a server may take to accept connections.
const StartTimeout = 60 * time.Second

// Server is one running server process.
type Server struct {
	Dir string // temporary directory holding its data; removed by Stop

	cmd    *exec.Cmd
	out    *lockedBuffer
	done   chan struct{}
	waitMu sync.Mutex
	err    error
}

// lockedBuffer collects a child's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Output returns what the server printed so far (for failure messages).
func (s *Server) Output() string { return s.out.String() }

// Stop kills the server, waits for it and removes its directory.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
	}
	return os.RemoveAll(s.Dir)
}

// exited reports whether the process has ended.
func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// find returns the first existing path of candidates (globs allowed).
func find(pkg string, candidates ...string) (string, error) {
	for _, c := range candidates {
		m, _ := filepath.Glob(c)
		for i := len(m) - 1; i >= 0; i-- {
			if st, err := os.Stat(m[i]); err == nil && st.Mode()&0o111 != 0 {
				return m[i], nil
			}
		}
	}
	return "", fmt.Errorf("dbserver: %s not found: install the Debian package %s (scripts/install-test-deps.sh)", filepath.Base(candidates[0]), pkg)
}

// runAs describes the account a server runs as.
type runAs struct {
	cred *syscall.Credential
	uid  int
	gid  int
}

// account returns the credentials for a server that refuses root: name's
// when we are root, our own otherwise.
func account(name string) (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return runAs{}, fmt.Errorf("dbserver: running as root needs the system user %q (made by its Debian package): %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return runAs{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid: uid, gid: gid}, nil
}

// command builds a command that dies with the test binary.
func command(as runAs, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: as.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// run runs a setup command and returns its output in the error.
func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", filepath.Base(cmd.Path), err, out)
	}
	return nil
}

// start starts cmd as the server of s.
func (s *Server) start(cmd *exec.Cmd) error {
	s.out = &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dbserver: start %s: %w", filepath.Base(cmd.Path), err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		err := cmd.Wait()
		s.waitMu.Lock()
		s.err = err
		s.waitMu.Unlock()
		close(s.done)
	}()
	return nil
}

// waitFor polls ready until it succeeds, the server exits or StartTimeout.
func (s *Server) waitFor(ready func() error) error {
	deadline := time.Now().Add(StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		if s.exited() {
			return fmt.Errorf("dbserver: %s exited: %v\n%s", filepath.Base(s.cmd.Path), s.err, s.Output())
		}
		if last = ready(); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("dbserver: %s not ready after %v: %v\n%s", filepath.Base(s.cmd.Path), StartTimeout, last, s.Output())
}

// tempDir makes a directory the server's account can use.
func tempDir(prefix string, as runAs) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("dbserver: %w", err)
	}
	if as.cred != nil {
		if err := os.Chown(dir, as.uid, as.gid); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("dbserver: %w", err)
		}
	}
	return dir, nil
}

// dialUnix succeeds when something accepts on the socket path.
func dialUnix(path string) error {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// Postgres is a running PostgreSQL server on a Unix socket.
type Postgres struct {
	Server
	// SocketDir is the directory of the socket (libpq's host=).
	SocketDir string
	// ConnInfo is a libpq keyword/value string for the superuser
	// "postgres" and the database "postgres".
	ConnInfo string
}

// StartPostgres initialises a cluster in a temporary directory and runs
// postgres on a Unix socket only (listen_addresses=”).
func StartPostgres() (*Postgres, error) {
	initdb, err := find("postgresql", "/usr/lib/postgresql/*/bin/initdb", "/usr/local/bin/initdb", "/usr/bin/initdb")
	if err != nil {
		return nil, err
	}
	pgbin := filepath.Join(filepath.Dir(initdb), "postgres")
	as, err := account("postgres")
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("pg", as)
	if err != nil {
		return nil, err
	}
	p := &Postgres{Server: Server{Dir: dir}, SocketDir: dir}
	data := filepath.Join(dir, "data")
	if err := run(command(as, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := command(as, pgbin, "-D", data, "-k", dir, "-c", "listen_addresses=", "-c", "fsync=off",
		"-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	if err := p.start(cmd); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p.ConnInfo = fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=disable", dir)
	if err := p.waitFor(func() error { return dialUnix(filepath.Join(dir, ".s.PGSQL.5432")) }); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// MariaDB is a running MariaDB server on a Unix socket, without
// networking; root has no password.
type MariaDB struct {
	Server
	Socket string
}

// StartMariaDB installs the system tables in a temporary directory and runs
// mariadbd with --skip-networking.
func StartMariaDB() (*MariaDB, error) {
	installDB, err := find("mariadb-server", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db")
	if err != nil {
		return nil, err
	}
	mariadbd, err := find("mariadb-server", "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	dir, err := os.MkdirTemp("", "mdb")
	if err != nil {
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	m := &MariaDB{Server: Server{Dir: dir}, Socket: filepath.Join(dir, "sock")}
	data := filepath.Join(dir, "data")
	common := []string{"--no-defaults", "--datadir=" + data, "--user=" + u.Username}
	if err := run(command(runAs{}, installDB, append(common, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve")...)); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := command(runAs{}, mariadbd, append(common, "--socket="+m.Socket, "--skip-networking",
		"--pid-file="+filepath.Join(dir, "pid"), "--log-error="+filepath.Join(dir, "err.log"),
		"--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M", "--skip-log-bin",
		"--innodb-flush-log-at-trx-commit=0")...)
	if err := m.start(cmd); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := m.waitFor(func() error { return dialUnix(m.Socket) }); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "err.log"))
		m.Stop()
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	return m, nil
}

// Slapd is a running OpenLDAP server with one mdb database.
type Slapd struct {
	Server
	URI    string // ldap://127.0.0.1:PORT
	Suffix string
	RootDN string
	RootPW string
}

// SlapdOptions configures StartSlapd.
type SlapdOptions struct {
	Suffix string   // default dc=example,dc=com
	Schema []string // extra schema files after core, cosine, nis, inetorgperson
	// Config is appended to the database section (access rules...).
	Config string
}

// StartSlapd writes a slapd.conf in a temporary directory and runs slapd
// on an ephemeral port of 127.0.0.1. The root DN is cn=admin,SUFFIX with
// the password "secret".
func StartSlapd(o SlapdOptions) (*Slapd, error) {
	slapd, err := find("slapd", "/usr/sbin/slapd")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/etc/ldap/schema/core.schema"); err != nil {
		return nil, fmt.Errorf("dbserver: /etc/ldap/schema/core.schema: install the Debian package slapd: %w", err)
	}
	if o.Suffix == "" {
		o.Suffix = "dc=example,dc=com"
	}
	dir, err := os.MkdirTemp("", "ldap")
	if err != nil {
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	s := &Slapd{Server: Server{Dir: dir}, Suffix: o.Suffix, RootDN: "cn=admin," + o.Suffix, RootPW: "secret"}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	var conf bytes.Buffer
	for _, sc := range append([]string{"core", "cosine", "nis", "inetorgperson"}, o.Schema...) {
		if !filepath.IsAbs(sc) {
			sc = "/etc/ldap/schema/" + sc + ".schema"
		}
		fmt.Fprintf(&conf, "include %s\n", sc)
	}
	fmt.Fprintf(&conf, "modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile %s/slapd.pid\n", dir)
	fmt.Fprintf(&conf, "database mdb\nmaxsize 16777216\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s/db\n%s\n",
		o.Suffix, s.RootDN, s.RootPW, dir, o.Config)
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.URI = fmt.Sprintf("ldap://127.0.0.1:%d", port)
		s.Server = Server{Dir: dir}
		cmd := command(runAs{}, slapd, "-f", confPath, "-h", s.URI+"/", "-d", "0")
		if err := s.start(cmd); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		lastErr = s.waitFor(func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if lastErr == nil {
			return s, nil
		}
		if !s.exited() {
			break
		}
	}
	s.Stop()
	return nil, lastErr
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dbserver: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errStopped is returned by operations on a stopped server.
var errStopped = errors.New("dbserver: server stopped")

// Alive reports an error when the server process has exited.
func (s *Server) Alive(context.Context) error {
	if s.exited() {
		return fmt.Errorf("%w: %v\n%s", errStopped, s.err, s.Output())
	}
	return nil
}
