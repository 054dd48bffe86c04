package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"courier/internal/queue"
	"courier/internal/smtp/wire"
)

// errHeaderTooBig: the header block exceeds MaxHeader (Courier's BOFHHEADERLIMIT).
var errHeaderTooBig = wire.R(552, "5.3.4", "Message header too large.")

// checkTransaction says whether DATA or BDAT may start.
func (ss *session) checkTransaction() *wire.Reply {
	switch {
	case ss.mail == nil:
		return wire.R(503, "5.5.1", "Send MAIL first.")
	case len(ss.rcpts) == 0:
		return wire.R(554, "5.5.1", "No valid recipients.")
	}
	return nil
}

// begin creates the queue file and the builder for the message.
func (ss *session) begin() (*builder, *wire.Reply) {
	m := ss.mail
	env := &queue.Envelope{
		From: m.From.String(), Rcpts: ss.rcpts, Body: m.Body, SMTPUTF8: m.SMTPUTF8, Ret: m.Ret, EnvID: m.EnvID,
		AuthUser: ss.authUser, RemoteIP: ss.c.Remote, Helo: ss.helo, Protocol: ss.protocol(), Time: ss.s.o.Now(),
		RequireTLS: m.RequireTLS, RelayClient: ss.relay,
	}
	w, err := ss.s.o.Queue.Create(env)
	if err != nil {
		ss.log.Error("queue: cannot create a message", "err", err)
		return nil, wire.R(451, "4.3.0", "Cannot queue the message now, try again later.")
	}
	b := &builder{w: w, maxHeader: ss.st.MaxHeader, inHeader: true,
		addMsgID: ss.st.AddMessageID, addDate: ss.st.AddDate, host: ss.st.Hostname, now: env.Time,
		tee: ss.teeBuffer()}
	b.received(ss, env)
	return b, nil
}

// cmdData receives a message with DATA (RFC 5321 section 4.1.1.4). False ends the session.
func (ss *session) cmdData(arg string) bool {
	if arg != "" {
		ss.replyf(501, "5.5.4", "DATA takes no argument.")
		return !ss.badCommand()
	}
	if r := ss.checkTransaction(); r != nil {
		ss.reply(r)
		return !ss.badCommand()
	}
	b, rep := ss.begin()
	if rep != nil {
		ss.reply(rep)
		return true
	}
	ss.replyf(354, "", "Ok.")
	if err := ss.flush(); err != nil {
		b.abort()
		return false
	}
	dr := wire.NewDataReader(ss.br, wire.Limits{MaxLine: ss.st.MaxLine, MaxSize: ss.st.MaxSize})
	dl := &deadline{c: ss.c, d: ss.st.Timeout}
	var bad error
	for {
		dl.touch()
		line, err := dr.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			bad = err
			break
		}
		if err := b.line(line); err != nil {
			bad = err
			break
		}
	}
	if bad != nil {
		b.abort()
		var r *wire.Reply
		if !errors.As(bad, &r) {
			// the connection failed mid-message: nothing was acknowledged, nothing is kept
			ss.log.Info("connection lost during DATA; message discarded", "err", bad)
			return false
		}
		if err := dr.Drain(); err != nil {
			ss.log.Info("connection lost during DATA; message discarded", "err", err)
			return false
		}
		ss.log.Info("message refused", "reason", r.Error(), "size", dr.Size())
		ss.reply(r)
		ss.resetTransaction()
		return true
	}
	ss.finish(b)
	return true
}

