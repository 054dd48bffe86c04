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
// set: "c" for creating folders and "d" for expunge (e), delete-message (t) and
// delete-folder (x) together; with only some of the three, none of them shows (Courier's
// writeacl1).

// displayRights turns stored rights into what GETACL and MYRIGHTS show.
func displayRights(stored string) string {
	var out []byte
	for _, c := range []byte("acilprsw") {
		if strings.IndexByte(stored, c) >= 0 {
			out = append(out, c)
		}
	}
	if strings.Contains(stored, "e") && strings.Contains(stored, "t") && strings.Contains(stored, "x") {
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

// storedIdentifier turns an identifier as IMAP clients send it (a login name, RFC 4314 §2)
// into the form Courier's ACL files hold: "user=NAME"; the special identifiers (owner,
// anyone, anonymous, administrators) and those naming their kind ("group=…") stay as they
// are, and a leading "-" (negative rights) is kept.
func storedIdentifier(id string) string {
	bare, neg := strings.CutPrefix(id, "-")
	switch bare {
	case acl.Owner, acl.Anyone, acl.Anonymous, acl.Administrators, "":
		return id
	}
	if strings.Contains(bare, "=") {
		return id
	}
	if neg {
		return "-user=" + bare
	}
	return "user=" + bare
}

// myRights returns the user's displayed rights on a folder (the owner's, on their own
// Maildir). On failure it returns the owner's default.
func (ss *session) myRights(name string) string { return displayRights(ss.rightsOn(name)) }

// rightsOn returns the user's rights on a folder in stored letters: the owner's on their own
// Maildir (the owner's default on failure), the shared namespaces' own rules elsewhere.
func (ss *session) rightsOn(name string) string {
	if r, shared, err := ss.sharedRightsOn(name); shared {
		if err != nil {
			return ""
		}
		return r
	}
	dir, err := foldername.ToDir(name)
	if err != nil || ss.maildir == "" {
		return acl.AllRights
	}
	r, err := ss.aclStore().Rights(dir, ss.user, ss.groups(), true)
	if err != nil {
		return acl.AllRights
	}
	return r
}

// groups returns the account's group= options.
func (ss *session) groups() []string {
	if ss.account == nil {
		return nil
	}
	return ss.account.Options.All("group")
}

// aclTarget reads " mailbox" and returns its name, directory and ACL store (the owner's
// maildir's for a "#shared." folder, nil for a "shared." one, whose ACL is fixed).
func (ss *session) aclTarget(verb string) (string, string, *acl.Store, *status) {
	name, dir, st := ss.aclTargetName()
	if st != nil {
		return "", "", nil, st
	}
	as, sdir, rights, shared, err := ss.sharedACL(name)
	if !shared {
		return name, dir, ss.aclStore(), nil
	}
	if err != nil {
		return "", "", nil, no("", "Mailbox does not exist, or must be subscribed to.")
	}
	// Courier: GETACL, SETACL, DELETEACL and LISTRIGHTS need "a"; MYRIGHTS any right.
	if (verb != "MYRIGHTS" && !strings.Contains(rights, "a")) || rights == "" || (as == nil && verb != "MYRIGHTS") {
		return "", "", nil, no("", (&accessError{verb: "GETACL", name: ss.wireName(name), right: "a"}).Error())
	}
	return name, sdir, as, nil
}

// aclTargetName reads " mailbox" of one of the account's own folders (or a shared name,
// returned as it is) and returns its name and directory.
func (ss *session) aclTargetName() (string, string, *status) {
	if err := ss.r.SP(); err != nil {
		return "", "", wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return "", "", wireErr(err)
	}
	if isSharedName(name) {
		return name, "", nil
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
	name, dir, as, st := ss.aclTarget("GETACL")
	if st != nil {
		return st
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	a, err := as.Read(dir)
	if err != nil {
		return no("", "Cannot read the access control list.")
	}
	b := []byte("* ACL ")
	b = ss.quoteName(b, name)
	for _, e := range a {
		id, shown := aclIdentifier(e.Identifier)
		if !shown {
			continue
		}
		b = append(b, ' ')
		b = wire.AppendQuoted(b, id, false)
		b = append(b, ' ')
		b = wire.AppendQuoted(b, displayRights(e.Rights), false)
	}
	b = append(b, "\r\n"...)
	ss.writeRaw(b)
	return ok("", "GETACL completed.")
}

// cmdSetACL: RFC 4314 §3.1.
func (ss *session) cmdSetACL(bool) *status {
	_, dir, as, st := ss.aclTarget("SETACL")
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
	if err := as.Set(dir, storedIdentifier(id), storedRights(rights)); err != nil {
		return no("", "SETACL failed: "+err.Error())
	}
	return ok("", "SETACL completed.")
}

// cmdDeleteACL: RFC 4314 §3.2.
func (ss *session) cmdDeleteACL(bool) *status {
	_, dir, as, st := ss.aclTarget("DELETEACL")
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
	if err := as.Delete(dir, storedIdentifier(id)); err != nil {
		return no("", "DELETEACL failed: "+err.Error())
	}
	return ok("", "DELETEACL completed.")
}

// cmdListRights: RFC 4314 §3.4, as Courier answers it.
func (ss *session) cmdListRights(bool) *status {
	name, _, _, st := ss.aclTarget("LISTRIGHTS")
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
	name, _, _, st := ss.aclTarget("MYRIGHTS")
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
