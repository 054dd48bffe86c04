package pop3

import "strconv"

// cmdSTAT answers the drop listing (RFC 1939 §5): messages not marked deleted and their
// total size.
func (ss *session) cmdSTAT() {
	n, size := 0, int64(0)
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			n++
			size += m.Size
		}
	}
	ss.reply("+OK " + strconv.Itoa(n) + " " + strconv.FormatInt(size, 10))
}

// cmdLIST gives the size of one message or of every message not deleted (RFC 1939 §5).
func (ss *session) cmdLIST(c Command) {
	if len(c.Args) > 0 {
		i, ok := ss.message(c.Args)
		if ok {
			ss.reply("+OK " + strconv.Itoa(i+1) + " " + strconv.FormatInt(ss.msgs[i].Size, 10))
		}
		return
	}
	ss.reply("+OK POP3 clients that break here, they violate STD53.")
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			ss.reply(strconv.Itoa(i+1) + " " + strconv.FormatInt(m.Size, 10))
		}
	}
	ss.reply(".")
}

// cmdUIDL gives the unique id of one message or of every message not deleted (RFC 1939 §7).
func (ss *session) cmdUIDL(c Command) {
	if len(c.Args) > 0 {
		i, ok := ss.message(c.Args)
		if ok {
			ss.reply("+OK " + strconv.Itoa(i+1) + " " + ss.msgs[i].UID)
		}
		return
	}
	ss.reply("+OK")
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			ss.reply(strconv.Itoa(i+1) + " " + m.UID)
		}
	}
	ss.reply(".")
}
