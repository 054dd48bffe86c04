package server

import (
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/sasl"
	"courier/internal/smtp/wire"
)

// cmdAuth runs a SASL exchange (RFC 4954). Success lets the session relay. False ends the
// session.
func (ss *session) cmdAuth(arg string) bool {
	switch {
	case !ss.esmtp:
		ss.replyf(503, "5.5.1", "Send EHLO first.")
		return !ss.badCommand()
	case ss.authUser != "":
		ss.replyf(503, "5.5.1", "Already authenticated.")
		return !ss.badCommand()
	case ss.mail != nil:
		ss.replyf(503, "5.5.1", "AUTH not permitted during a mail transaction.")
		return !ss.badCommand()
	}
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	offered := false
	for _, m := range ss.authMechs() {
		if m == mech {
			offered = true
		}
	}
	if !offered {
		ss.replyf(504, "5.5.4", "Unrecognized authentication type.")
		return !ss.badCommand()
	}
	th := ss.s.o.Throttle
	remote := ""
	if ss.remote.IsValid() {
		remote = ss.remote.String()
	}
	if th != nil {
		// The account is not known before the exchange: the address's own count decides here,
		// the account's is charged on failure.
		d, err := th.Check(remote, "")
		if err != nil {
			ss.log.Info("AUTH refused: too many failures", "mech", mech)
			ss.replyf(454, "4.7.0", "Too many failed logins, try again later.")
			return true
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ss.ctx.Done():
				t.Stop()
				return false
			}
		}
	}
	srv := sasl.New(ss.saslConfig())
	var init []byte
	if initial != "" {
		if initial == "=" {
			init = []byte{}
		} else {
			var err error
			if init, err = base64.StdEncoding.DecodeString(initial); err != nil {
				ss.replyf(501, "5.5.2", "Invalid base64 data.")
				return !ss.badCommand()
			}
		}
	}
	chal, done, err := srv.Start(ss.ctx, mech, init)
	for err == nil && !done {
		ss.reply(&wire.Reply{Code: 334, Lines: []string{base64.StdEncoding.EncodeToString(chal)}})
		if err := ss.flush(); err != nil {
			return false
		}
		line, rerr := wire.ReadCommandLine(ss.br, 12288, nil)
		if rerr != nil {
			var r *wire.Reply
			if errors.As(rerr, &r) {
				ss.replyf(501, "5.5.2", "Line too long.")
				return !ss.badCommand()
			}
			return false
		}
		if string(line) == "*" {
			ss.replyf(501, "5.0.0", "Authentication cancelled.")
			return !ss.badCommand()
		}
		resp, derr := base64.StdEncoding.DecodeString(string(line))
		if derr != nil {
			ss.replyf(501, "5.5.2", "Invalid base64 data.")
			return !ss.badCommand()
		}
		chal, done, err = srv.Next(ss.ctx, resp)
	}
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrTempFail):
			ss.log.Warn("AUTH temporary failure", "mech", mech, "err", err)
			ss.replyf(454, "4.7.0", "Temporary authentication failure.")
			return true
		case errors.Is(err, sasl.ErrMalformed):
			ss.replyf(501, "5.5.2", "Malformed authentication data.")
		default:
			ss.log.Info("AUTH failed", "mech", mech, "err", err)
			if th != nil && !errors.Is(err, auth.ErrDisabled) {
				th.Failure(remote, "")
			}
			ss.replyf(535, "5.7.8", "Authentication failed.")
		}
		return !ss.badCommand()
	}
	a := srv.Account()
	if th != nil {
		th.Success(remote, a.Address)
	}
	ss.authUser, ss.authMech, ss.relay = a.Address, mech, true
	ss.log.Info("AUTH", "mech", mech, "user", a.Address)
	ss.replyf(235, "2.7.0", "Authentication successful.")
	return true
}
