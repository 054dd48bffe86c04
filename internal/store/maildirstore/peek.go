package maildirstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"courier/internal/store"
	"courier/internal/store/index"
	"courier/internal/store/maildir"
)

// courierEpoch is what Courier-IMAP subtracts from the current time to make a UIDVALIDITY
// (IMAP_EPOCH); a folder never opened has no courierimapuiddb yet.
const courierEpoch = 1000000000

// PeekStatus returns a folder's counters the way Courier's STATUS computes them, without
// opening a view: messages stay in new/ and courierimapuiddb is not written, so the
// messages a later SELECT will report \Recent stay so (opening a view would claim them;
// RFC 3501 §6.3.10 asks that STATUS not change the mailbox's state). As in Courier, a
// message is \Recent when it has no UID yet (everything in new/ and the files of cur/ that
// courierimapuiddb does not list), a message is unseen when its name has no S flag (those
// an MDA delivers to new/ have none), and UIDNEXT counts the UIDs the next SELECT will hand
// out.
//
// With measure, it also returns the sum of the messages' IMAP sizes (RFC822.SIZE), taking
// each from the folder's index where a view measured it before and calling measure on the
// message's content otherwise; sizes measured here are saved in the index when it is in
// step with the folder.
func (s *Store) PeekStatus(name string, measure func(store.Content) (int64, error)) (store.Status, int64, error) {
	if err := s.check(); err != nil {
		return store.Status{}, 0, err
	}
	f, err := s.md.Folder(name)
	if err != nil {
		return store.Status{}, 0, classify("status", name, err)
	}
	dir := f.Path()
	// The index the process's views share, when it is in step: no file read at all.
	if fs := lookupState(dir); fs != nil {
		fs.mu.Lock()
		var ix *index.Index
		if fs.ix != nil && fs.inStep() {
			ix = fs.ix.Clone()
		}
		fs.mu.Unlock()
		fs.drop()
		if ix != nil {
			st, size, err := s.peekIndex(f, ix, measure)
			if err != nil {
				return store.Status{}, 0, classify("status", name, err)
			}
			return st, size, nil
		}
	}
	ix, err := index.Load(dir)
	if err != nil {
		ix = nil // missing or corrupt: look at the folder itself
	}
	var st store.Status
	var size int64
	if ix != nil && ix.Fresh(dir) {
		st, size, err = s.peekIndex(f, ix, measure)
	} else {
		st, size, err = s.peekFolder(f, ix, measure)
	}
	if err != nil {
		return store.Status{}, 0, classify("status", name, err)
	}
	return st, size, nil
}

// peekIndex answers from an index that is in step with the folder: every message has its
// UID already, so only those still in new/ are \Recent.
func (s *Store) peekIndex(f *maildir.Folder, ix *index.Index, measure func(store.Content) (int64, error)) (store.Status, int64, error) {
	st := store.Status{UIDValidity: ix.UIDValidity, UIDNext: store.UID(ix.NextUID), HighestModSeq: ix.HighestModSeq,
		Messages: ix.Len()}
	for i := 0; i < ix.Len(); i++ {
		if ix.InNew(i) {
			st.Recent++
		}
		if ix.Letters(i)&letterBit(maildir.FlagSeen) == 0 {
			st.Unseen++
		}
	}
	if measure == nil {
		return st, 0, nil
	}
	var size int64
	measured := false
	for i := 0; i < ix.Len(); i++ {
		if n, ok := ix.VSize(i); ok {
			size += n
			continue
		}
		sub := maildir.Cur
		if ix.InNew(i) {
			sub = maildir.New
		}
		n, err := measureFile(f, maildir.Message{Sub: sub, Name: ix.Name(i)}, measure)
		if err != nil {
			return st, 0, err
		}
		ix.SetVSize(i, n)
		measured = true
		size += n
	}
	if measured && ix.Fresh(f.Path()) {
		// A cache: failing to save costs measuring again next time.
		_ = ix.Save(f.Path(), &s.seq)
	}
	return st, size, nil
}

