package smap

import (
	"io"
	"mime"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"courier/internal/store"
)

// criterion is one SMAP search condition over message n.
type criterion func(n int) bool

// cmdSearch is SEARCH scope [NOT] condition, with scope ALL, MARKED, UNMARKED or a message
// set ("1-10,12" in IMAP's set syntax with "-" for ":"), and one condition: REPLIED,
// DELETED, DRAFT, SEEN, KEYWORD k, FROM/TO/CC/BCC/SUBJECT text, HEADER name text, BODY text,
// TEXT text, BEFORE/ON/SINCE date, SENTBEFORE/SENTON date, SMALLER/LARGER size. The hits are
// reported as ranges, at most 101 to a "* SEARCH" line.
//
// Courier 5 does not recognise SENTSINCE (its parser tests for SINCE twice); neither do we.
func (s *session) cmdSearch(w *words) {
	scope := upper(w.next())
	var filter criterion
	switch scope {
	case "MARKED":
		filter = func(n int) bool { return s.msgs[n-1].Flags&store.Flagged != 0 }
	case "UNMARKED":
		filter = func(n int) bool { return s.msgs[n-1].Flags&store.Flagged == 0 }
	case "ALL":
	default:
		set, ok := parseSeqSet(scope, len(s.msgs))
		if !ok {
			s.writes("-ERR SEARCH failed: Invalid argument\n")
			return
		}
		filter = func(n int) bool { return set[n] }
	}
	cond, ok := s.condition(w)
	if !ok {
		s.writes("-ERR SEARCH failed: Invalid argument\n")
		return
	}
	var hits []int
	for n := 1; n <= len(s.msgs); n++ {
		if (filter == nil || filter(n)) && cond(n) {
			hits = append(hits, n)
		}
	}
	runs := 0
	for i := 0; i < len(hits); {
		j := i
		for j+1 < len(hits) && hits[j+1] == hits[j]+1 {
			j++
		}
		if runs > 100 {
			s.writes("\n")
			runs = 0
		}
		if runs == 0 {
			s.writes("* SEARCH")
		}
		s.writes(" " + itoa(hits[i]))
		if j > i {
			s.writes("-" + itoa(hits[j]))
		}
		runs++
		i = j + 1
	}
	if runs > 0 {
		s.writes("\n")
	}
	s.writes("+OK Search completed.\n")
}

// parseSeqSet reads an IMAP-style message set where "-" may stand for ":", "*" for the last
// message. It returns the members.
func parseSeqSet(w string, count int) (map[int]bool, bool) {
	w = strings.ReplaceAll(w, "-", ":")
	out := map[int]bool{}
	num := func(t string) (int, bool) {
		if t == "*" {
			return count, true
		}
		if t == "" || len(t) > 9 {
			return 0, false
		}
		v, err := strconv.Atoi(t)
		return v, err == nil && v > 0 && t[0] != '+'
	}
	for _, r := range strings.Split(w, ",") {
		a, b, isRange := strings.Cut(r, ":")
		x, ok := num(a)
		if !ok {
			return nil, false
		}
		y := x
		if isRange {
			if y, ok = num(b); !ok {
				return nil, false
			}
		}
		if x > y {
			x, y = y, x
		}
		for n := x; n <= y && n <= count; n++ {
			out[n] = true
		}
	}
	return out, true
}

// condition reads one [NOT] condition.
func (s *session) condition(w *words) (criterion, bool) {
	word := upper(w.next())
	not := false
	if word == "NOT" {
		not = true
		word = upper(w.next())
	}
	var c criterion
	flag := func(f store.Flags) criterion {
		return func(n int) bool { return s.msgs[n-1].Flags&f != 0 }
	}
	switch word {
	case "REPLIED":
		c = flag(store.Answered)
	case "DELETED":
		c = flag(store.Deleted)
	case "DRAFT":
		c = flag(store.Draft)
	case "SEEN":
		c = flag(store.Seen)
	case "KEYWORD":
		k := w.next()
		c = func(n int) bool {
			for _, x := range s.msgs[n-1].Keywords {
				if x == k {
					return true
				}
			}
			return false
		}
	case "FROM", "TO", "CC", "BCC", "SUBJECT":
		c = s.headerMatch(word, w.next())
	case "HEADER":
		name := upper(w.next())
		c = s.headerMatch(name, w.next())
	case "BODY":
		c = s.textMatch(w.next(), false)
	case "TEXT":
		c = s.textMatch(w.next(), true)
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON":
		d, ok := parseSearchDate(w.next())
		if !ok {
			return nil, false
		}
		c = s.dateMatch(word, d)
	case "SMALLER", "LARGER":
		v, err := strconv.ParseInt(w.next(), 10, 64)
		if err != nil {
			v = 0
		}
		if word == "SMALLER" {
			c = func(n int) bool { return s.msgs[n-1].Size < v }
		} else {
			c = func(n int) bool { return s.msgs[n-1].Size > v }
		}
	default:
		return nil, false
	}
	if not {
		inner := c
		c = func(n int) bool { return !inner(n) }
	}
	return c, true
}

