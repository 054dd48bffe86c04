package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/hdrcache"
)

// keyedStore counts message opens like countingStore, and passes through what the header
// cache needs of a maildirstore view.
type keyedStore struct{ countingStore }

func (s keyedStore) Open(name string) (store.Mailbox, error) {
	mb, err := s.countingStore.Store.Open(name)
	if err != nil {
		return nil, err
	}
	return keyedMailbox{countingMailbox{mb, s.opens}}, nil
}

type keyedMailbox struct{ countingMailbox }

type headerKeyer interface {
	FolderDir() string
	EachMessageKey(fn func(uid store.UID, key string))
}

func (m keyedMailbox) FolderDir() string { return m.Mailbox.(headerKeyer).FolderDir() }

func (m keyedMailbox) EachMessageKey(fn func(uid store.UID, key string)) {
	m.Mailbox.(headerKeyer).EachMessageKey(fn)
}

// headerCacheSearches are searches of header fields, cached and not, and what each finds in
// the messages of TestSearchHeaderCache.
var headerCacheSearches = []struct{ cmd, want string }{
	{`SEARCH SUBJECT anchor`, `* SEARCH 1 2 3`},
	{`SEARCH SUBJECT "café"`, `* SEARCH 1`},
	{`SEARCH FROM john`, `* SEARCH 1`},
	{`SEARCH FROM "andré"`, `* SEARCH 2`},
	{`SEARCH HEADER X-Custom beta`, `* SEARCH 2`},
	{`SEARCH SENTSINCE 2-Jan-2024`, `* SEARCH 2 3`},
	{`SEARCH HEADER References "<c@d>"`, `* SEARCH 5`},
	{`SEARCH OR SUBJECT second CC carol`, `* SEARCH 3`},
	{`SEARCH NOT SUBJECT anchor`, `* SEARCH 4 5`},
	{`SEARCH HEADER Subject ""`, `* SEARCH 1 2 3 4`},
	{`SEARCH SUBJECT anchor BODY anchor`, `* SEARCH 1`},
}

var headerCacheMessages = []string{
	"Subject: =?UTF-8?Q?Caf=C3=A9_anchor?=\nFrom: \"Doe, John\" <john@example.test>\nTo: a@example.test\n" +
		"Date: Mon, 1 Jan 2024 10:00:00 +0000\nX-Custom: alpha\n\nbody anchor\n",
	"Subject: folded\n anchor line\nFrom: =?ISO-8859-1?Q?Andr=E9?= <andre@example.test>\n" +
		"Date: Tue, 2 Jan 2024 10:00:00 +0000\nX-Custom: beta\n\nbody\n",
	"Subject: first\r\nSubject: second anchor\r\nCc: carol@example.test\r\nDate: Wed, 3 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n",
	// a header ended by an odd line: its fields cannot be cached, the file answers
	"Subject: odd\n\rX: y\nSubject: hidden anchor\n\nbody\n",
	"X-Custom: gamma\nReferences: <a@b> <c@d>\n\nSubject: in the body, anchor\n",
}

