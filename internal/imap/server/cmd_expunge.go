package server

import (
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
	if err != nil {
		return storeErr(err, "EXPUNGE")
	}
	ss.applyExpunged(gone)
	if len(gone) > 0 {
		ss.existsRecent()
	}
	return ok("", "EXPUNGE completed")
}

// expungeDeleted removes the \Deleted messages (of only, when given) and returns their UIDs.
// With IMAP_MOVE_EXPUNGE_TO_TRASH they are copied to Trash first (unless this is Trash).
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
		if dst, err := ss.st.Open(trash); err == nil {
			_, err := s.mb.Copy(uids, dst)
			dst.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return s.mb.Expunge(uids)
}
