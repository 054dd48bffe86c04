package maildirstore

// Shared folders, both of Courier's kinds, as this backend offers them to the protocol
// servers (which reach these methods through small interfaces of their own):
//
//   - Filesystem-permission shared folders (README.sharedfolders.html): the folders of the
//     sharable maildirs the account's shared-maildirs file names, under IMAP names
//     "shared.<nick>.<folder>". Each one the account uses has a copy in
//     shared-folders/<nick>/<folder>/ that holds symbolic links to the shared messages with
//     the account's own flags (and its own courierimapuiddb and keywords); the copy is a
//     small maildir of its own, opened here as a Store whose INBOX it is, and brought in
//     step with the sharable folder (maildir.SyncShared) when opened and at every Sync.
//   - Virtual shared folders (another account's folders under "#shared."): OpenOther opens
//     another account's maildir with this Store's options; the protocol server decides
//     (index file, ACLs, identity) whether it may.
//
// Containment: a shared name is split into a nick (checked by maildir.ValidNick and looked
// up in the account's own list) and a folder name checked by package foldername, so no
// path built here leaves the account's maildir or the sharable maildir its list names.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"courier/internal/store"
	"courier/internal/store/foldername"
	"courier/internal/store/maildir"
)

// SharedPrefix is the IMAP name prefix of filesystem shared folders.
const SharedPrefix = "shared."

// splitShared splits "shared.nick.Folder" into the nick and the folder's directory name in
// the sharable maildir (".Folder", UTF-8 as Courier-IMAP 5 stores it).
func splitShared(name string) (nick, dir string, err error) {
	rest, ok := strings.CutPrefix(name, SharedPrefix)
	if !ok {
		return "", "", fmt.Errorf("maildirstore: %q: %w", trunc(name), store.ErrInvalidName)
	}
	nick, folder, ok := strings.Cut(rest, ".")
	if !ok || nick == "" || folder == "" || !maildir.ValidNick(nick) || strings.ContainsAny(nick, " \t") {
		return "", "", fmt.Errorf("maildirstore: %q: %w", trunc(name), store.ErrInvalidName)
	}
	dir, err = foldername.ToDir(foldername.Inbox + "." + folder)
	if err != nil {
		return "", "", fmt.Errorf("maildirstore: %q: %w: %w", trunc(name), store.ErrInvalidName, err)
	}
	return nick, dir, nil
}

// sharedName is the IMAP name of folder directory dir of sharable maildir nick.
func sharedName(nick, dir string) (string, error) {
	n, err := foldername.FromDir(dir)
	if err != nil {
		return "", err
	}
	return SharedPrefix + nick + strings.TrimPrefix(n, foldername.Inbox), nil
}

// SharedFolders returns the IMAP names of the filesystem shared folders the account can see
// (what LIST shows under "shared."), sorted.
func (s *Store) SharedFolders() ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	l, err := maildir.ListSharable(s.md.Path(), "")
	if err != nil {
		return nil, classify("list shared", "", err)
	}
	return sharedNames(l), nil
}

// SharedSubscriptions returns the IMAP names of the filesystem shared folders the account
// has a copy of: Courier's subscriptions to shared folders (what LSUB shows).
func (s *Store) SharedSubscriptions() ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	l, err := maildir.ListSharedCopies(s.md.Path(), "")
	if err != nil {
		return nil, classify("list shared", "", err)
	}
	return sharedNames(l), nil
}

