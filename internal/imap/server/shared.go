package server

// Shared folders, Courier-IMAP's two kinds (README.sharedfolders.html), behind the
// namespace NAMESPACE advertises: (("#shared." ".")("shared." ".")).
//
//   - "shared.<nick>.<folder>": filesystem-permission shared folders, the folders of the
//     sharable maildirs listed in the account's shared-maildirs (maildirmake --add). The
//     store keeps the account's own copy of each one it uses (its flags) and keeps it in
//     step; everyone has the same rights on them (Courier's "anyone eilrstwx", or "lrsw"
//     when the account's copy cannot change), and a folder the sharable maildir does not
//     let this process write is opened read-only. LIST shows every folder of every listed
//     sharable maildir; LSUB the ones the account has a copy of (SUBSCRIBE makes the copy,
//     UNSUBSCRIBE and DELETE remove it; SELECT and STATUS make it when missing).
//   - "#shared.<account>.<folder>": virtual shared folders. IMAP_SHAREDINDEXFILE (with the
//     account's sharedgroup option appended) lists the accounts (package sharedindex);
//     another account's folder is seen, opened and changed only as its ACL allows the
//     logged-in user ("l" to be listed, "r" to be selected or looked at, "s" "t" "w" for
//     flags, "e" to expunge, "i" to append or copy in, "c" to create below, "x" to delete,
//     "a" for its ACL), with the identifiers Courier uses (user=NAME, group=NAME from the
//     account's group options, anyone, anonymous; never owner). The account's own maildir is
//     left out of the hierarchy, as are accounts whose maildir cannot be reached.
//
// Safety of virtual shared folders: the session reads and writes another account's maildir
// with the uid it runs as, so that is allowed only when the two accounts really share one
// mail uid: the other maildir must belong to this process's effective uid, and a process
// running as root serves them only to accounts that are themselves served as root in this
// process (virtual accounts of a root quickstart); sessions of accounts with a uid of their
// own run handed off under that uid (privsep), where the kernel has the last word. The
// account option disableshared turns the #shared namespace off.
//
// Courier reveals, through its answers, that a folder exists where the user has no right
// on it (SELECT says "Access denied" rather than "does not exist"); we answer the same and
// reveal nothing more: LIST and LSUB show nothing the user may not look up.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"courier/internal/store"
	"courier/internal/store/acl"
	"courier/internal/store/foldername"
	"courier/internal/store/sharedindex"
)

// fsSharedStore is what a store offers for filesystem shared folders (maildirstore.Store).
type fsSharedStore interface {
	SharedFolders() ([]string, error)
	SharedSubscriptions() ([]string, error)
	SubscribeShared(name string) error
	UnsubscribeShared(name string) error
	OpenShared(name string) (store.Mailbox, error)
	PeekShared(name string, measure func(store.Content) (int64, error)) (store.Status, int64, error)
	SharedRights(name string) string
}

// otherOpener is implemented by stores that can open another account's maildir with their
// own options (maildirstore.Store).
type otherOpener interface {
	OpenOther(path string) (store.Store, error)
}

// rawSubscriber keeps subscriptions to names the store does not own ("#shared.…").
type rawSubscriber interface {
	SubscribeVirtual(name string) error
	UnsubscribeVirtual(name string) error
}

// readOnlyMailbox is implemented by views that refuse changes (a shared folder the user
// may not write).
type readOnlyMailbox interface {
	ReadOnly() bool
}

const (
	fsSharedRoot      = "shared"
	virtualSharedRoot = "#shared"
)

// isFSShared reports whether a store name is in the "shared." namespace (or its root).
func isFSShared(name string) bool {
	return name == fsSharedRoot || strings.HasPrefix(name, fsSharedRoot+".")
}

// isVirtualShared reports whether a store name is in the "#shared." namespace.
func isVirtualShared(name string) bool {
	return name == virtualSharedRoot || strings.HasPrefix(name, virtualSharedRoot+".")
}

// isSharedName reports whether a name belongs to either shared namespace.
func isSharedName(name string) bool { return isFSShared(name) || isVirtualShared(name) }

// fsFolder reports whether a "shared." name names a folder ("shared.nick.folder"), not a
// node of the hierarchy.
func fsFolder(name string) bool {
	rest, ok := strings.CutPrefix(name, fsSharedRoot+".")
	return ok && strings.Contains(rest, ".")
}

// accessError is Courier's refusal for want of a right.
type accessError struct {
	verb, name, right string
}

