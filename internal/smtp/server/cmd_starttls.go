package server

import (
	"crypto/tls"
	"fmt"
)

// cmdStartTLS upgrades the connection (RFC 3207). Input pipelined after STARTTLS is thrown
// away with the old reader, and the session starts over. False ends the session.
func (ss *session) cmdStartTLS(arg string) bool {
	switch {
	case arg != "":
		ss.replyf(501, "5.5.4", "STARTTLS takes no argument.")
		return true
	case ss.tls():
		ss.replyf(503, "5.5.1", "Already using TLS.")
		return true
	case ss.st.TLS == nil:
		ss.replyf(502, "5.5.1", "STARTTLS not available.")
		return true
	}
	ss.replyf(220, "2.0.0", "Ready to start TLS.")
	if err := ss.flush(); err != nil {
		return false
	}
	if err := ss.c.StartTLS(ss.st.TLS, ss.st.TLSTimeout); err != nil {
		ss.log.Info("STARTTLS failed", "err", err)
		return false
	}
	ss.br, ss.bw = newBuffers(ss.c)
	ss.resetTransaction()
	ss.helo, ss.esmtp = "", false
	ss.authUser, ss.authMech = "", ""
	ss.relay = ss.relayClient()
	cs := ss.c.TLS.ConnectionState()
	ss.log.Info("STARTTLS", "version", tlsVersion(cs.Version), "cipher", tlsCipher(cs.CipherSuite))
	return true
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return fmt.Sprintf("TLS 0x%04x", v)
}

func tlsCipher(c uint16) string { return tls.CipherSuiteName(c) }
