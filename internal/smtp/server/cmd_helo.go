package server

import (
	"strconv"
	"strings"

	"courier/internal/auth/sasl"
	"courier/internal/smtp/wire"
)

// cmdHelo answers HELO and EHLO (RFC 5321 section 4.1.1.1); either resets the transaction.
func (ss *session) cmdHelo(arg string, esmtp bool) {
	if arg == "" {
		ss.replyf(501, "5.5.4", "HELO/EHLO requires a domain name.")
		ss.badCommand()
		return
	}
	name, _, _ := strings.Cut(arg, " ")
	ss.resetTransaction()
	ss.helo = clean(name, 255)
	ss.esmtp = esmtp
	if !esmtp {
		ss.reply(&wire.Reply{Code: 250, Lines: []string{ss.st.Hostname + " Ok."}})
		return
	}
	lines := []string{ss.st.Hostname + " Ok."}
	if mechs := ss.authMechs(); len(mechs) > 0 && ss.authUser == "" {
		lines = append(lines, "AUTH "+strings.Join(mechs, " "))
	}
	if ss.st.TLS != nil && !ss.tls() {
		lines = append(lines, "STARTTLS")
	}
	lines = append(lines, "PIPELINING", "8BITMIME", "SMTPUTF8")
	if ss.st.MaxSize > 0 {
		lines = append(lines, "SIZE "+strconv.FormatInt(ss.st.MaxSize, 10))
	} else {
		lines = append(lines, "SIZE")
	}
	lines = append(lines, "DSN", "ENHANCEDSTATUSCODES", "CHUNKING")
	if ss.tls() {
		// RFC 8689 section 2: REQUIRETLS only over TLS (it promises onward TLS, which
		// means nothing to a client that could not even get it on this hop)
		lines = append(lines, "REQUIRETLS")
	}
	ss.reply(&wire.Reply{Code: 250, Lines: lines})
}

// saslConfig describes this connection to the SASL layer.
func (ss *session) saslConfig() sasl.Config {
	cfg := sasl.Config{Auth: ss.s.o.Auth, Service: "esmtp", RemoteIP: ss.c.Remote, Hostname: ss.st.Hostname,
		AllowPlaintext: inPrefixes(ss.remote, ss.st.PlaintextFrom)}
	if ss.tls() {
		cs := ss.c.TLS.ConnectionState()
		cfg.TLS = &cs
	}
	return cfg
}

// authMechs lists the mechanisms to offer: ESMTPAUTH without TLS, ESMTPAUTH_TLS with TLS
// or from a PLAINTEXT_LOGIN_FROM network (our setting), each only if the auth chain can
// verify it.
func (ss *session) authMechs() []string {
	if ss.s.o.Auth == nil {
		return nil
	}
	cfg := ss.saslConfig()
	want := ss.st.AuthMechs
	if (ss.tls() || cfg.AllowPlaintext) && len(ss.st.AuthMechsTLS) > 0 {
		want = ss.st.AuthMechsTLS
	}
	can := sasl.New(cfg).Mechanisms()
	var out []string
	for _, w := range want {
		w = strings.ToUpper(w)
		for _, c := range can {
			if c == w {
				out = append(out, w)
				break
			}
		}
	}
	return out
}
