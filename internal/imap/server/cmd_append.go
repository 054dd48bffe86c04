package server

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"courier/internal/store"
)

// cmdAppend: RFC 3501 §6.3.11 with APPENDUID (RFC 4315), LITERAL+ and APPENDLIMIT
// (RFC 7889). The message is streamed from the connection into the store; line ends are
// stored as LF, as Courier stores them.
func (ss *session) cmdAppend(bool) *status {
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
	var opt store.AppendOptions
	if ss.r.Peek() == '(' {
		f, kws, err := ss.flagList(true)
		if err != nil {
			return wireErr(err)
		}
		opt.Flags = f
		if ss.set.Keywords {
			opt.Keywords = kws
		}
		if err := ss.r.SP(); err != nil {
			return wireErr(err)
		}
	}
	if ss.r.Peek() == '"' {
		d, err := ss.r.String()
		if err != nil {
			return wireErr(err)
		}
		t, perr := parseDateTime(d)
		if perr != nil {
			return bad("", "Invalid date-time.")
		}
		opt.Date = t
		if err := ss.r.SP(); err != nil {
			return wireErr(err)
		}
	}
	size, _, pending := ss.r.PendingLiteral()
	if !pending {
		return bad("", "Expected a literal.")
	}
	if size > ss.set.AppendLimit {
		return no("TOOBIG", "Message too large.")
	}
	if size == 0 {
		return no("", "Empty message.")
	}
	if fa, ok := ss.st.(folderAppender); ok && !isSharedName(name) && !ss.isOutbox(name) {
		appendTo, err := fa.AppendFolder(name)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return no("TRYCREATE", "Mailbox does not exist.")
			}
			return storeErr(err, "APPEND")
		}
		return ss.appendDirect(appendTo, name, opt)
	}
	mb, err := ss.open(name, "APPEND")
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return no("TRYCREATE", "Mailbox does not exist.")
		}
		return storeErr(err, "APPEND")
	}
	defer mb.Close()
	appendTo := func(r io.Reader, o store.AppendOptions) (uint32, store.UID, error) {
		uid, err := mb.Append(r, o)
		return mb.Status().UIDValidity, uid, err
	}
	undo := func(uid store.UID) { _, _ = mb.Expunge([]store.UID{uid}) }
	v, uid, st, done := ss.appendLiteral(appendTo, undo, opt)
	if done {
		return st
	}
	if st := ss.sendFromOutbox(name, mb, []store.UID{uid}); st != nil {
		return st
	}
	return appendOK(v, uid)
}

// folderAppender is implemented by stores that can append to a folder without opening a
// view of it (maildirstore.Store): a view costs loading and bringing up to date the folder's
// index, which APPEND never looks at. The Outbox and shared folders still go through a view
// (sending, access rights).
type folderAppender interface {
	// AppendFolder looks the folder up and returns the function that appends to it, which
	// returns the folder's UIDVALIDITY and the new message's UID.
	AppendFolder(name string) (func(io.Reader, store.AppendOptions) (uint32, store.UID, error), error)
}

// appendDirect is the rest of cmdAppend, from the literal on, through a folderAppender's
// function. Its answers are those of the path through a view.
func (ss *session) appendDirect(appendTo func(io.Reader, store.AppendOptions) (uint32, store.UID, error), name string, opt store.AppendOptions) *status {
	v, uid, st, done := ss.appendLiteral(appendTo, func(uid store.UID) { ss.unappend(name, uid) }, opt)
	if done {
		return st
	}
	return appendOK(v, uid)
}

// appendLiteral reads APPEND's message literal into appendTo and checks the end of the
// command; undo takes back a message stored for a command that then turned out bad. done
// says the command is answered already: with st, or, when st is nil, by ending the session
// (the connection fell out of step).
func (ss *session) appendLiteral(appendTo func(io.Reader, store.AppendOptions) (uint32, store.UID, error), undo func(store.UID), opt store.AppendOptions) (v uint32, uid store.UID, st *status, done bool) {
	rd, n, _, err := ss.r.LiteralReader(ss.set.AppendLimit)
	if err != nil {
		return 0, 0, wireErr(err), true
	}
	lr := &countingReader{r: rd}
	v, uid, aerr := appendTo(newLFReader(lr), opt)
	// If the store stopped early, read the rest so the connection stays in step.
	if _, err := io.Copy(io.Discard, rd); err != nil {
		ss.state = stateLogout
		return 0, 0, nil, true
	}
	if lr.n < n && aerr == nil {
		aerr = io.ErrUnexpectedEOF
	}
	if err := ss.r.FinishLiteral(); err != nil {
		ss.state = stateLogout
		return 0, 0, nil, true
	}
	if !ss.r.AtEnd() {
		// MULTIAPPEND (RFC 3502) is not offered.
		if aerr == nil && uid != 0 {
			undo(uid)
		}
		return 0, 0, bad("", "Unexpected characters after the message."), true
	}
	if aerr != nil {
		return 0, 0, storeErr(aerr, "APPEND"), true
	}
	return v, uid, nil, false
}

