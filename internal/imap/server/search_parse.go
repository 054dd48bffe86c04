package server

import (
	"errors"
	"strings"
	"time"

	"courier/internal/imap/search"
	"courier/internal/imap/wire"
)

// searchProgram is a parsed SEARCH (or the search part of SORT and THREAD).
type searchProgram struct {
	key     search.Key
	charset string
	ret     []string // ESEARCH RETURN options (RFC 4731); nil for a plain SEARCH
	esearch bool
	// needsDates: SORT by ARRIVAL or DATE needs internal dates whatever the keys.
	needsDates bool
	// needsSizes: SORT by SIZE needs RFC822.SIZE whatever the keys.
	needsSizes bool
	// headerCache: the header cache may answer the header keys (only SEARCH: see cmdSearch);
	// lookup is runSearch's use of it.
	headerCache bool
	lookup      *headerLookup
}

// searchArgs reads [RETURN (...)] [CHARSET x] keys... up to the end of the command.
func (ss *session) searchArgs(allowReturn bool) (*searchProgram, error) {
	p := &searchProgram{}
	if allowReturn && ss.r.PeekFold("RETURN ") {
		ss.r.Skip(len("RETURN "))
		if err := ss.r.Expect('('); err != nil {
			return nil, err
		}
		p.esearch = true
		for ss.r.Peek() != ')' {
			if len(p.ret) > 0 {
				if err := ss.r.SP(); err != nil {
					return nil, err
				}
			}
			a, err := ss.r.Atom()
			if err != nil {
				return nil, err
			}
			a = strings.ToUpper(a)
			switch a {
			case "MIN", "MAX", "ALL", "COUNT":
			default:
				return nil, bad("", "Unknown RETURN option.")
			}
			p.ret = append(p.ret, a)
		}
		ss.r.Skip(1)
		if len(p.ret) == 0 {
			p.ret = []string{"ALL"}
		}
		if err := ss.r.SP(); err != nil {
			return nil, err
		}
	}
	if ss.r.PeekFold("CHARSET ") {
		ss.r.Skip(len("CHARSET "))
		cs, err := ss.r.AString()
		if err != nil {
			return nil, err
		}
		p.charset = cs
		if _, err := search.Decode(cs, nil); err != nil {
			return nil, no("BADCHARSET", "Unknown charset.")
		}
		if err := ss.r.SP(); err != nil {
			return nil, err
		}
	}
	keys, err := ss.searchKeys(p, 0, false)
	if err != nil {
		return nil, err
	}
	if len(keys) == 1 {
		p.key = keys[0]
	} else {
		p.key = search.Key{Op: search.And, Keys: keys}
	}
	return p, nil
}

// searchKeys reads keys separated by spaces until the end of the command (or ")" when
// inList).
func (ss *session) searchKeys(p *searchProgram, depth int, inList bool) ([]search.Key, error) {
	var keys []search.Key
	for {
		k, err := ss.searchKey(p, depth)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		if inList && ss.r.Peek() == ')' {
			return keys, nil
		}
		if ss.r.AtEnd() {
			if inList {
				return nil, bad("", "Missing ) in search keys.")
			}
			return keys, nil
		}
		if err := ss.r.SP(); err != nil {
			return nil, err
		}
		if len(keys) > 1000 {
			return nil, bad("", "Too many search keys.")
		}
	}
}

// searchString reads a string argument and converts it from the search's charset.
func (ss *session) searchString(p *searchProgram) (string, error) {
	s, err := ss.r.AString()
	if err != nil {
		return "", err
	}
	if p.charset == "" {
		return s, nil
	}
	u, err := search.Decode(p.charset, []byte(s))
	if err != nil {
		return "", no("BADCHARSET", "Unknown charset.")
	}
	return u, nil
}

