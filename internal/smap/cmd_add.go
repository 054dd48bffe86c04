package smap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"courier/internal/store"
)

// maxAddSize caps a message uploaded with ADD; a larger upload is read and dropped.
const maxAddSize = 256 << 20

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

// upload reads the message after "> Go ahead" and stores and sends it.
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
	msg, err := s.readUpload(format)
	if err != nil {
		return err
	}
	if len(msg) > maxAddSize {
		s.writes("-ERR File too large\n")
		return nil
	}
	if len(s.add.rcpts) > 0 {
		if s.cfg.Sendmail == nil {
			s.writes("-ERR Sending mail is not available on this server.\n")
			return nil
		}
		if err := s.cfg.Sendmail(s.ctx, s.add.from, s.add.rcpts, s.add.notify, bytes.NewReader(msg)); err != nil {
			s.writes("-ERR " + firstLine(err.Error()) + "\n")
			return nil
		}
	}
	if mb != nil {
		uid, err := mb.Append(bytes.NewReader(msg), store.AppendOptions{Flags: s.add.flags, Keywords: s.add.keywords, Date: s.add.date})
		if err != nil {
			s.writes("-ERR " + errText(err) + "\n")
			return nil
		}
		s.writes(`* ADD "UID=` + quoteBody(uidString(mb, uid)) + "\"\n")
	}
	s.writes("+OK Message saved\n")
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// readUpload reads an uploaded message, dropping every CR as Courier does. A message that
// does not end with a line end gets one, and an empty message is one empty line.
//
// Dot-terminated form: a line "." ends the message and one leading dot of any other line
// is removed. Courier 5.0.13 removes every leading dot of a line (and takes ".." alone for
// the end), which corrupts dot-stuffed lines; we unstuff as SMTP does (RFC 5321 §4.5.2).
func (s *session) readUpload(format string) ([]byte, error) {
	var buf bytes.Buffer
	limited := func() bool { return buf.Len() > maxAddSize }
	if strings.HasPrefix(format, ".") {
		for {
			line, err := s.r.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// A long line: keep it whole.
				rest := append([]byte(nil), line...)
				for errors.Is(err, bufio.ErrBufferFull) {
					line, err = s.r.ReadSlice('\n')
					rest = append(rest, line...)
				}
				line = rest
			}
			if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
				return nil, fmt.Errorf("smap: upload: %w", err)
			}
			l := bytes.ReplaceAll(line, []byte{'\r'}, nil)
			if bytes.Equal(l, []byte(".\n")) || (errors.Is(err, io.EOF) && bytes.Equal(l, []byte("."))) {
				break
			}
			if len(l) > 0 && l[0] == '.' {
				l = l[1:]
			}
			if !limited() {
				buf.Write(l)
			}
			if err != nil {
				return nil, fmt.Errorf("smap: upload: %w", err)
			}
		}
	} else {
		for {
			n, ok := leadingNumber(format)
			if !ok {
				break
			}
			for n > 0 {
				chunk := min(n, 64<<10)
				b := make([]byte, chunk)
				if _, err := io.ReadFull(s.r, b); err != nil {
					return nil, fmt.Errorf("smap: upload: %w", err)
				}
				if !limited() {
					buf.Write(bytes.ReplaceAll(b, []byte{'\r'}, nil))
				}
				n -= chunk
			}
			line, err := s.readLine()
			if err != nil {
				return nil, fmt.Errorf("smap: upload: %w", err)
			}
			format = line
		}
	}
	if buf.Len() == 0 || buf.Bytes()[buf.Len()-1] != '\n' {
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
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