func (e *accessError) Error() string {
	return fmt.Sprintf(`Access denied for %s on %s (ACL "%s" required)`, e.verb, e.name, e.right)
}

// rightFor is the right each verb needs on a shared folder.
var rightFor = map[string]string{
	"SELECT/EXAMINE": "r", "STATUS": "r", "APPEND": "i", "COPY": "i", "MOVE": "i",
}

// fsStore returns the store's filesystem shared folder support, if any.
func (ss *session) fsStore() (fsSharedStore, bool) {
	f, ok := ss.st.(fsSharedStore)
	return f, ok
}

// open opens a view of a folder for verb ("SELECT/EXAMINE", "STATUS", "APPEND", "COPY",
// "MOVE"), whichever namespace it is in, checking the rights a shared folder needs.
func (ss *session) open(name, verb string) (store.Mailbox, error) {
	switch {
	case isFSShared(name):
		f, ok := ss.fsStore()
		if !ok || !fsFolder(name) {
			return nil, fmt.Errorf("shared folder %q: %w", name, store.ErrNotFound)
		}
		return f.OpenShared(name)
	case isVirtualShared(name):
		v, err := ss.resolveVirtual(name)
		if err != nil {
			return nil, err
		}
		if need := rightFor[verb]; need != "" && !strings.Contains(v.rights, need) {
			return nil, &accessError{verb: verb, name: ss.wireName(name), right: need}
		}
		st, mb, err := v.openView()
		if err != nil {
			return nil, err
		}
		return &aclMailbox{Mailbox: mb, owner: st, rights: v.rights, name: ss.wireName(name)}, nil
	}
	return ss.st.Open(name)
}

// sharedStatus is folderStatus for a shared folder.
func (ss *session) sharedStatus(name string, wantSize bool) (store.Status, int64, error) {
	var measure func(store.Content) (int64, error)
	if wantSize {
		measure = measureContent
	}
	if isFSShared(name) {
		f, ok := ss.fsStore()
		if !ok || !fsFolder(name) {
			return store.Status{}, 0, fmt.Errorf("shared folder %q: %w", name, store.ErrNotFound)
		}
		return f.PeekShared(name, measure)
	}
	v, err := ss.resolveVirtual(name)
	if err != nil {
		return store.Status{}, 0, err
	}
	if !strings.Contains(v.rights, "r") {
		return store.Status{}, 0, &accessError{verb: "STATUS", name: ss.wireName(name), right: "r"}
	}
	st, err := v.openStore()
	if err != nil {
		return store.Status{}, 0, err
	}
	defer st.Close()
	if sp, ok := st.(statusPeeker); ok {
		return sp.PeekStatus(v.folder, measure)
	}
	mb, err := st.Open(v.folder)
	if err != nil {
		return store.Status{}, 0, err
	}
	defer mb.Close()
	return mb.Status(), 0, nil
}

// sharedRightsOn returns the stored-letter rights of the user on a shared name, and ok;
// ok is false for a name outside the shared namespaces. A virtual name that names nothing
// gives store.ErrNotFound.
func (ss *session) sharedRightsOn(name string) (string, bool, error) {
	switch {
	case isFSShared(name):
		f, ok := ss.fsStore()
		if !ok {
			return "", true, fmt.Errorf("shared folder %q: %w", name, store.ErrNotFound)
		}
		return f.SharedRights(name), true, nil
	case isVirtualShared(name):
		v, err := ss.resolveVirtual(name)
		if err != nil {
			return "", true, err
		}
		return v.rights, true, nil
	}
	return "", false, nil
}

// virtualFolder is a name below "#shared." resolved through the index.
type virtualFolder struct {
	ss      *session
	node    bool   // a node above the accounts (no folder)
	maildir string // the owner's maildir
	folder  string // the folder in it ("INBOX", "INBOX.x")
	dir     string // its directory name ("", ".x")
	rights  string // the user's rights on it, stored letters
}

// openStore opens the owner's maildir.
func (v *virtualFolder) openStore() (store.Store, error) {
	o, ok := v.ss.st.(otherOpener)
	if !ok || v.node {
		return nil, fmt.Errorf("shared folder: %w", store.ErrNotFound)
	}
	return o.OpenOther(v.maildir)
}

// openView opens the owner's maildir and a view of the folder.
func (v *virtualFolder) openView() (store.Store, store.Mailbox, error) {
	st, err := v.openStore()
	if err != nil {
		return nil, nil, err
	}
	mb, err := st.Open(v.folder)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, mb, nil
}

