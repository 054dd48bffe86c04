// Package ldapauth implements courier-authlib's authldap module: accounts in
// an LDAP directory, found with the filter (&LDAP_FILTER(LDAP_MAIL=login))
// under LDAP_BASEDN and mapped to an account with the attribute names of
// authldaprc (LDAP_HOMEDIR, LDAP_MAILDIR, LDAP_UID, ...). The password is
// checked against LDAP_CLEARPW or LDAP_CRYPTPW, or, with LDAP_AUTHBIND, by
// binding as the entry's DN. LDAP_EMAILMAP's two-step lookup, LDAP_AUXOPTIONS,
// LDAP_GLOB_UID/GID, LDAP_MAILROOT, LDAP_DEREF and LDAP_TLS (StartTLS) are
// supported; ldaps:// URIs too.
//
// The login id is escaped for the filter (RFC 4515 §3) before use, as
// authlib does. Outcomes: no entry, or more than one, is auth.ErrNoUser;
// an entry with uid or gid 0 is refused as a temporary failure (authlib
// does the same); a directory that cannot be reached, bound to or searched
// is auth.ErrTempFail (authlib lets the chain go on in that case; stopping
// it is what the other modules do and keeps a directory outage from
// looking like a wrong password).
//
// One connection is shared by all lookups and reopened when it fails;
// LDAP_AUTHBIND binds on a short-lived connection per login. The
// configuration file is reread when it changes. A Module is safe for
// concurrent use.
package ldapauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"courier/internal/auth"
	"courier/internal/auth/authlib"
	"courier/internal/auth/pwhash"
)

// ModuleName is the authmodulelist name of this module.
const ModuleName = "authldap"

// enumerateTimeLimit is the server-side limit on an enumeration (authlib
// allows an hour).
const enumerateTimeLimit = 3600

// Module is authldap.
type Module struct {
	rcPath string

	mu    sync.Mutex // guards cfg, mtime, size, conn
	cfg   *Config
	mtime time.Time
	size  int64
	conn  *ldap.Conn

	decoy authlib.Decoy // costs unknown users a verification
}

// New returns the module reading its settings from rcPath (for example
// /etc/courier/authldaprc). Nothing is read or connected until the first
// request.
func New(rcPath string) *Module { return &Module{rcPath: rcPath} }

// Name implements auth.Module.
func (m *Module) Name() string { return ModuleName }

// Check loads the configuration now and reports an error in it.
func (m *Module) Check() error {
	_, err := m.config()
	return err
}

// Close closes the connection.
func (m *Module) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		m.conn.Close()
		m.conn = nil
	}
	return nil
}

// config returns the settings, rereading the file when it changed (a
// changed file that does not load leaves the old settings in force) and
// dropping the connection made with the old ones.
func (m *Module) config() (*Config, error) {
	fi, err := os.Stat(m.rcPath)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if m.cfg != nil {
			return m.cfg, nil
		}
		return nil, fmt.Errorf("authldap: %v: %w", err, auth.ErrTempFail)
	}
	if m.cfg != nil && m.mtime.Equal(fi.ModTime()) && m.size == fi.Size() {
		return m.cfg, nil
	}
	rc, err := authlib.LoadRC(m.rcPath)
	var cfg *Config
	if err == nil {
		cfg, err = ParseConfig(rc)
	}
	if err != nil {
		if m.cfg != nil {
			return m.cfg, nil
		}
		return nil, fmt.Errorf("authldap: %v: %w", err, auth.ErrTempFail)
	}
	m.cfg, m.mtime, m.size = cfg, fi.ModTime(), fi.Size()
	if m.conn != nil {
		m.conn.Close()
		m.conn = nil
	}
	return cfg, nil
}

// dial connects to the first LDAP_URI that answers, with StartTLS when
// LDAP_TLS is set.
func dial(cfg *Config) (*ldap.Conn, error) {
	var errs []error
	for _, uri := range cfg.URIs {
		c, err := ldap.DialURL(uri, ldap.DialWithDialer(&net.Dialer{Timeout: cfg.Timeout}))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.SetTimeout(cfg.Timeout)
		if cfg.TLS {
			host := uri
			if u, err := url.Parse(uri); err == nil {
				host = u.Hostname()
			}
			if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
				c.Close()
				errs = append(errs, fmt.Errorf("%s: StartTLS: %w", uri, err))
				continue
			}
		}
		return c, nil
	}
	return nil, errors.Join(errs...)
}

