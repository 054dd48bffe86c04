package privsep

import (
	"strings"

	"courier/internal/auth"
)

// defaultPath is the PATH a session process gets: it needs none of the server's, and a
// fixed one keeps a changed PATH of the server from choosing the programs a session runs.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// AccountEnv is the environment Courier's authlib and login stages give the program that
// serves a logged-in account (auth_callback_default and imaplogin/pop3login), so that the
// session knows who it serves without asking the auth chain again:
//
//	AUTHENTICATED  the login name
//	AUTHADDR       the account's address
//	AUTHFULLNAME   its full name
//	OPTIONS        its authlib options (group=… for ACLs, disable…)
//	HOME           its home directory (the child's working directory)
//	MAILDIR        the Maildir to open
//	MAILDIRQUOTA   its Maildir++ quota
//	TCPREMOTEIP    the client's address, as couriertcpd sets it
//
// plus PATH. Empty values are left out. The caller adds the service's settings.
func AccountEnv(a *auth.Account, login, maildir, remote string) []string {
	env := []string{"PATH=" + defaultPath}
	add := func(name, value string) {
		if value != "" {
			env = append(env, name+"="+envValue(value))
		}
	}
	add("AUTHENTICATED", login)
	add("AUTHADDR", a.Address)
	add("AUTHFULLNAME", a.FullName)
	add("OPTIONS", a.Options.String())
	add("HOME", a.Home)
	add("MAILDIR", maildir)
	add("MAILDIRQUOTA", a.Quota)
	add("TCPREMOTEIP", remote)
	return env
}

// Setting formats NAME=value for a child's environment.
func Setting(name, value string) string { return name + "=" + envValue(value) }

// envValue drops NUL bytes, which an environment cannot carry (exec would fail).
func envValue(v string) string {
	if strings.IndexByte(v, 0) >= 0 {
		return strings.ReplaceAll(v, "\x00", "")
	}
	return v
}
