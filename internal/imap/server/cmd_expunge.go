package server

import (
	"errors"
	"fmt"

	"courier/internal/store"
)

// cmdExpunge: RFC 3501 §6.4.3, and UID EXPUNGE (RFC 4315 §2.1).
func (ss *session) cmdExpunge(uid bool) *status {
	var only []store.UID
	if uid {
		if err := ss.r.SP(); err != nil {
			return wireErr(err)
		}
		set, err := ss.r.SeqSet()
		if err != nil {
			return wireErr(err)
		}
		for _, i := range ss.resolveSet(set, true) {
			only = append(only, ss.sel.msgs[i].UID)
		}
		if len(only) == 0 {
			if err := ss.r.End(); err != nil {
				return wireErr(err)
			}
			return ok("", "EXPUNGE completed")
		}
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if ss.sel.readOnly {
		return no("", "Mailbox is read-only.")
	}
	gone, err := ss.expungeDeleted(only)
	// What is gone is reported even when the rest failed, or the client's sequence numbers
	// would no longer match ours (RFC 3501 §7.4.1).
	ss.applyExpunged(gone)
	if len(gone) > 0 {
		ss.existsRecent()
	}
	if err != nil {
		var st *status
		if errors.As(err, &st) {
			return st
		}
		return storeErr(err, "EXPUNGE")
	}
	return ok("", "EXPUNGE completed")
}

// expungeDeleted removes the \Deleted messages (of only, when given) and returns their UIDs.
// With IMAP_MOVE_EXPUNGE_TO_TRASH they are moved to Trash instead (unless this is Trash).
// When it fails part way it returns the UIDs already gone with the error, so that the
// caller can tell the client about those.
func (ss *session) expungeDeleted(only []store.UID) ([]store.UID, error) {
	s := ss.sel
	var uids []store.UID
	want := map[store.UID]bool{}
	for _, u := range only {
		want[u] = true
	}
	for i := range s.msgs {
		m := &s.msgs[i]
		if m.Flags&store.Deleted != 0 && (only == nil || want[m.UID]) {
			uids = append(uids, m.UID)
		}
	}
	// Messages others flagged \Deleted that this view has not been told about yet stay.
	if len(uids) == 0 {
		return nil, nil
	}
	trash := "INBOX." + ss.set.Trash
	if ss.set.MoveExpungeToTrash && s.name != trash {
		gone, err := ss.moveToTrash(trash, uids)
		if err != nil {
			// Mail is precious: what could not be put in Trash is not expunged either.
			// (Courier expunges anyway when it cannot write Trash, and the mail is lost.)
			ss.log.Warn("expunge: move to trash failed", "mailbox", s.name, "trash", trash, "err", err)
			return gone, no("", "Cannot move the deleted messages to "+ss.wireName(trash)+
				", so they were not expunged: "+trashReason(err))
		}
		return gone, nil
	}
	return s.mb.Expunge(uids)
}

// trashMover is implemented by mailboxes that can hand messages over to Trash the way
// Courier's IMAP_MOVE_EXPUNGE_TO_TRASH does (maildirstore): renamed into Trash without
// \Deleted, to be numbered and reported \Recent by Trash's next SELECT.
type trashMover interface {
	MoveToTrash(uids []store.UID, trash string) ([]store.UID, error)
}

// moveToTrash takes messages of the selected folder into Trash for
// IMAP_MOVE_EXPUNGE_TO_TRASH, creating Trash when it is missing, as Courier does, and
// returns the UIDs that left the folder. Without \Deleted there: the next EXPUNGE in Trash
// must not remove them all. A message someone else expunged meanwhile has nothing to keep.
func (ss *session) moveToTrash(trash string, uids []store.UID) ([]store.UID, error) {
	// Create rather than Open to see whether Trash exists: opening a view would claim the
	// \Recent messages of Trash.
	if err := ss.st.Create(trash); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("create %s: %w", trash, err)
	}
	if tm, ok := ss.sel.mb.(trashMover); ok {
		return tm.MoveToTrash(uids, trash)
	}
	dst, err := ss.st.Open(trash)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", trash, err)
	}
	defer dst.Close()
	copied, err := ss.sel.mb.Copy(uids, dst)
	if errors.Is(err, store.ErrNoMessage) {
		// One of them is gone: copy the others one by one (a failed Copy stores nothing).
		copied, err = nil, nil
		for _, u := range uids {
			c, cerr := ss.sel.mb.Copy([]store.UID{u}, dst)
			if cerr != nil && !errors.Is(cerr, store.ErrNoMessage) {
				err = cerr
				break
			}
			copied = append(copied, c...)
		}
	}
	if err == nil {
		_, err = dst.SetFlags(copied, store.Remove, store.Deleted, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("copy to %s: %w", trash, err)
	}
	return ss.sel.mb.Expunge(uids)
}

// trashReason says in a few words why Trash could not take the messages (the log has the
// details).
func trashReason(err error) string {
	if errors.Is(err, store.ErrOverQuota) {
		return "mail quota exceeded."
	}
	return "the folder cannot be opened or written."
}