// mainConn returns the shared connection, connecting and binding as
// LDAP_BINDDN (with LDAP_INITBIND) if needed.
func (m *Module) mainConn(cfg *Config) (*ldap.Conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil && !m.conn.IsClosing() {
		return m.conn, nil
	}
	c, err := dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("authldap: cannot connect to LDAP server: %v: %w", err, auth.ErrTempFail)
	}
	if cfg.InitBind {
		if err := c.Bind(cfg.BindDN, cfg.BindPW); err != nil {
			c.Close()
			return nil, fmt.Errorf("authldap: bind as %q: %v: %w", cfg.BindDN, err, auth.ErrTempFail)
		}
	}
	m.conn = c
	return c, nil
}

// dropConn forgets c if it is still the shared connection.
func (m *Module) dropConn(c *ldap.Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn == c {
		m.conn = nil
	}
	c.Close()
}

// search runs req on the shared connection; a failure other than "no such
// object" reconnects and tries once more, as authlib does.
func (m *Module) search(cfg *Config, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var c *ldap.Conn
		if c, err = m.mainConn(cfg); err != nil {
			return nil, err
		}
		var res *ldap.SearchResult
		res, err = c.Search(req)
		switch {
		case err == nil:
			return res, nil
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return &ldap.SearchResult{}, nil
		case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
			return res, nil
		}
		m.dropConn(c)
	}
	return nil, fmt.Errorf("authldap: search failed: %v: %w", err, auth.ErrTempFail)
}

// first returns the first value of attr in e ("" when absent or attr is
// not configured).
func first(e *ldap.Entry, attr string) string {
	if attr == "" {
		return ""
	}
	if v := e.GetAttributeValues(attr); len(v) > 0 {
		return v[0]
	}
	return ""
}

// options builds OPTIONS from LDAP_AUXOPTIONS: name=value for every
// attribute present with a non-empty value.
func (c *Config) options(e *ldap.Entry) auth.Options {
	var out auth.Options
	for i, attr := range c.AuxAttrs {
		if v := first(e, attr); v != "" {
			out = append(out, auth.Option{Name: c.AuxNames[i], Value: v})
		}
	}
	return out
}

// found is one looked-up account and the entry behind it.
type found struct {
	dn      string
	account *auth.Account
	clear   string
	crypt   string
}

// lookup finds the entry for login ("" service for the default maildir).
func (m *Module) lookup(cfg *Config, service, login string) (*found, error) {
	escaped := ldap.EscapeFilter(login)
	attr, value := cfg.Mail, escaped
	if cfg.EmailMap != "" && strings.Contains(escaped, "@") {
		if cfg.EmailMapBaseDN == "" {
			return nil, fmt.Errorf("authldap: LDAP_EMAILMAP_BASEDN not found: %w", auth.ErrTempFail)
		}
		u, realm, _ := strings.Cut(escaped, "@")
		filter := emailMapFilter(cfg.EmailMap, u, realm)
		res, err := m.search(cfg, ldap.NewSearchRequest(cfg.EmailMapBaseDN, ldap.ScopeWholeSubtree, cfg.Deref, 100,
			int(cfg.Timeout/time.Second), false, filter, []string{cfg.EmailMapAttr}, nil))
		if err != nil {
			return nil, err
		}
		if len(res.Entries) != 1 {
			return nil, fmt.Errorf("authldap: emailmap: %d entries returned from search %s (but we need exactly 1): %w",
				len(res.Entries), filter, auth.ErrNoUser)
		}
		handle := first(res.Entries[0], cfg.EmailMapAttr)
		if handle == "" {
			return nil, fmt.Errorf("authldap: emailmap: empty attribute: %w", auth.ErrNoUser)
		}
		// authlib pastes the handle as it is; it is escaped here.
		attr, value = cfg.EmailMapMail, ldap.EscapeFilter(handle)
	}
	filter := cfg.accountFilter(attr, value)
	res, err := m.search(cfg, ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, cfg.Deref, 100,
		int(cfg.Timeout/time.Second), false, filter, cfg.searchAttrs(service), nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("authldap: %.64q: %d entries: %w", login, len(res.Entries), auth.ErrNoUser)
	}
	e := res.Entries[0]
	a := &auth.Account{Address: login, UID: cfg.GlobUID, GID: cfg.GlobGID, Module: ModuleName,
		Home: first(e, cfg.HomeDir), Maildir: first(e, cfg.maildirAttr(service)), FullName: first(e, cfg.FullName),
		Quota: first(e, cfg.Quota), Options: cfg.options(e)}
	if v := first(e, cfg.UID); v != "" {
		a.UID = authlib.ParseID(v)
	}
	if v := first(e, cfg.GID); v != "" {
		a.GID = authlib.ParseID(v)
	}
	if a.Home != "" && cfg.MailRoot != "" {
		a.Home = cfg.MailRoot + "/" + a.Home
	}
	if a.UID == 0 || a.GID == 0 {
		return nil, fmt.Errorf("authldap: refuse to authenticate %.64q: uid=%d, gid=%d (zero uid or gid not permitted): %w",
			login, a.UID, a.GID, auth.ErrTempFail)
	}
	f := &found{dn: e.DN, account: a, clear: first(e, cfg.ClearPW), crypt: first(e, cfg.CryptPW)}
	a.Passwd, a.ClearPasswd = f.crypt, f.clear
	return f, nil
}

