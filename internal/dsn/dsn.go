// Package dsn writes delivery status notifications: RFC 3464 multipart/report messages
// that tell a sender what became of some recipients of a message (failed, delayed,
// delivered). The human-readable part is made of Courier's templates (dsnheader.txt,
// dsnfailed.txt, …, read from the configuration directory when present, so an
// administrator's wording carries over from Courier), the machine part is the
// message/delivery-status of RFC 3464 (message/global-delivery-status of RFC 6533 when an
// address is not ASCII), and the original follows whole or as its header, as RET= and
// dsnlimit decide.
//
// The output uses LF line endings, as the queue stores messages.
package dsn

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Action is what happened to a recipient (RFC 3464 §2.3.3).
type Action string

// Actions.
const (
	Failed    Action = "failed"
	Delayed   Action = "delayed"
	Delivered Action = "delivered"
	Relayed   Action = "relayed"
)

// Recipient is the status of one recipient.
type Recipient struct {
	Final string // the address the status is about (Final-Recipient)
	// Original is the ORCPT= parameter, xtext-decoded ("rfc822;user@example.com"), or "".
	Original   string
	Action     Action
	Status     string    // RFC 3463 code, "5.1.1"
	Diagnostic string    // why, in words (Diagnostic-Code)
	LastTry    time.Time // Last-Attempt-Date; zero: none
	RetryUntil time.Time // Will-Retry-Until (delayed only); zero: none
	// RemoteMTA and SMTPReply, when another server answered: its name (Remote-MTA) and its
	// reply as sent ("550 5.1.1 <x@y>: unknown user"), which becomes an "smtp" Diagnostic-Code.
	RemoteMTA string
	SMTPReply string
}

// Report is one notification.
type Report struct {
	MTA          string    // the reporting host (me)
	From         string    // the From: header's value; "" gives DefaultFrom(MTA)
	To           string    // whom it goes to: the envelope sender of the original
	EnvID        string    // ENVID= of the original, xtext-decoded, or ""
	Arrival      time.Time // when the original was received
	ReceivedFrom string    // where it came from, in words ("localhost (127.0.0.1)")
	Date         time.Time // of the notification; zero: now
	Rcpts        []Recipient
	// Full asks for the whole original (RET=FULL, or a failure without RET=HDRS); an
	// original larger than Limit is returned as its header only all the same.
	Full  bool
	Limit int64 // dsnlimit; 0: DefaultLimit
	// Templates are the texts of the human-readable part; zero fields take the defaults.
	Templates Templates
}

// DefaultLimit is Courier's dsnlimit default: originals up to 32 KB are returned whole.
const DefaultLimit = 32 << 10

// DefaultFrom is the From: header of notifications when dsnfrom is missing: Courier's
// display name, with MAILER-DAEMON@me instead of Courier's "<@>" (not a valid address,
// and shown as garbage by some clients), as Postfix and most MTAs do.
func DefaultFrom(mta string) string {
	return `"Courier mail server at ` + mta + `" <MAILER-DAEMON@` + mta + `>`
}

// Templates are the texts Courier keeps in dsn*.txt. Header may begin with MIME header
// lines of the text part (Courier's does: "Content-Type: text/plain; charset=…"), which
// are used as they are; [#ME#], [#FROMTIME#] and [#FROMMTA#] in it are replaced.
type Templates struct {
	Header, Failed, Delayed, Delivered, Relayed, Footer string
	SubjectNotice, SubjectWarn                          string
}

// Default is the wording used when the configuration has no dsn*.txt files.
var Default = Templates{
	Header: "Content-Type: text/plain; charset=\"utf-8\"\n\n\n" +
		"This is a delivery status notification from [#ME#].\n\n" +
		"The original message was received on [#FROMTIME#]\nfrom [#FROMMTA#]\n",
	Failed: "\n" + rule + "\n" +
		"                         DELIVERY FAILED\n\n" +
		"Your message could not be delivered to the following recipients, and no\n" +
		"further attempts will be made:\n",
	Delayed: "\n" + rule + "\n" +
		"                         DELIVERY DELAYED\n\n" +
		"Your message has not been delivered yet to the following recipients. This\n" +
		"is only a warning: delivery will be tried again, and you need do nothing\n" +
		"now. You will be told if it fails for good.\n",
	Delivered: "\n" + rule + "\n" +
		"                         MESSAGE DELIVERED\n\n" +
		"You asked to be told when your message was delivered. It was delivered\n" +
		"to the following recipients:\n",
	Relayed: "\n" + rule + "\n" +
		"                  MESSAGE PASSED TO ANOTHER SYSTEM\n\n" +
		"You asked to be told when your message was delivered. It was passed to a\n" +
		"system that does not report deliveries, so you may hear nothing more\n" +
		"about the following recipients:\n",
	Footer: "\n" + rule + "\n\n" +
		"Recipients not named above are not covered by this report.\n\n" +
		"The original message, or its header, follows as an attachment.\n",
	SubjectNotice: "NOTICE: mail delivery status.",
	SubjectWarn:   "WARNING: delayed mail.",
}

