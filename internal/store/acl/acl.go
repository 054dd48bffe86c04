// Package acl reads and writes Courier-IMAP's access control lists and computes rights.
//
// Format (as Courier-IMAP 5, maildiracl and maildirmake leave it): a folder's ACL is the file
// courierimapacl in the folder's directory (the maildir itself for INBOX), one entry a line,
// "identifier rights\n", in the order entries were added; rights are letters in byte order
// without repeats (possibly none: "anyone \n"). A negative entry's identifier starts with "-".
// ACLs of hierarchy nodes that are not folders (INBOX.a when only INBOX.a.b exists, or a name
// not yet created) live in courierimaphieracl/<name>, where <name> is the directory name
// without its leading dot.
//
// Rules: INBOX without a file has the default ACL (owner and administrators get every right;
// it is not written). Any other folder or node without a file inherits its parent's ACL, and
// reading it saves that copy (as Courier does), so a new folder keeps the rights it was
// created with. The owner must keep "a"; "administrators" (group=administrators) always has
// every right and its entry can't be changed. Effective rights are the union of the rights of
// every applicable identifier (always including anyone and anonymous) minus the union of their
// negative rights.
//
// The package holds no state; all functions are safe for concurrent use (writes are atomic
// renames; the last writer wins, as with Courier).
package acl

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FileName is the per-folder ACL file.
const FileName = "courierimapacl"

// HierDir is the directory of ACLs of hierarchy nodes that are not folders.
const HierDir = "courierimaphieracl"

// AllRights is every right Courier knows, as it writes them.
const AllRights = "aceilrstwx"

// Well-known identifiers.
const (
	Owner          = "owner"
	Anyone         = "anyone"
	Anonymous      = "anonymous"
	Administrators = "administrators"
	// AdminGroup is the group whose members are administrators.
	AdminGroup = "group=administrators"
)

// ErrOwnerRights is returned when a change would take "a" away from the owner.
var ErrOwnerRights = errors.New("Trying to set invalid access rights for owner") //nolint:staticcheck // Courier's message

// ErrAdministrators is returned when a change touches the administrators' entry.
var ErrAdministrators = errors.New("the administrators' rights can't be changed")

// ErrIdentifier is wrapped by the error for an identifier that can't be stored.
var ErrIdentifier = errors.New("invalid ACL identifier")

// Entry is one line of an ACL.
type Entry struct {
	Identifier string // may start with "-" for negative rights
	Rights     string // normalized: letters in byte order, no repeats
}

// ACL is an access control list in file order.
type ACL []Entry

// Default is the ACL of an INBOX without a file.
func Default() ACL {
	return ACL{{Owner, AllRights}, {Administrators, AllRights}}
}

// NormalizeRights sorts the letters of rights and removes repeats.
func NormalizeRights(rights string) string {
	b := []byte(rights)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	out := b[:0]
	for i, c := range b {
		if i == 0 || c != b[i-1] {
			out = append(out, c)
		}
	}
	return string(out)
}

// ValidIdentifier checks that id (with or without a leading "-") can be stored: not empty and
// without white space or control characters.
func ValidIdentifier(id string) error {
	bare := strings.TrimPrefix(id, "-")
	if bare == "" {
		return fmt.Errorf("%w %q: empty", ErrIdentifier, id)
	}
	for _, r := range bare {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%w %q: contains white space or a control character", ErrIdentifier, id)
		}
	}
	return nil
}

// isAdmin reports whether an identifier (without "-") names the administrators.
func isAdmin(id string) bool { return id == Administrators || id == AdminGroup }

// Parse reads an ACL file. Blank lines are skipped; a line without a space is an identifier
// with no rights. Nothing in the content is an error: a damaged file yields what can be read.
func Parse(data []byte) ACL {
	var a ACL
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		id, rights, _ := strings.Cut(line, " ")
		if id == "" {
			continue
		}
		rights = NormalizeRights(strings.TrimSpace(rights))
		if isAdmin(id) {
			rights = AllRights // administrators always have every right
		}
		a = append(a, Entry{Identifier: id, Rights: rights})
	}
	return a
}