// Lookup implements auth.Module (PRE).
func (m *Module) Lookup(_ context.Context, service, user string) (*auth.Account, error) {
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	f, err := m.lookup(cfg, service, user)
	if err != nil {
		return nil, err
	}
	return f.account, nil
}

// bindAs checks password by binding as dn on a connection of its own,
// which it returns open for a password change (nil on failure).
func bindAs(cfg *Config, dn, password string) (*ldap.Conn, error) {
	if password == "" {
		// An empty password would be an unauthenticated bind (RFC 4513
		// §5.1.2), which servers accept for any DN.
		return nil, fmt.Errorf("authldap: empty password: %w", auth.ErrBadPassword)
	}
	c, err := dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("authldap: cannot connect to LDAP server: %v: %w", err, auth.ErrTempFail)
	}
	if err := c.Bind(dn, password); err != nil {
		c.Close()
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) ||
			ldap.IsErrorWithCode(err, ldap.LDAPResultInappropriateAuthentication) ||
			ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform) {
			return nil, fmt.Errorf("authldap: bind as %q: %w", dn, auth.ErrBadPassword)
		}
		return nil, fmt.Errorf("authldap: bind as %q: %v: %w", dn, err, auth.ErrTempFail)
	}
	return c, nil
}

// verify checks password for f as authlib's verify_password_myself does:
// the cleartext attribute when present, else the crypted one.
func (m *Module) verify(f *found, password string) error {
	switch {
	case f.clear != "":
		m.decoy.Verify(password)
		if !pwhash.VerifyClear(f.clear, password) {
			return fmt.Errorf("authldap: password for %s does not match: %w", f.dn, auth.ErrBadPassword)
		}
	case f.crypt != "":
		m.decoy.Remember(f.crypt)
		ok, err := pwhash.Verify(f.crypt, password)
		if !ok {
			if err != nil {
				return fmt.Errorf("authldap: password for %s: %v: %w", f.dn, err, auth.ErrBadPassword)
			}
			return fmt.Errorf("authldap: password for %s does not match: %w", f.dn, auth.ErrBadPassword)
		}
	default:
		m.decoy.Verify(password)
		return fmt.Errorf("authldap: missing password in LDAP for %s: %w", f.dn, auth.ErrBadPassword)
	}
	return nil
}

// Authenticate implements auth.Module: a password login, or CRAM against
// the cleartext attribute (not with LDAP_AUTHBIND, as authlib).
func (m *Module) Authenticate(_ context.Context, req *auth.Request) (*auth.Account, error) {
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	f, err := m.lookup(cfg, req.Service, req.User)
	switch req.Mech {
	case auth.MechLogin, "":
		if err != nil {
			if errors.Is(err, auth.ErrNoUser) {
				m.decoy.Verify(req.Password)
			}
			return nil, err
		}
		if cfg.AuthBind {
			c, err := bindAs(cfg, f.dn, req.Password)
			if err != nil {
				return nil, err
			}
			c.Close()
		} else if err := m.verify(f, req.Password); err != nil {
			return nil, err
		}
		if f.account.ClearPasswd == "" {
			f.account.ClearPasswd = req.Password
		}
		return f.account, nil
	case auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256:
		if err != nil {
			return nil, err
		}
		if f.clear == "" {
			return nil, fmt.Errorf("authldap: %.64q has no cleartext password: %w", req.User, auth.ErrNotSupported)
		}
		h, _ := pwhash.ParseHMACHash(string(req.Mech))
		want, derr := pwhash.CRAMDigest(h, f.clear, req.Challenge)
		if derr != nil || !pwhash.VerifyCRAM(want, req.Response) {
			return nil, fmt.Errorf("authldap: %.64q: %w", req.User, auth.ErrBadPassword)
		}
		return f.account, nil
	}
	return nil, fmt.Errorf("authldap: mechanism %q: %w", req.Mech, auth.ErrNotSupported)
}

