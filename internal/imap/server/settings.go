package server

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Settings are the knobs of Courier's imapd and imapd-ssl files (and, for `courier imapd`,
// the environment), read fresh for every connection so a reload applies to the next one.
type Settings struct {
	// Capability is IMAP_CAPABILITY (before TLS) and CapabilityTLS IMAP_CAPABILITY_TLS (under
	// TLS; when empty, Capability applies under TLS too). Courier's words; AUTH=X words say
	// which SASL mechanisms are offered.
	Capability, CapabilityTLS []string
	// Keywords enables IMAP keywords (IMAP_KEYWORDS, default on for the network server).
	Keywords bool
	// ACL enables the ACL and ACL2=UNION capabilities (IMAP_ACL).
	ACL bool
	// SMAP enables the SMAP1 capability (SMAP_CAPABILITY=SMAP1).
	SMAP bool
	// IdleTimeout is IMAP_IDLE_TIMEOUT: how often IDLE polls when notifications are off, and
	// Courier's per-IDLE check interval. Zero means 60 s.
	IdleTimeout time.Duration
	// Trash is IMAP_TRASHFOLDERNAME (the folder below INBOX, default "Trash").
	Trash string
	// EmptyTrash is IMAP_EMPTYTRASH: folder name (below INBOX) to days, purged when a
	// session starts.
	EmptyTrash map[string]int
	// CheckAllFolders is IMAP_CHECK_ALL_FOLDERS: LIST says \Marked or \Unmarked for every
	// folder, not only for INBOX.
	CheckAllFolders bool
	// MoveExpungeToTrash is IMAP_MOVE_EXPUNGE_TO_TRASH.
	MoveExpungeToTrash bool
	// STARTTLS enables STARTTLS (IMAPDSTARTTLS=YES) when TLS is set.
	STARTTLS bool
	// TLS is the server configuration for STARTTLS.
	TLS *tls.Config
	// TLSRequired refuses every login before TLS (IMAP_TLS_REQUIRED=1).
	TLSRequired bool
	// PlaintextFrom lists the networks from which LOGIN and AUTHENTICATE PLAIN/LOGIN work
	// without TLS (our PLAINTEXT_LOGIN_FROM).
	PlaintextFrom []netip.Prefix
	// MaildirPath is the Maildir below the home directory (MAILDIRPATH, default "Maildir").
	MaildirPath string
	// DefDomain is appended to login names without '@' (DEFDOMAIN).
	DefDomain string
	// DisableThreadSort turns off SORT and THREAD (IMAP_DISABLETHREADSORT).
	DisableThreadSort bool
	// Outbox is OUTBOX: appending to this folder sends the message.
	Outbox string
	// AppendLimit is the largest message APPEND accepts (APPENDLIMIT; default 64 MiB).
	AppendLimit int64
	// Greeting text after "* OK [CAPABILITY ...]".
	Greeting string
	// SharedIndexFile is IMAP_SHAREDINDEXFILE: the index of accounts whose folders may be
	// shared through ACLs (virtual shared folders, "#shared."); empty turns them off.
	SharedIndexFile string
}

// DefaultAppendLimit is the largest message APPEND takes unless configured.
const DefaultAppendLimit = 64 << 20