// sharedIndexFile returns the shared index this session uses, or "" when virtual shared
// folders are off for it (not configured, disableshared, or not safe in this process).
func (ss *session) sharedIndexFile() string {
	if ss.set == nil || ss.set.SharedIndexFile == "" || ss.maildir == "" {
		return ""
	}
	if _, ok := ss.st.(otherOpener); !ok {
		return ""
	}
	file := ss.set.SharedIndexFile
	if a := ss.account; a != nil {
		if a.Options.Bool("disableshared") {
			return ""
		}
		if os.Geteuid() == 0 && (a.SysUser != "" || a.UID != 0) {
			// An account with a uid of its own served by a root process (no privilege
			// separation): its identity is not ours to use on other maildirs.
			return ""
		}
		if g, ok := a.Options.Get("sharedgroup"); ok {
			file += g
		}
	}
	return file
}

// reachable reports whether another account's maildir may be used by this session: it
// exists, is not the session's own, and belongs to the uid this process runs as.
func (ss *session) reachable(maildir string) bool {
	fi, err := os.Stat(maildir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Geteuid() {
		return false
	}
	if own, err := os.Stat(ss.maildir); err == nil && os.SameFile(own, fi) {
		return false
	}
	return true
}

// userRights returns the user's rights on folder dir of another account's maildir.
func (ss *session) userRights(maildir, dir string) string {
	r, err := acl.Open(maildir).Rights(dir, ss.user, ss.groups(), false)
	if err != nil {
		return ""
	}
	return r
}

// resolveVirtual resolves a "#shared." name; the error wraps store.ErrNotFound when it names
// nothing this session can reach, store.ErrInvalidName when it is malformed.
func (ss *session) resolveVirtual(name string) (*virtualFolder, error) {
	notFound := fmt.Errorf("shared folder %q: %w", name, store.ErrNotFound)
	file := ss.sharedIndexFile()
	if file == "" {
		return nil, notFound
	}
	rest, _ := strings.CutPrefix(name, virtualSharedRoot)
	rest = strings.TrimPrefix(rest, ".")
	var levels []string
	if rest != "" {
		levels = strings.Split(rest, ".")
	}
	for _, l := range levels {
		if l == "" {
			return nil, fmt.Errorf("shared folder %q: %w", name, store.ErrInvalidName)
		}
	}
	r := sharedindex.NewReader()
	res, ok := r.Resolve(file, levels)
	if !ok {
		return nil, notFound
	}
	if res.Account == nil {
		return &virtualFolder{ss: ss, node: true, rights: "l"}, nil
	}
	md := res.Account.MaildirPath()
	if !ss.reachable(md) {
		return nil, notFound
	}
	dir, err := foldername.ToDir(res.Folder)
	if err != nil {
		return nil, fmt.Errorf("shared folder %q: %w: %w", name, store.ErrInvalidName, err)
	}
	p, err := foldername.Path(md, dir)
	if err != nil {
		return nil, fmt.Errorf("shared folder %q: %w: %w", name, store.ErrInvalidName, err)
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		return nil, notFound
	}
	return &virtualFolder{ss: ss, maildir: md, folder: res.Folder, dir: dir, rights: ss.userRights(md, dir)}, nil
}

// virtualFolders lists the "#shared." folders the user may look up ("l").
func (ss *session) virtualFolders() []string {
	file := ss.sharedIndexFile()
	if file == "" {
		return nil
	}
	var out []string
	r := sharedindex.NewReader()
	r.Walk(file, func(levels []string, e sharedindex.Entry) {
		if e.IsGroup() {
			return
		}
		md := e.MaildirPath()
		if !ss.reachable(md) {
			return
		}
		prefix := virtualSharedRoot + "." + strings.Join(levels, ".")
		ents, err := os.ReadDir(md)
		if err != nil {
			return
		}
		dirs := []string{""}
		for _, d := range ents {
			if n := d.Name(); d.IsDir() && len(n) > 1 && n[0] == '.' && n != ".." && foldername.ValidDir(n) == nil {
				dirs = append(dirs, n)
			}
		}
		for _, dir := range dirs {
			if !strings.Contains(ss.userRights(md, dir), "l") {
				continue
			}
			n, err := foldername.FromDir(dir)
			if err != nil {
				continue
			}
			out = append(out, prefix+strings.TrimPrefix(n, foldername.Inbox))
		}
	})
	return out
}

// sharedListing returns the shared names a LIST or LSUB with these patterns (relative to
// ref) may show, as Courier finds them: for a pattern in "#shared.", the virtual shared
// folders (LSUB: the subscribed ones), and otherwise the filesystem shared folders (LSUB:
// those the account has a copy of).
func (ss *session) sharedListing(lsub bool, ref string, patterns []string, subs []string) []string {
	virtual := false
	for _, p := range patterns {
		full := ref
		if full != "" && !strings.HasSuffix(full, ".") && p != "" {
			full += "."
		}
		if strings.HasPrefix(full+p, virtualSharedRoot+".") {
			virtual = true
		}
	}
	if virtual {
		if !lsub {
			return ss.virtualFolders()
		}
		var out []string
		for _, s := range subs {
			if !isVirtualShared(s) {
				continue
			}
			if v, err := ss.resolveVirtual(s); err == nil && strings.Contains(v.rights, "l") {
				out = append(out, s)
			}
		}
		return out
	}
	f, ok := ss.fsStore()
	if !ok {
		return nil
	}
	var names []string
	var err error
	if lsub {
		names, err = f.SharedSubscriptions()
	} else {
		names, err = f.SharedFolders()
	}
	if err != nil {
		ss.log.Warn("list shared folders", "err", err)
		return nil
	}
	return names
}

// sharedCreate answers CREATE of a shared name (done is false for other names): nothing is
// created in "shared." (Courier asks for a right no one has there); in "#shared." the
// folder is made in the owner's maildir when the user has "c" on its parent, and inherits
// the parent's ACL.
func (ss *session) sharedCreate(name string) (*status, bool) {
	if !isSharedName(name) {
		return nil, false
	}
	denied := func(n string) *status {
		return no("", (&accessError{verb: "CREATE", name: ss.wireName(n), right: "c"}).Error())
	}
	if isFSShared(name) {
		return denied(name), true
	}
	parent := parentName(name)
	pv, err := ss.resolveVirtual(parent)
	if err != nil || pv.node {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeErr(err, "CREATE"), true
		}
		return denied(parent), true
	}
	if !strings.Contains(pv.rights, "c") {
		return denied(parent), true
	}
	folder := pv.folder + name[len(parent):]
	dir, err := foldername.ToDir(folder)
	if err != nil {
		return no("", "Invalid mailbox name."), true
	}
	st, err := pv.openStore()
	if err != nil {
		return storeErr(err, "CREATE"), true
	}
	defer st.Close()
	if err := st.Create(folder); err != nil {
		if errors.Is(err, store.ErrExists) {
			return no("ALREADYEXISTS", "Cannot create this folder."), true
		}
		return storeErr(err, "CREATE"), true
	}
	if err := acl.Open(pv.maildir).Inherit(dir); err != nil {
		ss.log.Warn("create shared folder: inherit ACL", "mailbox", name, "err", err)
	}
	return ok("", `"`+ss.wireName(name)+`" created.`), true
}