// searchDate reads a date (RFC 3501 §9 date: d-Mon-yyyy, possibly quoted).
func (ss *session) searchDate() (time.Time, error) {
	s, err := ss.r.AString()
	if err != nil {
		return time.Time{}, err
	}
	for _, layout := range []string{"2-Jan-2006", "02-Jan-2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, bad("", "Invalid date.")
}

var errSearchSyntax = errors.New("search syntax")

// searchKey reads one search key (RFC 3501 §6.4.4).
func (ss *session) searchKey(p *searchProgram, depth int) (search.Key, error) {
	if depth > 50 {
		return search.Key{}, bad("", "Search keys nested too deeply.")
	}
	c := ss.r.Peek()
	if c == '(' {
		ss.r.Skip(1)
		keys, err := ss.searchKeys(p, depth+1, true)
		if err != nil {
			return search.Key{}, err
		}
		ss.r.Skip(1)
		return search.Key{Op: search.And, Keys: keys}, nil
	}
	if (c >= '0' && c <= '9') || c == '*' {
		set, err := ss.r.SeqSet()
		if err != nil {
			return search.Key{}, err
		}
		return search.Key{Op: search.SeqSet, Ranges: ss.ranges(set, false)}, nil
	}
	word, err := ss.r.Atom()
	if err != nil {
		return search.Key{}, errUnknown
	}
	word = strings.ToUpper(word)
	simple := map[string]search.Op{
		"ALL": search.All, "ANSWERED": search.Answered, "DELETED": search.Deleted, "DRAFT": search.Draft,
		"FLAGGED": search.Flagged, "NEW": search.New, "OLD": search.Old, "RECENT": search.Recent,
		"SEEN": search.Seen, "UNANSWERED": search.Unanswered, "UNDELETED": search.Undeleted,
		"UNDRAFT": search.Undraft, "UNFLAGGED": search.Unflagged, "UNSEEN": search.Unseen,
	}
	if op, found := simple[word]; found {
		return search.Key{Op: op}, nil
	}
	strOps := map[string]search.Op{
		"BCC": search.Bcc, "BODY": search.Body, "CC": search.Cc, "FROM": search.From,
		"SUBJECT": search.Subject, "TEXT": search.Text, "TO": search.To,
	}
	dateOps := map[string]search.Op{
		"BEFORE": search.Before, "ON": search.On, "SINCE": search.Since,
		"SENTBEFORE": search.SentBefore, "SENTON": search.SentOn, "SENTSINCE": search.SentSince,
	}
	if err := ss.r.SP(); err != nil && word != "" {
		return search.Key{}, errUnknown
	}
	if op, found := strOps[word]; found {
		s, err := ss.searchString(p)
		if err != nil {
			return search.Key{}, err
		}
		return search.Key{Op: op, Value: s}, nil
	}
	if op, found := dateOps[word]; found {
		d, err := ss.searchDate()
		if err != nil {
			return search.Key{}, err
		}
		return search.Key{Op: op, Date: d}, nil
	}
	switch word {
	case "HEADER":
		f, err := ss.r.AString()
		if err != nil {
			return search.Key{}, err
		}
		if err := ss.r.SP(); err != nil {
			return search.Key{}, err
		}
		s, err := ss.searchString(p)
		if err != nil {
			return search.Key{}, err
		}
		return search.Key{Op: search.Header, Field: f, Value: s}, nil
	case "KEYWORD", "UNKEYWORD":
		// A flag such as \Seen is no keyword: it matches nothing (as Courier answers).
		k := ss.r.Word(func(c byte) bool { return c == ' ' || c == ')' || c == '(' })
		if k == "" {
			return search.Key{}, errUnknown
		}
		op := search.Keyword
		if word == "UNKEYWORD" {
			op = search.Unkeyword
		}
		return search.Key{Op: op, Value: k}, nil
	case "LARGER", "SMALLER":
		n, err := ss.r.Number64()
		if err != nil {
			return search.Key{}, err
		}
		op := search.Larger
		if word == "SMALLER" {
			op = search.Smaller
		}
		return search.Key{Op: op, N: int64(n)}, nil
	case "NOT":
		k, err := ss.searchKey(p, depth+1)
		if err != nil {
			return search.Key{}, err
		}
		return search.Key{Op: search.Not, Keys: []search.Key{k}}, nil
	case "OR":
		a, err := ss.searchKey(p, depth+1)
		if err != nil {
			return search.Key{}, err
		}
		if err := ss.r.SP(); err != nil {
			return search.Key{}, err
		}
		b, err := ss.searchKey(p, depth+1)
		if err != nil {
			return search.Key{}, err
		}
		return search.Key{Op: search.Or, Keys: []search.Key{a, b}}, nil
	case "UID":
		set, err := ss.r.SeqSet()
		if err != nil {
			return search.Key{}, err
		}
		return search.Key{Op: search.UIDSet, Ranges: ss.ranges(set, true)}, nil
	}
	return search.Key{}, errUnknown
}

// ranges resolves "*" against the selected mailbox.
func (ss *session) ranges(set wire.SeqSet, uid bool) []search.Range {
	var max uint32
	if n := len(ss.sel.msgs); n > 0 {
		max = uint32(n)
		if uid {
			max = uint32(ss.sel.msgs[n-1].UID)
		}
	}
	out := make([]search.Range, 0, len(set))
	for _, r := range set.Resolve(max) {
		out = append(out, search.Range{Lo: r.Lo, Hi: r.Hi})
	}
	return out
}
