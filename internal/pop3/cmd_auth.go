package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/sasl"
)

// authService is the service name the auth chain sees (disablepop3, pop3pw, …).
const authService = "pop3"

// plaintextOK reports whether a password may travel in clear on this connection: always
// under TLS, otherwise only from the PLAINTEXT_LOGIN_FROM networks and never when
// POP3_TLS_REQUIRED is set.
func (ss *session) plaintextOK() bool {
	if ss.secure() {
		return true
	}
	return !ss.set.TLSRequired && ss.set.plaintextAllowed(ss.remote)
}

// stlsAvailable reports whether STLS may be used now.
func (ss *session) stlsAvailable() bool {
	return ss.conn != nil && ss.conn.TLS == nil && ss.set.STARTTLS && ss.set.TLS != nil
}

// authModule is the configured module, with DEFDOMAIN applied to login names.
func (ss *session) authModule() auth.Module {
	return auth.WithDefDomain(ss.srv.cfg.Auth, ss.set.DefDomain)
}

// saslServer starts one SASL exchange for this connection.
func (ss *session) saslServer() *sasl.Server {
	return sasl.New(sasl.Config{
		Auth: ss.authModule(), Service: authService, RemoteIP: ss.remote, TLS: ss.tlsState(),
		AllowPlaintext: ss.plaintextOK(), Hostname: ss.srv.cfg.Hostname,
	})
}

