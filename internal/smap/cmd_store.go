package smap

import (
	"strings"
	"time"

	"courier/internal/store"
)

// timeLocation is the zone dates are shown in: the process's (TZ), as Courier does.
func timeLocation() *time.Location { return time.Local }

// parseFlagList reads "NAME=A,B,…" flag names (upper case only, as Courier compares them);
// unknown names are ignored.
func parseFlagList(list string) store.Flags {
	var f store.Flags
	for _, w := range strings.Split(list, ",") {
		switch w {
		case "SEEN":
			f |= store.Seen
		case "REPLIED":
			f |= store.Answered
		case "DRAFT":
			f |= store.Draft
		case "DELETED":
			f |= store.Deleted
		case "MARKED":
			f |= store.Flagged
		}
	}
	return f
}

// parseKeywordList reads a comma-separated keyword list; keywords are case-sensitive in
// SMAP. Empty names and names with characters IMAP can't carry are skipped.
func parseKeywordList(list string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range strings.Split(list, ",") {
		if k == "" || seen[k] || !validKeyword(k) {
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	return out
}

// validKeyword refuses what can't be stored as an IMAP keyword (RFC 3501 atom characters).
func validKeyword(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// allowedFlags drops the flags the rights don't allow changing: "s" for SEEN, "t" for
// DELETED, "w" for the others.
func allowedFlags(f store.Flags, rights string) store.Flags {
	if !strings.Contains(rights, "s") {
		f &^= store.Seen
	}
	if !strings.Contains(rights, "t") {
		f &^= store.Deleted
	}
	if !strings.Contains(rights, "w") {
		f &^= store.Answered | store.Flagged | store.Draft
	}
	return f
}

// cmdStore is STORE set change…, where a change is FLAGS=, +FLAGS=, -FLAGS=, KEYWORDS=,
// +KEYWORDS=, -KEYWORDS= or INTERNALDATE=. Each changed message is reported with its new
// flags (or keywords).
func (s *session) cmdStore(w *words) {
	set, word, err := parseMsgSet(w)
	if err != nil {
		s.writes("-ERR Cannot update folder status: " + errText(err) + "\n")
		return
	}
	for ; word != ""; word = w.next() {
		k := strings.IndexByte(word, '=')
		if k < 0 {
			continue
		}
		name, val := upper(word[:k]), word[k+1:]
		var err error
		switch name {
		case "FLAGS", "+FLAGS", "-FLAGS":
			err = s.storeFlags(set, name, parseFlagList(upper(val)))
		case "KEYWORDS", "+KEYWORDS", "-KEYWORDS":
			if s.keywords {
				err = s.storeKeywords(set, name, parseKeywordList(val))
			}
		case "INTERNALDATE":
			// The store has no way to change an internal date after delivery; Courier
			// sets the file's time. Accept and ignore, as a date Courier can't parse is.
		}
		if err != nil {
			s.writes("-ERR Cannot update folder status: " + errText(err) + "\n")
			return
		}
	}
	s.writes("+OK Folder status updated\n")
}

func (s *session) storeFlags(set msgSet, op string, flags store.Flags) error {
	var err error
	set.each(len(s.msgs), func(n int) bool {
		m := s.msgs[n-1]
		var got []store.Message
		switch op {
		case "FLAGS":
			// Replace the flags the rights allow changing, keep the others.
			mask := allowedFlags(store.Seen|store.Answered|store.Flagged|store.Deleted|store.Draft, s.rights)
			nf := (m.Flags &^ mask) | (flags & mask)
			got, err = s.mb.SetFlags([]store.UID{m.UID}, store.Replace, nf, m.Keywords)
		case "+FLAGS":
			got, err = s.mb.SetFlags([]store.UID{m.UID}, store.Add, allowedFlags(flags, s.rights), nil)
		case "-FLAGS":
			got, err = s.mb.SetFlags([]store.UID{m.UID}, store.Remove, allowedFlags(flags, s.rights), nil)
		}
		if err != nil {
			return false
		}
		if len(got) == 1 {
			s.msgs[n-1] = got[0]
		}
		s.attrs(n, fetchFlags)
		return true
	})
	return err
}

func (s *session) storeKeywords(set msgSet, op string, kws []string) error {
	if !strings.Contains(s.rights, "w") {
		return nil
	}
	var err error
	set.each(len(s.msgs), func(n int) bool {
		m := s.msgs[n-1]
		var got []store.Message
		switch op {
		case "KEYWORDS":
			got, err = s.mb.SetFlags([]store.UID{m.UID}, store.Replace, m.Flags, kws)
		case "+KEYWORDS":
			got, err = s.mb.SetFlags([]store.UID{m.UID}, store.Add, 0, kws)
		case "-KEYWORDS":
			got, err = s.mb.SetFlags([]store.UID{m.UID}, store.Remove, 0, kws)
		}
		if err != nil {
			return false
		}
		if len(got) == 1 {
			s.msgs[n-1] = got[0]
		}
		s.attrs(n, fetchKeywords)
		return true
	})
	return err
}