func sharedNames(l []maildir.SharableFolder) []string {
	out := make([]string, 0, len(l))
	for _, f := range l {
		if n, err := sharedName(f.Nick, f.Dir); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// SubscribeShared makes the account's copy of a shared folder. The error wraps
// store.ErrExists when it has one already and store.ErrNotFound when the nick is unknown.
func (s *Store) SubscribeShared(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	nick, dir, err := splitShared(name)
	if err != nil {
		return err
	}
	_, err = maildir.SubscribeShared(s.md.Path(), "", nick, dir)
	return classify("subscribe", name, err)
}

// UnsubscribeShared removes the account's copy of a shared folder (its own flags; the
// shared messages stay). The error wraps store.ErrNotFound when there is no copy.
func (s *Store) UnsubscribeShared(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	nick, dir, err := splitShared(name)
	if err != nil {
		return err
	}
	return classify("unsubscribe", name, maildir.UnsubscribeShared(s.md.Path(), nick, dir))
}

// sharedCopy returns the directory of the account's copy of a shared folder, making it
// first when it is missing (Courier-IMAP subscribes a shared folder that is opened).
func (s *Store) sharedCopy(name string) (string, error) {
	nick, dir, err := splitShared(name)
	if err != nil {
		return "", err
	}
	p, err := maildir.SharedCache(s.md.Path(), nick, dir)
	if err != nil {
		return "", fmt.Errorf("maildirstore: %q: %w: %w", trunc(name), store.ErrInvalidName, err)
	}
	if _, err := os.Lstat(p); err == nil {
		return p, nil
	}
	if _, err := maildir.SubscribeShared(s.md.Path(), "", nick, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", classify("open", name, err)
	}
	return p, nil
}

// SharedRights returns the rights (RFC 4314 letters as Courier stores them) everyone has on
// a filesystem shared folder, as Courier-IMAP computes them for its "shared." namespace:
// "eilrstwx" when the account's copy can take changes, else "lrsw"; "l" for the "shared"
// and "shared.<nick>" nodes.
func (s *Store) SharedRights(name string) string {
	if name == "shared" || !strings.Contains(strings.TrimPrefix(name, SharedPrefix), ".") {
		return "l"
	}
	nick, dir, err := splitShared(name)
	if err != nil {
		return "l"
	}
	p, err := maildir.SharedCache(s.md.Path(), nick, dir)
	if err == nil && maildir.SharedWritableCopy(p) {
		return "eilrstwx"
	}
	return "lrsw"
}

// openCopy opens the account's copy of a shared folder as a Store of its own.
func (s *Store) openCopy(name string) (*Store, string, error) {
	p, err := s.sharedCopy(name)
	if err != nil {
		return nil, "", err
	}
	if err := maildir.SyncShared(p, s.opt.Now()); err != nil {
		return nil, "", classify("open", name, err)
	}
	sub, err := Open(p, &Options{Now: s.opt.Now, Host: s.opt.Host, NoWatch: s.opt.NoWatch})
	if err != nil {
		return nil, "", err
	}
	return sub, p, nil
}

// OpenShared opens a view of a filesystem shared folder ("shared.nick.Folder"), making the
// account's copy of it when there is none and bringing the copy in step first. The view is
// read-only (ReadOnly) when the sharable folder is not writable for this process.
func (s *Store) OpenShared(name string) (store.Mailbox, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	sub, p, err := s.openCopy(name)
	if err != nil {
		return nil, err
	}
	mb, err := sub.Open(foldername.Inbox)
	if err != nil {
		sub.Close()
		return nil, err
	}
	inner := mb.(*mailbox)
	inner.name = name
	return &sharedMailbox{mailbox: inner, sub: sub, dir: p}, nil
}

// PeekShared is PeekStatus for a filesystem shared folder (after bringing the account's
// copy in step, as Courier's STATUS does).
func (s *Store) PeekShared(name string, measure func(store.Content) (int64, error)) (store.Status, int64, error) {
	if err := s.check(); err != nil {
		return store.Status{}, 0, err
	}
	sub, _, err := s.openCopy(name)
	if err != nil {
		return store.Status{}, 0, err
	}
	defer sub.Close()
	return sub.PeekStatus(foldername.Inbox, measure)
}

// OpenOther opens another maildir (another account's, for virtual shared folders) with this
// Store's options. The caller decides whether the account may see it.
func (s *Store) OpenOther(path string) (store.Store, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return Open(path, &s.opt)
}

// sharedMailbox is a view of the account's copy of a shared folder.
type sharedMailbox struct {
	*mailbox
	sub *Store
	dir string // the copy's directory
}

// ReadOnly reports whether the sharable folder refuses changes (maildir_sharedisro); the
// IMAP server then opens it read-only, as Courier-IMAP does.
func (m *sharedMailbox) ReadOnly() bool { return maildir.SharedReadOnly(m.dir) }

// Sync brings the copy in step with the sharable folder, then the view with the copy.
func (m *sharedMailbox) Sync() (store.Changes, error) {
	if m.closed {
		return store.Changes{}, store.ErrClosed
	}
	if err := maildir.SyncShared(m.dir, m.s.opt.Now()); err != nil {
		return store.Changes{}, classify("sync", m.name, err)
	}
	return m.mailbox.Sync()
}

// Expunge removes the shared messages the links point to, then the links
// (maildir.UnlinkShared); a message this process may not remove stays, and loses \Deleted.
func (m *sharedMailbox) Expunge(uids []store.UID) ([]store.UID, error) {
	if m.closed {
		return nil, store.ErrClosed
	}
	var pos []int
	if uids == nil {
		for i := 0; i < m.ix.Len(); i++ {
			if strings.ContainsRune(m.ix.Info(i), maildir.FlagTrashed) {
				pos = append(pos, i)
			}
		}
	} else {
		for _, u := range uids {
			if i, ok := m.ix.Search(uint32(u)); ok {
				pos = append(pos, i)
			}
		}
	}
	gone := []store.UID{}
	for _, i := range pos {
		msg, err := m.locate(i)
		if err != nil {
			gone = append(gone, store.UID(m.ix.UID(i)))
			continue
		}
		removed, err := maildir.UnlinkShared(filepath.Join(m.f.Path(), msg.Sub, msg.Name))
		if err != nil {
			return nil, classify("expunge in", m.name, err)
		}
		if removed {
			gone = append(gone, store.UID(m.ix.UID(i)))
		}
	}
	return m.mailbox.Expunge(gone)
}

// Append stores the message in the sharable folder (the account's flags go to its link)
// and links it into the copy.
func (m *sharedMailbox) Append(r io.Reader, opt store.AppendOptions) (store.UID, error) {
	if m.closed {
		return 0, store.ErrClosed
	}
	if m.ReadOnly() {
		return 0, classify("append to", m.name, fs.ErrPermission)
	}
	target, err := maildir.SharedTarget(m.dir)
	if err != nil {
		return 0, classify("append to", m.name, err)
	}
	d, err := maildir.DeliverTo(target, r, &maildir.DeliverOptions{Cur: true, Flags: letters(opt.Flags, ""), NoQuota: true, Date: opt.Date, Now: m.s.opt.Now, Host: m.s.opt.Host})
	if err != nil {
		return 0, classify("append to", m.name, err)
	}
	base, _, _ := maildir.ParseName(d.Name)
	link := filepath.Join(m.f.Path(), maildir.Cur, base+maildir.InfoSep+letters(opt.Flags, ""))
	if err := os.Symlink(d.Path(), link); err != nil {
		_ = os.Remove(d.Path())
		return 0, classify("append to", m.name, err)
	}
	if kws := normKeywords(opt.Keywords); len(kws) > 0 {
		_ = m.kwStore().Set(base, kws)
	}
	_, uids, err := m.s.assignUIDs(m.f, []string{base}, nil)
	if err != nil {
		return 0, classify("append to", m.name, err)
	}
	return store.UID(uids[0]), nil
}

// Close releases the view and the copy's Store.
func (m *sharedMailbox) Close() error {
	err := m.mailbox.Close()
	if cerr := m.sub.Close(); err == nil {
		err = cerr
	}
	return err
}

// SubscribeVirtual adds a "#shared." name to the account's subscriptions (Courier keeps
// them in courierimapsubscribed with the others); the name is not checked against any
// folder.
func (s *Store) SubscribeVirtual(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	if !strings.HasPrefix(name, "#shared.") || strings.ContainsAny(name, "\r\n\x00") {
		return fmt.Errorf("maildirstore: subscribe %q: %w", trunc(name), store.ErrInvalidName)
	}
	return classify("subscribe", name, s.md.Subscribe(name))
}

// UnsubscribeVirtual removes a "#shared." name from the account's subscriptions.
func (s *Store) UnsubscribeVirtual(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	return classify("unsubscribe", name, s.md.Unsubscribe(name))
}