const rule = "---------------------------------------------------------------------------"

// LoadTemplates reads Courier's dsn*.txt from the configuration directory dir; a missing
// file keeps the default text.
func LoadTemplates(dir string) (Templates, error) {
	t := Default
	for _, f := range []struct {
		name string
		p    *string
		line bool
	}{
		{"dsnheader.txt", &t.Header, false}, {"dsnfailed.txt", &t.Failed, false},
		{"dsndelayed.txt", &t.Delayed, false}, {"dsndelivered.txt", &t.Delivered, false},
		{"dsnrelayed.txt", &t.Relayed, false}, {"dsnfooter.txt", &t.Footer, false},
		{"dsnsubjectnotice.txt", &t.SubjectNotice, true}, {"dsnsubjectwarn.txt", &t.SubjectWarn, true},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return t, fmt.Errorf("dsn: %w", err)
		}
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		if f.line {
			s, _, _ = strings.Cut(s, "\n")
			s = strings.TrimSpace(s)
		}
		*f.p = s
	}
	return t, nil
}

// Write writes the notification r about the message original (size octets, LF line
// endings) to w.
func Write(w io.Writer, r *Report, original io.Reader, size int64) error {
	if len(r.Rcpts) == 0 {
		return errors.New("dsn: no recipients to report")
	}
	t := r.Templates.orDefault()
	date := r.Date
	if date.IsZero() {
		date = time.Now()
	}
	from := r.From
	if from == "" {
		from = DefaultFrom(r.MTA)
	}
	subject := t.SubjectNotice
	if r.only(Delayed) {
		subject = t.SubjectWarn
	}
	utf8 := !ascii(r.To)
	for _, rc := range r.Rcpts {
		utf8 = utf8 || !ascii(rc.Final) || !ascii(rc.Original)
	}
	boundary := newBoundary()
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	p("From: %s\n", oneLine(from))
	p("To: <%s>\n", oneLine(r.To))
	p("Subject: %s\n", oneLine(subject))
	p("Date: %s\n", date.Format(time.RFC1123Z))
	p("Message-ID: <%s.dsn@%s>\n", boundary[3:], oneLine(r.MTA))
	p("Auto-Submitted: auto-replied\n")
	p("MIME-Version: 1.0\n")
	p("Content-Type: multipart/report; report-type=delivery-status;\n    boundary=\"%s\"\n", boundary)
	p("Content-Transfer-Encoding: 8bit\n\n")
	p("This is a MIME-formatted message. Your mail program shows it best.\n\n")

	// The human-readable part.
	p("--%s\n", boundary)
	head := strings.NewReplacer("[#ME#]", r.MTA, "[#FROMTIME#]", r.Arrival.Format(time.RFC1123Z),
		"[#FROMMTA#]", r.ReceivedFrom).Replace(t.Header)
	if !startsWithHeader(head) {
		p("Content-Type: text/plain; charset=\"utf-8\"\n\n")
	}
	bw.WriteString(head)
	for _, g := range []struct {
		a    Action
		text string
	}{{Failed, t.Failed}, {Delayed, t.Delayed}, {Delivered, t.Delivered}, {Relayed, t.Relayed}} {
		first := true
		for _, rc := range r.Rcpts {
			if rc.Action != g.a {
				continue
			}
			if first {
				bw.WriteString(endLine(g.text))
				p("\n")
				first = false
			}
			p("<%s>:\n", oneLine(rc.Final))
			if o := originalAddr(rc.Original); o != "" && !strings.EqualFold(o, rc.Final) {
				p("    (sent to <%s>)\n", oneLine(o))
			}
			if rc.Diagnostic != "" {
				p("    %s\n", oneLine(rc.Diagnostic))
			}
			p("\n")
		}
	}
	bw.WriteString(endLine(t.Footer))

	// The machine-readable part.
	p("\n--%s\n", boundary)
	if utf8 {
		p("Content-Type: message/global-delivery-status\n\n")
	} else {
		p("Content-Type: message/delivery-status\n\n")
	}
	p("Reporting-MTA: dns; %s\n", oneLine(r.MTA))
	if r.EnvID != "" {
		p("Original-Envelope-Id: %s\n", oneLine(r.EnvID))
	}
	if !r.Arrival.IsZero() {
		p("Arrival-Date: %s\n", r.Arrival.Format(time.RFC1123Z))
	}
	for _, rc := range r.Rcpts {
		p("\nFinal-Recipient: %s; %s\n", addrType(rc.Final), oneLine(rc.Final))
		if rc.Original != "" {
			p("Original-Recipient: %s\n", oneLine(rc.Original))
		}
		p("Action: %s\n", rc.Action)
		p("Status: %s\n", rc.Status)
		if rc.RemoteMTA != "" {
			p("Remote-MTA: dns; %s\n", oneLine(rc.RemoteMTA))
		}
		switch {
		case rc.SMTPReply != "":
			p("Diagnostic-Code: smtp; %s\n", oneLine(rc.SMTPReply))
		case rc.Diagnostic != "":
			p("Diagnostic-Code: x-courier; %s\n", oneLine(rc.Diagnostic))
		}
		if !rc.LastTry.IsZero() {
			p("Last-Attempt-Date: %s\n", rc.LastTry.Format(time.RFC1123Z))
		}
		if rc.Action == Delayed && !rc.RetryUntil.IsZero() {
			p("Will-Retry-Until: %s\n", rc.RetryUntil.Format(time.RFC1123Z))
		}
	}

	// The original, whole or its header.
	limit := r.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	whole := r.Full && size <= limit
	p("\n--%s\n", boundary)
	switch {
	case whole && utf8:
		p("Content-Type: message/global\n\n")
	case whole:
		p("Content-Type: message/rfc822\n\n")
	case utf8:
		p("Content-Type: message/global-headers\n\n")
	default:
		p("Content-Type: text/rfc822-headers\n\n")
	}
	last, err := copyOriginal(bw, original, whole)
	if err != nil {
		return fmt.Errorf("dsn: reading the original: %w", err)
	}
	if last != '\n' {
		p("\n")
	}
	p("\n--%s--\n", boundary)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dsn: %w", err)
	}
	return nil
}