// finish commits the message and answers.
func (ss *session) finish(b *builder) {
	id := b.w.ID()
	if b.tee != nil {
		// The local content filters see the message as it is queued, before the final
		// reply (localmailfilter(7)); a refusal throws the message away.
		if b.inHeader {
			b.endHeader()
		}
		if rep := ss.contentFilter(b.tee.Bytes()); rep != nil {
			b.abort()
			ss.reply(rep)
			ss.resetTransaction()
			return
		}
		b.tee = nil
	}
	if err := b.finish(); err != nil {
		var r *wire.Reply
		if errors.As(err, &r) {
			ss.reply(r)
		} else {
			ss.log.Error("queue: commit failed", "id", id, "err", err)
			ss.replyf(451, "4.3.0", "Cannot queue the message now, try again later.")
		}
		ss.resetTransaction()
		return
	}
	ss.log.Info("message queued", "id", id, "from", ss.mail.From.String(), "rcpts", len(ss.rcpts), "size", b.size, "auth", ss.authUser)
	ss.replyf(250, "2.0.0", "Ok. %s", id)
	ss.resetTransaction()
}

// bdatState is a message being received in BDAT chunks (RFC 3030).
type bdatState struct {
	b   *builder
	cr  *wire.ChunkReader
	err *wire.Reply // the transaction failed; later chunks are read and dropped
}

func (bs *bdatState) abort() {
	if bs.b != nil {
		bs.b.abort()
		bs.b = nil
	}
}

