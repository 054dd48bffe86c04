package pop3

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Settings are the per-service knobs of Courier's pop3d and pop3d-ssl files, read fresh for
// every connection so a reload applies to the next one.
type Settings struct {
	// SASL lists the mechanisms AUTH offers without TLS (POP3AUTH) and with it
	// (POP3AUTH_TLS; when empty, POP3AUTH applies under TLS too). Only those the auth chain
	// can verify are offered.
	SASL, SASLTLS []string
	// STARTTLS enables STLS (POP3_STARTTLS=YES) when TLS is set.
	STARTTLS bool
	// TLS is the server configuration for STLS.
	TLS *tls.Config
	// TLSRequired refuses every login before TLS (POP3_TLS_REQUIRED=1).
	TLSRequired bool
	// PlaintextFrom lists the networks from which USER/PASS and the SASL mechanisms that
	// send the password in clear (PLAIN, LOGIN) work without TLS (our PLAINTEXT_LOGIN_FROM).
	// Empty: nowhere; the client is told to use STLS.
	PlaintextFrom []netip.Prefix
	// LogDeletions logs every message deleted at QUIT (POP3_LOG_DELETIONS=1).
	LogDeletions bool
	// MaildirPath is the Maildir below the home directory when the account names none
	// (MAILDIRPATH, default "Maildir").
	MaildirPath string
	// DefDomain is appended to a login name that lacks its first character, usually "@"
	// (DEFDOMAIN).
	DefDomain string
}

// SettingsFromEnv reads Settings from a service's merged NAME=value settings. tlsCfg is the
// service's TLS configuration (nil when no certificate is configured).
func SettingsFromEnv(env map[string]string, tlsCfg *tls.Config) (*Settings, error) {
	s := &Settings{
		SASL:        strings.Fields(env["POP3AUTH"]),
		SASLTLS:     strings.Fields(env["POP3AUTH_TLS"]),
		STARTTLS:    yes(env["POP3_STARTTLS"]),
		TLS:         tlsCfg,
		TLSRequired: yes(env["POP3_TLS_REQUIRED"]),
		// Courier logs deletions when the variable is set at all; "0" is the one way to say no.
		LogDeletions: strings.TrimSpace(env["POP3_LOG_DELETIONS"]) != "" && strings.TrimSpace(env["POP3_LOG_DELETIONS"]) != "0",
		MaildirPath:  strings.TrimSpace(env["MAILDIRPATH"]),
		DefDomain:    strings.TrimSpace(env["DEFDOMAIN"]),
	}
	if s.MaildirPath == "" {
		s.MaildirPath = "Maildir"
	}
	nets, err := ParseNetworks(env["PLAINTEXT_LOGIN_FROM"])
	if err != nil {
		return nil, fmt.Errorf("PLAINTEXT_LOGIN_FROM: %w", err)
	}
	s.PlaintextFrom = nets
	return s, nil
}

// yes reads Courier's boolean settings: YES/yes/Y/1 are true.
func yes(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n != 0
	}
	return v[0] == 'y' || v[0] == 'Y'
}

// ParseNetworks reads a list of addresses and networks ("127.0.0.0/8 ::1", commas or
// spaces between them).
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("bad network %q: %w", f, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("bad address %q: %w", f, err)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// plaintextAllowed reports whether a cleartext password may be sent from remote without TLS.
func (s *Settings) plaintextAllowed(remote string) bool {
	a, err := netip.ParseAddr(remote)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.PlaintextFrom {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
