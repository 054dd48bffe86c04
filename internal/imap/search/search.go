// Package search evaluates IMAP SEARCH keys (RFC 3501 §6.4.4) against messages the way
// Courier-IMAP does, and supplies what SORT and THREAD (RFC 5256) share with it: the base
// subject, the sent date, header field lookup and RFC 2047 decoding.
//
// Matching follows real Courier-IMAP (checked against its imapd, see the tests):
//   - Strings match as case-insensitive substrings: each character is folded with its simple
//     Unicode lower-case mapping (so "İ" matches "i", but "ß" does not match "ss"), and every
//     run of white space (including line breaks) counts as one space, in the text and in the
//     search string alike; the search string's leading and trailing white space is ignored,
//     and a string that is empty or only white space matches every message having the field.
//   - Header keys (FROM, TO, CC, BCC, SUBJECT, HEADER) look at every occurrence of the field
//     in the top-level header, after RFC 2047 decoding to UTF-8 (raw 8-bit bytes pass as
//     UTF-8). Address fields (From, To, Cc, Bcc, Resent-From/To/Cc/Bcc) are matched in
//     Courier's display form: `Name <local@domain>` with quotes dropped unless the name needs
//     them, comments turned into names, IDNA domains shown in Unicode.
//     Courier also matches header keys against the headers of nested MIME parts and attached
//     messages; RFC 3501 defines SUBJECT/FROM/... on the message's own envelope and HEADER
//     on its header, so we look at the top-level header only (a deliberate difference).
//   - BODY searches the decoded (quoted-printable/base64, charset converted to UTF-8) text of
//     every text/* and message/* leaf part, recursing into message/rfc822; never MIME headers,
//     preambles, epilogues or other parts. A message without MIME-Version is one text/plain
//     part whose transfer encoding is still honoured but whose charset is not converted.
//   - TEXT searches what BODY does plus every header of every part: the field name with its
//     colon ("Subject:") and the decoded value are separate strings, so no match spans them.
//   - BEFORE/ON/SINCE compare the day of the internal date in Options.Location (the server's
//     zone); SENTBEFORE/SENTON/SENTSINCE the day of the first Date: field, converted to the same
//     zone (as Courier does); a message whose Date: is missing or unparsable matches none of them.
//   - KEYWORD and UNKEYWORD compare keywords case-insensitively.
//   - NEW is RECENT and UNSEEN; OLD is not RECENT.
//   - LARGER/SMALLER compare Message.Size, the RFC822.SIZE that RFC 3501 calls the message's
//     size. (Courier compares the stored, LF-terminated size instead, which disagrees with
//     its own RFC822.SIZE; we follow the RFC.)
//   - An encoded-word in a charset we cannot convert keeps its decoded bytes unconverted
//     (Courier's rendering of it could not be pinned down).
//
// A Matcher is not safe for concurrent use; it keeps buffers between messages so that a
// SEARCH over a large mailbox allocates little.
package search

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"courier/internal/store"

	"courier/internal/mail/charset"
)

// Message is one message as SEARCH, SORT and THREAD see it. Header and Content are called only
// when a key needs them, and at most once per message per evaluation.
type Message struct {
	Seq          uint32 // sequence number
	UID          uint32
	Flags        store.Flags // system flags (\Recent is Recent)
	Keywords     []string
	Recent       bool
	Size         int64 // RFC822.SIZE (CRLF form)
	InternalDate time.Time
	// Header returns the top-level header block as stored (LF or CRLF line ends), with or
	// without the blank line that ends it; it may come from a cache.
	Header func() ([]byte, error)
	// Content returns the whole stored message and its length.
	Content func() (io.ReaderAt, int64, error)
}

// Op is the kind of a search key.
type Op int

// The search keys of RFC 3501 §6.4.4, plus And for a parenthesised list (or the top-level
// list) and UIDSet/SeqSet for UID <set> and a bare sequence set.
const (
	All Op = iota
	Answered
	Bcc
	Before
	Body
	Cc
	Deleted
	Draft
	Flagged
	From
	Header
	Keyword
	Larger
	New
	Not
	Old
	On
	Or
	Recent
	Seen
	SentBefore
	SentOn
	SentSince
	Since
	Smaller
	Subject
	Text
	To
	UIDSet
	SeqSet
	Unanswered
	Undeleted
	Undraft
	Unflagged
	Unkeyword
	Unseen
	And
)

// Range is an inclusive range of UIDs or sequence numbers; the parser resolves "*" first.
type Range struct{ Lo, Hi uint32 }

// Key is one node of a parsed SEARCH program.
type Key struct {
	Op     Op
	Field  string    // Header: the field name
	Value  string    // string argument (Keyword/Unkeyword: the keyword), in UTF-8 (see Decode)
	Date   time.Time // Before/On/Since/Sent*: the day (only its year, month and day count)
	N      int64     // Larger/Smaller
	Ranges []Range   // UIDSet/SeqSet
	Keys   []Key     // And: all of them; Or: exactly two; Not: exactly one
}

// Options tune evaluation.
type Options struct {
	// Location is the zone in which the days of internal dates and of Date: fields are taken
	// for BEFORE/ON/SINCE and SENT* (Courier uses the server's local zone); nil means time.Local.
	Location *time.Location
	// MaxContent bounds how many bytes of a message BODY and TEXT read (0: 64 MiB); the rest
	// of a longer message is not searched.
	MaxContent int64
}

func (o Options) loc() *time.Location {
	if o.Location == nil {
		return time.Local
	}
	return o.Location
}

func (o Options) maxContent() int64 {
	if o.MaxContent <= 0 {
		return 64 << 20
	}
	return o.MaxContent
}

// ErrBadCharset is wrapped by Decode when the charset is unknown; the server answers
// NO [BADCHARSET ...] (RFC 3501 §6.4.4).
var ErrBadCharset = errors.New("unsupported charset")

// ErrBadKey is wrapped by Match when the key tree is malformed (an Or without two operands,
// a Not without one, an unknown Op).
var ErrBadKey = errors.New("malformed search key")

// Decode converts a search string given with SEARCH CHARSET name to UTF-8. No charset, UTF-8
// and US-ASCII leave the bytes as they are (Courier accepts 8-bit UTF-8 without CHARSET); an
// unknown charset gives an error wrapping ErrBadCharset.
func Decode(cs string, b []byte) (string, error) {
	switch strings.ToLower(cs) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return string(b), nil
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("search charset %q: %w", cs, ErrBadCharset)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("search charset %q: %w", cs, ErrBadCharset)
	}
	if !utf8.Valid(out) {
		return "", fmt.Errorf("search charset %q: invalid input: %w", cs, ErrBadCharset)
	}
	return string(out), nil
}

// FormatSet prints a set of numbers compactly in IMAP sequence-set syntax, ascending and
// without duplicates: "1:3,5,7:9" (RFC 3501 §9 sequence-set; used for ESEARCH, RFC 4731).
// The input need not be sorted; it is not modified. An empty set gives "".
func FormatSet(nums []uint32) string {
	if len(nums) == 0 {
		return ""
	}
	s := slices.Clone(nums)
	slices.Sort(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && (s[j+1] == s[j] || s[j+1] == s[j]+1) {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", s[i])
		if s[j] != s[i] {
			fmt.Fprintf(&b, ":%d", s[j])
		}
		i = j + 1
	}
	return b.String()
}