// peekFolder answers from a listing of new/ and cur/ and courierimapuiddb, as Courier does
// when no index is in step. ix, when not nil, is a stale index whose measured sizes are
// used where the file is the same.
func (s *Store) peekFolder(f *maildir.Folder, ix *index.Index, measure func(store.Content) (int64, error)) (store.Status, int64, error) {
	msgs, err := f.List()
	if err != nil {
		return store.Status{}, 0, err
	}
	db, err := maildir.ReadUIDDB(f.Path())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, maildir.ErrCorruptUIDDB) {
			return store.Status{}, 0, err
		}
		// Never opened (or to be started over): the next SELECT numbers from 1 under a new
		// UIDVALIDITY, which Courier reports as now.
		db = &maildir.UIDDB{UIDValidity: uint32(s.opt.Now().Unix() - courierEpoch), NextUID: 1}
	}
	st := store.Status{UIDValidity: db.UIDValidity}
	if ix != nil && ix.UIDValidity == db.UIDValidity {
		st.HighestModSeq = ix.HighestModSeq
	}
	var inNew map[string]bool
	fresh := 0
	for _, m := range msgs {
		b := m.Base()
		if m.Sub == maildir.New {
			// Listed first: a message seen half-renamed in both new/ and cur/ counts once.
			if inNew == nil {
				inNew = map[string]bool{}
			}
			if inNew[b] {
				continue
			}
			inNew[b] = true
			st.Recent++
			fresh++
		} else if inNew[b] {
			continue
		} else if _, ok := db.UIDs[b]; !ok {
			st.Recent++
			fresh++
		}
		st.Messages++
		// A message moved into Trash's new/ by IMAP_MOVE_EXPUNGE_TO_TRASH keeps its flags.
		if !m.Has(maildir.FlagSeen) {
			st.Unseen++
		}
	}
	st.UIDNext = store.UID(db.NextUID + uint32(fresh))
	if measure == nil {
		return st, 0, nil
	}
	known := map[string]int64{}
	if ix != nil {
		for i := 0; i < ix.Len(); i++ {
			if n, ok := ix.VSize(i); ok {
				e := ix.At(i)
				known[e.Base()] = n
			}
		}
	}
	var size int64
	for _, m := range msgs {
		if m.Sub == maildir.Cur && inNew[m.Base()] {
			continue
		}
		if n, ok := known[m.Base()]; ok {
			size += n
			continue
		}
		n, err := measureFile(f, m, measure)
		if errors.Is(err, store.ErrNoMessage) {
			continue // expunged meanwhile
		}
		if err != nil {
			return st, 0, err
		}
		size += n
	}
	return st, size, nil
}

// measureFile opens a message of f (following a rename by someone else) and measures it.
func measureFile(f *maildir.Folder, msg maildir.Message, measure func(store.Content) (int64, error)) (int64, error) {
	fh, err := f.Open(msg)
	if errors.Is(err, fs.ErrNotExist) {
		var found maildir.Message
		if found, err = f.Find(msg.Base()); err == nil {
			fh, err = f.Open(found)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w: %w", msg.Name, store.ErrNoMessage, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", msg.Name, err)
	}
	n, err := measure(&content{File: fh, size: fi.Size()})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", msg.Name, err)
	}
	return n, nil
}

// VirtualSize returns a message's IMAP size (RFC822.SIZE) from the index, or, the first
// time, from measure (which the caller computes from the content as it defines the size),
// and keeps it in the index so that later sessions need not read the message again. It is
// the size with CRLF line ends, which neither the LF file's size nor its ",S=" field give.
func (m *mailbox) VirtualSize(uid store.UID, measure func() (int64, error)) (int64, error) {
	i, err := m.pos(uid)
	if err != nil {
		return 0, err
	}
	if n, ok := m.ix.VSize(i); ok {
		return n, nil
	}
	n, err := measure()
	if err != nil {
		return 0, err
	}
	// measure may have run a while: find the message again by its UID.
	if i, ok := m.ix.Search(uint32(uid)); ok {
		m.ix.SetVSize(i, n)
		m.st.cache(uint32(uid), func(ix *index.Index, j int) { ix.SetVSize(j, n) })
	}
	return n, nil
}

// Purge removes the messages of a folder's cur/ whose status-change time (ctime) is before
// before, as Courier's IMAP_EMPTYTRASH does (maildir_purge): the ctime of a message in Trash
// is when it was put there (or last flagged), so a message deleted today is kept its full
// number of days whatever its internal date. Removals are recorded in maildirsize when the
// folder counts to the quota. Messages still in new/ are left alone: Courier first moves
// them to cur/, which resets their ctime, so they are never purged on that pass either.
// A folder that does not exist has nothing to purge.
func (s *Store) Purge(name string, before time.Time) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	f, err := s.md.Folder(name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, classify("purge", name, err)
	}
	msgs, err := f.List()
	if err != nil {
		return 0, classify("purge", name, err)
	}
	n := 0
	for _, m := range msgs {
		if m.Sub != maildir.Cur {
			continue
		}
		fi, err := os.Lstat(filepath.Join(f.Path(), m.Sub, m.Name))
		if err != nil || !fi.Mode().IsRegular() || !changeTime(fi).Before(before) {
			continue
		}
		if err := f.Remove(m); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed by someone else meanwhile
			}
			return n, classify("purge", name, err)
		}
		n++
	}
	if n > 0 {
		markTainted(f.Path()) // views of the folder in this process list it again
	}
	return n, nil
}
