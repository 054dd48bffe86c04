package search

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A small SEARCH program parser for tests (the real one lives in the IMAP wire package).

type tparser struct {
	toks []string
	cs   string
}

func tokenizeCmd(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
		case c == '(' || c == ')':
			out = append(out, string(c))
			i++
		case c == '"':
			var b strings.Builder
			b.WriteByte('"')
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			if i >= len(s) {
				return nil, errors.New("unterminated quoted string")
			}
			i++
			out = append(out, b.String())
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != ')' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

// parseSearch parses "[CHARSET x] key..." into an And key.
func parseSearch(s string, maxSeq, maxUID uint32) (Key, error) {
	toks, err := tokenizeCmd(s)
	if err != nil {
		return Key{}, err
	}
	p := &tparser{toks: toks}
	if len(p.toks) >= 2 && strings.EqualFold(p.toks[0], "CHARSET") {
		p.cs = p.toks[1]
		p.toks = p.toks[2:]
	}
	var keys []Key
	for len(p.toks) > 0 {
		k, err := p.key(maxSeq, maxUID)
		if err != nil {
			return Key{}, err
		}
		keys = append(keys, k)
	}
	return Key{Op: And, Keys: keys}, nil
}

func (p *tparser) next() (string, error) {
	if len(p.toks) == 0 {
		return "", errors.New("missing argument")
	}
	t := p.toks[0]
	p.toks = p.toks[1:]
	return t, nil
}

func (p *tparser) str() (string, error) {
	t, err := p.next()
	if err != nil {
		return "", err
	}
	t = strings.TrimPrefix(t, "\"")
	return Decode(p.cs, []byte(t))
}

func (p *tparser) date() (time.Time, error) {
	t, err := p.next()
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse("2-Jan-2006", strings.Trim(t, "\""))
}

func parseSet(s string, max uint32) ([]Range, error) {
	var out []Range
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		if !isRange {
			hi = lo
		}
		num := func(x string) (uint32, error) {
			if x == "*" {
				return max, nil
			}
			n, err := strconv.ParseUint(x, 10, 32)
			return uint32(n), err
		}
		a, err := num(lo)
		if err != nil {
			return nil, err
		}
		b, err := num(hi)
		if err != nil {
			return nil, err
		}
		out = append(out, Range{a, b})
	}
	return out, nil
}

var simpleOps = map[string]Op{
	"ALL": All, "ANSWERED": Answered, "DELETED": Deleted, "DRAFT": Draft, "FLAGGED": Flagged,
	"NEW": New, "OLD": Old, "RECENT": Recent, "SEEN": Seen, "UNANSWERED": Unanswered,
	"UNDELETED": Undeleted, "UNDRAFT": Undraft, "UNFLAGGED": Unflagged, "UNSEEN": Unseen,
}
var stringOps = map[string]Op{
	"BCC": Bcc, "BODY": Body, "CC": Cc, "FROM": From, "SUBJECT": Subject, "TEXT": Text, "TO": To,
	"KEYWORD": Keyword, "UNKEYWORD": Unkeyword,
}
var dateOps = map[string]Op{
	"BEFORE": Before, "ON": On, "SINCE": Since, "SENTBEFORE": SentBefore, "SENTON": SentOn, "SENTSINCE": SentSince,
}

func (p *tparser) key(maxSeq, maxUID uint32) (Key, error) {
	t, err := p.next()
	if err != nil {
		return Key{}, err
	}
	u := strings.ToUpper(t)
	if op, ok := simpleOps[u]; ok {
		return Key{Op: op}, nil
	}
	if op, ok := stringOps[u]; ok {
		v, err := p.str()
		return Key{Op: op, Value: v}, err
	}
	if op, ok := dateOps[u]; ok {
		d, err := p.date()
		return Key{Op: op, Date: d}, err
	}
	switch u {
	case "(":
		var keys []Key
		for len(p.toks) > 0 && p.toks[0] != ")" {
			k, err := p.key(maxSeq, maxUID)
			if err != nil {
				return Key{}, err
			}
			keys = append(keys, k)
		}
		if _, err := p.next(); err != nil {
			return Key{}, err
		}
		return Key{Op: And, Keys: keys}, nil
	case "NOT":
		k, err := p.key(maxSeq, maxUID)
		return Key{Op: Not, Keys: []Key{k}}, err
	case "OR":
		a, err := p.key(maxSeq, maxUID)
		if err != nil {
			return Key{}, err
		}
		b, err := p.key(maxSeq, maxUID)
		return Key{Op: Or, Keys: []Key{a, b}}, err
	case "HEADER":
		f, err := p.str()
		if err != nil {
			return Key{}, err
		}
		v, err := p.str()
		return Key{Op: Header, Field: f, Value: v}, err
	case "LARGER", "SMALLER":
		n, err := p.next()
		if err != nil {
			return Key{}, err
		}
		v, err := strconv.ParseInt(n, 10, 64)
		op := Larger
		if u == "SMALLER" {
			op = Smaller
		}
		return Key{Op: op, N: v}, err
	case "UID":
		s, err := p.next()
		if err != nil {
			return Key{}, err
		}
		r, err := parseSet(s, maxUID)
		return Key{Op: UIDSet, Ranges: r}, err
	}
	if t != "" && (t[0] >= '0' && t[0] <= '9' || t[0] == '*') {
		r, err := parseSet(t, maxSeq)
		return Key{Op: SeqSet, Ranges: r}, err
	}
	return Key{}, fmt.Errorf("unknown search key %q", t)
}
