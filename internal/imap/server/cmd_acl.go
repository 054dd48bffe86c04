package server

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"courier/internal/imap/wire"
	"courier/internal/store/acl"
	"courier/internal/store/foldername"
)

// Courier keeps RFC 4314 letters on disk ("aceilrstwx") and shows IMAP clients the RFC 2086
// set: "c" for creating folders and "d" for any of expunge (e), delete-message (t) and
// delete-folder (x).

// displayRights turns stored rights into what GETACL and MYRIGHTS show.
func displayRights(stored string) string {
	var out []byte
	for _, c := range []byte("acilprsw") {
		if strings.IndexByte(stored, c) >= 0 {
			out = append(out, c)
		}
	}
	if strings.ContainsAny(stored, "etx") {
		out = append(out, 'd')
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return string(out)
}

// storedRights turns rights a client sent (RFC 2086 or RFC 4314 letters) into stored ones;
// a leading + or - is kept.
func storedRights(r string) string {
	sign := ""
	if strings.HasPrefix(r, "+") || strings.HasPrefix(r, "-") {
		sign, r = r[:1], r[1:]
	}
	var out strings.Builder
	for _, c := range r {
		switch c {
		case 'd':
			out.WriteString("etx")
		case 'k':
			out.WriteByte('c')
		case 'a', 'c', 'e', 'i', 'l', 'r', 's', 't', 'w', 'x':
			out.WriteRune(c)
		}
	}
	return sign + acl.NormalizeRights(out.String())
}

func (ss *session) aclStore() *acl.Store { return acl.Open(ss.maildir) }

// myRights returns the user's displayed rights on a folder (the owner's, on their own
// Maildir). On failure it returns the owner's default.
func (ss *session) myRights(name string) string {
	dir, err := foldername.ToDir(name)
	if err != nil || ss.maildir == "" {
		return displayRights(acl.AllRights)
	}
	r, err := ss.aclStore().Rights(dir, ss.user, ss.groups(), true)
	if err != nil {
		return displayRights(acl.AllRights)
	}
	return displayRights(r)
}

// groups returns the account's group= options.
func (ss *session) groups() []string {
	if ss.account == nil {
		return nil
	}
	return ss.account.Options.All("group")
}

// aclTarget reads " mailbox" and returns its name and directory.
func (ss *session) aclTarget() (string, string, *status) {
	if err := ss.r.SP(); err != nil {
		return "", "", wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return "", "", wireErr(err)
	}
	dir, err := foldername.ToDir(name)
	if err != nil {
		return "", "", no("", "Invalid mailbox name.")
	}
	// A folder that does not exist has no ACL to show or change: NO, as Courier (which
	// sends no response code here either).
	if dir != "" && ss.maildir != "" {
		if _, err := os.Stat(filepath.Join(ss.maildir, dir)); err != nil {
			if legacy, lerr := foldername.ToLegacyDir(name); lerr != nil || legacy == dir {
				return "", "", no("", "Mailbox does not exist.")
			} else if _, err := os.Stat(filepath.Join(ss.maildir, legacy)); err != nil {
				return "", "", no("", "Mailbox does not exist.")
			}
		}
	}
	return name, dir, nil
}

// cmdGetACL: RFC 4314 §3.3.
func (ss *session) cmdGetACL(bool) *status {
	name, dir, st := ss.aclTarget()
	if st != nil {
		return st
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	a, err := ss.aclStore().Read(dir)
	if err != nil {
		return no("", "Cannot read the access control list.")
	}
	b := []byte("* ACL ")
	b = ss.quoteName(b, name)
	for _, e := range a {
		b = append(b, ' ')
		b = wire.AppendQuoted(b, e.Identifier, false)
		b = append(b, ' ')
		b = wire.AppendQuoted(b, displayRights(e.Rights), false)
	}
	b = append(b, "\r\n"...)
	ss.writeRaw(b)
	return ok("", "GETACL completed.")
}

// cmdSetACL: RFC 4314 §3.1.
func (ss *session) cmdSetACL(bool) *status {
	_, dir, st := ss.aclTarget()
	if st != nil {
		return st
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	id, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	rights, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if err := ss.aclStore().Set(dir, id, storedRights(rights)); err != nil {
		return no("", "SETACL failed: "+err.Error())
	}
	return ok("", "SETACL completed.")
}

// cmdDeleteACL: RFC 4314 §3.2.
func (ss *session) cmdDeleteACL(bool) *status {
	_, dir, st := ss.aclTarget()
	if st != nil {
		return st
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	id, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if err := ss.aclStore().Delete(dir, id); err != nil {
		return no("", "DELETEACL failed: "+err.Error())
	}
	return ok("", "DELETEACL completed.")
}

// cmdListRights: RFC 4314 §3.4, as Courier answers it.
func (ss *session) cmdListRights(bool) *status {
	name, _, st := ss.aclTarget()
	if st != nil {
		return st
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	id, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	b := []byte("* LISTRIGHTS ")
	b = ss.quoteName(b, name)
	b = append(b, ' ')
	b = wire.AppendQuoted(b, id, false)
	b = append(b, ` "" a c d i l p r s w`+"\r\n"...)
	ss.writeRaw(b)
	return ok("", "LISTRIGHTS completed.")
}

// cmdMyRights: RFC 4314 §3.5.
func (ss *session) cmdMyRights(bool) *status {
	name, _, st := ss.aclTarget()
	if st != nil {
		return st
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	b := []byte("* MYRIGHTS ")
	b = ss.quoteName(b, name)
	b = append(b, ' ')
	b = wire.AppendQuoted(b, ss.myRights(name), false)
	b = append(b, "\r\n"...)
	ss.writeRaw(b)
	return ok("", "MYRIGHTS completed.")
}