// appendOK is APPEND's answer with the UIDPLUS code.
func appendOK(v uint32, uid store.UID) *status {
	return ok("APPENDUID "+strconv.FormatUint(uint64(v), 10)+" "+strconv.FormatUint(uint64(uid), 10), "APPEND Ok.")
}

// unappend removes a message appendDirect stored for a command that then turned out bad.
func (ss *session) unappend(name string, uid store.UID) {
	mb, err := ss.st.Open(name)
	if err != nil {
		ss.log.Warn("append: cannot take back the message", "uid", uid, "err", err)
		return
	}
	defer mb.Close()
	if _, err := mb.Expunge([]store.UID{uid}); err != nil {
		ss.log.Warn("append: cannot take back the message", "uid", uid, "err", err)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// lfReader turns CRLF line ends into LF.
type lfReader struct {
	br      *bufio.Reader
	pending bool // a CR was read and held back
}

func newLFReader(r io.Reader) io.Reader { return &lfReader{br: bufio.NewReaderSize(r, 32<<10)} }

func (l *lfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := l.br.ReadByte()
		if err != nil {
			if l.pending {
				l.pending = false
				p[n] = '\r'
				n++
			}
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if l.pending {
			l.pending = false
			if c != '\n' {
				p[n] = '\r'
				n++
				if n == len(p) {
					l.br.UnreadByte()
					return n, nil
				}
			}
		}
		if c == '\r' {
			l.pending = true
			continue
		}
		p[n] = c
		n++
		if l.br.Buffered() == 0 && n > 0 {
			return n, nil
		}
	}
	return n, nil
}

// parseDateTime reads an IMAP date-time (RFC 3501 §9): "dd-Mon-yyyy hh:mm:ss +zzzz", the
// day possibly space-padded.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimLeft(s, " ")
	for _, layout := range []string{"2-Jan-2006 15:04:05 -0700", "02-Jan-2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date-time")
}

// isOutbox reports whether the IMAP folder name is the Outbox of OUTBOX (Courier's
// XCOURIEROUTBOX: ".Outbox" or "INBOX.Outbox" both name INBOX.Outbox).
func (ss *session) isOutbox(name string) bool {
	if ss.set.Outbox == "" {
		return false
	}
	return strings.EqualFold(name, "INBOX"+strings.TrimPrefix(ss.set.Outbox, "INBOX"))
}

// sendFromOutbox sends the messages just stored in the Outbox (Courier sends what is
// appended or copied there, and keeps the copy). A message that cannot be sent is taken out
// of the Outbox again and the command answers NO, so a client never believes unsent mail
// went.
func (ss *session) sendFromOutbox(name string, mb store.Mailbox, uids []store.UID) *status {
	if !ss.isOutbox(name) || len(uids) == 0 {
		return nil
	}
	send := ss.srv.cfg.Outbox
	// The new messages are in the folder but not yet in this view of it.
	_, err := mb.Sync()
	if err != nil {
		ss.log.Warn("outbox: sync", "err", err)
	}
	for i, u := range uids {
		if send == nil {
			err = errors.New("sending is not available")
		} else {
			var c store.Content
			if c, err = mb.OpenMessage(u); err == nil {
				err = send(ss.ctx, ss.user, c)
				c.Close()
			}
		}
		if err != nil {
			_, _ = mb.Expunge(uids[i:])
			ss.log.Warn("outbox: not sent", "err", err)
			return no("", "Cannot send the message: "+err.Error())
		}
		ss.log.Info("outbox: sent", "uid", u)
	}
	return nil
}