// sharedDelete answers DELETE of a shared name: in "shared." it drops the account's copy
// (Courier: "UNSUBSCRIBEd a shared folder"); in "#shared." it deletes the owner's folder
// when the user has "x" on it.
func (ss *session) sharedDelete(name string) (*status, bool) {
	if !isSharedName(name) {
		return nil, false
	}
	if isFSShared(name) {
		f, has := ss.fsStore()
		if !has || !fsFolder(name) {
			return no("", "Mailbox does not exist, or must be subscribed to."), true
		}
		if err := f.UnsubscribeShared(name); err != nil {
			return storeErr(err, "DELETE"), true
		}
		return ok("", "UNSUBSCRIBEd a shared folder."), true
	}
	v, err := ss.resolveVirtual(name)
	if err != nil {
		return storeErr(err, "DELETE"), true
	}
	if v.node || v.folder == foldername.Inbox || !strings.Contains(v.rights, "x") {
		return no("", (&accessError{verb: "DELETE", name: ss.wireName(name), right: "x"}).Error()), true
	}
	st, err := v.openStore()
	if err != nil {
		return storeErr(err, "DELETE"), true
	}
	defer st.Close()
	if err := st.Delete(v.folder); err != nil {
		return storeErr(err, "DELETE"), true
	}
	return ok("", "Folder deleted."), true
}

// sharedRename refuses RENAME from or to a shared name, as Courier does.
func (ss *session) sharedRename(from, to string) (*status, bool) {
	if !isSharedName(from) && !isSharedName(to) {
		return nil, false
	}
	return no("", "Invalid mailbox"), true
}

