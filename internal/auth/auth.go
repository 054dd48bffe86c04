// Package auth is the authentication layer shared by every protocol server:
// the account record with courier-authlib's fields, the Module interface that
// each account source (userdb, the authdaemon client, later SQL, LDAP, PAM,
// pipe) implements, the Chain that tries modules in authmodulelist order, and
// a failed-login Throttle.
//
// Outcomes follow authlib: a module either succeeds, rejects (no such user,
// or wrong password: the chain goes on to the next module), or fails
// temporarily (the chain stops and the client is told to try later). The
// three are kept apart with the sentinel errors ErrNoUser, ErrBadPassword and
// ErrTempFail; callers test them with errors.Is.
//
// Nothing here keeps package-level mutable state: a Chain and a Throttle are
// values built by the composition root.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Module errors wrap one of them.
var (
	// ErrNoUser: the account does not exist in this module.
	ErrNoUser = errors.New("auth: no such user")
	// ErrBadPassword: the account exists but the credential is wrong.
	ErrBadPassword = errors.New("auth: wrong password")
	// ErrTempFail: the module could not answer (database down, file
	// unreadable, timeout); the client should try again later.
	ErrTempFail = errors.New("auth: temporary failure")
	// ErrNotSupported: the module cannot perform this operation (a password
	// change, a CRAM check without a secret); the chain tries the next one.
	ErrNotSupported = errors.New("auth: not supported")
	// ErrDisabled: the account exists but the service is disabled for it by
	// its options (disableimap, ...).
	ErrDisabled = errors.New("auth: service disabled for this account")
	// ErrThrottled: too many failed logins; refused for a while.
	ErrThrottled = errors.New("auth: too many failed logins, try later")
)

// IsReject reports whether err means "this credential or user is not good"
// (as opposed to a temporary failure).
func IsReject(err error) bool {
	return errors.Is(err, ErrNoUser) || errors.Is(err, ErrBadPassword) || errors.Is(err, ErrNotSupported) ||
		errors.Is(err, ErrDisabled)
}

// Account is an authenticated or looked-up account, authlib's struct authinfo.
type Account struct {
	Address  string // ADDRESS: the account's login id
	SysUser  string // USERNAME: system account whose uid/gid to use, if any
	UID      int    // UID (used when SysUser is empty)
	GID      int    // GID
	Home     string // HOME
	FullName string // NAME (first GECOS field)
	Maildir  string // MAILDIR: empty means HOME/Maildir
	Quota    string // QUOTA, Maildir++ form "NNNS,NNNC"
	// Passwd is the stored crypted password (PASSWD); ClearPasswd the
	// cleartext one (PASSWD2): after a successful login authlib reports the
	// password the client gave.
	Passwd      string
	ClearPasswd string
	Options     Options // OPTIONS
	Module      string  // name of the module that answered (not on the wire)
}

// MaildirPath returns Maildir, or HOME/Maildir when it is empty (authlib's rule).
func (a *Account) MaildirPath() string {
	if a.Maildir != "" {
		return a.Maildir
	}
	if a.Home == "" {
		return ""
	}
	return strings.TrimRight(a.Home, "/") + "/Maildir"
}

// Clone returns a deep copy.
func (a *Account) Clone() *Account {
	c := *a
	c.Options = append(Options(nil), a.Options...)
	return &c
}

// ServiceAllowed applies the disable* options for service ("imap", "pop3",
// "webmail", ...): disable<service>=1 refuses it, and
// disableinsecure<service>=1 refuses it unless the connection is encrypted.
func (a *Account) ServiceAllowed(service string, secure bool) bool {
	s := strings.ToLower(service)
	if a.Options.Bool("disable" + s) {
		return false
	}
	if !secure && a.Options.Bool("disableinsecure"+s) {
		return false
	}
	return true
}

// Option is one name=value of an account's OPTIONS.
type Option struct {
	Name, Value string
}

// Options is an account's option list in order; names may repeat (group=).
type Options []Option

// ParseOptions parses authlib's "name=value,name=value" form; a bare name
// has the value "".
func ParseOptions(s string) Options {
	var out Options
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, v, _ := strings.Cut(f, "=")
		out = append(out, Option{Name: strings.TrimSpace(n), Value: v})
	}
	return out
}

