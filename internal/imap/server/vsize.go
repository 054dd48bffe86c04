package server

import (
	"courier/internal/store"
)

// searchSize returns the size SEARCH LARGER/SMALLER and SORT SIZE compare: the message's
// RFC822.SIZE, exactly as FETCH reports it (messageSize, answered from the store's size
// cache once measured). RFC 3501 §6.4.4 defines LARGER and SMALLER by the "[RFC-2822] size",
// which §6.4.5 names RFC822.SIZE, and RFC 5256 §3 sorts SIZE by the same octets, so a client
// that fetched RFC822.SIZE 18 finds the message with LARGER 17.
//
// Courier breaks this: its search.C compares the stored file's size (stat's st_size, the LF
// form, like the ",S=" field), which is smaller than its own RFC822.SIZE by one octet per
// line, so it leaves out of LARGER 17 a message it reports as 18 octets. We follow the RFC.
//
// Stores without a size cache of their own are helped by one for the selected view.
func (ss *session) searchSize(mb store.Mailbox, uid store.UID) (int64, error) {
	_, cached := mb.(sizeCacher)
	memo := !cached && ss.sel != nil && ss.sel.mb == mb
	if memo {
		if n, ok := ss.sel.vsize[uid]; ok {
			return n, nil
		}
	}
	n, err := ss.messageSize(mb, uid, nil)
	if err != nil {
		return 0, err
	}
	if memo {
		if ss.sel.vsize == nil {
			ss.sel.vsize = map[store.UID]int64{}
		}
		ss.sel.vsize[uid] = n
	}
	return n, nil
}
