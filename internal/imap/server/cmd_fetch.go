package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"courier/internal/imap/bodystruct"
	"courier/internal/imap/wire"
	"courier/internal/mail/mime"
	"courier/internal/store"
)

// cmdFetch: RFC 3501 §6.4.5 (and UID FETCH, §6.4.8).
func (ss *session) cmdFetch(uid bool) *status {
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
	items, err := ss.fetchItems()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if uid {
		// UID FETCH always reports the UID, first (as Courier does).
		out := []fetchItem{{name: "UID"}}
		for _, it := range items {
			if it.name != "UID" {
				out = append(out, it)
			}
		}
		items = out
	}
	needContent, setsSeen := false, false
	for i := range items {
		// RFC822.SIZE alone needs no content: the store keeps each message's size once
		// measured (messageSize), so "FETCH 1:* (UID FLAGS RFC822.SIZE)", which clients send
		// on every SELECT, does not read the folder.
		needContent = needContent || (items[i].needsContent() && items[i].name != "RFC822.SIZE")
		setsSeen = setsSeen || items[i].setsSeen()
	}
	if ss.sel.readOnly {
		setsSeen = false
	}
	s := ss.sel
	if !needContent && flagsOnly(items) {
		ss.fetchFlags(set, uid, items)
		return ok("", "FETCH completed.")
	}
	for _, i := range ss.resolveSet(set, uid) {
		if err := ss.fetchOne(i, items, needContent); err != nil {
			ss.log.Warn("fetch", "mailbox", s.name, "uid", s.msgs[i].UID, "err", err)
			if ss.werr != nil {
				return nil
			}
			return no("", "Cannot read the message: it may have been expunged meanwhile.")
		}
		if setsSeen && s.msgs[i].Flags&store.Seen == 0 {
			changed, err := s.mb.SetFlags([]store.UID{s.msgs[i].UID}, store.Add, store.Seen, nil)
			if err == nil && len(changed) == 1 {
				s.msgs[i] = changed[0]
				b := []byte("* " + strconv.Itoa(i+1) + " FETCH (FLAGS ")
				b = appendFlags(b, &s.msgs[i])
				b = append(b, ")\r\n"...)
				ss.writeRaw(b)
			}
		}
	}
	return ok("", "FETCH completed.")
}

// fetchChunk is how many bytes of FETCH responses fetchFlags gathers before handing them to
// the session's writer, which sends a chunk that size straight to the connection: a FETCH
// 1:* (FLAGS) of 100,000 messages (2.5 MB) is 80 writes, not 300 of the 8 KB buffer.
const fetchChunk = 32 << 10

// flagsOnly reports whether a FETCH asks for UID and FLAGS only.
func flagsOnly(items []fetchItem) bool {
	for i := range items {
		if items[i].name != "UID" && items[i].name != "FLAGS" {
			return false
		}
	}
	return len(items) > 0
}

// fetchFlags answers a FETCH of UID and FLAGS only, what clients send after every SELECT
// ("FETCH 1:* (FLAGS)", "UID FETCH 1:* (UID FLAGS)"), in one loop over the view: responses
// appended to one buffer (no formatting package, no per-message allocation) and written by
// the chunk. The bytes are those fetchOne writes for the same items.
func (ss *session) fetchFlags(set wire.SeqSet, uid bool, items []fetchItem) {
	s := ss.sel
	b := make([]byte, 0, fetchChunk+1024)
	ss.eachInSet(set, uid, func(i int) {
		m := &s.msgs[i]
		b = append(b, "* "...)
		b = strconv.AppendUint(b, uint64(i+1), 10)
		b = append(b, " FETCH ("...)
		for n := range items {
			if n > 0 {
				b = append(b, ' ')
			}
			if items[n].name == "UID" {
				b = append(b, "UID "...)
				b = strconv.AppendUint(b, uint64(m.UID), 10)
			} else {
				b = append(b, "FLAGS "...)
				b = appendFlags(b, m)
			}
		}
		b = append(b, ")\r\n"...)
		if len(b) >= fetchChunk {
			ss.w.Write(b)
			b = b[:0]
		}
	})
	ss.w.Write(b)
}

// message is what a FETCH of one message has opened.
type message struct {
	c    store.Content
	root *mime.Part
}

func (m *message) close() {
	if m.c != nil {
		m.c.Close()
	}
}

