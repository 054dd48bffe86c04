package server

import (
	"strings"
)

// statusItems reads a parenthesised list of STATUS items (RFC 3501 §6.3.10, STATUS=SIZE of
// RFC 8438).
func (ss *session) statusItems() ([]string, error) {
	if err := ss.r.Expect('('); err != nil {
		return nil, err
	}
	var items []string
	for ss.r.Peek() != ')' {
		if len(items) > 0 {
			if err := ss.r.SP(); err != nil {
				return nil, err
			}
		}
		a, err := ss.r.Atom()
		if err != nil {
			return nil, err
		}
		a = strings.ToUpper(a)
		switch a {
		case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE":
		default:
			return nil, errUnknown
		}
		items = append(items, a)
	}
	ss.r.Skip(1)
	if len(items) == 0 {
		return nil, errUnknown
	}
	return items, nil
}

// cmdStatus: RFC 3501 §6.3.10.
func (ss *session) cmdStatus(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	items, err := ss.statusItems()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if err := ss.statusResponse(name, items); err != nil {
		return storeErr(err, "STATUS")
	}
	return ok("", "STATUS Completed.")
}
