package server

import (
	"errors"

	"courier/internal/smtp/wire"
)

// cmdMail starts a transaction (RFC 5321 section 4.1.1.2).
func (ss *session) cmdMail(arg string) {
	switch {
	case ss.helo == "":
		ss.replyf(503, "5.5.1", "Send HELO/EHLO first.")
		ss.badCommand()
		return
	case ss.mail != nil:
		ss.replyf(503, "5.5.1", "Sender already specified.")
		ss.badCommand()
		return
	}
	m, err := wire.ParseMail(arg)
	if err != nil {
		var r *wire.Reply
		errors.As(err, &r)
		ss.reply(r)
		ss.badCommand()
		return
	}
	if !ss.esmtp && (m.Size >= 0 || m.Body != "" || m.SMTPUTF8 || m.Ret != "" || m.EnvID != "" || m.Auth != "" || m.RequireTLS) {
		ss.replyf(555, "5.5.4", "Parameters need EHLO.")
		return
	}
	if m.RequireTLS && !ss.tls() {
		// RFC 8689 section 2: REQUIRETLS is offered, and may be given, only on a TLS
		// session; a client asking for it in clear has already lost what it asks for.
		// 5.7.10 "Encryption needed" is what the RFC uses for "no TLS-protected session".
		ss.replyf(530, "5.7.10", "REQUIRETLS needs a TLS session (STARTTLS first).")
		return
	}
	if m.Body == "BINARYMIME" {
		ss.replyf(555, "5.5.4", "BINARYMIME is not supported.")
		return
	}
	if ss.st.MaxSize > 0 && m.Size > ss.st.MaxSize {
		// RFC 1870 section 6.1; Courier says "534 SIZE=Message too big."
		ss.replyf(552, "5.3.4", "Message too big (the limit is %d octets).", ss.st.MaxSize)
		return
	}
	ss.mail = m
	ss.rcpts = nil
	ss.rcptCount = 0
	ss.replyf(250, "2.1.0", "Ok.")
}
