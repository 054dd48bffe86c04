// Package submit takes mail from local programs (sendmail) into the queue without giving
// them the queue: the running server owns the spool (queue.Open holds its lock), so
// sendmail writes each message with its envelope into a pickup directory and the server's
// Ingester moves it into the queue. The scheme is Postfix's pickup, our own way.
//
// # Layout
//
//	PICKUP/new/   where sendmail drops files: mode 1733 in a real installation (anyone
//	              may create, nobody but the owner of a file may rename or remove it, and
//	              nobody may list it), 0700 when the server does not run as root
//	PICKUP/bad/   0700: files the server refused, each with NAME.why saying why
//
// PICKUP is QUEUEDIR's sibling "pickup" unless courierd sets PICKUPDIR (app.PickupDir).
// Sendmail writes ".NAME.tmp" in new/, fsyncs it, renames it to NAME and makes the rename
// durable (an fsync of new/ when it may open it, else syncfs(2)); only then does it exit 0.
// Names starting with "." are never picked up; stale ones are removed after a day and a half.
//
// # File format (version 1)
//
//	"COURIER-PICKUP 1 EEEEEEEE CCCCCCCCCCCCCCCC\n"  E: envelope length, C: content
//	                                                length, both hex, fixed width
//	envelope  JSON of Envelope followed by "\n" (E octets in all)
//	content   C octets: the message, header and body, lines ending in LF
//
// The file is exactly that long; Parse refuses anything else (a different version, a
// short or long file, unknown envelope fields, addresses with control characters…).
//
// # Invariants
//
//   - Acknowledged means durable: sendmail exits 0 only after the file and its name are
//     on disk, as the SMTP server answers 250 only after the queue's Commit.
//   - Identity comes from the file, not its content: the Ingester sets the queued
//     message's AuthUser from the owner of the file (fstat of the descriptor it reads,
//     opened without following links, a regular file with one link), so a user cannot
//     submit as another.
//   - Nothing is lost: a file leaves new/ only after its message is committed to the
//     queue (queue.Writer.CommitThen removes it before delivery can start) or after it is
//     moved to bad/ with the reason. A temporary failure (an account database that does
//     not answer) leaves it in new/ for a later scan.
//   - Nothing is queued twice: the queued envelope names its pickup file; at start-up
//     the Ingester drops a pickup file the queue already holds (a crash between Commit
//     and the removal), and names are unique (time, pid and 64 random bits).
//   - A malformed or refused file never stops the ingestion of the others.
package submit

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Envelope is what sendmail says about a message besides its content. The submitting
// user is deliberately absent: the server takes it from the file's owner.
type Envelope struct {
	From  string `json:"from"` // return path; "" is the null sender
	Rcpts []Rcpt `json:"rcpts"`
	Ret   string `json:"ret,omitempty"`   // DSN RET: FULL or HDRS (-R)
	EnvID string `json:"envid,omitempty"` // DSN ENVID (-V)
	// Time is when sendmail took the message; the Date: field added when missing says it.
	Time time.Time `json:"time"`
	// OnBehalf names the account a session of the server itself sent for (SMAP's
	// send-and-save in a session served in-process, where the file's owner is the server's
	// own uid, not the account's). The server honours it only in a file owned by its own
	// uid, and refuses any other file that carries it.
	OnBehalf string `json:"onbehalf,omitempty"`
}

// Rcpt is one recipient as sendmail was given it.
type Rcpt struct {
	Addr   string `json:"addr"`
	Notify string `json:"notify,omitempty"` // DSN NOTIFY as in SMTP: NEVER or SUCCESS,FAILURE,DELAY
}

// Limits of the envelope; a file beyond them is malformed.
const (
	MaxRcpts    = 10000
	MaxAddr     = 998 // a line's worth (RFC 5322 section 2.1.1); SMTP's path limit is 256
	MaxEnvID    = 100 // RFC 3461 section 4.4
	maxEnvelope = 4 << 20
)

// Validate checks an envelope as the reader does.
func (e *Envelope) Validate() error {
	if e.From != "" {
		if err := CheckAddr(e.From); err != nil {
			return fmt.Errorf("sender: %w", err)
		}
	}
	if len(e.Rcpts) == 0 {
		return errors.New("no recipients")
	}
	if len(e.Rcpts) > MaxRcpts {
		return fmt.Errorf("%d recipients (at most %d)", len(e.Rcpts), MaxRcpts)
	}
	for i, r := range e.Rcpts {
		if err := CheckAddr(r.Addr); err != nil {
			return fmt.Errorf("recipient %d: %w", i+1, err)
		}
		if _, err := ParseNotify(r.Notify); err != nil {
			return fmt.Errorf("recipient %d: %w", i+1, err)
		}
	}
	switch e.Ret {
	case "", "FULL", "HDRS":
	default:
		return fmt.Errorf("RET %q is neither FULL nor HDRS", e.Ret)
	}
	if len(e.EnvID) > MaxEnvID {
		return fmt.Errorf("ENVID longer than %d octets", MaxEnvID)
	}
	for _, c := range []byte(e.EnvID) {
		if c < 0x21 || c > 0x7e {
			return errors.New("ENVID holds a character outside printable ASCII")
		}
	}
	if e.Time.IsZero() {
		return errors.New("no time")
	}
	if len(e.OnBehalf) > MaxAddr || strings.IndexFunc(e.OnBehalf, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return errors.New("onbehalf is too long or holds a control character")
	}
	return nil
}

// CheckAddr accepts an address fit for an envelope: not empty, at most MaxAddr octets,
// no control characters, no angle brackets, and blanks only inside a quoted local part.
// Bare local names ("root") pass: the server makes them local.
func CheckAddr(a string) error {
	if a == "" {
		return errors.New("empty address")
	}
	if len(a) > MaxAddr {
		return fmt.Errorf("address longer than %d octets", MaxAddr)
	}
	quoted := false
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("address %q holds a control character", a)
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted:
			i++
		case quoted:
		case c == ' ' || c == '<' || c == '>' || c == ',' || c == ';':
			return fmt.Errorf("address %q holds %q", a, c)
		}
	}
	if quoted {
		return fmt.Errorf("address %q has an unterminated quote", a)
	}
	return nil
}

// ParseNotify turns sendmail's -N argument ("never", or a comma list of success, fail or
// failure, and delay, any case) into SMTP's NOTIFY value; "" stays "". NOTIFY values
// already in SMTP's form are accepted too.
func ParseNotify(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		var k string
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "never":
			k = "NEVER"
		case "success":
			k = "SUCCESS"
		case "fail", "failure":
			k = "FAILURE"
		case "delay":
			k = "DELAY"
		default:
			return "", fmt.Errorf("DSN notify %q: not never, success, fail or delay", f)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if seen["NEVER"] && len(out) > 1 {
		return "", errors.New("DSN notify: never goes alone")
	}
	return strings.Join(out, ","), nil
}
