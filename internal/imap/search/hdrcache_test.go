package search

import (
	"testing"
	"time"

	"courier/internal/store/hdrcache"
)

// FuzzHeaderCacheEquivalent checks the header cache's promise to SEARCH: for every field the
// cache keeps, a header key finds the same in the cached fields (hdrcache.Extract) as in the
// whole header, whatever the header's shape. Extract refuses (ok false) headers it cannot
// stand in for; those are read from the message.
func FuzzHeaderCacheEquivalent(f *testing.F) {
	for _, s := range []string{
		"Subject: hello\nFrom: a@b\n\nbody",
		"Subject: =?UTF-8?Q?Caf=C3=A9?=\r\nTo: \"X, Y\" <x@y>\r\n\r\n",
		"Subject : spaced\n folded\nX-Other: subject: no\nDate: Tue, 2 Jan 2024 10:00:00 +0000\n",
		" Subject: continuation first\nSubject\t: tab\nsubject: lower\n",
		"Subject: a\n\rX: y\nSubject: hidden\n\n",
		"References: <a@b>\n <c@d>\nIn-Reply-To: <e@f>\nMessage-ID: <g@h>\nList-Id: <l.example>\n",
		"Cc: =?ISO-8859-1?Q?Andr=E9?= <a@b>\nBcc: c@d\nReply-To: e@f\nSender: g@h\n",
		"no colon line\nSubject: after\n\n",
		"Date: Wed, 3 Jan 2024 23:30:00 -0500\nDate: Thu, 4 Jan 2024 10:00:00 +0000\n",
	} {
		f.Add(s)
	}
	needles := []string{"a", "hello", "café", "x, y", "<c@d>", "andr", "", "hidden", "lower", "tab"}
	day := time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, hdr string) {
		block, ok := hdrcache.Extract(nil, []byte(hdr))
		if !ok {
			return
		}
		var keys []Key
		for _, field := range []string{"subject", "from", "to", "cc", "bcc", "date", "message-id",
			"in-reply-to", "references", "reply-to", "sender", "list-id"} {
			for _, n := range needles {
				keys = append(keys, Key{Op: Header, Field: field, Value: n})
			}
		}
		for _, n := range needles {
			keys = append(keys, Key{Op: Subject, Value: n}, Key{Op: From, Value: n}, Key{Op: Cc, Value: n})
		}
		keys = append(keys, Key{Op: SentOn, Date: day}, Key{Op: SentBefore, Date: day}, Key{Op: SentSince, Date: day})
		for _, k := range keys {
			m := NewMatcher(k, Options{Location: time.UTC})
			whole, err1 := m.Match(&Message{Header: func() ([]byte, error) { return []byte(hdr), nil }})
			cached, err2 := m.Match(&Message{Header: func() ([]byte, error) { return block, nil }})
			if whole != cached || (err1 == nil) != (err2 == nil) {
				t.Fatalf("%+v on %q: whole header %v (%v), cached fields %q %v (%v)", k, hdr, whole, err1, block, cached, err2)
			}
		}
	})
}
