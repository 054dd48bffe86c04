package smap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"courier/internal/store"
)

// addState is what ADD lines have set so far. It lives until a message is stored or a
// command other than ADD arrives.
type addState struct {
	folder   string // IMAP name; "" means none
	rights   string
	flags    store.Flags
	keywords []string
	date     time.Time
	from     string
	notify   string
	rcpts    []string
}

func (a *addState) reset() { *a = addState{} }

// cmdAdd is ADD word…: FOLDER path, FLAGS=, KEYWORDS=, INTERNALDATE=, MAILFROM=, RCPTTO=,
// NOTIFY= set up the message; "{.}" (dot-terminated, dot-stuffed lines) or "{N}" (N bytes,
// then a line with the size of the next piece or an empty line) uploads it after
// "> Go ahead", stores it in the folder and sends it when recipients were given.
func (s *session) cmdAdd(w *words) error {
	okmsg := "So far, so good..."
	for {
		p := w.next()
		if p == "" {
			break
		}
		key, val, hasVal := strings.Cut(p, "=")
		key = upper(key)
		switch {
		case key == "FOLDER":
			name, err := s.folder(w)
			if err != nil {
				s.add.folder = ""
				s.writes("-ERR Invalid folder: " + errText(err) + "\n")
				return nil
			}
			r, err := s.rightsOf(name)
			if err != nil {
				s.writes("-ERR Invalid folder: " + errText(err) + "\n")
				return nil
			}
			s.add.rights = filterRights(r, "itsw")
			if !strings.Contains(s.add.rights, "i") {
				s.add.folder = ""
				s.accessDenied("i")
				return nil
			}
			s.add.folder = name
			okmsg = "Will add to this folder"
		case key == "MAILFROM" && hasVal:
			s.add.from = val
			okmsg = "MAIL FROM set"
		case key == "NOTIFY" && hasVal:
			s.add.notify = val
			okmsg = "NOTIFY set"
		case key == "RCPTTO" && hasVal:
			s.add.rcpts = append(s.add.rcpts, val)
			okmsg = "RCPT TO set"
		case key == "FLAGS" && hasVal:
			s.add.flags = allowedFlags(parseFlagList(val), s.add.rights)
			okmsg = "FLAGS set"
		case key == "KEYWORDS" && hasVal && s.keywords && strings.Contains(s.add.rights, "w"):
			s.add.keywords = parseKeywordList(val)
			okmsg = "KEYWORDS set"
		case key == "INTERNALDATE" && hasVal:
			if t, err := mail.ParseDate(val); err == nil {
				s.add.date = t
				okmsg = "INTERNALDATE set"
			}
		case strings.HasPrefix(p, "{"):
			err := s.upload(p[1:])
			s.add.reset()
			return err
		}
	}
	s.writes("+OK " + okmsg + "\n")
	return nil
}

// upload reads the message after "> Go ahead" and stores and sends it. The message is
// streamed from the client into the folder (or, to be sent as well, into an unlinked
// temporary file), so memory stays small whatever the client sends; APPENDLIMIT bounds
// what is kept. However the upload goes, it is read to its end so the session stays in
// step; only a broken connection ends the session.
func (s *session) upload(format string) error {
	var mb store.Mailbox
	if s.add.folder != "" {
		var err error
		if mb, err = s.st.Open(s.add.folder); err != nil {
			s.writes("-ERR " + errText(err) + "\n")
			return nil
		}
		defer func() {
			if err := mb.Close(); err != nil {
				s.log.Warn("smap: close add target", "err", err)
			}
		}()
	}
	s.writes("> Go ahead\n")
	if err := s.flush(); err != nil {
		return err
	}
	u := s.newUpload(format)
	opt := store.AppendOptions{Flags: s.add.flags, Keywords: s.add.keywords, Date: s.add.date}
	var (
		uid store.UID
		err error // what went wrong, for the client
	)
	switch {
	case len(s.add.rcpts) > 0 && s.cfg.Sendmail == nil:
		err = errNoSendmail
	case len(s.add.rcpts) > 0:
		uid, err = s.sendAndSave(u, mb, opt)
	case mb != nil:
		uid, err = mb.Append(u, opt)
	}
	if rerr := u.drain(); rerr != nil {
		// The client went away: a message stored from a cut upload would be a fragment.
		if err == nil && uid != 0 {
			_, _ = mb.Expunge([]store.UID{uid})
		}
		return rerr
	}
	var se *sendError
	switch {
	case u.tooBig:
		s.writes("-ERR File too large (APPENDLIMIT is " + strconv.FormatInt(s.appendLimit, 10) + " bytes)\n")
	case errors.Is(err, errNoSendmail):
		s.writes("-ERR Sending mail is not available on this server.\n")
	case errors.As(err, &se):
		s.writes("-ERR " + firstLine(se.err.Error()) + "\n")
	case err != nil:
		s.log.Info("smap: add", "folder", s.add.folder, "err", err)
		s.writes("-ERR " + errText(err) + "\n")
	default:
		if mb != nil {
			s.writes(`* ADD "UID=` + quoteBody(s.newUIDStrings(mb, []store.UID{uid})[0]) + "\"\n")
		}
		s.writes("+OK Message saved\n")
	}
	return nil
}

