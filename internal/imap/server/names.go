package server

import (
	"errors"
	"strings"

	"courier/internal/store"
	"courier/internal/store/foldername"
)

// mailboxArg reads a mailbox name argument and returns the store's name for it.
func (ss *session) mailboxArg() (string, error) {
	raw, err := ss.r.AString()
	if err != nil {
		return "", err
	}
	return ss.storeName(raw)
}

// storeName turns a name as the client sent it into the store's form: modified UTF-7
// (converted from UTF-8 once the client enabled UTF8=ACCEPT, RFC 6855 §3), with the INBOX
// prefix in upper case (RFC 3501 §5.1: INBOX is case-insensitive).
func (ss *session) storeName(raw string) (string, error) {
	name := raw
	if ss.utf8 {
		name = foldername.EncodeMUTF7(raw)
	} else if !foldername.ValidMUTF7(raw) {
		return "", no("", "Invalid mailbox name.")
	}
	first, rest, more := strings.Cut(name, ".")
	if strings.EqualFold(first, "INBOX") {
		name = "INBOX"
		if more {
			name += "." + rest
		}
	}
	return name, nil
}

// wireName is a store name as the client sees it.
func (ss *session) wireName(name string) string {
	if ss.utf8 {
		if u, err := foldername.DecodeMUTF7(name); err == nil {
			return u
		}
	}
	return name
}

// quoteName appends a mailbox name as a quoted string (or a literal when it must be).
func (ss *session) quoteName(b []byte, name string) []byte {
	return appendQuoted(b, ss.wireName(name), ss.utf8)
}

// storeErr maps a store error to Courier's answer. Courier's imapd sends none of RFC 5530's
// response codes (NONEXISTENT, ALREADYEXISTS, CANNOT, SERVERBUG, OVERQUOTA): a missing,
// existing or protected folder gets a bare NO, and a full quota an [ALERT], which RFC 3501
// §7.1 lets a server use for what the user must be told. Clients key on the codes Courier
// sends (TRYCREATE comes from the commands that need it, RFC 3501 §6.4.7, §6.3.11), so the
// same codes are sent here and no others. One answer differs on purpose: RENAME of a name
// with no folder at all (nor any below it) is this bare NO, where Courier answers OK and
// renames nothing; RFC 3501 §6.3.5 calls it an error.
func storeErr(err error, what string) *status {
	var ae *accessError
	switch {
	case errors.As(err, &ae):
		return no("", ae.Error())
	case errors.Is(err, store.ErrInvalidName):
		return no("", "Invalid mailbox name.")
	case errors.Is(err, store.ErrNotFound):
		return no("", "Mailbox does not exist, or must be subscribed to.")
	case errors.Is(err, store.ErrExists):
		return no("", what+" failed: File exists")
	case errors.Is(err, store.ErrNotAllowed):
		return no("", "Operation not permitted on this mailbox.")
	case errors.Is(err, store.ErrOverQuota):
		return no("ALERT", "You exceeded your mail quota.")
	}
	return no("", what+" failed: temporary problem, please try again later.")
}

// matchPattern reports whether name matches a LIST pattern: '*' matches anything, '%'
// anything but the hierarchy delimiter '.' (RFC 3501 §6.3.8). Names and patterns are
// compared byte for byte, except that an INBOX prefix is case-insensitive.
func matchPattern(pattern, name string) bool {
	// Dynamic programming over (pattern position, name position): linear in the product of
	// the lengths, whatever the client's wildcards.
	m, n := len(pattern), len(name)
	if m > 1000 || n > 4000 {
		return false
	}
	cur := make([]bool, n+1) // cur[j]: pattern[i:] matches name[j:]
	next := make([]bool, n+1)
	// i = m: only the empty rest of the name matches.
	for j := range cur {
		cur[j] = j == n
	}
	for i := m - 1; i >= 0; i-- {
		next, cur = cur, next
		c := pattern[i]
		switch c {
		case '*':
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				cur[j] = next[j] || cur[j+1]
			}
		case '%':
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				cur[j] = next[j] || (name[j] != '.' && cur[j+1])
			}
		default:
			cur[n] = false
			for j := n - 1; j >= 0; j-- {
				cur[j] = name[j] == c && next[j+1]
			}
		}
	}
	return cur[0]
}

// canonPattern upper-cases an INBOX prefix of a pattern, so "inbox.%" lists INBOX's children.
func canonPattern(p string) string {
	if len(p) >= 5 && strings.EqualFold(p[:5], "INBOX") && (len(p) == 5 || p[5] == '.' || p[5] == '*' || p[5] == '%') {
		return "INBOX" + p[5:]
	}
	return p
}

// encodeMUTF7 is foldername.EncodeMUTF7.
func encodeMUTF7(s string) string { return foldername.EncodeMUTF7(s) }