// SEARCH of header fields answers the same from the header cache as from the messages, the
// first search fills the cache (a file beside the index that the next process reads), later
// ones open only messages the cache cannot answer for, and the cache stays right when flags
// change (files renamed), messages are expunged or arrive, and when its file is damaged.
func TestSearchHeaderCache(t *testing.T) {
	md, st := newMaildir(t)
	deliverTo(t, md, headerCacheMessages...)
	var opens atomic.Int64
	ks := keyedStore{countingStore{st, &opens}}
	run := func(extra ...string) string {
		lines := []string{"a SELECT INBOX"}
		for i, s := range headerCacheSearches {
			lines = append(lines, string(rune('b'+i))+" "+s.cmd)
		}
		lines = append(lines, extra...)
		lines = append(lines, "z LOGOUT")
		return session(t, ks, md, time.Time{}, nil, lines...)
	}
	check := func(what, out string) {
		t.Helper()
		for i, s := range headerCacheSearches {
			tag := string(rune('b' + i))
			if !strings.Contains(out, s.want+"\r\n"+tag+" OK") {
				t.Errorf("%s: %s: want %q in:\n%s", what, s.cmd, s.want, out)
			}
		}
	}
	subjectOpens := func(what string, want int64) {
		t.Helper()
		opens.Store(0)
		out := session(t, ks, md, time.Time{}, nil, "a SELECT INBOX", "b SEARCH SUBJECT anchor", "z LOGOUT")
		if n := opens.Load(); n != want {
			t.Errorf("%s: SEARCH SUBJECT opened %d messages, want %d:\n%s", what, n, want, out)
		}
	}
	check("first search, cache empty", run())
	if _, err := os.Stat(filepath.Join(md, hdrcache.FileName)); err != nil {
		t.Fatalf("no header cache after a search: %v", err)
	}
	check("from the cache", run())
	subjectOpens("cache filled", 1) // message 4's fields cannot stand for its header

	// flags change the file names, not the keys
	session(t, ks, md, time.Time{}, nil, "a SELECT INBOX", "b STORE 1:* +FLAGS (\\Seen \\Flagged)", "z LOGOUT")
	check("after STORE", run())
	subjectOpens("after STORE", 1)

	// expunged: gone from the answers (sequence numbers move) and from the file at its next save
	out := session(t, ks, md, time.Time{}, nil, "a SELECT INBOX", "b STORE 2 +FLAGS (\\Deleted)", "c EXPUNGE",
		"d SEARCH SUBJECT anchor", `e SEARCH FROM "andré"`, "z LOGOUT")
	expect(t, out, "* SEARCH 1 2", "* SEARCH")
	// a new message: read once, then cached
	deliverNamed(t, md, "1700000000.M1P1.new", "Subject: new anchor\nDate: Fri, 5 Jan 2024 10:00:00 +0000\n\nx\n")
	opens.Store(0)
	out = session(t, ks, md, time.Time{}, nil, "a SELECT INBOX", "b SEARCH SUBJECT anchor", "c SEARCH SENTSINCE 4-Jan-2024", "z LOGOUT")
	expect(t, out, "* SEARCH 1 2 5", "* SEARCH 5")
	if n := opens.Load(); n != 3 {
		t.Errorf("with a new message: %d opens, want 3 (it once, the uncacheable one twice)", n)
	}
	subjectOpens("new message cached", 1)

	// a damaged file is ignored (every message read again) and replaced
	if err := os.WriteFile(filepath.Join(md, hdrcache.FileName), []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	subjectOpens("damaged file", 5)
	subjectOpens("file replaced", 1)
	// and a deleted one alike
	os.Remove(filepath.Join(md, hdrcache.FileName))
	subjectOpens("deleted file", 5)
	subjectOpens("file made again", 1)
}

// deliverNamed puts a message into new/ under the given name.
func deliverNamed(t *testing.T, md, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(md, "tmp", name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(md, "tmp", name), filepath.Join(md, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// SORT and THREAD read their keys from the hits' headers: they never get the cache's trimmed
// headers, whatever the search keys, and answer the same with the cache filled.
func TestSortNotFromHeaderCache(t *testing.T) {
	md, st := newMaildir(t)
	deliverTo(t, md, "Subject: b anchor\nX-Sort: 2\n\n", "Subject: a anchor\nX-Sort: 1\n\n")
	var opens atomic.Int64
	ks := keyedStore{countingStore{st, &opens}}
	sortThread := func() string {
		out := session(t, ks, md, time.Time{}, nil, "a SELECT INBOX", "b SORT (SUBJECT) UTF-8 SUBJECT anchor",
			"c THREAD ORDEREDSUBJECT UTF-8 SUBJECT anchor", "z LOGOUT")
		expect(t, out, "* SORT 2 1")
		_, out, _ = strings.Cut(out, "a OK") // the \Recent count differs: the first session claims them
		return out
	}
	before := sortThread()
	session(t, ks, md, time.Time{}, nil, "a SELECT INBOX", "b SEARCH SUBJECT anchor", "z LOGOUT")
	if _, err := os.Stat(filepath.Join(md, hdrcache.FileName)); err != nil {
		t.Fatal(err)
	}
	if after := sortThread(); after != before {
		t.Errorf("with the header cache filled:\n%s\nwithout:\n%s", after, before)
	}
}
