package server

import (
	"strconv"
	"strings"

	"courier/internal/store"
)

// cmdStore: RFC 3501 §6.4.6.
func (ss *session) cmdStore(uid bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	set, err := ss.r.SeqSet()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	item, err := ss.r.Atom()
	if err != nil {
		return wireErr(err)
	}
	item = strings.ToUpper(item)
	op := store.Replace
	switch {
	case strings.HasPrefix(item, "+"):
		op, item = store.Add, item[1:]
	case strings.HasPrefix(item, "-"):
		op, item = store.Remove, item[1:]
	}
	silent := false
	switch item {
	case "FLAGS":
	case "FLAGS.SILENT":
		silent = true
	default:
		return errUnknown
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	flags, kws, err := ss.flagList(false)
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if len(kws) > 0 && !ss.set.Keywords {
		return errUnknown
	}
	s := ss.sel
	if s.readOnly {
		// RFC 3501 §6.3.2: nothing may change in a mailbox opened with EXAMINE. (Courier
		// stores \Seen there all the same.)
		return no("", "Mailbox is read-only.")
	}
	idx := ss.resolveSet(set, uid)
	if len(idx) == 0 {
		return ok("", "STORE completed.")
	}
	uids := make([]store.UID, len(idx))
	for i, j := range idx {
		uids[i] = s.msgs[j].UID
	}
	changed, err := s.mb.SetFlags(uids, op, flags, kws)
	if err != nil {
		return storeErr(err, "STORE")
	}
	for _, m := range changed {
		if seq := s.seqOf(m.UID); seq > 0 {
			s.msgs[seq-1] = m
		}
	}
	ss.announceKeywords(true)
	if !silent {
		for _, j := range idx {
			b := []byte("* " + strconv.Itoa(j+1) + " FETCH (")
			if uid {
				b = append(b, "UID "...)
				b = appendUint(b, uint64(s.msgs[j].UID))
				b = append(b, ' ')
			}
			b = append(b, "FLAGS "...)
			b = appendFlags(b, &s.msgs[j])
			b = append(b, ")\r\n"...)
			ss.writeRaw(b)
		}
	}
	ss.announceKeywords(false)
	return ok("", "STORE completed.")
}
