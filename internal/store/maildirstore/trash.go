package maildirstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"courier/internal/store"
	"courier/internal/store/keywords"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

// MoveToTrash takes messages out of this view into the folder trash the way Courier's
// IMAP_MOVE_EXPUNGE_TO_TRASH does: each file is renamed (not copied) into trash's new/ under
// its own base name, without the T (\Deleted) flag and with its other flags, and gets no UID
// there yet, so the next view of trash numbers the messages in name order and reports them
// \Recent, as Courier's next SELECT of Trash does. A message leaves the quota as it leaves
// for Trash. It returns the UIDs it removed from this view, in order, also when it stops
// at an error (the others are left where they were).
func (m *mailbox) MoveToTrash(uids []store.UID, trash string) ([]store.UID, error) {
	if m.closed {
		return nil, store.ErrClosed
	}
	dst, err := m.s.md.Folder(trash)
	if err != nil {
		return nil, classify("move to", trash, err)
	}
	if dst.Path() == m.f.Path() {
		return nil, fmt.Errorf("maildirstore: move %s to itself: %w", m.name, store.ErrNotAllowed)
	}
	var pos []int
	for _, u := range uids {
		if i, ok := m.ix.Search(uint32(u)); ok {
			pos = append(pos, i)
		}
	}
	var gone []store.UID
	var moved []int
	err = m.ownRemoving(func() error {
		skw, dkw := m.kwStore(), keywords.Open(dst.Path(), keywords.Options{})
		for _, i := range pos {
			msg, err := m.locate(i)
			if errors.Is(err, store.ErrNoMessage) {
				continue // expunged by someone else: nothing to keep
			}
			if err != nil {
				return fmt.Errorf("maildirstore: move UID %d to %s: %w", m.ix.UID(i), trash, err)
			}
			kws := m.ix.Keywords(i)
			if len(kws) > 0 {
				if err := dkw.Set(msg.Base(), kws); err != nil {
					return classify("move to", trash, err)
				}
			}
			if err := trashFile(m.f, msg, dst); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return classify("move to", trash, err)
			}
			if len(kws) > 0 {
				_ = skw.Set(msg.Base(), nil)
			}
			moved = append(moved, i)
			gone = append(gone, store.UID(m.ix.UID(i)))
		}
		return nil
	}, &moved)
	if len(moved) > 0 {
		for _, d := range []string{filepath.Join(m.f.Path(), maildir.Cur), filepath.Join(dst.Path(), maildir.New)} {
			if serr := syncDir(d); serr != nil && err == nil {
				err = serr
			}
		}
	}
	return gone, err
}

// trashFile renames one message file of f into trash's new/, dropping its T flag, and takes
// it out of the quota when it counted there.
func trashFile(f *maildir.Folder, msg maildir.Message, trash *maildir.Folder) error {
	base, flags, _ := maildir.ParseName(msg.Name)
	flags = strings.ReplaceAll(flags, string(maildir.FlagTrashed), "")
	to := filepath.Join(trash.Path(), maildir.New, base+maildir.InfoSep+maildir.NormalizeFlags(flags))
	var d quota.Usage
	if !f.IsTrash() && !msg.Has(maildir.FlagTrashed) {
		// Maildir++: a message counts unless it is in Trash or flagged T.
		n := msg.Size()
		if n < 0 {
			st, err := os.Stat(filepath.Join(f.Path(), msg.Sub, msg.Name))
			if err != nil {
				return fmt.Errorf("move %s: %w", msg.Name, err)
			}
			n = st.Size()
		}
		d = quota.Usage{Bytes: -n, Count: -1}
	}
	err := quota.Change(f.Path(), d, func() error {
		if _, err := os.Lstat(to); err == nil {
			return fmt.Errorf("move %s: %w", msg.Name, fs.ErrExist)
		}
		if err := os.Rename(filepath.Join(f.Path(), msg.Sub, msg.Name), to); err != nil {
			return fmt.Errorf("move %s: %w", msg.Name, err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, quota.ErrRecord) {
		return err
	}
	return nil
}

// syncDir fsyncs a directory so the renames in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("maildirstore: fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("maildirstore: fsync %s: %w", dir, err)
	}
	return nil
}
