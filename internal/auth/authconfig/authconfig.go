// Package authconfig builds the authentication service that authdaemonrc describes: the
// module chain in authmodulelist order with DEFAULTOPTIONS, the authdaemon socket path and
// the daemon settings. It is the one place that knows which module names map to which
// implementations, so the network servers, authdaemond and authtest all agree.
package authconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/daemon"
	"courier/internal/auth/ldapauth"
	"courier/internal/auth/pam"
	"courier/internal/auth/pipe"
	"courier/internal/auth/shadow"
	"courier/internal/auth/sqlauth"
	"courier/internal/auth/userdb"
	"courier/internal/config/courierfmt"
)

// Setup is a loaded authdaemonrc.
type Setup struct {
	Chain    *auth.Chain
	Warnings []string // modules named but not available, and similar
	Socket   string   // authdaemonvar/socket
	Debug    int      // DEBUG_LOGIN
	Daemons  int      // daemons
	// Throttle is the failed-login policy from our LOGIN_THROTTLE_* settings (zero fields:
	// the defaults of auth.ThrottleConfig).
	Throttle auth.ThrottleConfig
	Settings map[string]string
}

// Load reads DIR/authdaemonrc (a missing file means Courier's defaults: authuserdb only)
// and builds the chain.
func Load(dir string) (*Setup, error) {
	rc := map[string]string{}
	f, err := courierfmt.LoadEnv(filepath.Join(dir, "authdaemonrc"), nil)
	switch {
	case err == nil:
		rc = f.Map()
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, err
	}
	s := &Setup{Settings: rc, Socket: daemon.DefaultSocket}
	if v := rc["authdaemonvar"]; v != "" {
		s.Socket = filepath.Join(v, "socket")
	}
	if v := strings.TrimSpace(rc["DEBUG_LOGIN"]); v != "" {
		if s.Debug, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("%s: DEBUG_LOGIN: %q is not a number", filepath.Join(dir, "authdaemonrc"), v)
		}
	}
	s.Daemons = 5
	if v := strings.TrimSpace(rc["daemons"]); v != "" {
		if s.Daemons, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("%s: daemons: %q is not a number", filepath.Join(dir, "authdaemonrc"), v)
		}
	}
	if s.Throttle, err = throttleConfig(rc, filepath.Join(dir, "authdaemonrc")); err != nil {
		return nil, err
	}
	list, set := rc["authmodulelist"]
	if !set {
		list = "authuserdb"
	}
	var mods []auth.Module
	for _, name := range strings.Fields(list) {
		switch name {
		case "authuserdb":
			mods = append(mods, userdb.New(filepath.Join(dir, "userdb")))
		case shadow.ShadowModule:
			mods = append(mods, shadow.NewShadow(shadow.DefaultPasswd, shadow.DefaultShadow))
		case shadow.PwdModule:
			mods = append(mods, shadow.NewPwd(shadow.DefaultPasswd))
		case sqlauth.SQLiteModule, sqlauth.PGSQLModule, sqlauth.MySQLModule:
			d := map[string]sqlauth.Dialect{sqlauth.SQLiteModule: sqlauth.SQLite, sqlauth.PGSQLModule: sqlauth.PostgreSQL,
				sqlauth.MySQLModule: sqlauth.MySQL}[name]
			m := sqlauth.New(d, filepath.Join(dir, sqlauth.RCName(d)))
			if err := m.Check(); err != nil {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%v (every request fails until it is fixed)", err))
			}
			mods = append(mods, m)
		case ldapauth.ModuleName:
			m := ldapauth.New(filepath.Join(dir, "authldaprc"))
			if err := m.Check(); err != nil {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%v (every request fails until it is fixed)", err))
			}
			mods = append(mods, m)
		case pipe.ModuleName:
			// Courier compiles the program's path in (PIPE_PROGRAM,
			// .../authProg); here it is DIR/authProg unless authdaemonrc's
			// PIPE_PROGRAM names another.
			prog := rc["PIPE_PROGRAM"]
			if prog == "" {
				prog = filepath.Join(dir, "authProg")
			}
			mods = append(mods, pipe.New(prog))
		case pam.ModuleName:
			// The cgo helper: AUTHPAM_HELPER, else courier-authpam beside
			// this program.
			helper := rc["AUTHPAM_HELPER"]
			if helper == "" {
				exe, err := os.Executable()
				if err != nil {
					return nil, fmt.Errorf("authpam: locate courier-authpam: %w", err)
				}
				helper = filepath.Join(filepath.Dir(exe), "courier-authpam")
			}
			mods = append(mods, pam.New(helper, shadow.DefaultPasswd))
		default:
			s.Warnings = append(s.Warnings, fmt.Sprintf("authentication module %s is not available yet; skipped", name))
		}
	}
	s.Chain = auth.NewChain(auth.ParseOptions(rc["DEFAULTOPTIONS"]), mods...)
	return s, nil
}

// throttleConfig reads our failed-login settings (Courier has none; the names follow
// authdaemonrc's upper-case style): LOGIN_THROTTLE_FREE failures pass undelayed, then each
// waits LOGIN_THROTTLE_DELAY, doubling up to LOGIN_THROTTLE_MAXDELAY; after
// LOGIN_THROTTLE_LOCKOUT failures the address or account is refused for
// LOGIN_THROTTLE_LOCKOUT_TIME. Durations are Go's ("500ms", "16s", "5m") or seconds.
func throttleConfig(rc map[string]string, file string) (auth.ThrottleConfig, error) {
	var c auth.ThrottleConfig
	num := func(name string, dst *int) error {
		v := strings.TrimSpace(rc[name])
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%s: %s: %q is not a positive number", file, name, v)
		}
		*dst = n
		return nil
	}
	dur := func(name string, dst *time.Duration) error {
		v := strings.TrimSpace(rc[name])
		if v == "" {
			return nil
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			*dst = time.Duration(n) * time.Second
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: %s: %q is not a duration (500ms, 16s, 5m)", file, name, v)
		}
		*dst = d
		return nil
	}
	return c, errors.Join(num("LOGIN_THROTTLE_FREE", &c.FreeFailures), dur("LOGIN_THROTTLE_DELAY", &c.BaseDelay),
		dur("LOGIN_THROTTLE_MAXDELAY", &c.MaxDelay), num("LOGIN_THROTTLE_LOCKOUT", &c.LockoutAfter),
		dur("LOGIN_THROTTLE_LOCKOUT_TIME", &c.LockoutFor))
}
