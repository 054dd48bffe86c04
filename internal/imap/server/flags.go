package server

import (
	"strings"

	"courier/internal/store"
)

// flagList reads a parenthesised flag list (or, for STORE, a bare list of flags) and
// returns the system flags and keywords. \Recent may not be set (RFC 3501 §2.3.2).
func (ss *session) flagList(parenRequired bool) (store.Flags, []string, error) {
	paren := ss.r.Peek() == '('
	if paren {
		ss.r.Skip(1)
	} else if parenRequired {
		return 0, nil, bad("", "Expected a flag list.")
	}
	var f store.Flags
	var kws []string
	first := true
	for {
		if paren && ss.r.Peek() == ')' {
			ss.r.Skip(1)
			break
		}
		if !paren && ss.r.AtEnd() {
			break
		}
		if !first {
			if err := ss.r.SP(); err != nil {
				return 0, nil, err
			}
		}
		first = false
		if ss.r.Peek() == '\\' {
			ss.r.Skip(1)
			a, err := ss.r.Atom()
			if err != nil {
				return 0, nil, err
			}
			switch strings.ToLower(a) {
			case "seen":
				f |= store.Seen
			case "answered":
				f |= store.Answered
			case "flagged":
				f |= store.Flagged
			case "deleted":
				f |= store.Deleted
			case "draft":
				f |= store.Draft
			default:
				return 0, nil, errUnknown
			}
			continue
		}
		a, err := ss.r.Atom()
		if err != nil {
			return 0, nil, err
		}
		if !validKeyword(a) {
			return 0, nil, errUnknown
		}
		kws = append(kws, a)
	}
	return f, kws, nil
}

// validKeyword: an atom without the characters Courier's keyword files can't hold.
func validKeyword(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}
