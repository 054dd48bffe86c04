package server

import (
	"strconv"
)

// cmdSelect: RFC 3501 §6.3.1.
func (ss *session) cmdSelect(bool) *status { return ss.selectMailbox(false) }

// cmdExamine: RFC 3501 §6.3.2.
func (ss *session) cmdExamine(bool) *status { return ss.selectMailbox(true) }

// selectMailbox opens a mailbox and reports it as Courier does: FLAGS, PERMANENTFLAGS,
// EXISTS, RECENT, UIDVALIDITY and MYRIGHTS. Courier sends neither UIDNEXT nor UNSEEN;
// RFC 3501 §6.3.1 lists both as required, but every client copes without them (they are
// what Courier users' clients have always seen), so we keep Courier's responses.
func (ss *session) selectMailbox(readOnly bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	// Optional select parameters (RFC 4466), e.g. (CONDSTORE): none is supported.
	if !ss.r.AtEnd() {
		return bad("", "Unsupported SELECT parameters.")
	}
	if ss.sel != nil {
		// RFC 3501 §6.3.1: a SELECT closes the selected mailbox without expunging.
		ss.closeSelected(false)
		ss.state = stateAuth
	}
	mb, err := ss.open(name, "SELECT/EXAMINE")
	if err != nil {
		return storeErr(err, "SELECT")
	}
	if ro, isRO := mb.(readOnlyMailbox); isRO && ro.ReadOnly() {
		readOnly = true // a shared folder the user may not change (Courier opens it so)
	}
	s := &selected{name: name, mb: mb, readOnly: readOnly}
	ss.sel = s
	ss.state = stateSelected
	st := mb.Status()
	exists, recent := st.Messages, st.Recent
	if ku, ok := mb.(keywordLister); ok {
		// The view's list of messages is made when the next command needs it (listView):
		// SELECT of a big folder answers from the mailbox's counters alone.
		s.unlisted = true
		if ss.set.Keywords {
			s.kw = ku.KeywordsInUse()
		}
	} else {
		s.msgs = mb.Messages()
		exists, recent = len(s.msgs), s.recent()
		if ss.set.Keywords {
			s.kw = s.keywordsInUse()
		}
	}
	ss.flagsResponses()
	ss.untagged(strconv.Itoa(exists) + " EXISTS")
	ss.untagged(strconv.Itoa(recent) + " RECENT")
	ss.untagged("OK [UIDVALIDITY " + strconv.FormatUint(uint64(st.UIDValidity), 10) + "] Ok")
	ss.untagged(`OK [MYRIGHTS "` + selectRights(ss.rightsOn(name)) + `"] ACL`)
	if readOnly {
		return ok("READ-ONLY", "Ok")
	}
	return ok("READ-WRITE", "Ok")
}

// closeSelected releases the selected mailbox, expunging \Deleted messages first when
// expunge is set (CLOSE, RFC 3501 §6.4.2).
func (ss *session) closeSelected(expunge bool) {
	s := ss.sel
	if s == nil {
		return
	}
	if expunge && !s.readOnly {
		if _, err := ss.expungeDeleted(nil); err != nil {
			ss.log.Warn("close: expunge failed", "mailbox", s.name, "err", err)
		}
	}
	if err := s.mb.Close(); err != nil {
		ss.log.Warn("close mailbox", "mailbox", s.name, "err", err)
	}
	ss.sel = nil
	if ss.state == stateSelected {
		ss.state = stateAuth
	}
}

// cmdClose: RFC 3501 §6.4.2; expunges silently.
func (ss *session) cmdClose(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	ss.closeSelected(true)
	return ok("", "mailbox closed.")
}

// cmdUnselect: RFC 3691; closes without expunging.
func (ss *session) cmdUnselect(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	ss.closeSelected(false)
	return ok("", "UNSELECT completed.")
}
