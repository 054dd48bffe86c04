// Package maildirstore implements store.Store over a Maildir++ as Courier leaves it
// (package maildir), with the per-folder cache of package index and Maildir++ quotas
// (package quota).
//
// Invariants:
//   - Containment: every folder name goes through package foldername (via maildir), which
//     refuses anything that could resolve outside the maildir; no path is built from an
//     unchecked name.
//   - Durability: deliveries write in tmp/, fsync, link into cur/ and fsync cur/ before the
//     call returns; flag renames and expunges fsync cur/ before returning; courierimapuiddb is
//     replaced atomically. The index is a cache, saved when a folder's last view closes
//     (and in the background at most every second while it has views) without fsync,
//     since losing it, or finding it torn, loses nothing.
//   - UIDs: assigned only under the folder's UID lock (maildir.Folder.AssignUIDs / Sync) and
//     written to courierimapuiddb, so Courier's imapd sees the same UIDs.
//   - Change tracking: the open views' folders (new/, cur/, courierimapkeywords/) are watched
//     with one inotify instance (fsnotify) per process, shared by every Store (watch.go:
//     sessions each open their own Store, and inotify instances are a scarce per-user
//     resource); an event signals the views of that folder, whichever Store they belong to,
//     within milliseconds, through Updates and the view's OnUpdate function. Each folder
//     with views has one index per process, shared by them (folderstate.go): a view is a
//     copy of it as of its last Sync (copy on write), and Sync brings the shared index in
//     step and reports the difference to the view's copy. The shared index is listed again
//     when the folder's stamps (directory mtimes, courierimapuiddb mtime and size) differ
//     from those it recorded; the process's own changes (flags, keywords, expunges,
//     deliveries with their UIDs) are applied to it in memory instead, and the stamps
//     adopted when the last change in flight ends, unless new/ changed (a delivery that
//     assigns no UID, such as Courier's deliverquota) or courierimapuiddb's next UID is not
//     the index's (another program handed out UIDs). A rename or removal by another program
//     in cur/ while own changes are in flight is found at the latest trustFor (2 s) after
//     the folder was last listed.
//   - Locking: a Mailbox is used by one goroutine; the watcher goroutine only touches the
//     views' update channels and calls their OnUpdate functions, holding no lock. A Store's
//     methods may be called concurrently. Lock order: Store.mu before Watcher.mu.
//   - Sharing: views share what is read-only (the index contents index.Load keeps, the
//     Watcher) and the folder's shared index, which changes only under its lock while the
//     views read their copies; each view's own state (its copy once changed, recent,
//     updates) is its own. folderState.mu is never held with Store.mu or Watcher.mu; it is
//     held while the folder is listed (which takes the folder's UID lock).
package maildirstore

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"courier/internal/store"
	"courier/internal/store/foldername"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

// Options tune a Store. The zero value is fine.
type Options struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Host overrides the host name used in new file names.
	Host string
	// NoWatch disables inotify: views notice others' changes only when Sync is called.
	NoWatch bool
	// Watcher tracks changes for the views; nil means the one every Store of the process
	// shares (see Watcher).
	Watcher *Watcher
	// CourierLocks takes Courier-IMAP's tmp/courier.lock around UID assignment as well
	// (IMAP_USELOCKS; see maildir.Options).
	CourierLocks bool
}

// Store is one account's Maildir++.
type Store struct {
	md  *maildir.Maildir
	opt Options
	seq atomic.Uint64 // unique temporary names for index saves

	mu     sync.Mutex
	views  map[*mailbox]struct{} // open views with a watch, unsubscribed by Close
	closed bool
}

var _ store.Store = (*Store)(nil)

// Open opens the Maildir++ at path (which must exist: maildir.Create makes one).
func Open(path string, opt *Options) (*Store, error) {
	s := &Store{}
	if opt != nil {
		s.opt = *opt
	}
	if s.opt.Now == nil {
		s.opt.Now = time.Now
	}
	if s.opt.Watcher == nil && !s.opt.NoWatch {
		s.opt.Watcher = processWatcher()
	}
	md, err := maildir.Open(path, &maildir.Options{Now: s.opt.Now, Host: s.opt.Host, CourierLocks: s.opt.CourierLocks})
	if err != nil {
		return nil, fmt.Errorf("maildirstore: open: %w: %w", store.ErrNotFound, err)
	}
	s.md = md
	return s, nil
}

// Path returns the maildir's top directory.
func (s *Store) Path() string { return s.md.Path() }

