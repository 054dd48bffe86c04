package server

import (
	"strings"

	"courier/internal/imap/bodystruct"
	"courier/internal/imap/wire"
)

// fetchItem is one FETCH attribute (RFC 3501 §6.4.5).
type fetchItem struct {
	name    string // ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID BODY[]
	section bodystruct.Section
	peek    bool
	partial bool
	offset  int64
	count   int64
}

// needsBody reports whether an item needs the message's content.
func (f *fetchItem) needsContent() bool {
	switch f.name {
	case "FLAGS", "UID", "INTERNALDATE":
		return false
	}
	return true
}

// setsSeen reports whether fetching the item sets \Seen (RFC 3501 §6.4.5). RFC 3501 says
// RFC822.TEXT is BODY[TEXT] and so sets \Seen; Courier leaves \Seen alone for it, and so do
// we, so that clients moving from Courier see the same flags (no current client fetches
// RFC822.TEXT to read a message).
func (f *fetchItem) setsSeen() bool {
	switch f.name {
	case "RFC822":
		return true
	case "BODY[]":
		return !f.peek
	}
	return false
}

func isFetchWordChar(c byte) bool {
	return c != ' ' && c != '(' && c != ')' && c != '[' && c != '<' && c > 0x20 && c < 0x7f
}

// fetchItems reads the attribute list (or a single attribute or macro).
func (ss *session) fetchItems() ([]fetchItem, error) {
	if ss.r.Peek() != '(' {
		word := strings.ToUpper(ss.r.Word(func(c byte) bool { return !isFetchWordChar(c) }))
		switch word {
		case "ALL":
			return []fetchItem{{name: "FLAGS"}, {name: "INTERNALDATE"}, {name: "RFC822.SIZE"}, {name: "ENVELOPE"}}, nil
		case "FAST":
			return []fetchItem{{name: "FLAGS"}, {name: "INTERNALDATE"}, {name: "RFC822.SIZE"}}, nil
		case "FULL":
			return []fetchItem{{name: "FLAGS"}, {name: "INTERNALDATE"}, {name: "RFC822.SIZE"}, {name: "ENVELOPE"}, {name: "BODY"}}, nil
		}
		it, err := ss.fetchItem(word)
		if err != nil {
			return nil, err
		}
		return []fetchItem{it}, nil
	}
	ss.r.Skip(1)
	var items []fetchItem
	for ss.r.Peek() != ')' {
		if len(items) > 0 {
			if err := ss.r.SP(); err != nil {
				return nil, err
			}
		}
		word := strings.ToUpper(ss.r.Word(func(c byte) bool { return !isFetchWordChar(c) }))
		it, err := ss.fetchItem(word)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		if len(items) > 100 {
			return nil, errUnknown
		}
	}
	ss.r.Skip(1)
	if len(items) == 0 {
		return nil, errUnknown
	}
	return items, nil
}

// fetchItem reads the rest of an attribute whose first word is word.
func (ss *session) fetchItem(word string) (fetchItem, error) {
	switch word {
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE", "RFC822.TEXT", "BODYSTRUCTURE", "UID":
		return fetchItem{name: word}, nil
	case "BODY", "BODY.PEEK":
		if ss.r.Peek() != '[' {
			if word == "BODY" {
				return fetchItem{name: "BODY"}, nil
			}
			return fetchItem{}, errUnknown
		}
		ss.r.Skip(1)
		sec, err := ss.section()
		if err != nil {
			return fetchItem{}, err
		}
		it := fetchItem{name: "BODY[]", section: sec, peek: word == "BODY.PEEK"}
		if ss.r.Peek() == '<' {
			ss.r.Skip(1)
			off, err := ss.r.Number64()
			if err != nil {
				return fetchItem{}, err
			}
			if err := ss.r.Expect('.'); err != nil {
				return fetchItem{}, err
			}
			n, err := ss.r.Number64()
			if err != nil || n == 0 {
				return fetchItem{}, errUnknown
			}
			if err := ss.r.Expect('>'); err != nil {
				return fetchItem{}, err
			}
			it.partial, it.offset, it.count = true, int64(off), int64(n)
		}
		return it, nil
	}
	return fetchItem{}, errUnknown
}

// section reads a section-spec up to and including "]" (RFC 3501 §9 section).
func (ss *session) section() (bodystruct.Section, error) {
	var s bodystruct.Section
	for {
		c := ss.r.Peek()
		if c >= '1' && c <= '9' {
			n, err := ss.r.Number()
			if err != nil {
				return s, err
			}
			if len(s.Part) >= 100 {
				return s, errUnknown
			}
			s.Part = append(s.Part, int(n))
			if ss.r.Peek() == '.' {
				ss.r.Skip(1)
				continue
			}
			break
		}
		break
	}
	if ss.r.Peek() != ']' {
		spec := strings.ToUpper(ss.r.Word(func(c byte) bool { return c == ']' || c == ' ' || c == '(' || c == ')' || c < 0x21 || c > 0x7e }))
		switch spec {
		case "HEADER", "TEXT":
		case "MIME":
			if len(s.Part) == 0 {
				return s, errUnknown
			}
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			if err := ss.r.SP(); err != nil {
				return s, err
			}
			if err := ss.r.Expect('('); err != nil {
				return s, err
			}
			for ss.r.Peek() != ')' {
				if len(s.Fields) > 0 {
					if err := ss.r.SP(); err != nil {
						return s, err
					}
				}
				f, err := ss.r.AString()
				if err != nil {
					return s, err
				}
				if len(s.Fields) >= 1000 {
					return s, errUnknown
				}
				s.Fields = append(s.Fields, f)
			}
			ss.r.Skip(1)
			if len(s.Fields) == 0 {
				return s, errUnknown
			}
		default:
			return s, errUnknown
		}
		s.Spec = spec
	}
	if err := ss.r.Expect(']'); err != nil {
		return s, err
	}
	return s, nil
}

var _ = wire.Star
