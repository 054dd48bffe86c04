// Package shadow implements courier-authlib's authpwd and authshadow
// modules: system accounts from /etc/passwd, with the password from
// /etc/passwd (authpwd) or /etc/shadow (authshadow), read in pure Go rather
// than through the C library's getpwnam/getspnam (so NSS sources such as
// LDAP or systemd-homed are not consulted: use authldap or authpam for
// those).
//
// As authlib reports them, an account's USERNAME is the login name (the
// server takes uid and gid from it), GID its group, HOME its home
// directory, NAME its GECOS field, and MAILDIR is unset (so HOME/Maildir,
// authlib's default). Enumeration lists accounts with uid 100 and above,
// as authlib's auth_pwd_enumerate does.
//
// Hashes are checked with pwhash; "$y$" (yescrypt, Debian's default since
// 11) is recognised but cannot be verified: no Go implementation is
// available to this project, so such logins are refused (use authpam for
// them).
//
// The files are reread when they change. A Module is safe for concurrent
// use.
package shadow

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/authlib"
	"courier/internal/auth/pwhash"
)

// Module names as they appear in authmodulelist.
const (
	ShadowModule = "authshadow"
	PwdModule    = "authpwd"
)

// Default file locations.
const (
	DefaultPasswd = "/etc/passwd"
	DefaultShadow = "/etc/shadow"
)

// MinEnumerateUID is the lowest uid Enumerate lists (authlib skips system
// accounts below 100).
const MinEnumerateUID = 100

// maxFileSize bounds what is read of either file.
const maxFileSize = 64 << 20

// Module is authshadow or authpwd.
type Module struct {
	name       string
	passwdPath string
	shadowPath string // empty for authpwd
	now        func() time.Time

	mu     sync.Mutex
	passwd cached
	shadow cached

	decoy authlib.Decoy // costs unknown users a verification
}

// cached is one parsed file and the identity of the version parsed.
type cached struct {
	mtime time.Time
	size  int64
	ino   uint64
	recs  map[string][]string // name → fields
	order []string
}

// NewShadow returns authshadow reading passwdPath and shadowPath (normally
// DefaultPasswd and DefaultShadow).
func NewShadow(passwdPath, shadowPath string) *Module {
	return &Module{name: ShadowModule, passwdPath: passwdPath, shadowPath: shadowPath, now: time.Now}
}

// NewPwd returns authpwd reading passwdPath (normally DefaultPasswd).
func NewPwd(passwdPath string) *Module {
	return &Module{name: PwdModule, passwdPath: passwdPath, now: time.Now}
}

// SetClock replaces the clock used for shadow expiry dates (tests).
func (m *Module) SetClock(now func() time.Time) { m.now = now }

// Name implements auth.Module.
func (m *Module) Name() string { return m.name }

// ParseFile parses colon-separated account lines (passwd(5), shadow(5)):
// want is the number of fields a line must have at least; lines that are
// blank, start with "#", or have fewer fields or an empty name are skipped,
// as glibc's parser does; the first line for a name wins.
func ParseFile(r io.Reader, want int) (map[string][]string, []string, error) {
	recs := map[string][]string{}
	var order []string
	sc := bufio.NewScanner(io.LimitReader(r, maxFileSize))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		f := strings.Split(string(line), ":")
		if len(f) < want || f[0] == "" || f[0][0] == '+' || f[0][0] == '-' {
			continue
		}
		if _, dup := recs[f[0]]; dup {
			continue
		}
		recs[f[0]] = f
		order = append(order, f[0])
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	return recs, order, nil
}

