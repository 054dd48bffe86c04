// Package sortthread implements IMAP SORT and THREAD (RFC 5256) over search.Message values.
//
// Behaviour follows RFC 5256 and was compared with Courier-IMAP's imapd (see the tests);
// where Courier departs from the RFC we follow the RFC, namely:
//   - SORT ties: the RFC orders messages that compare equal by sequence number; Courier
//     lists them in descending sequence order.
//   - SORT FROM/TO/CC: the RFC sorts on the addr-mailbox (local part) of the first address
//     with i;ascii-casemap; Courier compares the whole address case-sensitively.
//   - Sent date (SORT DATE, THREAD): the RFC falls back to the internal date when Date: is
//     missing or unparsable; Courier uses time 0 (SORT, ORDEREDSUBJECT) or leaves such
//     messages unsorted (REFERENCES).
//   - THREAD ORDEREDSUBJECT: the RFC makes every later message of a subject a child of the
//     first, "(1 (2)(3))"; Courier prints a chain, "(1 2 3)".
//   - THREAD REFERENCES step 3: the RFC promotes the only child of a top-level dummy before
//     grouping by subject; Courier does it afterwards, so it can group two such messages
//     under a new dummy where the RFC makes the reply a child of the original.
//
// Everything else (base subject, i;ascii-casemap subject comparison, the REFERENCES
// linking, loops, duplicate Message-IDs, dummy pruning, subject merging) matches Courier.
package sortthread

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"courier/internal/imap/search"
)

// ErrBadCriterion is wrapped by Sort for an unknown sort criterion and by Thread for an
// unknown algorithm (the server answers BAD).
var ErrBadCriterion = errors.New("unknown sort criterion or threading algorithm")

// SortKey is one sort criterion: ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO (RFC 5256) or
// DISPLAYFROM, DISPLAYTO (RFC 5957); Reverse is set when REVERSE preceded it.
type SortKey struct {
	Criterion string
	Reverse   bool
}

// Options tune Sort and Thread; the zero value is what the server uses.
type Options struct{}

// info holds what sorting and threading need from one message, computed once.
type info struct {
	msg       *search.Message
	hdr       []byte
	subject   string // base subject
	refwd     bool   // the subject was a reply or forward
	sent      time.Time
	addr      map[string]string // FROM/TO/CC/DISPLAY*: the sort string per criterion
	messageID string
	refs      []string
}

func loadHeader(m *search.Message) ([]byte, error) {
	if m.Header == nil {
		return nil, fmt.Errorf("message %d: no header source", m.UID)
	}
	h, err := m.Header()
	if err != nil {
		return nil, fmt.Errorf("reading header of message %d: %w", m.UID, err)
	}
	return h, nil
}

// sentDate is the sent date of RFC 5256 §2.2: the Date: field in UTC, or the internal date.
func sentDate(m *search.Message, hdr []byte) time.Time {
	if t, ok := search.SentDate(hdr); ok {
		return t.UTC()
	}
	return m.InternalDate.UTC()
}

func fieldString(hdr []byte, name string) (string, bool) {
	v, ok := search.FieldValue(hdr, name)
	if !ok {
		return "", false
	}
	s := strings.NewReplacer("\r", "", "\n", "").Replace(string(v))
	return strings.Trim(s, " \t"), true
}

// firstMailbox returns the addr-mailbox of the first (non-group) address of a field.
func firstMailbox(hdr []byte, field string) string {
	v, ok := fieldString(hdr, field)
	if !ok {
		return ""
	}
	for _, a := range search.ParseAddressList(v) {
		if a.Group == 0 && (a.Mailbox != "" || a.Host != "") {
			return a.Mailbox
		}
	}
	return ""
}

// displayName implements RFC 5957 §3: the display name of the first address, or else its
// addr-mailbox "@" addr-host.
func displayName(hdr []byte, field string) string {
	v, ok := fieldString(hdr, field)
	if !ok {
		return ""
	}
	for _, a := range search.ParseAddressList(v) {
		if a.Group != 0 {
			continue
		}
		if a.Name != "" {
			return a.Name
		}
		if a.Host != "" {
			return a.Mailbox + "@" + a.Host
		}
		return a.Mailbox
	}
	return ""
}

func validCriterion(c string) bool {
	switch c {
	case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO":
		return true
	}
	return false
}

// Sort returns the messages ordered by keys (RFC 5256 §3). Messages equal on every key keep
// mailbox order (ascending sequence number), as the RFC says. msgs is not modified.
func Sort(msgs []*search.Message, keys []SortKey, opt Options) ([]*search.Message, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("empty sort program: %w", ErrBadCriterion)
	}
	keys = slices.Clone(keys)
	needHdr := false
	for i, k := range keys {
		c := strings.ToUpper(k.Criterion)
		if !validCriterion(c) {
			return nil, fmt.Errorf("sort criterion %q: %w", k.Criterion, ErrBadCriterion)
		}
		keys[i].Criterion = c
		if c != "ARRIVAL" && c != "SIZE" {
			needHdr = true
		}
	}
	infos := make([]*info, len(msgs))
	for i, m := range msgs {
		in := &info{msg: m, addr: map[string]string{}}
		infos[i] = in
		if !needHdr {
			continue
		}
		hdr, err := loadHeader(m)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			switch k.Criterion {
			case "SUBJECT":
				s, _ := fieldString(hdr, "Subject")
				in.subject = search.BaseSubject(s)
			case "DATE":
				in.sent = sentDate(m, hdr)
			case "FROM", "TO", "CC":
				in.addr[k.Criterion] = firstMailbox(hdr, k.Criterion)
			case "DISPLAYFROM":
				in.addr[k.Criterion] = strings.ToLower(displayName(hdr, "From"))
			case "DISPLAYTO":
				in.addr[k.Criterion] = strings.ToLower(displayName(hdr, "To"))
			}
		}
	}
	slices.SortStableFunc(infos, func(a, b *info) int {
		for _, k := range keys {
			c := 0
			switch k.Criterion {
			case "ARRIVAL":
				c = a.msg.InternalDate.Compare(b.msg.InternalDate)
			case "SIZE":
				c = cmpInt(a.msg.Size, b.msg.Size)
			case "DATE":
				c = a.sent.Compare(b.sent)
			case "SUBJECT":
				c = search.CompareFold(a.subject, b.subject)
			default:
				c = search.CompareFold(a.addr[k.Criterion], b.addr[k.Criterion])
			}
			if k.Reverse {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmpInt(int64(a.msg.Seq), int64(b.msg.Seq))
	})
	out := make([]*search.Message, len(infos))
	for i, in := range infos {
		out[i] = in.msg
	}
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
