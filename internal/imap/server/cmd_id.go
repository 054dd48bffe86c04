package server

import (
	"strings"

	"courier/internal/imap/wire"
)

// cmdID: RFC 2971. The client's fields are read and logged; ours name the server.
func (ss *session) cmdID(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	var fields []string
	if ss.r.PeekFold("NIL") {
		ss.r.Skip(3)
	} else {
		if err := ss.r.Expect('('); err != nil {
			return wireErr(err)
		}
		for ss.r.Peek() != ')' {
			if len(fields) > 0 {
				if err := ss.r.SP(); err != nil {
					return wireErr(err)
				}
			}
			k, err := ss.r.String()
			if err != nil {
				return wireErr(err)
			}
			if err := ss.r.SP(); err != nil {
				return wireErr(err)
			}
			v, _, err := ss.r.NString()
			if err != nil {
				return wireErr(err)
			}
			if len(fields) < 60 {
				fields = append(fields, k+"="+v)
			}
		}
		ss.r.Skip(1)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if len(fields) > 0 {
		ss.log.Info("client id", "id", strings.Join(fields, " "))
	}
	b := []byte("* ID (")
	b = wire.AppendQuoted(b, "name", false)
	b = append(b, ' ')
	b = wire.AppendQuoted(b, "Courier", false)
	b = append(b, ')', '\r', '\n')
	ss.writeRaw(b)
	return ok("", "ID completed")
}

// cmdEnable: RFC 5161. UTF8=ACCEPT (RFC 6855) is the one extension that needs enabling.
func (ss *session) cmdEnable(bool) *status {
	var enabled []string
	for !ss.r.AtEnd() {
		if err := ss.r.SP(); err != nil {
			return wireErr(err)
		}
		a, err := ss.r.Atom()
		if err != nil {
			return wireErr(err)
		}
		switch strings.ToUpper(a) {
		case "UTF8=ACCEPT":
			if !ss.utf8 {
				ss.utf8 = true
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		}
	}
	if len(enabled) > 0 {
		ss.untagged("ENABLED " + strings.Join(enabled, " "))
	} else {
		ss.untagged("ENABLED")
	}
	return ok("", "Options enabled")
}

// cmdNamespace: RFC 2342; Courier's personal "INBOX." and its two shared namespaces.
func (ss *session) cmdNamespace(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	ss.untagged(`NAMESPACE (("INBOX." ".")) NIL (("#shared." ".")("shared." "."))`)
	return ok("", "NAMESPACE completed.")
}