// copyOriginal copies the original, or its header only (up to and without the blank line
// that ends it), and returns the last octet written.
func copyOriginal(w *bufio.Writer, r io.Reader, whole bool) (byte, error) {
	br := bufio.NewReader(r)
	last := byte('\n')
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if !whole && (bytes.Equal(line, []byte("\n")) || bytes.Equal(line, []byte("\r\n"))) {
				return last, nil
			}
			w.Write(line)
			last = line[len(line)-1]
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return last, nil
		case err != nil:
			return last, err
		}
	}
}

func (r *Report) only(a Action) bool {
	for _, rc := range r.Rcpts {
		if rc.Action != a {
			return false
		}
	}
	return true
}

func (t Templates) orDefault() Templates {
	d := Default
	for _, p := range []struct{ v, d *string }{
		{&t.Header, &d.Header}, {&t.Failed, &d.Failed}, {&t.Delayed, &d.Delayed},
		{&t.Delivered, &d.Delivered}, {&t.Relayed, &d.Relayed}, {&t.Footer, &d.Footer},
		{&t.SubjectNotice, &d.SubjectNotice}, {&t.SubjectWarn, &d.SubjectWarn},
	} {
		if *p.v == "" {
			*p.v = *p.d
		}
	}
	return t
}

// startsWithHeader reports whether a template opens with MIME header lines of its own.
func startsWithHeader(s string) bool {
	first, _, _ := strings.Cut(s, "\n")
	name, _, ok := strings.Cut(first, ":")
	return ok && strings.HasPrefix(strings.ToLower(name), "content-") && !strings.ContainsAny(name, " \t")
}

// originalAddr is the address of an ORCPT value ("rfc822;a@b" gives "a@b").
func originalAddr(orcpt string) string {
	_, a, ok := strings.Cut(orcpt, ";")
	if !ok {
		return ""
	}
	return strings.TrimSpace(a)
}

func addrType(a string) string {
	if ascii(a) {
		return "rfc822"
	}
	return "utf-8"
}

func endLine(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

// oneLine keeps a value on its header line: a CR, LF or other control character from an
// address or a reason must not start a header of its own.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func newBoundary() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "=_d" + hex.EncodeToString(b[:])
}
