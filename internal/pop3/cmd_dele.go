package pop3

// cmdDELE marks a message deleted (RFC 1939 §5); QUIT removes it.
func (ss *session) cmdDELE(c Command) {
	i, ok := ss.message(c.Args)
	if !ok {
		return
	}
	ss.deleted[i] = true
	ss.reply("+OK Deleted.")
}

// cmdRSET unmarks every message (RFC 1939 §5).
func (ss *session) cmdRSET() {
	clear(ss.deleted)
	ss.reply("+OK Resurrected.")
}

// cmdQUIT ends the session. From TRANSACTION it enters UPDATE (RFC 1939 §6): the messages
// marked deleted are removed, and only then does the client hear +OK.
func (ss *session) cmdQUIT() {
	defer func() { ss.state = stateDone }()
	if ss.state != stateTransaction {
		ss.reply("+OK Better luck next time.")
		return
	}
	ss.quit = true
	var idx []int
	for i, d := range ss.deleted {
		if d {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		ss.reply("+OK Bye-bye.")
		return
	}
	n, err := ss.md.Delete(idx)
	if ss.set.LogDeletions {
		for _, i := range idx {
			ss.log.Info("deleted", "user", ss.loginName, "uidl", ss.msgs[i].UID, "size", ss.msgs[i].Size)
		}
	}
	if err != nil {
		ss.log.Error("update: deleting messages", "user", ss.loginName, "deleted", n, "marked", len(idx), "err", err)
		ss.reply("-ERR [SYS/TEMP] Some deleted messages were not removed.")
		return
	}
	ss.log.Debug("update", "deleted", n)
	ss.reply("+OK Bye-bye.")
}