// parseSearchDate reads an IMAP date ("8-Aug-2003", RFC 3501 §9 date).
func parseSearchDate(v string) (time.Time, bool) {
	for _, layout := range []string{"2-Jan-2006", "02-Jan-2006"} {
		if t, err := time.ParseInLocation(layout, v, timeLocation()); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// day truncates t to its calendar day in the local zone.
func day(t time.Time) time.Time {
	t = t.In(timeLocation())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, timeLocation())
}

func (s *session) dateMatch(kind string, d time.Time) criterion {
	return func(n int) bool {
		var t time.Time
		if strings.HasPrefix(kind, "SENT") {
			hdrs := s.headersOf(n)
			v, ok := hdrs.get("date")
			if !ok {
				return false
			}
			pt, err := mail.ParseDate(v)
			if err != nil {
				return false
			}
			t = pt
		} else {
			it, err := s.mb.InternalDate(s.msgs[n-1].UID)
			if err != nil {
				return false
			}
			t = it
		}
		td := day(t)
		switch strings.TrimPrefix(kind, "SENT") {
		case "BEFORE":
			return td.Before(d)
		case "ON":
			return td.Equal(d)
		default:
			return !td.Before(d)
		}
	}
}

// headersOf returns the top-level headers of message n (none when it can't be read).
func (s *session) headersOf(n int) headerList {
	data, err := s.load(s.msgs[n-1].UID)
	if err != nil {
		return nil
	}
	return parseHeaders(data[:headerEnd(data, 0, len(data))])
}

var wordDecoder = mime.WordDecoder{CharsetReader: func(charset string, in io.Reader) (io.Reader, error) {
	return nil, io.ErrUnexpectedEOF // unknown charsets stay encoded
}}

// fold prepares text for a case-insensitive substring match.
func fold(s string) string { return strings.ToUpper(s) }

func (s *session) headerMatch(name, text string) criterion {
	want := fold(text)
	return func(n int) bool {
		data, err := s.load(s.msgs[n-1].UID)
		if err != nil {
			return false
		}
		// Courier looks at the headers of every MIME part, enclosed messages included.
		found := false
		var walk func(p *part)
		walk = func(p *part) {
			for _, h := range parseHeaders(data[p.start:min(p.bodyStart, p.end)]) {
				if found || upper(h.name) != name {
					continue
				}
				v, err := wordDecoder.DecodeHeader(h.value)
				if err != nil {
					v = h.value
				}
				found = strings.Contains(fold(v), want)
			}
			for _, c := range p.children {
				if !found {
					walk(c)
				}
			}
		}
		walk(parseMIME(data))
		return found
	}
}

// textMatch searches the decoded text of every text part (and with headers, every header).
func (s *session) textMatch(text string, withHeaders bool) criterion {
	want := fold(text)
	return func(n int) bool {
		data, err := s.load(s.msgs[n-1].UID)
		if err != nil {
			return false
		}
		root := parseMIME(data)
		if withHeaders {
			for _, h := range parseHeaders(data[:root.bodyStart]) {
				v, err := wordDecoder.DecodeHeader(h.value)
				if err != nil {
					v = h.value
				}
				if strings.Contains(fold(v), want) {
					return true
				}
			}
		}
		found := false
		var walk func(p *part)
		walk = func(p *part) {
			if found {
				return
			}
			if len(p.children) > 0 {
				for _, c := range p.children {
					walk(c)
				}
				return
			}
			if strings.HasPrefix(p.ctype, "text/") {
				body := decode(p.cte, data[p.bodyStart:p.end])
				if strings.Contains(fold(string(toUTF8(body, p))), want) {
					found = true
				}
			}
		}
		walk(root)
		return found
	}
}

// toUTF8 converts a text part's body to UTF-8 when its charset is ISO-8859-1 (Courier
// searches in UTF-8); other charsets are searched as they are.
func toUTF8(body []byte, p *part) []byte {
	if p.charset != "iso-8859-1" && p.charset != "latin1" {
		return body
	}
	out := make([]rune, 0, len(body))
	for _, c := range body {
		out = append(out, rune(c))
	}
	return []byte(string(out))
}