// String renders the ACL in the file format.
func (a ACL) String() string {
	var b strings.Builder
	for _, e := range a {
		b.WriteString(e.Identifier)
		b.WriteByte(' ')
		b.WriteString(e.Rights)
		b.WriteByte('\n')
	}
	return b.String()
}

// Clone returns a copy of a.
func (a ACL) Clone() ACL { return append(ACL(nil), a...) }

// Get returns the rights of an identifier ("-id" for its negative rights).
func (a ACL) Get(id string) (string, bool) {
	for _, e := range a {
		if e.Identifier == id {
			return e.Rights, true
		}
	}
	return "", false
}

// Set returns a copy of a with id's rights replaced by rights, or, when rights starts with
// "+" or "-", with those letters added or removed. A new identifier is appended. The result is
// checked: the owner must keep "a", and the administrators' entry can't be changed.
func (a ACL) Set(id, rights string) (ACL, error) {
	if err := ValidIdentifier(id); err != nil {
		return nil, err
	}
	if strings.HasPrefix(id, "-") && isAdmin(id[1:]) {
		return nil, ErrAdministrators
	}
	out := a.Clone()
	cur, found := out.Get(id)
	var next string
	switch {
	case strings.HasPrefix(rights, "+"):
		next = NormalizeRights(cur + rights[1:])
	case strings.HasPrefix(rights, "-"):
		next = strings.Map(func(r rune) rune {
			if strings.ContainsRune(rights[1:], r) {
				return -1
			}
			return r
		}, cur)
	default:
		next = NormalizeRights(rights)
	}
	if id == Administrators && next != AllRights { // its rights are fixed
		return nil, ErrAdministrators
	}
	if found {
		for i := range out {
			if out[i].Identifier == id {
				out[i].Rights = next
			}
		}
	} else {
		out = append(out, Entry{Identifier: id, Rights: next})
	}
	if err := out.Check(); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete returns a copy of a without id's entry ("-id" for its negative entry). Removing the
// owner's rights or touching the administrators' entry is refused.
func (a ACL) Delete(id string) (ACL, error) {
	if isAdmin(strings.TrimPrefix(id, "-")) {
		return nil, ErrAdministrators
	}
	out := make(ACL, 0, len(a))
	for _, e := range a {
		if e.Identifier != id {
			out = append(out, e)
		}
	}
	if err := out.Check(); err != nil {
		return nil, err
	}
	return out, nil
}

// Check verifies the invariant Courier enforces on every change: the owner's own entry has
// "a" and no negative entry that applies to the owner (-owner, -anyone, -anonymous) takes it.
func (a ACL) Check() error {
	own, _ := a.Get(Owner)
	if !strings.Contains(own, "a") || !strings.Contains(a.Compute(Owner), "a") {
		return ErrOwnerRights
	}
	return nil
}

// Compute returns the rights that the union of identifiers ids has: the rights of every entry
// for one of them, anyone or anonymous, minus the negative rights of the same. Administrators
// (administrators or group=administrators among ids) get AllRights.
func (a ACL) Compute(ids ...string) string {
	set := map[string]bool{Anyone: true, Anonymous: true}
	for _, id := range ids {
		if isAdmin(id) {
			return AllRights
		}
		set[id] = true
	}
	var pos, neg strings.Builder
	for _, e := range a {
		if strings.HasPrefix(e.Identifier, "-") {
			if set[e.Identifier[1:]] {
				neg.WriteString(e.Rights)
			}
		} else if set[e.Identifier] {
			pos.WriteString(e.Rights)
		}
	}
	n := neg.String()
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(n, r) {
			return -1
		}
		return r
	}, NormalizeRights(pos.String()))
}

// Identifiers returns the identifiers whose rights apply to a user: owner (when the user owns
// the maildir), user=<login> and group=<g> for each of the account's groups (authlib's group=
// option).
func Identifiers(login string, groups []string, isOwner bool) []string {
	ids := make([]string, 0, len(groups)+2)
	if isOwner {
		ids = append(ids, Owner)
	}
	ids = append(ids, "user="+login)
	for _, g := range groups {
		ids = append(ids, "group="+g)
	}
	return ids
}