// sharedSubscribe answers SUBSCRIBE of a shared name.
func (ss *session) sharedSubscribe(name string) (*status, bool) {
	if !isSharedName(name) {
		return nil, false
	}
	if isFSShared(name) {
		f, has := ss.fsStore()
		if !has {
			return no("", "Cannot subscribe to this folder."), true
		}
		if !fsFolder(name) {
			return ok("", "Already subscribed."), true
		}
		err := f.SubscribeShared(name)
		switch {
		case err == nil:
			return ok("", "SUBSCRIBE completed."), true
		case errors.Is(err, store.ErrExists):
			return ok("", "Already subscribed."), true
		}
		return no("", "Cannot subscribe to this folder."), true
	}
	rs, has := ss.st.(rawSubscriber)
	if !has {
		return no("", "Cannot subscribe to this folder."), true
	}
	if err := rs.SubscribeVirtual(name); err != nil {
		return storeErr(err, "SUBSCRIBE"), true
	}
	return ok("", "Folder subscribed."), true
}

// sharedUnsubscribe answers UNSUBSCRIBE of a shared name.
func (ss *session) sharedUnsubscribe(name string) (*status, bool) {
	if !isSharedName(name) {
		return nil, false
	}
	if isFSShared(name) {
		f, has := ss.fsStore()
		if !has || !fsFolder(name) {
			return no("", "Cannot unsubscribe this folder."), true
		}
		if err := f.UnsubscribeShared(name); err != nil {
			return storeErr(err, "UNSUBSCRIBE"), true
		}
		return ok("", "UNSUBSCRIBE completed."), true
	}
	rs, has := ss.st.(rawSubscriber)
	if !has {
		return no("", "Cannot unsubscribe this folder."), true
	}
	if err := rs.UnsubscribeVirtual(name); err != nil {
		return storeErr(err, "UNSUBSCRIBE"), true
	}
	return ok("", "Folder unsubscribed."), true
}

// sharedACL returns, for a shared name, the ACL store and directory its ACL commands work
// on (nil store for "shared.", whose ACL is fixed) and the user's rights; done is false for
// other names.
func (ss *session) sharedACL(name string) (st *acl.Store, dir, rights string, done bool, err error) {
	if !isSharedName(name) {
		return nil, "", "", false, nil
	}
	if isFSShared(name) {
		r, _, err := ss.sharedRightsOn(name)
		return nil, "", r, true, err
	}
	v, err := ss.resolveVirtual(name)
	if err != nil {
		return nil, "", "", true, err
	}
	if v.node {
		return nil, "", v.rights, true, nil
	}
	return acl.Open(v.maildir), v.dir, v.rights, true, nil
}

// aclMailbox is a view of another account's folder, limited to the user's rights there.
// Flags the user may not change are left as they are (Courier answers the STORE with the
// flags unchanged); an expunge without "e" is refused.
type aclMailbox struct {
	store.Mailbox
	owner  store.Store // the owner's maildir, closed with the view
	rights string
	name   string // wire name, for messages
}

// ReadOnly reports whether the user may change nothing at all (Courier opens such a folder
// read-only).
func (m *aclMailbox) ReadOnly() bool { return !strings.ContainsAny(m.rights, "eistw") }

// allowed returns the system flags and whether keywords may be changed.
func (m *aclMailbox) allowed() (store.Flags, bool) {
	var f store.Flags
	if strings.Contains(m.rights, "s") {
		f |= store.Seen
	}
	if strings.Contains(m.rights, "t") {
		f |= store.Deleted
	}
	w := strings.Contains(m.rights, "w")
	if w {
		f |= store.Answered | store.Flagged | store.Draft
	}
	return f, w
}

// SetFlags changes only what the rights allow.
func (m *aclMailbox) SetFlags(uids []store.UID, op store.FlagOp, flags store.Flags, kws []string) ([]store.Message, error) {
	allow, kwOK := m.allowed()
	if allow == store.Seen|store.Deleted|store.Answered|store.Flagged|store.Draft && kwOK {
		return m.Mailbox.SetFlags(uids, op, flags, kws)
	}
	if op != store.Replace {
		if !kwOK {
			kws = nil
		}
		flags &= allow
		if flags == 0 && len(kws) == 0 {
			return m.current(uids), nil
		}
		return m.Mailbox.SetFlags(uids, op, flags, kws)
	}
	// Replace: each message keeps what the user may not change.
	var out []store.Message
	for _, u := range uids {
		cur, ok := m.Message(u)
		if !ok {
			continue
		}
		f := flags&allow | cur.Flags&^allow
		k := kws
		if !kwOK {
			k = cur.Keywords
		}
		r, err := m.Mailbox.SetFlags([]store.UID{u}, store.Replace, f, k)
		if err != nil {
			return out, err
		}
		out = append(out, r...)
	}
	return out, nil
}