// mechanisms lists the SASL mechanisms on offer now: those configured for the connection
// (POP3AUTH, or POP3AUTH_TLS under TLS), in their configured order, that the auth chain can
// verify and that may be used on this connection.
func (ss *session) mechanisms() []string {
	if ss.srv.cfg.Auth == nil || (ss.set.TLSRequired && !ss.secure()) {
		return nil
	}
	conf := ss.set.SASL
	if ss.secure() && len(ss.set.SASLTLS) > 0 {
		conf = ss.set.SASLTLS
	}
	can := ss.saslServer().Mechanisms()
	var out []string
	for _, m := range conf {
		m = strings.ToUpper(m)
		for _, c := range can {
			if c == m && !contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cmdUSER takes the login name (RFC 1939 §7).
func (ss *session) cmdUSER(c Command) {
	name := strings.TrimSpace(c.Rest)
	if name == "" {
		ss.reply(errInvalidCommand)
		return
	}
	if !ss.plaintextOK() {
		ss.user = ""
		if ss.stlsAvailable() {
			ss.reply("-ERR TLS required to log in: use STLS first.")
		} else {
			ss.reply("-ERR TLS required to log in.")
		}
		return
	}
	ss.user = name
	ss.reply("+OK Password required.")
}

// cmdPASS checks the password for the name USER gave (RFC 1939 §7). Whatever the outcome,
// the next attempt starts again with USER.
func (ss *session) cmdPASS(c Command) {
	user := ss.user
	ss.user = ""
	if user == "" {
		ss.reply("-ERR USER/PASS required.")
		return
	}
	ss.login(user, "USER", func(ctx context.Context) (*auth.Account, error) {
		a, err := ss.authModule().Authenticate(ctx, &auth.Request{Service: authService, Mech: auth.MechLogin,
			User: user, Password: c.Rest, RemoteIP: ss.remote})
		if err != nil {
			return nil, err
		}
		if !a.ServiceAllowed(authService, ss.conn != nil && ss.conn.TLS != nil) {
			return nil, auth.ErrDisabled
		}
		return a, nil
	})
}

// cmdAUTH runs a SASL exchange (RFC 5034).
func (ss *session) cmdAUTH(c Command) {
	mechs := ss.mechanisms()
	if len(c.Args) == 0 {
		// RFC 5034 leaves a bare AUTH undefined; list the mechanisms as RFC 1734 servers did.
		ss.reply("+OK")
		for _, m := range mechs {
			ss.reply(m)
		}
		ss.reply(".")
		return
	}
	if ss.set.TLSRequired && !ss.secure() {
		ss.reply("-ERR TLS required to log in.")
		return
	}
	mech := strings.ToUpper(c.Args[0])
	if !contains(mechs, mech) {
		ss.reply("-ERR Unsupported authentication mechanism.")
		return
	}
	var initial []byte
	if len(c.Args) > 1 {
		var ok bool
		if initial, ok = decodeSASL(c.Args[1]); !ok {
			ss.reply("-ERR [AUTH] Invalid base64 in the initial response.")
			return
		}
	}
	ss.login("", mech, func(ctx context.Context) (*auth.Account, error) {
		srv := ss.saslServer()
		chal, done, err := srv.Start(ctx, mech, initial)
		for err == nil && !done {
			ss.reply("+ " + base64.StdEncoding.EncodeToString(chal))
			line, rerr := ss.nextLine()
			if rerr != nil {
				if errors.Is(rerr, errTooLong) {
					return nil, errAborted
				}
				ss.state = stateDone
				return nil, errDisconnected
			}
			if string(line) == "*" {
				return nil, errAborted
			}
			resp, ok := decodeSASL(string(line))
			if !ok {
				return nil, errBadBase64
			}
			chal, done, err = srv.Next(ctx, resp)
		}
		if err != nil {
			return nil, err
		}
		return srv.Account(), nil
	})
}

// Outcomes of an AUTH exchange that are not the auth chain's.
var (
	errAborted      = errors.New("pop3: authentication aborted by the client")
	errBadBase64    = errors.New("pop3: invalid base64 in an AUTH response")
	errDisconnected = errors.New("pop3: client went away during AUTH")
)

// decodeSASL decodes one base64 SASL message; "=" is the empty one (RFC 5034 §4).
func decodeSASL(s string) ([]byte, bool) {
	if s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// login runs one authentication attempt through the throttle and, on success, opens the
// maildrop and enters the TRANSACTION state. user is the name when known beforehand (USER),
// method the log's name for how it was tried.
func (ss *session) login(user, method string, try func(context.Context) (*auth.Account, error)) {
	th := ss.srv.cfg.Throttle
	if th != nil {
		d, err := th.Check(ss.remote, user)
		if err != nil {
			ss.log.Info("login refused: too many failures", "user", user, "method", method)
			ss.reply("-ERR [SYS/TEMP] Too many failed logins, try again later.")
			return
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ss.ctx.Done():
				t.Stop()
				ss.state = stateDone
				return
			}
		}
	}
	a, err := try(ss.ctx)
	if err == nil && a == nil {
		err = auth.ErrNoUser
	}
	if err != nil {
		ss.loginFailed(user, method, err)
		return
	}
	if th != nil {
		th.Success(ss.remote, a.Address)
	}
	path := a.MaildirIn(ss.set.MaildirPath)
	if path == "" {
		ss.log.Error("login: account has no home directory or maildir", "user", a.Address)
		ss.reply("-ERR [SYS/PERM] Your mailbox is not set up.")
		return
	}
	// An account with a uid of its own is served by a process running as that uid.
	if ss.handoff(a, user, method, path) {
		return
	}
	md, err := ss.srv.cfg.Opener.OpenMaildrop(ss.ctx, path)
	if err != nil {
		ss.log.Error("login: cannot open the maildrop", "user", a.Address, "maildir", path, "err", err)
		ss.reply("-ERR [SYS/TEMP] Unable to open your mailbox, try again later.")
		return
	}
	ss.account = a
	ss.loginName = a.Address
	if ss.loginName == "" {
		ss.loginName = user
	}
	ss.open(md)
	ss.log.Info("login", "user", ss.loginName, "method", method, "tls", ss.conn != nil && ss.conn.TLS != nil,
		"messages", len(ss.msgs))
	ss.reply("+OK logged in.")
}

// loginFailed answers a failed attempt with the RFC 3206 code that fits.
func (ss *session) loginFailed(user, method string, err error) {
	if errors.Is(err, errDisconnected) {
		return
	}
	th := ss.srv.cfg.Throttle
	switch {
	case errors.Is(err, errAborted):
		ss.reply("-ERR Authentication aborted.")
		return
	case errors.Is(err, auth.ErrTempFail), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		ss.log.Warn("login: temporary failure", "user", user, "method", method, "err", err)
		ss.reply("-ERR [SYS/TEMP] Temporary problem, please try again later")
		return
	case errors.Is(err, auth.ErrDisabled):
		// The credentials were right: not a guess for the throttle to count.
		ss.log.Info("login refused: pop3 disabled for the account", "user", user, "method", method)
		ss.reply("-ERR [SYS/PERM] POP3 access is disabled for this account.")
		return
	}
	ss.log.Info("login failed", "user", user, "method", method, "err", err)
	if th != nil {
		th.Failure(ss.remote, user)
	}
	if method == "USER" {
		ss.reply("-ERR [AUTH] Login failed.")
	} else {
		ss.reply("-ERR [AUTH] Authentication failed.")
	}
}

// cmdSTLS upgrades the connection to TLS (RFC 2595 §4); false ends the session.
func (ss *session) cmdSTLS() bool {
	if !ss.stlsAvailable() {
		ss.reply("-ERR TLS support not available.")
		return true
	}
	ss.reply("+OK Begin SSL/TLS negotiation now.")
	if ss.flush() != nil {
		return false
	}
	if ss.r.Buffered() > 0 {
		// Anything sent after STLS before the handshake could be injected by a man in the
		// middle (RFC 2595 §3.1 spirit, CVE-2011-0411): refuse to go on.
		ss.log.Warn("STLS: client sent data before the TLS handshake; closing")
		return false
	}
	if err := ss.conn.StartTLS(ss.set.TLS, 30*time.Second); err != nil {
		ss.log.Info("STLS handshake failed", "err", err)
		return false
	}
	ss.attach(ss.conn)
	ss.user = ""
	ss.log.Debug("STLS done")
	return true
}
