package server

import (
	"errors"
	"strings"

	"courier/internal/store"
)

// cmdCreate: RFC 3501 §6.3.3, with CREATE-SPECIAL-USE (RFC 6154 §3) accepted for the uses
// the folder names already carry.
func (ss *session) cmdCreate(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	raw, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	var uses []string
	if !ss.r.AtEnd() {
		if uses, err = ss.createParams(); err != nil {
			return wireErr(err)
		}
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	// A trailing delimiter only says the client means to create children (RFC 3501 §6.3.3).
	raw = strings.TrimSuffix(raw, ".")
	name, err := ss.storeName(raw)
	if err != nil {
		return wireErr(err)
	}
	if name == "INBOX" {
		return no("ALREADYEXISTS", "INBOX already exists!")
	}
	for _, u := range uses {
		if specialUse(name) != u {
			return no("USEATTR", "This server decides special use by the folder's name.")
		}
	}
	if st, done := ss.sharedCreate(name); done {
		return st
	}
	if err := ss.st.Create(name); err != nil {
		if errors.Is(err, store.ErrExists) {
			return no("ALREADYEXISTS", "Cannot create this folder.")
		}
		return storeErr(err, "CREATE")
	}
	return ok("", `"`+ss.wireName(name)+`" created.`)
}

// createParams reads " (USE (\Sent ...))".
func (ss *session) createParams() ([]string, error) {
	if err := ss.r.SP(); err != nil {
		return nil, err
	}
	if err := ss.r.Expect('('); err != nil {
		return nil, err
	}
	a, err := ss.r.Atom()
	if err != nil || !strings.EqualFold(a, "USE") {
		return nil, bad("", "Unknown CREATE parameter.")
	}
	if err := ss.r.SP(); err != nil {
		return nil, err
	}
	if err := ss.r.Expect('('); err != nil {
		return nil, err
	}
	var uses []string
	for ss.r.Peek() != ')' {
		if len(uses) > 0 {
			if err := ss.r.SP(); err != nil {
				return nil, err
			}
		}
		if err := ss.r.Expect('\\'); err != nil {
			return nil, err
		}
		u, err := ss.r.Atom()
		if err != nil {
			return nil, err
		}
		uses = append(uses, `\`+strings.ToUpper(u[:1])+strings.ToLower(u[1:]))
	}
	ss.r.Skip(1)
	if err := ss.r.Expect(')'); err != nil {
		return nil, err
	}
	return uses, nil
}

// cmdDelete: RFC 3501 §6.3.4. The selected folder cannot be deleted, as in Courier: the
// session would otherwise lose its selected state without the client being told (RFC 3501
// has no response for it but BYE; RFC 7162 §3.2.11's OK [CLOSED] is for a client that
// selects again), and its next command would fail for no reason it can see.
func (ss *session) cmdDelete(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if ss.sel != nil && ss.sel.name == name {
		return no("", "Cannot delete currently-open folder.")
	}
	if name == "INBOX" {
		return no("CANNOT", "Cannot delete this folder.")
	}
	if st, done := ss.sharedDelete(name); done {
		return st
	}
	if err := ss.st.Delete(name); err != nil {
		return storeErr(err, "DELETE")
	}
	// The subscription list is left as it is: RFC 3501 §6.3.6 says a server MUST NOT remove
	// a name from it because the mailbox is gone, and Courier does not touch
	// courierimapsubscribed here (nor create it).
	return ok("", "Folder deleted.")
}

// cmdRename: RFC 3501 §6.3.5. Renaming INBOX (which RFC 3501 defines as moving its
// messages) is refused, as Courier does; so is renaming the selected folder or one above
// it, which would pull the selected folder from under the session (see cmdDelete).
func (ss *session) cmdRename(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	from, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	to, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if from == "INBOX" {
		return no("CANNOT", "INBOX rename not implemented.")
	}
	if to == "INBOX" {
		return no("ALREADYEXISTS", "INBOX already exists!")
	}
	if ss.sel != nil && (ss.sel.name == from || strings.HasPrefix(ss.sel.name, from+".")) {
		return no("", "Can't RENAME the currently-open folder.")
	}
	if st, done := ss.sharedRename(from, to); done {
		return st
	}
	if err := ss.st.Rename(from, to); err != nil {
		return storeErr(err, "RENAME")
	}
	// Subscriptions stay under the old names, as in Courier: RFC 3501 §6.3.6 forbids
	// removing a name from the subscription list on the server's own account, and the
	// client, which knows it renamed, subscribes the new names if it wants them.
	return ok("", "Folder renamed.")
}

// cmdSubscribe: RFC 3501 §6.3.6.
func (ss *session) cmdSubscribe(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if st, done := ss.sharedSubscribe(name); done {
		return st
	}
	if err := ss.st.Subscribe(name); err != nil {
		return storeErr(err, "SUBSCRIBE")
	}
	return ok("", "Folder subscribed.")
}

// cmdUnsubscribe: RFC 3501 §6.3.7.
func (ss *session) cmdUnsubscribe(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if st, done := ss.sharedUnsubscribe(name); done {
		return st
	}
	if err := ss.st.Unsubscribe(name); err != nil {
		return storeErr(err, "UNSUBSCRIBE")
	}
	return ok("", "Folder unsubscribed.")
}
