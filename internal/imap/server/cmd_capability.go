package server

import (
	"strconv"
	"strings"
)

// extensions are the capabilities beyond Courier-IMAP's that we always offer: they need no
// storage format of their own.
var extensions = []string{"LITERAL+", "MOVE", "UNSELECT", "SPECIAL-USE", "CREATE-SPECIAL-USE",
	"LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "STATUS=SIZE", "ID"}

// capability returns the CAPABILITY list in force now: Courier's configured words
// (IMAP_CAPABILITY, or IMAP_CAPABILITY_TLS under TLS), what Courier adds on its own
// (ACL, ENABLE, UTF8=ACCEPT, SMAP1), our extensions, and before login STARTTLS,
// LOGINDISABLED and the AUTH= mechanisms the chain can verify on this connection.
func (ss *session) capability() string {
	words := ss.set.Capability
	if ss.secure() && len(ss.set.CapabilityTLS) > 0 {
		words = ss.set.CapabilityTLS
	}
	var out []string
	seen := map[string]bool{}
	add := func(w string) {
		u := strings.ToUpper(w)
		if !seen[u] {
			seen[u] = true
			out = append(out, w)
		}
	}
	var wantAuth []string
	for _, w := range words {
		u := strings.ToUpper(w)
		switch {
		case strings.HasPrefix(u, "AUTH="):
			wantAuth = append(wantAuth, u[5:])
			continue
		case u == "STARTTLS" || u == "LOGINDISABLED":
			continue
		case (u == "SORT" || strings.HasPrefix(u, "THREAD=")) && ss.set.DisableThreadSort:
			continue
		}
		add(w)
	}
	if ss.set.ACL {
		add("ACL")
		add("ACL2=UNION")
	}
	add("ENABLE")
	add("UTF8=ACCEPT")
	if ss.state == stateNotAuth {
		if ss.startTLSAvailable() {
			add("STARTTLS")
		}
		if !ss.plaintextOK() {
			add("LOGINDISABLED")
		}
		for _, m := range ss.mechanisms(wantAuth) {
			add("AUTH=" + m)
		}
		add("SASL-IR")
	}
	for _, e := range extensions {
		add(e)
	}
	add("APPENDLIMIT=" + strconv.FormatInt(ss.set.AppendLimit, 10))
	if ss.smapAvailable() {
		add("SMAP1")
	}
	if ss.set.Outbox != "" && ss.state != stateNotAuth {
		add("XCOURIEROUTBOX=INBOX" + strings.TrimPrefix(ss.set.Outbox, "INBOX"))
	}
	return strings.Join(out, " ")
}

// cmdCapability: RFC 3501 §6.1.1.
func (ss *session) cmdCapability(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	ss.untagged("CAPABILITY " + ss.capability())
	return ok("", "CAPABILITY completed")
}

// cmdNoop: RFC 3501 §6.1.2; reports what changed in the selected mailbox.
func (ss *session) cmdNoop(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if ss.sel != nil {
		ss.sync(true)
	}
	return ok("", "NOOP completed")
}

// cmdCheck: RFC 3501 §6.4.1; our changes are always on disk, so it is a NOOP.
func (ss *session) cmdCheck(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	ss.sync(true)
	return ok("", "CHECK completed")
}

// cmdLogout: RFC 3501 §6.1.3.
func (ss *session) cmdLogout(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	ss.untagged("BYE Courier-IMAP server shutting down")
	ss.state = stateLogout
	return ok("", "LOGOUT completed")
}