// Capabilities implements auth.CapabilityReporter: CRAM when a cleartext
// attribute is configured and passwords are not checked by binding.
func (m *Module) Capabilities() auth.Capabilities {
	caps := auth.Capabilities{CRAM: map[auth.Mechanism]bool{}}
	cfg, err := m.config()
	if err != nil || cfg.ClearPW == "" || cfg.AuthBind {
		return caps
	}
	for _, mech := range []auth.Mechanism{auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256} {
		caps.CRAM[mech] = true
	}
	return caps
}

// ChangePassword implements auth.Module: after checking the old password,
// the cleartext and crypted attributes the entry has are replaced (the new
// hash in the old one's scheme), as the user with LDAP_AUTHBIND, else on
// the module's own connection.
func (m *Module) ChangePassword(_ context.Context, service, user, oldPassword, newPassword string) error {
	cfg, err := m.config()
	if err != nil {
		return err
	}
	f, err := m.lookup(cfg, service, user)
	if err != nil {
		return err
	}
	var conn *ldap.Conn
	if cfg.AuthBind {
		if conn, err = bindAs(cfg, f.dn, oldPassword); err != nil {
			return err
		}
		defer conn.Close()
	} else {
		if err := m.verify(f, oldPassword); err != nil {
			return err
		}
		if conn, err = m.mainConn(cfg); err != nil {
			return err
		}
	}
	mod := ldap.NewModifyRequest(f.dn, nil)
	n := 0
	if cfg.ClearPW != "" && f.clear != "" {
		mod.Replace(cfg.ClearPW, []string{newPassword})
		n++
	}
	if cfg.CryptPW != "" && f.crypt != "" {
		h, err := authlib.CryptNew(newPassword, f.crypt)
		if err != nil {
			return fmt.Errorf("authldap: %v: %w", err, auth.ErrTempFail)
		}
		mod.Replace(cfg.CryptPW, []string{h})
		n++
	}
	if n == 0 {
		return fmt.Errorf("authldap: %s has no password attribute to change: %w", f.dn, auth.ErrNotSupported)
	}
	if err := conn.Modify(mod); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			return fmt.Errorf("authldap: password update failed: %v: %w", err, auth.ErrNotSupported)
		}
		return fmt.Errorf("authldap: password update failed: %v: %w", err, auth.ErrTempFail)
	}
	return nil
}

// Enumerate implements auth.Module: every entry matching
// LDAP_ENUMERATE_FILTER (else LDAP_FILTER, else LDAP_MAIL=*), one account
// per value of the mail attribute, entries without a home skipped.
func (m *Module) Enumerate(ctx context.Context, fn func(*auth.Account) error) error {
	cfg, err := m.config()
	if err != nil {
		return err
	}
	c, err := m.mainConn(cfg)
	if err != nil {
		return err
	}
	filter := cfg.EnumerateFilter
	if filter == "" {
		filter = cfg.Filter
	}
	if filter == "" {
		filter = "(" + cfg.Mail + "=*)"
	}
	attrs := []string{cfg.Mail}
	for _, a := range append([]string{cfg.UID, cfg.GID, cfg.HomeDir, cfg.Maildir}, cfg.AuxAttrs...) {
		if a != "" {
			attrs = append(attrs, a)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp := c.SearchAsync(ctx, ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, cfg.Deref, 0,
		enumerateTimeLimit, false, filter, attrs, nil), 64)
	for resp.Next() {
		e := resp.Entry()
		if e == nil {
			continue
		}
		home := first(e, cfg.HomeDir)
		if home == "" {
			continue
		}
		uid, gid := cfg.GlobUID, cfg.GlobGID
		if v := first(e, cfg.UID); v != "" {
			uid = authlib.ParseID(v)
		}
		if v := first(e, cfg.GID); v != "" {
			gid = authlib.ParseID(v)
		}
		for _, name := range e.GetAttributeValues(cfg.Mail) {
			a := &auth.Account{Address: name, UID: uid, GID: gid, Home: home, Maildir: first(e, cfg.Maildir),
				Options: cfg.options(e), Module: ModuleName}
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	if err := resp.Err(); err != nil {
		m.dropConn(c)
		return fmt.Errorf("authldap: enumerate: %v: %w", err, auth.ErrTempFail)
	}
	return ctx.Err()
}

var (
	_ auth.Module             = (*Module)(nil)
	_ auth.CapabilityReporter = (*Module)(nil)
)
