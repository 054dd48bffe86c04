package server

import (
	"fmt"
	"strings"

	"courier/internal/store"
)

// statusItems reads a parenthesised list of STATUS items (RFC 3501 §6.3.10, STATUS=SIZE of
// RFC 8438).
func (ss *session) statusItems() ([]string, error) {
	if err := ss.r.Expect('('); err != nil {
		return nil, err
	}
	var items []string
	for ss.r.Peek() != ')' {
		if len(items) > 0 {
			if err := ss.r.SP(); err != nil {
				return nil, err
			}
		}
		a, err := ss.r.Atom()
		if err != nil {
			return nil, err
		}
		a = strings.ToUpper(a)
		switch a {
		case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE":
		default:
			return nil, errUnknown
		}
		items = append(items, a)
	}
	ss.r.Skip(1)
	if len(items) == 0 {
		return nil, errUnknown
	}
	return items, nil
}

// cmdStatus: RFC 3501 §6.3.10.
func (ss *session) cmdStatus(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	items, err := ss.statusItems()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if err := ss.statusResponse(name, items); err != nil {
		return storeErr(err, "STATUS")
	}
	return ok("", "STATUS Completed.")
}

// statusResponse writes one STATUS response for a folder; nothing when it cannot be
// looked at (LIST-STATUS skips such folders; STATUS answers NO).
func (ss *session) statusResponse(name string, items []string) error {
	st, size, err := ss.folderStatus(name, contains(items, "SIZE"))
	if err != nil {
		return err
	}
	b := []byte("* STATUS ")
	b = ss.quoteName(b, name)
	b = append(b, " ("...)
	// Courier answers in one order whatever the request's, each item once; RFC 3501
	// §7.2.4 fixes no order. SIZE (RFC 8438, which Courier lacks) comes last.
	first := true
	for _, it := range statusOrder {
		if !contains(items, it) {
			continue
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, it...)
		b = append(b, ' ')
		var v uint64
		switch it {
		case "MESSAGES":
			v = uint64(st.Messages)
		case "RECENT":
			v = uint64(st.Recent)
		case "UIDNEXT":
			v = uint64(st.UIDNext)
		case "UIDVALIDITY":
			v = uint64(st.UIDValidity)
		case "UNSEEN":
			v = uint64(st.Unseen)
		case "SIZE":
			v = uint64(size)
		}
		b = appendUint(b, v)
	}
	b = append(b, ")\r\n"...)
	ss.writeRaw(b)
	return nil
}

// statusOrder is the order of the items in a STATUS response.
var statusOrder = []string{"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE"}

// folderStatus returns a folder's counters, and with wantSize the sum of its messages'
// RFC822.SIZE (RFC 8438 §3 asks for at least that sum): the session's own view for the
// selected folder (as Courier does), else a look that changes nothing. Opening a view of
// another folder would move its new/ messages to cur/ and claim their \Recent, so that the
// client's next SELECT would report 0 RECENT; RFC 3501 §6.3.10 says STATUS does not change
// the mailbox's state, and Courier's STATUS leaves new/ and courierimapuiddb alone.
func (ss *session) folderStatus(name string, wantSize bool) (store.Status, int64, error) {
	if ss.sel != nil && ss.sel.name == name {
		s := ss.sel
		st := s.mb.Status()
		st.Messages = len(s.msgs)
		st.Recent = s.recent()
		st.Unseen = 0
		var size int64
		for i := range s.msgs {
			if s.msgs[i].Flags&store.Seen == 0 {
				st.Unseen++
			}
			if wantSize {
				n, err := ss.messageSize(s.mb, s.msgs[i].UID, nil)
				if err != nil {
					return st, 0, fmt.Errorf("status %s: %w", name, err)
				}
				size += n
			}
		}
		return st, size, nil
	}
	if isSharedName(name) {
		return ss.sharedStatus(name, wantSize)
	}
	if sp, ok := ss.st.(statusPeeker); ok {
		var measure func(store.Content) (int64, error)
		if wantSize {
			measure = measureContent
		}
		return sp.PeekStatus(name, measure)
	}
	// A store that cannot look without opening: its views then decide what \Recent means.
	mb, err := ss.st.Open(name)
	if err != nil {
		return store.Status{}, 0, err
	}
	defer mb.Close()
	st := mb.Status()
	var size int64
	if wantSize {
		for _, m := range mb.Messages() {
			n, err := ss.messageSize(mb, m.UID, nil)
			if err != nil {
				return st, 0, fmt.Errorf("status %s: %w", name, err)
			}
			size += n
		}
	}
	return st, size, nil
}

// statusPeeker is implemented by stores that can report a folder's counters without
// opening a view (which would claim its \Recent messages); with measure they also sum the
// messages' RFC822.SIZE, using the sizes they keep and measure for the others
// (maildirstore.Store).
type statusPeeker interface {
	PeekStatus(name string, measure func(store.Content) (int64, error)) (store.Status, int64, error)
}