// parseBdat parses "size [LAST]".
func parseBdat(arg string) (int64, bool, bool) {
	f := strings.Fields(arg)
	if len(f) < 1 || len(f) > 2 {
		return 0, false, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 || len(f[0]) > 18 {
		return 0, false, false
	}
	if len(f) == 2 && !strings.EqualFold(f[1], "LAST") {
		return 0, false, false
	}
	return n, len(f) == 2, true
}

// discardChunk reads the data of a refused BDAT so the session stays in step.
func (ss *session) discardChunk(arg string) bool {
	n, _, ok := parseBdat(arg)
	if !ok {
		return true
	}
	return ss.discardN(n) == nil
}

// cmdBdat receives one chunk. False ends the session.
func (ss *session) cmdBdat(arg string) bool {
	n, last, ok := parseBdat(arg)
	if !ok {
		// we cannot know how much to skip: the session cannot continue in step
		ss.replyf(501, "5.5.4", "Syntax: BDAT size [LAST].")
		ss.replyf(421, "4.5.0", "Closing connection.")
		return false
	}
	if ss.bdat == nil {
		if r := ss.checkTransaction(); r != nil {
			if ss.discardN(n) != nil {
				return false
			}
			ss.reply(r)
			return !ss.badCommand()
		}
		ss.bdat = &bdatState{cr: wire.NewChunkReader(wire.Limits{MaxLine: ss.st.MaxLine, MaxSize: ss.st.MaxSize})}
		b, rep := ss.begin()
		if rep != nil {
			ss.bdat.err = rep
		} else {
			ss.bdat.b = b
		}
	}
	bs := ss.bdat
	dl := &deadline{c: ss.c, d: ss.st.Timeout}
	buf := make([]byte, min(n, 32<<10))
	emit := func(line []byte) error {
		if bs.err != nil || bs.b == nil {
			return nil
		}
		if err := bs.b.line(line); err != nil {
			var r *wire.Reply
			if errors.As(err, &r) {
				bs.err = r
				return nil
			}
			return err
		}
		return nil
	}
	for rem := n; rem > 0; {
		dl.touch()
		k, err := io.ReadFull(ss.br, buf[:min(rem, int64(len(buf)))])
		rem -= int64(k)
		if err != nil {
			ss.log.Info("connection lost during BDAT; message discarded", "err", err)
			ss.resetTransaction()
			return false
		}
		if bs.err == nil {
			if err := bs.cr.Write(buf[:k], emit); err != nil {
				bs.err = wire.R(451, "4.3.0", "Cannot queue the message now, try again later.")
				ss.log.Error("queue: write failed", "err", err)
			}
			if e := bs.cr.Err(); e != nil && bs.err == nil {
				var r *wire.Reply
				errors.As(e, &r)
				bs.err = r
			}
		}
	}
	if !last {
		if bs.err != nil {
			ss.reply(bs.err)
			return true
		}
		ss.replyf(250, "2.0.0", "%d octets received.", n)
		return true
	}
	if bs.err == nil {
		_ = bs.cr.Close(emit)
		if e := bs.cr.Err(); e != nil {
			var r *wire.Reply
			errors.As(e, &r)
			bs.err = r
		}
	}
	if bs.err != nil {
		ss.reply(bs.err)
		ss.resetTransaction()
		return true
	}
	b := bs.b
	bs.b = nil // finish owns it now
	ss.bdat = nil
	ss.finish(b)
	return true
}

// builder writes a message into the queue: the Received: line first, then the header block
// (held in memory until its end, to add Message-ID: and Date: where missing), then the body.
type builder struct {
	w         MessageWriter
	inHeader  bool
	hdr       []byte
	maxHeader int
	sawMsgID  bool
	sawDate   bool
	addMsgID  bool
	addDate   bool
	host      string
	now       time.Time
	size      int64
	done      bool
	tee       *bytes.Buffer // a copy of the message for the content filters; nil: none
}

// received writes the trace header (RFC 5321 section 4.4, RFC 3848).
func (b *builder) received(ss *session, env *queue.Envelope) {
	var h strings.Builder
	fmt.Fprintf(&h, "Received: from %s ([%s])\n", clean(ss.helo, 255), ss.c.Remote)
	if ss.authUser != "" {
		fmt.Fprintf(&h, "  (AUTH: %s %s)\n", ss.authMech, clean(ss.authUser, 255))
	}
	if ss.tls() {
		cs := ss.c.TLS.ConnectionState()
		fmt.Fprintf(&h, "  (using %s with cipher %s)\n", tlsVersion(cs.Version), tlsCipher(cs.CipherSuite))
	}
	fmt.Fprintf(&h, "  by %s with %s\n  id %s; %s\n", b.host, env.Protocol, b.w.ID(), env.Time.Format(time.RFC1123Z))
	b.write([]byte(h.String()))
}

func (b *builder) write(p []byte) {
	b.size += int64(len(p))
	if b.tee != nil {
		b.tee.Write(p)
	}
	_, _ = b.w.Write(p) // a write error is sticky and reported by Commit
}

// line takes one line of content (ending in "\n").
func (b *builder) line(l []byte) error {
	if !b.inHeader {
		b.write(l)
		return nil
	}
	isField := false
	if len(l) > 1 && (l[0] == ' ' || l[0] == '\t') {
		isField = len(b.hdr) > 0 // a continuation
	} else if i := bytes.IndexByte(l, ':'); i > 0 && bytes.IndexAny(l[:i], " \t") < 0 {
		isField = true
		name := l[:i]
		switch {
		case bytes.EqualFold(name, []byte("Message-ID")):
			b.sawMsgID = true
		case bytes.EqualFold(name, []byte("Date")):
			b.sawDate = true
		}
	}
	if !isField {
		b.endHeader()
		b.write(l)
		return nil
	}
	if len(b.hdr)+len(l) > b.maxHeader {
		return errHeaderTooBig
	}
	b.hdr = append(b.hdr, l...)
	return nil
}

// endHeader writes the added fields and the held header block.
func (b *builder) endHeader() {
	b.inHeader = false
	if b.addDate && !b.sawDate {
		b.write([]byte("Date: " + b.now.Format(time.RFC1123Z) + "\n"))
	}
	if b.addMsgID && !b.sawMsgID {
		b.write([]byte("Message-ID: <courier." + b.w.ID() + "@" + b.host + ">\n"))
	}
	b.write(b.hdr)
	b.hdr = nil
}

// finish commits the message.
func (b *builder) finish() error {
	if b.inHeader {
		b.endHeader()
	}
	b.done = true
	return b.w.Commit()
}

func (b *builder) abort() {
	if !b.done {
		b.done = true
		b.w.Abort()
	}
}