// current returns the messages' state unchanged.
func (m *aclMailbox) current(uids []store.UID) []store.Message {
	var out []store.Message
	for _, u := range uids {
		if msg, ok := m.Message(u); ok {
			out = append(out, msg)
		}
	}
	return out
}

// Expunge needs "e".
func (m *aclMailbox) Expunge(uids []store.UID) ([]store.UID, error) {
	if !strings.Contains(m.rights, "e") {
		return nil, &accessError{verb: "EXPUNGE", name: m.name, right: "e"}
	}
	return m.Mailbox.Expunge(uids)
}

// Append needs "i".
func (m *aclMailbox) Append(r io.Reader, opt store.AppendOptions) (store.UID, error) {
	if !strings.Contains(m.rights, "i") {
		return 0, &accessError{verb: "APPEND", name: m.name, right: "i"}
	}
	return m.Mailbox.Append(r, opt)
}

// Copy copies within the owner's maildir directly; elsewhere the caller copies across.
func (m *aclMailbox) Copy(uids []store.UID, dst store.Mailbox) ([]store.UID, error) {
	return m.Mailbox.Copy(uids, unwrapACL(dst))
}

// Move needs "e" (the messages leave this folder).
func (m *aclMailbox) Move(uids []store.UID, dst store.Mailbox) ([]store.UID, error) {
	if !strings.Contains(m.rights, "e") {
		return nil, &accessError{verb: "MOVE", name: m.name, right: "e"}
	}
	return m.Mailbox.Move(uids, unwrapACL(dst))
}

// Close closes the view and the owner's maildir.
func (m *aclMailbox) Close() error {
	err := m.Mailbox.Close()
	if cerr := m.owner.Close(); err == nil {
		err = cerr
	}
	return err
}

func unwrapACL(mb store.Mailbox) store.Mailbox {
	if a, ok := mb.(*aclMailbox); ok {
		return a.Mailbox
	}
	return mb
}

// copyAcross copies (or moves) messages between views of different stores (a shared
// folder and one of the account's own), message by message, keeping flags, keywords and
// internal dates. It returns the new UIDs in the order of uids.
func copyAcross(src, dst store.Mailbox, uids []store.UID, move bool) ([]store.UID, error) {
	out := make([]store.UID, 0, len(uids))
	for _, u := range uids {
		msg, ok := src.Message(u)
		if !ok {
			return out, fmt.Errorf("copy: %w", store.ErrNoMessage)
		}
		date, err := src.InternalDate(u)
		if err != nil {
			return out, fmt.Errorf("copy: %w", err)
		}
		c, err := src.OpenMessage(u)
		if err != nil {
			return out, fmt.Errorf("copy: %w", err)
		}
		nu, err := dst.Append(io.NewSectionReader(c, 0, c.Size()), store.AppendOptions{Flags: msg.Flags, Keywords: msg.Keywords, Date: date})
		c.Close()
		if err != nil {
			return out, err
		}
		out = append(out, nu)
	}
	if move {
		if _, err := src.Expunge(uids); err != nil {
			return out, err
		}
	}
	return out, nil
}

// selectRights renders rights for SELECT's MYRIGHTS response as Courier's writeacl does:
// "d" stands for "e", "t" and "x" only when all three are there; otherwise the letters stay
// as they are.
func selectRights(stored string) string {
	if !strings.Contains(stored, "e") || !strings.Contains(stored, "t") || !strings.Contains(stored, "x") {
		return stored
	}
	return displayRights(stored)
}

// aclIdentifier is how GETACL shows an ACL identifier (Courier's getacl_cb): "user=" is
// dropped, other "name=value" identifiers are not shown (ok false).
func aclIdentifier(id string) (string, bool) {
	neg := strings.HasPrefix(id, "-")
	bare := strings.TrimPrefix(id, "-")
	if strings.Contains(bare, "=") {
		u, ok := strings.CutPrefix(bare, "user=")
		if !ok {
			return "", false
		}
		bare = u
	}
	if neg {
		return "-" + bare, true
	}
	return bare, true
}