// String formats the options as authlib does ("name=value,...").
func (o Options) String() string {
	var b strings.Builder
	for i, op := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(op.Name)
		b.WriteByte('=')
		b.WriteString(op.Value)
	}
	return b.String()
}

// Get returns the first value of name.
func (o Options) Get(name string) (string, bool) {
	for _, op := range o {
		if strings.EqualFold(op.Name, name) {
			return op.Value, true
		}
	}
	return "", false
}

// All returns every value of name (group= may repeat).
func (o Options) All(name string) []string {
	var out []string
	for _, op := range o {
		if strings.EqualFold(op.Name, name) {
			out = append(out, op.Value)
		}
	}
	return out
}

// Bool reports whether name is set to a true value (authlib: a number other
// than 0, or y/Y).
func (o Options) Bool(name string) bool {
	v, ok := o.Get(name)
	if !ok {
		return false
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n != 0
	}
	return v[0] == 'y' || v[0] == 'Y'
}

// Merge returns o followed by each option of defaults whose name o does not
// set: DEFAULTOPTIONS never overrides an account's own option.
func (o Options) Merge(defaults Options) Options {
	out := append(Options(nil), o...)
	for _, d := range defaults {
		if _, set := o.Get(d.Name); !set {
			out = append(out, d)
		}
	}
	return out
}

// Mechanism names a way a client proves its identity to a module.
type Mechanism string

// The credential kinds the authdaemon protocol carries ("authtype").
const (
	MechLogin      Mechanism = "login"       // user name and cleartext password
	MechCRAMMD5    Mechanism = "cram-md5"    // RFC 2195 challenge/response
	MechCRAMSHA1   Mechanism = "cram-sha1"   // same with HMAC-SHA1
	MechCRAMSHA256 Mechanism = "cram-sha256" // same with HMAC-SHA256
)

// Request is one authentication attempt.
type Request struct {
	Service  string    // "imap", "pop3", "esmtp", "webmail", "login"
	Mech     Mechanism // MechLogin or a CRAM mechanism
	User     string
	Password string // MechLogin
	// Challenge is the CRAM challenge the server sent and Response the hex
	// digest the client returned (decoded from base64, user name removed).
	Challenge []byte
	Response  string
	RemoteIP  string // TCPREMOTEIP, for logs and modules that care
}

// Module is one account source.
type Module interface {
	// Name is the authmodulelist name ("authuserdb", "authdaemon", ...).
	Name() string
	// Lookup finds an account without checking a password (authlib's PRE).
	// Passwd is set if the module has it; ClearPasswd only if stored in clear.
	Lookup(ctx context.Context, service, user string) (*Account, error)
	// Authenticate checks a credential and returns the account.
	Authenticate(ctx context.Context, req *Request) (*Account, error)
	// ChangePassword sets a new password after checking the old one.
	ChangePassword(ctx context.Context, service, user, oldPassword, newPassword string) error
	// Enumerate calls fn for every account; fn's error stops the walk.
	Enumerate(ctx context.Context, fn func(*Account) error) error
}

// Capabilities says which credentials a module can check, so servers offer
// only the SASL mechanisms the chain can verify.
type Capabilities struct {
	CRAM  map[Mechanism]bool // CRAM mechanisms with a stored secret or cleartext
	SCRAM bool               // SCRAM-SHA-256 (cleartext or stored keys)
}

// CapabilityReporter is implemented by modules that can do more than
// MechLogin.
type CapabilityReporter interface {
	Capabilities() Capabilities
}

// SCRAMCredentials are the RFC 5802 values a server needs for one account.
type SCRAMCredentials struct {
	Salt      []byte
	Iters     int
	StoredKey []byte
	ServerKey []byte
}

// SCRAMSource is implemented by modules that can supply SCRAM-SHA-256
// credentials; ok is false when the account has neither stored keys nor a
// cleartext password.
type SCRAMSource interface {
	SCRAMSHA256(ctx context.Context, service, user string) (cred SCRAMCredentials, ok bool, err error)
}

// wrapf wraps a sentinel with context.
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel)
}