// fetchOne writes the FETCH response of the message at index i.
func (ss *session) fetchOne(i int, items []fetchItem, needContent bool) error {
	s := ss.sel
	m := &s.msgs[i]
	var msg message
	defer msg.close()
	gone := false // expunged by someone else since the client was told: Courier's stand-in
	if needContent {
		c, err := s.mb.OpenMessage(m.UID)
		if errors.Is(err, store.ErrNoMessage) {
			c, gone, err = unavailableMessage(), true, nil
		}
		if err != nil {
			return err
		}
		msg.c = c
		root, err := mime.Parse(c, c.Size())
		if err != nil {
			return err
		}
		msg.root = root
	}
	w := ss.w
	var num [24]byte
	w.WriteString("* ")
	w.Write(strconv.AppendUint(num[:0], uint64(i+1), 10))
	w.WriteString(" FETCH (")
	var b []byte
	for n, it := range items {
		if n > 0 {
			w.WriteByte(' ')
		}
		b = b[:0]
		switch it.name {
		case "UID":
			b = append(b, "UID "...)
			b = appendUint(b, uint64(m.UID))
		case "FLAGS":
			b = append(b, "FLAGS "...)
			b = appendFlags(b, m)
		case "INTERNALDATE":
			d, err := s.mb.InternalDate(m.UID)
			if errors.Is(err, store.ErrNoMessage) {
				d, err = time.Now(), nil // Courier dates its stand-in now
			}
			if err != nil {
				return err
			}
			b = append(b, `INTERNALDATE "`...)
			b = d.In(time.Local).AppendFormat(b, "02-Jan-2006 15:04:05 -0700")
			b = append(b, '"')
		case "RFC822.SIZE":
			var n int64
			var err error
			if gone {
				n = msg.root.Size // the stand-in's, not kept as the message's
			} else {
				n, err = ss.messageSize(s.mb, m.UID, msg.root)
			}
			if err != nil {
				return err
			}
			b = append(b, "RFC822.SIZE "...)
			b = appendUint(b, uint64(n))
		case "ENVELOPE":
			b = append(b, "ENVELOPE "...)
			b = append(b, bodystruct.Envelope(msg.root.Header)...)
		case "BODY":
			b = append(b, "BODY "...)
			b = append(b, bodystruct.BodyStructure(msg.root, false)...)
		case "BODYSTRUCTURE":
			b = append(b, "BODYSTRUCTURE "...)
			b = append(b, bodystruct.BodyStructure(msg.root, true)...)
		case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
			var r io.Reader
			var size int64
			var err error
			switch it.name {
			case "RFC822":
				r, size, err = bodystruct.OpenRFC822(msg.c, msg.c.Size())
			case "RFC822.HEADER":
				r, size, err = bodystruct.OpenRFC822Header(msg.c, msg.c.Size())
			default:
				r, size, err = bodystruct.OpenRFC822Text(msg.c, msg.root)
			}
			if err != nil {
				return err
			}
			w.WriteString(it.name)
			w.WriteByte(' ')
			if err := ss.writeLiteral(r, size); err != nil {
				return err
			}
			continue
		case "BODY[]":
			w.WriteString("BODY[")
			w.WriteString(it.section.Name())
			w.WriteString("]")
			if it.partial {
				w.WriteString("<")
				w.WriteString(strconv.FormatInt(it.offset, 10))
				w.WriteString(">")
			}
			w.WriteByte(' ')
			if err := ss.writeSection(&msg, it.section, it.partial, it.offset, it.count); err != nil {
				return err
			}
			continue
		}
		w.Write(b)
	}
	w.WriteString(")\r\n")
	return nil
}

// sizeCacher is implemented by mailboxes that keep each message's RFC822.SIZE once
// measured, across sessions (maildirstore keeps it in its index).
type sizeCacher interface {
	VirtualSize(uid store.UID, measure func() (int64, error)) (int64, error)
}

// messageSize returns a message's RFC822.SIZE: the size of the message with CRLF line ends
// (RFC 3501 §6.4.5), as the MIME parser counts it (a line ending counts as CRLF, as Courier's
// rfc2045 does). That is neither the size of the stored file (Courier stores LF line ends)
// nor its ",S=" field (the same LF size, for quotas): it needs the line count, so the message
// is read once, then the store's cache answers. root, when the message is already parsed,
// saves the read.
func (ss *session) messageSize(mb store.Mailbox, uid store.UID, root *mime.Part) (int64, error) {
	measure := func() (int64, error) {
		if root != nil {
			return root.Size, nil
		}
		c, err := mb.OpenMessage(uid)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return measureContent(c)
	}
	if sc, ok := mb.(sizeCacher); ok {
		n, err := sc.VirtualSize(uid, measure)
		if err != nil {
			return 0, fmt.Errorf("size of UID %d: %w", uid, err)
		}
		return n, nil
	}
	return measure()
}

// measureContent computes RFC822.SIZE from a message's content.
func measureContent(c store.Content) (int64, error) {
	root, err := mime.Parse(c, c.Size())
	if err != nil {
		return 0, fmt.Errorf("parse message: %w", err)
	}
	return root.Size, nil
}

// writeSection writes a body section as a literal, streaming it from the message.
func (ss *session) writeSection(msg *message, sec bodystruct.Section, partial bool, off, count int64) error {
	length := int64(-1)
	if partial {
		length = count
	} else {
		off = 0
	}
	r, size, err := bodystruct.OpenPartial(msg.c, msg.root, sec, off, length)
	if err != nil {
		return err
	}
	return ss.writeLiteral(r, size)
}

// writeLiteral writes size bytes from r as a literal.
func (ss *session) writeLiteral(r io.Reader, size int64) error {
	ss.w.WriteString("{")
	ss.w.WriteString(strconv.FormatInt(size, 10))
	ss.w.WriteString("}\r\n")
	n, err := io.CopyN(ss.w, r, size)
	if err != nil && ss.werr == nil {
		// The message changed under us: pad the literal so the client stays in step; the
		// caller reports the failure.
		for ; n < size; n++ {
			ss.w.WriteByte(' ')
		}
	}
	return err
}

// unavailableText is what Courier-IMAP returns in place of a message that another session
// expunged after this one was told about it (RFC 2180 §4.1.3 allows this as well as a NO;
// Dovecot too answers without NO): a FETCH of it succeeds, with this message as its content.
const unavailableText = "From: System Administrator <root@localhost>\r\n" +
	"Subject: message unavailable\r\n" +
	"\r\n" +
	"This message is no longer available on the server.\r\n"

// memContent is a store.Content held in memory.
type memContent struct{ *bytes.Reader }

func (memContent) Close() error { return nil }

// unavailableMessage returns Courier's stand-in for an expunged message (unavailableText).
func unavailableMessage() store.Content {
	return memContent{bytes.NewReader([]byte(unavailableText))}
}
