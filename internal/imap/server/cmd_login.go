package server

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/sasl"
)

// authService is the service name the auth chain sees (disableimap, imappw, …).
const authService = "imap"

// plaintextOK reports whether a password may travel in clear on this connection.
func (ss *session) plaintextOK() bool {
	if ss.secure() {
		return true
	}
	return !ss.set.TLSRequired && ss.set.plaintextAllowed(ss.remote)
}

// startTLSAvailable reports whether STARTTLS may be used now.
func (ss *session) startTLSAvailable() bool {
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

// mechanisms lists the SASL mechanisms on offer: those configured (AUTH= words of the
// capability setting) that the chain can verify and that may be used on this connection.
// With none configured, every mechanism the chain can verify here is offered.
func (ss *session) mechanisms(configured []string) []string {
	if ss.srv.cfg.Auth == nil || (ss.set.TLSRequired && !ss.secure()) {
		return nil
	}
	can := ss.saslServer().Mechanisms()
	if len(configured) == 0 {
		if !ss.plaintextOK() {
			return nil
		}
		return can
	}
	var out []string
	for _, m := range configured {
		for _, c := range can {
			if c == m {
				out = append(out, m)
			}
		}
	}
	return out
}

// cmdStartTLS: RFC 3501 §6.2.1.
func (ss *session) cmdStartTLS(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if !ss.startTLSAvailable() {
		return no("", "STARTTLS not available.")
	}
	if ss.r.Buffered() > 0 {
		// RFC 3501 §6.2.1 / the STARTTLS injection attacks: nothing may follow in clear.
		return bad("", "Unexpected input after STARTTLS.")
	}
	ss.tagged(ok("", "Begin SSL/TLS negotiation now."))
	if ss.flush() != nil {
		ss.state = stateLogout
		return nil
	}
	if err := ss.conn.StartTLS(ss.set.TLS, tlsTimeout); err != nil {
		ss.log.Info("starttls failed", "err", err)
		ss.state = stateLogout
		ss.werr = err
		return nil
	}
	ss.attach(ss.conn)
	ss.tag = "" // already answered
	return nil
}

// cmdLogin: RFC 3501 §6.2.3.
func (ss *session) cmdLogin(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	user, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	pass, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if !ss.plaintextOK() {
		return no("PRIVACYREQUIRED", "LOGIN disabled: use STARTTLS first.")
	}
	return ss.login(user, "LOGIN", func(ctx context.Context) (*auth.Account, error) {
		return ss.authModule().Authenticate(ctx, &auth.Request{Service: authService, Mech: auth.MechLogin,
			User: user, Password: pass, RemoteIP: ss.remote})
	})
}

// cmdAuthenticate: RFC 3501 §6.2.2 with SASL-IR (RFC 4959).
func (ss *session) cmdAuthenticate(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	mech, err := ss.r.Atom()
	if err != nil {
		return wireErr(err)
	}
	mech = strings.ToUpper(mech)
	var initial []byte
	hasInitial := false
	if !ss.r.AtEnd() {
		if err := ss.r.SP(); err != nil {
			return wireErr(err)
		}
		s := ss.r.Rest()
		if initial, err = decodeSASL(s); err != nil {
			return bad("", "Invalid base64 in the initial response.")
		}
		hasInitial = true
	}
	words := ss.set.Capability
	if ss.secure() && len(ss.set.CapabilityTLS) > 0 {
		words = ss.set.CapabilityTLS
	}
	var configured []string
	for _, w := range words {
		if u := strings.ToUpper(w); strings.HasPrefix(u, "AUTH=") {
			configured = append(configured, u[5:])
		}
	}
	allowed := false
	for _, m := range ss.mechanisms(configured) {
		if m == mech {
			allowed = true
		}
	}
	if !allowed {
		if !ss.plaintextOK() && (mech == "PLAIN" || mech == "LOGIN") {
			return no("PRIVACYREQUIRED", "Use STARTTLS first.")
		}
		return no("", "Unsupported authentication mechanism.")
	}
	return ss.login("", "AUTHENTICATE "+mech, func(ctx context.Context) (*auth.Account, error) {
		srv := ss.saslServer()
		var in []byte
		if hasInitial {
			in = initial
		}
		chal, done, err := srv.Start(ctx, mech, in)
		for err == nil && !done {
			ss.w.WriteString("+ " + base64.StdEncoding.EncodeToString(chal) + "\r\n")
			if ss.flush() != nil {
				return nil, errDisconnected
			}
			if err := ss.r.Begin(); err != nil {
				return nil, errDisconnected
			}
			line := ss.r.Rest()
			if line == "*" {
				return nil, errAborted
			}
			resp, derr := decodeSASL(line)
			if derr != nil {
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

// Outcomes of an AUTHENTICATE exchange that are not the auth chain's.
var (
	errAborted      = errors.New("imap: authentication aborted by the client")
	errBadBase64    = errors.New("imap: invalid base64 in an AUTHENTICATE response")
	errDisconnected = errors.New("imap: client went away during AUTHENTICATE")
)

// decodeSASL decodes one base64 SASL message; "=" is the empty one (RFC 4959).
func decodeSASL(s string) ([]byte, error) {
	if s == "=" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// login runs one authentication attempt through the throttle and, on success, opens the
// account's store and enters the authenticated state.
func (ss *session) login(user, method string, try func(context.Context) (*auth.Account, error)) *status {
	th := ss.srv.cfg.Throttle
	if th != nil {
		d, err := th.Check(ss.remote, user)
		if err != nil {
			ss.log.Info("login refused: too many failures", "user", user, "method", method)
			return no("UNAVAILABLE", "Too many failed logins, try again later.")
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ss.ctx.Done():
				t.Stop()
				ss.state = stateLogout
				return no("UNAVAILABLE", "Server shutting down.")
			}
		}
	}
	a, err := try(ss.ctx)
	if err == nil && a == nil {
		err = auth.ErrNoUser
	}
	if err == nil && !a.ServiceAllowed(authService, ss.conn != nil && ss.conn.TLS != nil) {
		err = auth.ErrDisabled
	}
	if err != nil {
		switch {
		case errors.Is(err, errDisconnected):
			ss.state = stateLogout
			return nil
		case errors.Is(err, errAborted):
			return bad("", "AUTHENTICATE aborted.")
		case errors.Is(err, errBadBase64):
			return bad("", "Invalid base64.")
		case errors.Is(err, auth.ErrTempFail):
			ss.log.Warn("login: temporary failure", "user", user, "method", method, "err", err)
			return no("UNAVAILABLE", "Temporary problem, please try again later.")
		}
		if th != nil {
			th.Failure(ss.remote, user)
		}
		ss.log.Info("login failed", "user", user, "method", method, "err", err)
		if errors.Is(err, auth.ErrDisabled) {
			return no("CONTACTADMIN", "Login disabled for this account.")
		}
		return no("AUTHENTICATIONFAILED", "Login failed.")
	}
	if th != nil {
		th.Success(ss.remote, a.Address)
	}
	path := a.MaildirIn(ss.set.MaildirPath)
	if path == "" {
		ss.log.Error("login: account has no home directory or maildir", "user", a.Address)
		return no("UNAVAILABLE", "Your mailbox is not set up.")
	}
	// An account with a uid of its own is served by a process running as that uid.
	if answer, done := ss.handoff(a, user, method, path); done {
		return answer
	}
	st, err := ss.srv.cfg.Open(ss.ctx, a, path)
	if err != nil {
		ss.log.Error("login: cannot open the mail store", "user", a.Address, "maildir", path, "err", err)
		return no("UNAVAILABLE", "Unable to open your mailbox, try again later.")
	}
	ss.account, ss.st, ss.ownsSt, ss.maildir = a, st, true, path
	ss.user = a.Address
	if ss.user == "" {
		ss.user = user
	}
	ss.state = stateAuth
	ss.log.Info("login", "user", ss.user, "method", method, "tls", ss.secure())
	return ok("CAPABILITY "+ss.capability(), "LOGIN Ok.")
}
