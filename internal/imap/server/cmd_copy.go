package server

import (
	"errors"
	"strconv"

	"courier/internal/imap/wire"
	"courier/internal/store"
)

// cmdCopy: RFC 3501 §6.4.7 with COPYUID (RFC 4315).
func (ss *session) cmdCopy(uid bool) *status { return ss.copyMove(uid, false) }

// cmdMove: RFC 6851.
func (ss *session) cmdMove(uid bool) *status { return ss.copyMove(uid, true) }

func (ss *session) copyMove(uid, move bool) *status {
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
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	verb := "COPY"
	if move {
		verb = "MOVE"
		if ss.sel.readOnly {
			return no("", "Mailbox is read-only.")
		}
	}
	s := ss.sel
	idx := ss.resolveSet(set, uid)
	dst, err := ss.open(name, verb)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return no("TRYCREATE", "Mailbox does not exist.")
		}
		return storeErr(err, verb)
	}
	defer dst.Close()
	if len(idx) == 0 {
		return ok("", verb+" completed.")
	}
	uids := make([]store.UID, len(idx))
	src := make([]uint32, len(idx))
	for i, j := range idx {
		uids[i] = s.msgs[j].UID
		src[i] = uint32(uids[i])
	}
	var newUIDs []store.UID
	if move {
		newUIDs, err = s.mb.Move(uids, dst)
	} else {
		newUIDs, err = s.mb.Copy(uids, dst)
	}
	if errors.Is(err, store.ErrForeign) {
		// A shared folder and one of the account's own live in different stores.
		newUIDs, err = copyAcross(s.mb, dst, uids, move)
	}
	if err != nil {
		if errors.Is(err, store.ErrNoMessage) {
			return no("EXPUNGEISSUED", "Some of the messages were expunged meanwhile.")
		}
		return storeErr(err, verb)
	}
	if st := ss.sendFromOutbox(name, dst, newUIDs); st != nil {
		return st
	}
	dstUIDs := make([]uint32, len(newUIDs))
	for i, u := range newUIDs {
		dstUIDs[i] = uint32(u)
	}
	code := "COPYUID " + strconv.FormatUint(uint64(dst.Status().UIDValidity), 10) + " " +
		wire.FormatList(src) + " " + wire.FormatList(dstUIDs)
	if len(dstUIDs) != len(src) {
		code = ""
	}
	if move {
		// RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
		if code != "" {
			ss.untagged("OK [" + code + "] Messages copied.")
		}
		ss.applyExpunged(uids)
		return ok("", "MOVE completed.")
	}
	return ok(code, "COPY completed.")
}
