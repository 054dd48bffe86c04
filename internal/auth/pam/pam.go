// Package pam implements courier-authlib's authpam module without cgo in
// the server: the password is checked by the small cgo helper
// courier-authpam (cmd/courier-authpam), run once per login with the PAM
// service ("imap", "pop3", "esmtp", "webmail"...), the user name and the
// password on its standard input; the account's home, uid and gid come from
// the passwd file, as authpam takes them from getpwnam. No PAM session is
// opened and passwords cannot be changed through PAM here (authlib's authpam
// can, with pam_chauthtok; not done yet).
package pam

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/shadow"
)

// ModuleName is the authmodulelist name of this module.
const ModuleName = "authpam"

// DefaultTimeout bounds one PAM conversation (PAM modules may sleep after a
// failure, pam_unix for about two seconds).
const DefaultTimeout = 30 * time.Second

// Module is authpam.
type Module struct {
	helper string
	args   []string
	pwd    *shadow.Module
	// Timeout bounds one helper run; DefaultTimeout if zero.
	Timeout time.Duration
}

// New returns the module running helper (with extra arguments such as
// "-confdir DIR") and reading accounts from passwdPath (normally
// /etc/passwd).
func New(helper, passwdPath string, helperArgs ...string) *Module {
	return &Module{helper: helper, args: helperArgs, pwd: shadow.NewPwd(passwdPath)}
}

// Name implements auth.Module.
func (m *Module) Name() string { return ModuleName }

// Lookup implements auth.Module from the passwd file.
func (m *Module) Lookup(ctx context.Context, service, user string) (*auth.Account, error) {
	a, err := m.pwd.Lookup(ctx, service, user)
	if err != nil {
		return nil, err
	}
	a.Module, a.Passwd = ModuleName, ""
	return a, nil
}

// Enumerate implements auth.Module from the passwd file (uid 100 and up).
func (m *Module) Enumerate(ctx context.Context, fn func(*auth.Account) error) error {
	return m.pwd.Enumerate(ctx, func(a *auth.Account) error {
		a.Module = ModuleName
		return fn(a)
	})
}

// ChangePassword implements auth.Module: not supported.
func (m *Module) ChangePassword(context.Context, string, string, string, string) error {
	return fmt.Errorf("authpam: password change: %w", auth.ErrNotSupported)
}

// Authenticate implements auth.Module for password logins.
func (m *Module) Authenticate(ctx context.Context, req *auth.Request) (*auth.Account, error) {
	if req.Mech != auth.MechLogin && req.Mech != "" {
		return nil, fmt.Errorf("authpam: mechanism %q: %w", req.Mech, auth.ErrNotSupported)
	}
	service := req.Service
	if service == "" || strings.ContainsAny(service, "/ \n\r\x00") {
		return nil, fmt.Errorf("authpam: service %.20q: %w", service, auth.ErrNotSupported)
	}
	if strings.ContainsAny(req.User, "\n\r\x00") || strings.ContainsAny(req.Password, "\n\r\x00") {
		return nil, fmt.Errorf("authpam: %.64q: forbidden character: %w", req.User, auth.ErrBadPassword)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append([]string(nil), m.args...)
	if req.RemoteIP != "" && !strings.HasPrefix(req.RemoteIP, "-") {
		args = append(args, "-rhost", req.RemoteIP)
	}
	cmd := exec.CommandContext(ctx, m.helper, args...)
	cmd.Stdin = strings.NewReader(service + "\n" + req.User + "\n" + req.Password + "\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr := cmd.Run()
	line, _, _ := strings.Cut(out.String(), "\n")
	switch {
	case line == "OK" && runErr == nil:
	case strings.HasPrefix(line, "FAIL"):
		return nil, fmt.Errorf("authpam: %.64q: %s: %w", req.User, strings.TrimSpace(strings.TrimPrefix(line, "FAIL")), auth.ErrBadPassword)
	default:
		msg := line
		if msg == "" {
			msg = fmt.Sprintf("%v %s", runErr, firstLine(errOut.String()))
		}
		return nil, fmt.Errorf("authpam: helper %s: %s: %w", m.helper, msg, auth.ErrTempFail)
	}
	a, err := m.pwd.Lookup(ctx, service, req.User)
	if err != nil {
		return nil, fmt.Errorf("authpam: username %.64q not found in password file: %w", req.User, auth.ErrNoUser)
	}
	a.Module, a.Passwd, a.ClearPasswd = ModuleName, "", req.Password
	return a, nil
}

// firstLine returns the first line of s.
func firstLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}

var _ auth.Module = (*Module)(nil)