// classify wraps err with the store error a caller can test for.
func classify(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, foldername.ErrInvalidName), errors.Is(err, foldername.ErrNotPersonal):
		kind = store.ErrInvalidName
	case errors.Is(err, maildir.ErrInbox):
		kind = store.ErrNotAllowed
	case errors.Is(err, quota.ErrOverQuota):
		kind = store.ErrOverQuota
	case errors.Is(err, fs.ErrExist):
		kind = store.ErrExists
	case errors.Is(err, fs.ErrNotExist):
		kind = store.ErrNotFound
	default:
		return fmt.Errorf("maildirstore: %s %q: %w", op, trunc(name), err)
	}
	return fmt.Errorf("maildirstore: %s %q: %w: %w", op, trunc(name), kind, err)
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// checkName refuses names foldername refuses (also for subscriptions, which need no folder).
func checkName(name string) error {
	if _, err := foldername.ToDir(name); err != nil {
		return err
	}
	return nil
}

// List returns INBOX and every folder.
func (s *Store) List() ([]store.FolderInfo, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	fs, err := s.md.ListFolders()
	if err != nil {
		return nil, classify("list", "", err)
	}
	out := make([]store.FolderInfo, 0, len(fs))
	for _, f := range fs {
		if f.Dir == "" {
			out = append([]store.FolderInfo{{Name: f.Name}}, out...)
			continue
		}
		out = append(out, store.FolderInfo{Name: f.Name})
	}
	return out, nil
}

// Create makes a folder.
func (s *Store) Create(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.md.CreateFolder(name, maildir.Private)
	return classify("create", name, err)
}

// Rename renames a folder and the folders below it. Views open on them keep their old
// paths and fail from then on.
func (s *Store) Rename(from, to string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := checkName(to); err != nil {
		return classify("rename", to, err)
	}
	return classify("rename", from, s.md.RenameFolder(from, to))
}

// Delete removes a folder and its messages; the usage it held is taken out of maildirsize
// by a recalculation, as Courier does.
func (s *Store) Delete(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.md.DeleteFolder(name); err != nil {
		return classify("delete", name, err)
	}
	st, err := quota.Check(s.md.Path(), quota.Usage{}, nil)
	if err == nil && !st.Spec.IsZero() {
		if _, err := quota.Recalculate(st.Root, st.Spec, &quota.Options{Now: s.opt.Now}); err != nil {
			return classify("delete", name, err)
		}
	}
	return nil
}

// Subscriptions returns the subscribed folder names.
func (s *Store) Subscriptions() ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	subs, err := s.md.Subscriptions()
	return subs, classify("subscriptions", "", err)
}

// Subscribe adds a name to the subscriptions (the folder need not exist).
func (s *Store) Subscribe(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return classify("subscribe", name, err)
	}
	return classify("subscribe", name, s.md.Subscribe(name))
}

// Unsubscribe removes a name from the subscriptions.
func (s *Store) Unsubscribe(name string) error {
	if err := s.check(); err != nil {
		return err
	}
	return classify("unsubscribe", name, s.md.Unsubscribe(name))
}

// Quota returns the quota of maildirsize and the usage it records (recalculated when
// Courier's rules ask for it).
func (s *Store) Quota() (store.Quota, error) {
	if err := s.check(); err != nil {
		return store.Quota{}, err
	}
	st, err := quota.Check(s.md.Path(), quota.Usage{}, &quota.Options{Now: s.opt.Now})
	if err != nil {
		return store.Quota{}, classify("quota", "", err)
	}
	return store.Quota{LimitBytes: st.Spec.Bytes, LimitMessages: st.Spec.Count, Bytes: st.Usage.Bytes, Messages: st.Usage.Count}, nil
}

// Close releases the Store. Views still open stop receiving notifications (their Sync goes
// on working).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	views := s.views
	s.views = nil
	s.mu.Unlock()
	for m := range views {
		m.unwatch()
	}
	return nil
}

// watch subscribes m to change notifications, unless watching is off or the Store closed.
func (s *Store) watch(m *mailbox) {
	if s.opt.NoWatch {
		return
	}
	key := watchKey(m.f.Path())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.opt.Watcher.add(m, key) {
		return
	}
	if s.views == nil {
		s.views = map[*mailbox]struct{}{}
	}
	s.views[m] = struct{}{}
	m.wmu.Lock()
	m.wkey = key
	m.wmu.Unlock()
}

// unwatch ends m's subscription (idempotent).
func (s *Store) unwatch(m *mailbox) {
	s.mu.Lock()
	delete(s.views, m)
	s.mu.Unlock()
	m.unwatch()
}

// SetQuota installs a quota in maildirsize and recounts the usage (maildirmake -q); zero
// limits remove nothing (Courier's rule: an empty quota leaves the file alone).
func (s *Store) SetQuota(limitBytes, limitMessages int64) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := quota.Set(s.md.Path(), quota.Spec{Bytes: limitBytes, Count: limitMessages}, &quota.Options{Now: s.opt.Now})
	return classify("set quota", "", err)
}
