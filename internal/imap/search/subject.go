package search

import "strings"

// BaseSubject returns the base subject of a Subject: field value (RFC 5256 §2.1), as SORT
// SUBJECT and THREAD compare it: encoded-words decoded to UTF-8, white space collapsed, and
// reply/forward leaders ("Re:", "Fwd:", "[list] Re[2]:"), "(fwd)" trailers, leading
// "[blob]"s (unless nothing else would remain) and "[fwd: ...]" wrappers removed. Case is
// kept; compare base subjects with CompareFold (i;ascii-casemap), as Courier does.
//
// Courier agrees except that it takes no white space between "re"/"fw"/"fwd" and the colon
// or blob ("Re : x", "Re [2]: x" stay whole); RFC 5256's subj-refwd allows it, so we do.
func BaseSubject(s string) string {
	b, _ := SubjectInfo(s)
	return b
}

// SubjectInfo returns the base subject and whether the subject was a reply or forward (it
// had a subj-refwd leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper), which THREAD
// REFERENCES needs (RFC 5256 §4 step 5).
func SubjectInfo(s string) (base string, replyOrForward bool) {
	// (1) decode, tabs and line breaks to spaces, runs of spaces to one
	s = DecodeWords(s)
	var b strings.Builder
	sp := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			continue
		}
		if c == ' ' || c == '\t' {
			if !sp {
				b.WriteByte(' ')
			}
			sp = true
			continue
		}
		sp = false
		b.WriteByte(c)
	}
	s = b.String()
	for {
		// (2) trailers: "(fwd)" and white space
		for {
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
				continue
			}
			if len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)") {
				s = s[:len(s)-5]
				replyOrForward = true
				continue
			}
			break
		}
		// (3)-(5) leaders and blobs, until nothing changes
		for {
			changed := false
			for {
				n, refwd := leaderLen(s)
				if n == 0 {
					break
				}
				s = s[n:]
				changed = true
				if refwd {
					replyOrForward = true
				}
			}
			if n := blobLen(s); n > 0 && n < len(s) {
				s = s[n:]
				changed = true
			}
			if !changed {
				break
			}
		}
		// (6) "[fwd:" ... "]"
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			replyOrForward = true
			continue
		}
		break
	}
	return s, replyOrForward
}

// blobLen returns the length of a subj-blob at the start of s: "[" *BLOBCHAR "]" *WSP.
func blobLen(s string) int {
	if len(s) == 0 || s[0] != '[' {
		return 0
	}
	i := 1
	for i < len(s) && s[i] != '[' && s[i] != ']' {
		i++
	}
	if i >= len(s) || s[i] != ']' {
		return 0
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// leaderLen returns the length of a subj-leader at the start of s — (*subj-blob subj-refwd)
// or white space — and whether it was a subj-refwd.
func leaderLen(s string) (int, bool) {
	if len(s) > 0 && s[0] == ' ' {
		return 1, false
	}
	i := 0
	for {
		n := blobLen(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	if n := refwdLen(s[i:]); n > 0 {
		return i + n, true
	}
	return 0, false
}

// refwdLen returns the length of a subj-refwd: ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func refwdLen(s string) int {
	i := 0
	switch {
	case len(s) >= 2 && strings.EqualFold(s[:2], "re"):
		i = 2
	case len(s) >= 3 && strings.EqualFold(s[:3], "fwd"):
		i = 3
	case len(s) >= 2 && strings.EqualFold(s[:2], "fw"):
		i = 2
	default:
		return 0
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	i += blobLen(s[i:])
	if i < len(s) && s[i] == ':' {
		return i + 1
	}
	return 0
}

// CompareFold compares two strings with the i;ascii-casemap collation (RFC 4790 §9.2):
// bytewise after mapping ASCII a-z to A-Z. It returns -1, 0 or 1.
func CompareFold(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if 'a' <= ca && ca <= 'z' {
			ca -= 'a' - 'A'
		}
		if 'a' <= cb && cb <= 'z' {
			cb -= 'a' - 'A'
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
