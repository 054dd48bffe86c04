package search

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"courier/internal/store"
)

// node is a compiled Key.
type node struct {
	op     Op
	kids   []*node
	field  string // lower-case field name for header keys
	ndl    *needle
	day    civil
	n      int64
	ranges []Range
	kw     string
	cost   int // 0: message attributes, 1: needs the header, 2: needs the content
	text   int // BODY/TEXT: index into Matcher.textHit
}

// Matcher evaluates one search program against messages. Header and Content of a message
// are fetched at most once per Match, and only when a key needs them; cheap keys are
// evaluated first so that "UNSEEN BODY x" reads only unseen messages.
type Matcher struct {
	opt   Options
	root  *node
	err   error   // compile error, reported by Match
	texts []*node // BODY and TEXT keys with a non-empty string

	// per-message state
	msg      *Message
	hdr      []byte
	hdrErr   error
	hdrDone  bool
	sentDay  civil
	sentOK   bool
	sentDone bool
	contDone bool
	contErr  error
	textHit  []bool
	buf      []byte // folded text scratch
	content  []byte // message scratch
}

// NewMatcher compiles k. A malformed key is reported by Match (wrapping ErrBadKey).
func NewMatcher(k Key, opt Options) *Matcher {
	m := &Matcher{opt: opt}
	m.root, m.err = m.compile(k, 0)
	m.textHit = make([]bool, len(m.texts))
	return m
}

func (m *Matcher) compile(k Key, depth int) (*node, error) {
	if depth > 1000 {
		return nil, fmt.Errorf("search key nested too deeply: %w", ErrBadKey)
	}
	n := &node{op: k.Op}
	switch k.Op {
	case All, Answered, Deleted, Draft, Flagged, New, Old, Recent, Seen,
		Unanswered, Undeleted, Undraft, Unflagged, Unseen:
	case Keyword, Unkeyword:
		n.kw = k.Value
	case Larger, Smaller:
		n.n = k.N
	case Before, On, Since:
		n.day = civil(k.Date.Year()*10000 + int(k.Date.Month())*100 + k.Date.Day())
	case SentBefore, SentOn, SentSince:
		n.day = civil(k.Date.Year()*10000 + int(k.Date.Month())*100 + k.Date.Day())
		n.cost = 1
	case UIDSet, SeqSet:
		n.ranges = make([]Range, len(k.Ranges))
		for i, r := range k.Ranges {
			if r.Lo > r.Hi {
				r.Lo, r.Hi = r.Hi, r.Lo
			}
			n.ranges[i] = r
		}
	case From, To, Cc, Bcc, Subject, Header:
		n.cost = 1
		n.ndl = newNeedle(k.Value)
		switch k.Op {
		case From:
			n.field = "from"
		case To:
			n.field = "to"
		case Cc:
			n.field = "cc"
		case Bcc:
			n.field = "bcc"
		case Subject:
			n.field = "subject"
		default:
			n.field = strings.ToLower(k.Field)
		}
	case Body, Text:
		n.ndl = newNeedle(k.Value)
		if !n.ndl.empty() {
			n.cost = 2
			n.text = len(m.texts)
			m.texts = append(m.texts, n)
		}
	case Not:
		if len(k.Keys) != 1 {
			return nil, fmt.Errorf("NOT with %d operands: %w", len(k.Keys), ErrBadKey)
		}
		fallthrough
	case And, Or:
		if k.Op == Or && len(k.Keys) != 2 {
			return nil, fmt.Errorf("OR with %d operands: %w", len(k.Keys), ErrBadKey)
		}
		for _, sub := range k.Keys {
			c, err := m.compile(sub, depth+1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, c)
			n.cost = max(n.cost, c.cost)
		}
		// cheap operands first; the result does not depend on the order
		slices.SortStableFunc(n.kids, func(a, b *node) int { return a.cost - b.cost })
	default:
		return nil, fmt.Errorf("search op %d: %w", k.Op, ErrBadKey)
	}
	return n, nil
}

// Match reports whether msg satisfies the program. Errors come from msg.Header or
// msg.Content (wrapped) or from a malformed key.
func (m *Matcher) Match(msg *Message) (bool, error) {
	if m.err != nil {
		return false, m.err
	}
	m.msg = msg
	m.hdr, m.hdrErr, m.hdrDone = nil, nil, false
	m.sentDone = false
	m.contDone, m.contErr = false, nil
	ok, err := m.eval(m.root)
	m.msg = nil
	m.hdr = nil
	return ok, err
}

