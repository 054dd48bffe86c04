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
	mb, err := ss.st.Open(name)
	if err != nil {
		return storeErr(err, "SELECT")
	}
	s := &selected{name: name, mb: mb, readOnly: readOnly, msgs: mb.Messages()}
	ss.sel = s
	ss.state = stateSelected
	if ss.set.Keywords {
		s.kw = s.keywordsInUse()
	}
	ss.flagsResponses()
	ss.untagged(strconv.Itoa(len(s.msgs)) + " EXISTS")
	ss.untagged(strconv.Itoa(s.recent()) + " RECENT")
	st := mb.Status()
	ss.untagged("OK [UIDVALIDITY " + strconv.FormatUint(uint64(st.UIDValidity), 10) + "] Ok")
	ss.untagged(`OK [MYRIGHTS "` + ss.myRights(name) + `"] ACL`)
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
