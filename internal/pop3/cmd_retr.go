package pop3

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// cmdRETR sends a whole message (RFC 1939 §5) and marks it seen, as Courier does.
func (ss *session) cmdRETR(c Command) {
	i, ok := ss.message(c.Args)
	if !ok {
		return
	}
	rc, ok := ss.openMessage(i)
	if !ok {
		return
	}
	ss.growWriter()
	ss.reply("+OK " + strconv.FormatInt(ss.msgs[i].Size, 10) + " octets follow.")
	ss.prefetchAfter(i)
	n, err := ss.sendMessage(rc, -1)
	rc.Close()
	ss.retrBytes += n
	if err != nil {
		ss.abortMessage(i, err)
		return
	}
	// The S flag is set when the session ends (finish), after the last reply has gone out,
	// so that no download waits for a rename; the Maildir ends up as Courier leaves it.
	ss.seen = append(ss.seen, i)
}

// cmdTOP sends a message's header and the first lines of its body (RFC 1939 §7).
func (ss *session) cmdTOP(c Command) {
	i, ok := ss.message(c.Args)
	if !ok {
		return
	}
	if len(c.Args) < 2 {
		ss.reply(errInvalidCommand)
		return
	}
	lines := parseLines(c.Args[1])
	rc, ok := ss.openMessage(i)
	if !ok {
		return
	}
	ss.growWriter()
	ss.reply("+OK headers follow.")
	n, err := ss.sendMessage(rc, lines)
	rc.Close()
	ss.topBytes += n
	if err != nil {
		ss.abortMessage(i, err)
	}
}

// prefetchWindow is how many messages past the one being downloaded are read ahead.
const prefetchWindow = 4

// prefetchAfter hints the maildrop to read the messages after i that are not deleted.
func (ss *session) prefetchAfter(i int) {
	p, ok := ss.md.(Prefetcher)
	if !ok {
		return
	}
	start := max(i+1, ss.prefetched+1)
	for j := start; j <= i+prefetchWindow && j < len(ss.msgs); j++ {
		if !ss.deleted[j] {
			p.Prefetch(j)
		}
		ss.prefetched = j
	}
}

// openMessage opens message i or answers why it cannot.
func (ss *session) openMessage(i int) (io.ReadCloser, bool) {
	rc, err := ss.md.Open(i)
	if err == nil {
		return rc, true
	}
	if errors.Is(err, ErrGone) {
		ss.reply("-ERR Can't open the message file - it's gone!")
	} else {
		ss.log.Error("cannot open a message", "msg", i+1, "err", err)
		ss.reply("-ERR [SYS/TEMP] Cannot read the message, try again later.")
	}
	return nil, false
}

// abortMessage ends a multi-line reply that failed half way. After a read error the reply is
// cut short with its terminator, so the client stays in step; a write error ends the session
// anyway.
func (ss *session) abortMessage(i int, err error) {
	if ss.werr != nil {
		return
	}
	ss.log.Error("reading a message failed", "msg", i+1, "err", err)
	ss.reply("")
	ss.reply(".")
}

// sendMessage streams a stored message as a multi-line response body: every LF becomes CRLF
// (a CR already there is sent as it is, as Courier sends it), every line starting with "."
// gets another (RFC 1939 §3), a missing final line end is added, and the terminating "."
// follows. lines < 0 sends everything; otherwise (TOP) the header, the empty line after it
// and then at most lines lines of the body. The header ends at the first empty line; a
// message without one is all header. It returns the octets of the message sent.
func (ss *session) sendMessage(r io.Reader, lines int64) (int64, error) {
	w := ss.w
	var (
		sent      int64
		lineStart = true
		inHeader  = lines >= 0
		lastLF    = false
		body      int64
		done      = false
		werr      error
	)
	write := func(p []byte) {
		if werr == nil {
			var n int
			n, werr = w.Write(p)
			sent += int64(n)
		}
	}
	writeString := func(s string) {
		if werr == nil {
			var n int
			n, werr = w.WriteString(s)
			sent += int64(n)
		}
	}
	// feed sends the next piece p of the message, a run of whole lines at a time.
	feed := func(p []byte) {
		for len(p) > 0 && !done && werr == nil {
			if lineStart {
				if lines >= 0 && !inHeader && body >= lines {
					done = true
					return
				}
				if p[0] == '.' {
					writeString(".")
				}
			}
			nl := bytes.IndexByte(p, '\n')
			if nl < 0 {
				write(p)
				lineStart, lastLF = false, false
				return
			}
			if inHeader && lineStart && nl == 0 {
				// The empty line that ends the header is sent; body lines count from here.
				inHeader = false
			} else if !inHeader {
				body++
			}
			write(p[:nl])
			writeString("\r\n")
			lineStart, lastLF = true, true
			p = p[nl+1:]
		}
	}
	if m, ok := r.(interface{ Bytes() []byte }); ok {
		// Already in memory (read ahead): no copy through buf.
		feed(m.Bytes())
	} else {
		bp := ss.srv.bufs.Get().(*[]byte)
		defer ss.srv.bufs.Put(bp)
		buf := *bp
		for !done && werr == nil {
			n, rerr := r.Read(buf)
			feed(buf[:n])
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return sent, rerr
			}
		}
	}
	if !lastLF {
		writeString("\r\n")
	}
	writeString(".\r\n")
	ss.sent += sent
	if werr != nil {
		ss.werr = werr
	}
	return sent, nil
}