// SettingsFromEnv reads Settings from NAME=value settings (an imapd file merged with
// imapd-ssl, or the process environment for `courier imapd`). tlsCfg is the service's TLS
// configuration (nil without a certificate). network says whether this is the network
// server, whose defaults differ from the stdio tool's only where Courier's own do.
func SettingsFromEnv(env map[string]string, tlsCfg *tls.Config) (*Settings, error) {
	s := &Settings{
		Capability:         strings.Fields(env["IMAP_CAPABILITY"]),
		CapabilityTLS:      strings.Fields(env["IMAP_CAPABILITY_TLS"]),
		Keywords:           yes(env["IMAP_KEYWORDS"]),
		ACL:                yes(env["IMAP_ACL"]),
		SMAP:               strings.EqualFold(strings.TrimSpace(env["SMAP_CAPABILITY"]), "SMAP1"),
		Trash:              strings.TrimSpace(env["IMAP_TRASHFOLDERNAME"]),
		CheckAllFolders:    yes(env["IMAP_CHECK_ALL_FOLDERS"]),
		MoveExpungeToTrash: yes(env["IMAP_MOVE_EXPUNGE_TO_TRASH"]),
		STARTTLS:           yes(env["IMAPDSTARTTLS"]),
		TLS:                tlsCfg,
		TLSRequired:        yes(env["IMAP_TLS_REQUIRED"]),
		MaildirPath:        strings.TrimSpace(env["MAILDIRPATH"]),
		DefDomain:          strings.TrimSpace(env["DEFDOMAIN"]),
		DisableThreadSort:  yes(env["IMAP_DISABLETHREADSORT"]),
		Outbox:             strings.TrimSpace(env["OUTBOX"]),
		SharedIndexFile:    strings.TrimSpace(env["IMAP_SHAREDINDEXFILE"]),
		AppendLimit:        DefaultAppendLimit,
		Greeting:           "Courier-IMAP ready. Copyright 1998-2026 Double Precision, Inc.  See COPYING for distribution information.",
	}
	if len(s.Capability) == 0 {
		s.Capability = []string{"IMAP4rev1"}
	}
	if s.Trash == "" {
		s.Trash = "Trash"
	}
	if s.MaildirPath == "" {
		s.MaildirPath = "Maildir"
	}
	s.IdleTimeout = 60 * time.Second
	if v := strings.TrimSpace(env["IMAP_IDLE_TIMEOUT"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("IMAP_IDLE_TIMEOUT: %q is not a number of seconds", v)
		}
		if n > 0 {
			s.IdleTimeout = time.Duration(n) * time.Second
		}
	}
	if v := strings.TrimSpace(env["APPENDLIMIT"]); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("APPENDLIMIT: %q is not a size in bytes", v)
		}
		s.AppendLimit = n
	}
	if v := strings.TrimSpace(env["IMAP_EMPTYTRASH"]); v != "" {
		s.EmptyTrash = parseEmptyTrash(v, s.Trash)
	}
	nets, err := parseNetworks(env["PLAINTEXT_LOGIN_FROM"])
	if err != nil {
		return nil, fmt.Errorf("PLAINTEXT_LOGIN_FROM: %w", err)
	}
	s.PlaintextFrom = nets
	return s, nil
}

// parseEmptyTrash reads IMAP_EMPTYTRASH the way Courier's imapd does, which never refuses
// it: a bare number ("7") is the days for the trash folder (IMAP_TRASHFOLDERNAME); anything
// holding ':' or ',' is a comma-separated list of FOLDER:DAYS ("Trash:7,Sent:30"), where
// entries without ':' are skipped. Days are read as C's atoi does (leading digits; none is 0)
// and fewer than one day means one day. Unlike Courier, spaces around an entry are ignored
// ("Trash:7, Sent:30" purges Sent, where Courier would look for a folder " Sent"), and a
// negative number (which Courier's unsigned arithmetic turns into some 136 years) leaves
// the folder alone.
func parseEmptyTrash(v, trash string) map[string]int {
	out := map[string]int{}
	if !strings.ContainsAny(v, ":,") {
		if n, ok := atoiDays(v); ok {
			out[trash] = n
		}
		return out
	}
	for _, f := range strings.Split(v, ",") {
		name, days, ok := strings.Cut(strings.TrimSpace(f), ":")
		if !ok || name == "" {
			continue
		}
		if n, ok := atoiDays(days); ok {
			out[name] = n
		}
	}
	return out
}

// atoiDays reads a number of days as atoi does: optional spaces and sign, then the leading
// digits (none: 0); below 1 is 1. ok is false for a negative number.
func atoiDays(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<20 { // beyond any sensible age; avoids overflow
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg && n > 0 {
		return 0, false
	}
	return max(n, 1), true
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

// parseNetworks reads a list of addresses and networks ("127.0.0.0/8 ::1").
func parseNetworks(s string) ([]netip.Prefix, error) {
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

// plaintextAllowed reports whether a cleartext password may come from remote without TLS.
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
