package smap

import (
	"errors"
	"strings"

	"courier/internal/store/acl"
)

// writeACL writes "* GETACL" lines: identifier and rights pairs, six to a line.
func (s *session) writeACL(a acl.ACL) {
	n := 0
	for _, e := range a {
		if n > 5 {
			s.writes("\n")
			n = 0
		}
		if n == 0 {
			s.writes("* GETACL")
		}
		s.writes(" " + quote(e.Identifier) + " " + quote(e.Rights))
		n++
	}
	if n > 0 {
		s.writes("\n")
	}
}

// cmdGetACL is GETACL path (the folder's ACL, needs "a") and ACL path (the user's own rights).
func (s *session) cmdGetACL(verb string, w *words) {
	name, err := s.folder(w)
	if err != nil {
		s.writes("-ERR Invalid folder: " + errText(err) + "\n")
		return
	}
	a, err := s.readACL(name)
	if err != nil {
		s.writes("-ERR Unable to read existing ACLS: " + errText(err) + "\n")
		return
	}
	r := a.Compute(s.ids()...)
	if (verb == "GETACL" && !strings.Contains(r, "a")) || (verb == "ACL" && r == "") {
		s.accessDenied("a")
		return
	}
	if verb == "ACL" {
		s.writes("* ACL " + quote(r) + "\n")
	} else {
		s.writeACL(a)
	}
	s.writes("+OK ACLs retrieved\n")
}

// cmdSetACL is SETACL path "" (identifier rights)… and DELETEACL path "" identifier…. Rights
// "+x" add, "-x" remove, "" drop the entry, anything else replaces. The new ACL is shown.
func (s *session) cmdSetACL(verb string, w *words) {
	name, err := s.folder(w)
	if err != nil {
		s.writes("-ERR Invalid folder: " + errText(err) + "\n")
		return
	}
	a, err := s.readACL(name)
	if err != nil {
		s.writes("-ERR Unable to read existing ACLS: " + errText(err) + "\n")
		return
	}
	if !strings.Contains(a.Compute(s.ids()...), "a") {
		s.accessDenied("a")
		return
	}
	for {
		id := w.next()
		if id == "" {
			break
		}
		if err := acl.ValidIdentifier(id); err != nil {
			s.writes("-ERR Error: Invalid argument\n")
			return
		}
		if verb == "DELETEACL" {
			a = deleteEntry(a, id)
			continue
		}
		rights := w.next()
		switch {
		case rights == "":
			a = deleteEntry(a, id)
		case rights[0] == '+' || rights[0] == '-':
			cur, _ := a.Get(id)
			next := acl.NormalizeRights(cur + rights[1:])
			if rights[0] == '-' {
				next = strings.Map(func(r rune) rune {
					if strings.ContainsRune(rights[1:], r) {
						return -1
					}
					return r
				}, cur)
			}
			if next == "" && rights[0] == '-' {
				a = deleteEntry(a, id)
			} else {
				a = setEntry(a, id, next)
			}
		default:
			a = setEntry(a, id, acl.NormalizeRights(rights))
		}
	}
	if err := a.Check(); err != nil {
		s.aclMinimum()
		return
	}
	if s.cfg.ACL == nil {
		s.writes("-ERR ACL update failed\n")
		return
	}
	if err := s.cfg.ACL.Write(dirOf(name), a); err != nil {
		if errors.Is(err, acl.ErrOwnerRights) {
			s.aclMinimum()
			return
		}
		s.log.Warn("smap: write ACL", "folder", name, "err", err)
		s.writes("-ERR ACL update failed\n")
		return
	}
	s.writeACL(a)
	if s.mb != nil && s.mbName == name {
		s.rights = a.Compute(s.ids()...)
	}
	s.writes("+OK Updated ACLs\n")
}

// aclMinimum reports a change that would take the owner's administration right away, as
// Courier does: the minimum rights and the rights that could be added.
func (s *session) aclMinimum() {
	s.writes("* ACLMINIMUM owner al c e i p r s t w x\n-ERR ACL update failed\n")
}

// setEntry replaces or appends an identifier's rights without the package's checks (the
// whole list is checked once at the end, as Courier does).
func setEntry(a acl.ACL, id, rights string) acl.ACL {
	out := a.Clone()
	for i := range out {
		if out[i].Identifier == id {
			out[i].Rights = rights
			return out
		}
	}
	return append(out, acl.Entry{Identifier: id, Rights: rights})
}

func deleteEntry(a acl.ACL, id string) acl.ACL {
	out := make(acl.ACL, 0, len(a))
	for _, e := range a {
		if e.Identifier != id {
			out = append(out, e)
		}
	}
	return out
}