// load returns the parsed file at path, rereading it when it changed.
func load(path string, c *cached, fields int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	ino := inode(fi)
	if c.recs != nil && c.mtime.Equal(fi.ModTime()) && c.size == fi.Size() && c.ino == ino {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, order, err := ParseFile(f, fields)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	*c = cached{mtime: fi.ModTime(), size: fi.Size(), ino: ino, recs: recs, order: order}
	return nil
}

// entry is one account with its password field.
type entry struct {
	pw     []string
	hash   string
	expire int // shadow expiry, days since 1970; -1 none
}

// get returns the account name and its password, or ErrNoUser.
func (m *Module) get(user string) (*entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := load(m.passwdPath, &m.passwd, 7); err != nil {
		return nil, fmt.Errorf("%s: %v: %w", m.name, err, auth.ErrTempFail)
	}
	pw, ok := m.passwd.recs[user]
	if !ok {
		return nil, fmt.Errorf("%s: %.64q: %w", m.name, user, auth.ErrNoUser)
	}
	e := &entry{pw: pw, hash: pw[1], expire: -1}
	if m.shadowPath == "" {
		return e, nil
	}
	if err := load(m.shadowPath, &m.shadow, 2); err != nil {
		return nil, fmt.Errorf("%s: %v: %w", m.name, err, auth.ErrTempFail)
	}
	sp, ok := m.shadow.recs[user]
	if !ok {
		// getspnam fails: authshadow treats the user as unknown.
		return nil, fmt.Errorf("%s: %.64q has no shadow entry: %w", m.name, user, auth.ErrNoUser)
	}
	e.hash = sp[1]
	if len(sp) > 7 && sp[7] != "" {
		if n, err := strconv.Atoi(sp[7]); err == nil {
			e.expire = n
		}
	}
	return e, nil
}

// account converts a passwd entry.
func (m *Module) account(e *entry) *auth.Account {
	uid, _ := strconv.Atoi(e.pw[2])
	gid, _ := strconv.Atoi(e.pw[3])
	return &auth.Account{Address: e.pw[0], SysUser: e.pw[0], UID: uid, GID: gid, FullName: e.pw[4],
		Home: e.pw[5], Module: m.name}
}

// Lookup implements auth.Module (PRE).
func (m *Module) Lookup(_ context.Context, _, user string) (*auth.Account, error) {
	e, err := m.get(user)
	if err != nil {
		return nil, err
	}
	a := m.account(e)
	a.Passwd = e.hash
	return a, nil
}

// expired reports whether a shadow expiry date (days since 1970) has
// passed: shadow(5) says the account cannot be used from that day on.
func (m *Module) expired(e *entry) bool {
	if e.expire < 0 {
		return false
	}
	return m.now().Unix()/86400 >= int64(e.expire)
}

// Authenticate implements auth.Module for logins with a password; CRAM is
// not possible with crypted system passwords.
func (m *Module) Authenticate(_ context.Context, req *auth.Request) (*auth.Account, error) {
	if req.Mech != auth.MechLogin && req.Mech != "" {
		return nil, fmt.Errorf("%s: mechanism %q: %w", m.name, req.Mech, auth.ErrNotSupported)
	}
	e, err := m.get(req.User)
	if err != nil {
		if errors.Is(err, auth.ErrNoUser) {
			m.decoy.Verify(req.Password)
		}
		return nil, err
	}
	m.decoy.Remember(e.hash)
	stored := e.hash
	if stored == "" {
		// An empty field would let crypt(3) match an empty password; a mail
		// login with no password is refused instead.
		stored = authlib.DummyHash
	}
	ok, verr := pwhash.Verify(stored, req.Password)
	if !ok || e.hash == "" || req.Password == "" {
		if verr != nil {
			return nil, fmt.Errorf("%s: %.64q: %v: %w", m.name, req.User, verr, auth.ErrBadPassword)
		}
		return nil, fmt.Errorf("%s: %.64q: %w", m.name, req.User, auth.ErrBadPassword)
	}
	if m.expired(e) {
		return nil, fmt.Errorf("%s: %.64q: account expired: %w", m.name, req.User, auth.ErrBadPassword)
	}
	a := m.account(e)
	a.Passwd = e.hash
	a.ClearPasswd = req.Password
	return a, nil
}

// ChangePassword implements auth.Module: not supported (authlib changes
// system passwords through PAM or passwd(1), not here).
func (m *Module) ChangePassword(context.Context, string, string, string, string) error {
	return fmt.Errorf("%s: password change: %w", m.name, auth.ErrNotSupported)
}

// Enumerate implements auth.Module: accounts with uid 100 and above, in file
// order.
func (m *Module) Enumerate(ctx context.Context, fn func(*auth.Account) error) error {
	m.mu.Lock()
	err := load(m.passwdPath, &m.passwd, 7)
	c := m.passwd
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %v: %w", m.name, err, auth.ErrTempFail)
	}
	for _, name := range c.order {
		if err := ctx.Err(); err != nil {
			return err
		}
		pw := c.recs[name]
		uid, err := strconv.Atoi(pw[2])
		if err != nil || uid < MinEnumerateUID {
			continue
		}
		if err := fn(m.account(&entry{pw: pw})); err != nil {
			return err
		}
	}
	return nil
}

var _ auth.Module = (*Module)(nil)