func (m *Matcher) eval(n *node) (bool, error) {
	msg := m.msg
	switch n.op {
	case All:
		return true, nil
	case And:
		for _, k := range n.kids {
			ok, err := m.eval(k)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case Or:
		for _, k := range n.kids {
			ok, err := m.eval(k)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case Not:
		ok, err := m.eval(n.kids[0])
		return !ok && err == nil, err
	case Answered:
		return msg.Flags&store.Answered != 0, nil
	case Deleted:
		return msg.Flags&store.Deleted != 0, nil
	case Draft:
		return msg.Flags&store.Draft != 0, nil
	case Flagged:
		return msg.Flags&store.Flagged != 0, nil
	case Seen:
		return msg.Flags&store.Seen != 0, nil
	case Unanswered:
		return msg.Flags&store.Answered == 0, nil
	case Undeleted:
		return msg.Flags&store.Deleted == 0, nil
	case Undraft:
		return msg.Flags&store.Draft == 0, nil
	case Unflagged:
		return msg.Flags&store.Flagged == 0, nil
	case Unseen:
		return msg.Flags&store.Seen == 0, nil
	case Recent:
		return msg.Recent, nil
	case New:
		return msg.Recent && msg.Flags&store.Seen == 0, nil
	case Old:
		return !msg.Recent, nil
	case Keyword, Unkeyword:
		has := false
		for _, k := range msg.Keywords {
			if strings.EqualFold(k, n.kw) {
				has = true
				break
			}
		}
		return has == (n.op == Keyword), nil
	case Larger:
		return msg.Size > n.n, nil
	case Smaller:
		return msg.Size < n.n, nil
	case UIDSet, SeqSet:
		v := msg.Seq
		if n.op == UIDSet {
			v = msg.UID
		}
		for _, r := range n.ranges {
			if r.Lo <= v && v <= r.Hi {
				return true, nil
			}
		}
		return false, nil
	case Before, On, Since:
		d := dayOf(msg.InternalDate.In(m.opt.loc()))
		return cmpDay(n.op, d, n.day), nil
	case SentBefore, SentOn, SentSince:
		d, ok, err := m.sent()
		if err != nil || !ok {
			return false, err
		}
		return cmpDay(n.op, d, n.day), nil
	case From, To, Cc, Bcc, Subject, Header:
		return m.headerKey(n)
	case Body, Text:
		if n.ndl.empty() {
			return true, nil
		}
		if err := m.scanContent(); err != nil {
			return false, err
		}
		return m.textHit[n.text], nil
	}
	return false, fmt.Errorf("search op %d: %w", n.op, ErrBadKey)
}

func cmpDay(op Op, d, want civil) bool {
	switch op {
	case Before, SentBefore:
		return d < want
	case On, SentOn:
		return d == want
	}
	return d >= want
}

func (m *Matcher) header() ([]byte, error) {
	if !m.hdrDone {
		m.hdrDone = true
		if m.msg.Header == nil {
			m.hdrErr = fmt.Errorf("message %d: no header source", m.msg.UID)
		} else if h, err := m.msg.Header(); err != nil {
			m.hdrErr = fmt.Errorf("reading header of message %d: %w", m.msg.UID, err)
		} else {
			m.hdr = h
		}
	}
	return m.hdr, m.hdrErr
}

func (m *Matcher) sent() (civil, bool, error) {
	if !m.sentDone {
		hdr, err := m.header()
		if err != nil {
			return 0, false, err
		}
		m.sentDone = true
		t, ok := SentDate(hdr)
		m.sentOK = ok
		if ok {
			m.sentDay = dayOf(t.In(m.opt.loc()))
		}
	}
	return m.sentDay, m.sentOK, nil
}

// headerKey matches FROM/TO/CC/BCC/SUBJECT/HEADER: any occurrence of the field matches.
func (m *Matcher) headerKey(n *node) (bool, error) {
	if n.field == "" {
		return false, nil // HEADER "" never matches in Courier
	}
	hdr, err := m.header()
	if err != nil {
		return false, err
	}
	for i := 0; i < len(hdr); {
		name, value, next, ok := nextNamedField(hdr, i, n.field)
		if !ok {
			break
		}
		i = next
		if name == nil {
			continue
		}
		if n.ndl.empty() || m.valueContains(name, value, n.ndl) {
			return true, nil
		}
	}
	return false, nil
}

// nextNamedField scans hdr from the line starting at i for the next field called lname
// (lower case). It returns that field's name and raw value (nil name if the header ended or
// only other fields were seen up to next) and where to continue; ok is false at the end of
// the header. It allocates nothing: SEARCH HEADER over a large mailbox stays cheap.
func nextNamedField(hdr []byte, i int, lname string) (name, value []byte, next int, ok bool) {
	first := lname[0]
	for i < len(hdr) {
		c := hdr[i]
		if c == '\n' || c == '\r' {
			return nil, nil, len(hdr), false // blank line: end of header
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == first && len(hdr)-i > len(lname) && asciiEqualFoldLower(hdr[i:i+len(lname)], lname) {
			j := i + len(lname)
			for j < len(hdr) && (hdr[j] == ' ' || hdr[j] == '\t') {
				j++
			}
			if j < len(hdr) && hdr[j] == ':' {
				end := fieldEnd(hdr, j+1)
				return hdr[i : i+len(lname)], hdr[j+1 : end], end, true
			}
		}
		k := bytes.IndexByte(hdr[i:], '\n')
		if k < 0 {
			return nil, nil, len(hdr), false
		}
		i += k + 1
	}
	return nil, nil, len(hdr), false
}

// fieldEnd returns where the field whose value starts at i ends (after its continuations).
func fieldEnd(hdr []byte, i int) int {
	for {
		k := bytes.IndexByte(hdr[i:], '\n')
		if k < 0 {
			return len(hdr)
		}
		i += k + 1
		if i >= len(hdr) || (hdr[i] != ' ' && hdr[i] != '\t') {
			return i
		}
	}
}

// asciiEqualFoldLower compares b case-insensitively with the lower-case ASCII string s.
func asciiEqualFoldLower(b []byte, s string) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// valueContains folds a field value the way Courier displays it and looks for ndl.
func (m *Matcher) valueContains(name, value []byte, ndl *needle) bool {
	m.buf = m.displayValue(m.buf[:0], name, value)
	return ndl.in(m.buf)
}

// displayValue appends the folded display form of a field value to dst.
func (m *Matcher) displayValue(dst, name, value []byte) []byte {
	switch {
	case isAddressField(name):
		return fold(dst, []byte(displayAddresses(unfold(value))), false)
	case needsDecoding(value):
		return fold(dst, []byte(DecodeWords(unfold(value))), false)
	}
	return fold(dst, value, false)
}

// scanContent reads the message once and records which BODY/TEXT strings occur.
func (m *Matcher) scanContent() error {
	if m.contDone {
		return m.contErr
	}
	m.contDone = true
	clear(m.textHit)
	if m.msg.Content == nil {
		m.contErr = fmt.Errorf("message %d: no content source", m.msg.UID)
		return m.contErr
	}
	r, size, err := m.msg.Content()
	if err != nil {
		m.contErr = fmt.Errorf("reading message %d: %w", m.msg.UID, err)
		return m.contErr
	}
	size = min(size, m.opt.maxContent())
	if int64(cap(m.content)) < size {
		m.content = make([]byte, size)
	}
	buf := m.content[:size]
	if n, err := r.ReadAt(buf, 0); err != nil && !(err == io.EOF && int64(n) == size) {
		m.contErr = fmt.Errorf("reading message %d: %w", m.msg.UID, err)
		return m.contErr
	}
	// a huge message once must not pin its buffer for the rest of the search
	defer func() {
		if cap(m.content) > 4<<20 {
			m.content = nil
		}
	}()
	remaining := len(m.texts)
	w := walker{
		header: func(name, value []byte) {
			if remaining == 0 {
				return
			}
			var nameColon []byte
			nameColon = fold(m.buf[:0], name, false)
			nameColon = append(nameColon, ':')
			m.buf = nameColon
			for _, t := range m.texts {
				if t.op == Text && !m.textHit[t.text] && t.ndl.in(nameColon) {
					m.textHit[t.text] = true
					remaining--
				}
			}
			m.buf = m.displayValue(m.buf[:0], name, value)
			for _, t := range m.texts {
				if t.op == Text && !m.textHit[t.text] && t.ndl.in(m.buf) {
					m.textHit[t.text] = true
					remaining--
				}
			}
		},
		body: func(text []byte) {
			if remaining == 0 {
				return
			}
			m.buf = fold(m.buf[:0], text, false)
			for _, t := range m.texts {
				if !m.textHit[t.text] && t.ndl.in(m.buf) {
					m.textHit[t.text] = true
					remaining--
				}
			}
		},
	}
	w.walk(buf)
	if cap(m.buf) > 4<<20 {
		m.buf = nil
	}
	return nil
}