// errNoSendmail refuses an ADD with recipients when sending is not configured.
var errNoSendmail = errors.New("smap: sending is not available")

// sendError is Sendmail's refusal, shown to the client as it is.
type sendError struct{ err error }

func (e *sendError) Error() string { return "smap: send: " + e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// sendAndSave spools the upload to an unlinked temporary file (the message is read twice),
// sends it, then stores it in mb when a folder was given: sent first, so a message the
// mail system refuses is not saved either.
func (s *session) sendAndSave(u *upload, mb store.Mailbox, opt store.AppendOptions) (store.UID, error) {
	f, err := os.CreateTemp("", "smap-add-*")
	if err != nil {
		return 0, fmt.Errorf("smap: spool: %w", err)
	}
	// Unlinked at once: nothing is left behind however the session ends.
	_ = os.Remove(f.Name())
	defer f.Close()
	if _, err := io.Copy(f, u); err != nil {
		return 0, fmt.Errorf("smap: spool: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("smap: spool: %w", err)
	}
	if err := s.cfg.Sendmail(s.ctx, s.add.from, s.add.rcpts, s.add.notify, f); err != nil {
		return 0, &sendError{err}
	}
	if mb == nil {
		return 0, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("smap: spool: %w", err)
	}
	return mb.Append(f, opt)
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// errTooBig stops an upload that grew past APPENDLIMIT; the store then keeps nothing.
var errTooBig = errors.New("smap: message larger than APPENDLIMIT")

// upload decodes an uploaded message as it arrives; it is the io.Reader the store reads.
// It holds at most one read buffer of the client's input and its decoded copy, however
// long the message's lines are.
//
// Line ends: a CR right before an LF is dropped (CRLF becomes LF, as the store keeps
// messages); any other CR is kept. Courier 5.0.13 drops every CR of an upload, which
// changes the content of a message that has a bare CR; we consider that a bug and keep
// it, as IMAP APPEND does. A message that does not end with a line end gets one (a CR at
// its very end is taken as the start of that line end), and an empty message is one
// empty line.
//
// Dot-terminated form ("{.}"): a line "." ends the message and one leading dot of any other
// line is removed. Courier 5.0.13 removes every leading dot of a line (and takes ".." alone
// for the end), which corrupts dot-stuffed lines; we unstuff as SMTP does (RFC 5321
// §4.5.2). Counted form ("{N…"): N bytes, then a line whose leading number is the size of
// the next piece; a line without one ends the message.
type upload struct {
	s     *session
	r     *bufio.Reader
	dot   bool  // dot-terminated form
	limit int64 // APPENDLIMIT

	bol      bool   // dot form: the next input starts a line
	format   string // counted form: the line that sizes the next piece
	needLine bool   // counted form: a piece was read; its successor's size line comes next
	remain   int64  // counted form: bytes left of the current piece

	cr     bool  // a CR held back: dropped if an LF follows
	lastLF bool  // the last byte produced is an LF
	n      int64 // bytes produced
	end    bool  // the message's end was read and its last bytes produced
	tooBig bool  // more than limit bytes: the rest is read and dropped
	err    error // the client's input failed (end of input included): the session ends

	buf []byte // decoded bytes of the last input read
	out []byte // what of buf Read has not returned yet
}

func (s *session) newUpload(format string) *upload {
	return &upload{s: s, r: s.r, dot: strings.HasPrefix(format, "."), format: format, bol: true, limit: s.appendLimit}
}

// Read implements io.Reader. It fails with errTooBig past the limit and with the input's
// error when the client's input ends or breaks before the message does, so a store never
// takes a cut message for a whole one.
func (u *upload) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		switch {
		case u.err != nil:
			return 0, u.err
		case u.tooBig:
			return 0, errTooBig
		case u.end:
			return 0, io.EOF
		}
		u.fill()
		if !u.tooBig {
			u.out = u.buf
		}
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

// drain reads what is left of the upload (all of it when nothing read it) and drops it.
// It returns the input's error if the client's input ended or broke first.
func (u *upload) drain() error {
	for !u.end && u.err == nil {
		u.fill()
	}
	u.out = nil
	return u.err
}

// fill decodes the next read of input into buf (possibly nothing).
func (u *upload) fill() {
	u.buf = u.buf[:0]
	if u.dot {
		u.fillDot()
	} else {
		u.fillCounted()
	}
	if len(u.buf) > 0 {
		u.lastLF = u.buf[len(u.buf)-1] == '\n'
	}
	if u.end {
		// A CR left at the very end ends a last line without LF: it becomes the line end
		// that line gets.
		if u.cr || !u.lastLF {
			u.buf = append(u.buf, '\n')
		}
		u.cr, u.lastLF = false, true
	}
	// Counted here rather than in Read so that an upload nobody stores (ADD without
	// FOLDER) is held to the same limit.
	u.n += int64(len(u.buf))
	if u.n > u.limit {
		u.tooBig = true
	}
}

func (u *upload) fillDot() {
	line, err := u.r.ReadSlice('\n')
	if u.bol && len(line) > 0 && line[0] == '.' {
		rest := line[1:]
		// At the end of input a last "." without its line end still ends the message.
		if (err == nil && (string(rest) == "\n" || string(rest) == "\r\n")) ||
			(errors.Is(err, io.EOF) && (len(rest) == 0 || string(rest) == "\r")) {
			u.end = true
			return
		}
		line = rest
	}
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		// Part of a long line: decoded as it comes, never held whole.
		u.bol = false
	case err != nil:
		u.err = fmt.Errorf("smap: upload: %w", err)
		return
	default:
		u.bol = true
	}
	u.emit(line)
}

func (u *upload) fillCounted() {
	if u.remain == 0 {
		if u.needLine {
			line, err := u.s.readLine()
			if err != nil {
				u.err = fmt.Errorf("smap: upload: %w", err)
				return
			}
			u.format = line
		}
		n, ok := leadingNumber(u.format)
		if !ok {
			u.end = true
			return
		}
		u.remain, u.needLine = n, true
		if n == 0 {
			return
		}
	}
	if _, err := u.r.Peek(1); err != nil {
		u.err = fmt.Errorf("smap: upload: %w", err)
		return
	}
	k := int(min(u.remain, int64(u.r.Buffered())))
	b, _ := u.r.Peek(k)
	u.emit(b)
	_, _ = u.r.Discard(k)
	u.remain -= int64(k)
}

// emit appends b to buf, dropping each CR that comes right before an LF (also across two
// reads).
func (u *upload) emit(b []byte) {
	for len(b) > 0 {
		if u.cr {
			u.cr = false
			if b[0] != '\n' {
				u.buf = append(u.buf, '\r')
			}
		}
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			u.buf = append(u.buf, b...)
			return
		}
		u.buf = append(u.buf, b[:i]...)
		u.cr = true
		b = b[i+1:]
	}
}

// leadingNumber parses the decimal number at the start of s (after spaces), as sscanf %lu.
func leadingNumber(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 12 {
		return 0, false
	}
	v, err := strconv.ParseInt(s[:i], 10, 64)
	return v, err == nil
}
