package server_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"courier/internal/imap/server"
	"courier/internal/store"
	"courier/internal/store/maildir"
	"courier/internal/store/maildirstore"
)

// session runs one stdio session on st with the server's clock at now (zero: the real one)
// and returns what the server wrote.
func session(t *testing.T, st store.Store, md string, now time.Time, env map[string]string, lines ...string) string {
	t.Helper()
	set, err := server.SettingsFromEnv(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{}
	if !now.IsZero() {
		cfg.Now = func() time.Time { return now }
	}
	var out bytes.Buffer
	in := strings.Join(lines, "\r\n") + "\r\n"
	if err := server.New(cfg).ServeStdio(context.Background(), strings.NewReader(in), &out, st, md, "test", set); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// newMaildir makes a Maildir++ with the given folders and opens a store on it.
func newMaildir(t *testing.T, folders ...string) (string, *maildirstore.Store) {
	t.Helper()
	md := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	st, err := maildirstore.Open(md, &maildirstore.Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, f := range folders {
		if err := st.Create(f); err != nil {
			t.Fatal(err)
		}
	}
	return md, st
}

// deliverTo puts messages into a folder directory's new/, as an MDA does.
func deliverTo(t *testing.T, dir string, texts ...string) {
	t.Helper()
	for i, x := range texts {
		name := fmt.Sprintf("%d.M%dP1.test", 1600000000+i, i)
		if err := os.WriteFile(filepath.Join(dir, "tmp", name), []byte(x), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "tmp", name), filepath.Join(dir, "new", name)); err != nil {
			t.Fatal(err)
		}
	}
}

// count returns the number of message files in a folder directory (new/ and cur/).
func count(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n += len(ents)
	}
	return n
}

func expect(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l+"\r\n") {
			t.Errorf("no %q in:\n%s", l, out)
		}
	}
}

func expectNot(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(out, l+"\r\n") {
			t.Errorf("unexpected %q in:\n%s", l, out)
		}
	}
}

// B3: `courier imapd` (ServeStdio) purges Trash as IMAP_EMPTYTRASH asks, when the session
// starts (Courier's imapd does it before its greeting), by the time the messages were put
// into Trash.
func TestStdioEmptiesTrash(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Trash")
	tr, err := st.Open("INBOX.Trash")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{"Subject: a\n\na\n", "Subject: b\n\nb\n"} {
		// Internal dates a year back: they do not decide.
		if _, err := tr.Append(strings.NewReader(x), store.AppendOptions{Date: time.Now().AddDate(-1, 0, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	tr.Close()
	deliverTo(t, md, "Subject: inbox\n\nstays\n")
	trash := filepath.Join(md, ".Trash")
	env := map[string]string{"IMAP_EMPTYTRASH": "Trash:7"}

	// Six days after they were put into Trash they stay, whatever their internal dates.
	out := session(t, st, md, time.Now().Add(6*24*time.Hour), env, "a STATUS INBOX.Trash (MESSAGES)", "z LOGOUT")
	expect(t, out, `* STATUS "INBOX.Trash" (MESSAGES 2)`)
	if n := count(t, trash); n != 2 {
		t.Fatalf("after 6 days Trash holds %d, want 2", n)
	}
	// Eight days on they are gone before the session answers anything; INBOX is untouched.
	out = session(t, st, md, time.Now().Add(8*24*time.Hour), env, "a STATUS INBOX.Trash (MESSAGES)", "z LOGOUT")
	expect(t, out, `* STATUS "INBOX.Trash" (MESSAGES 0)`)
	if n := count(t, trash); n != 0 {
		t.Errorf("after 8 days Trash holds %d, want 0", n)
	}
	if n := count(t, md); n != 1 {
		t.Errorf("INBOX holds %d, want 1", n)
	}
}

// B3: "Trash:0" means one day, as in Courier, not "everything at once".
func TestEmptyTrashZeroDaysIsOne(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Trash")
	tr, err := st.Open("INBOX.Trash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Append(strings.NewReader("Subject: a\n\na\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	session(t, st, md, time.Now().Add(time.Hour), map[string]string{"IMAP_EMPTYTRASH": "Trash:0"}, "z LOGOUT")
	if n := count(t, filepath.Join(md, ".Trash")); n != 1 {
		t.Errorf("a message put into Trash an hour ago was purged by Trash:0")
	}
}

// B4: STATUS of a folder that is not selected leaves its messages \Recent for the SELECT
// that follows (RFC 3501 §6.3.10; Courier's STATUS leaves new/ alone).
func TestStatusLeavesRecent(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Work")
	deliverTo(t, filepath.Join(md, ".Work"), "Subject: 1\n\none\n", "Subject: 2\n\ntwo\n", "Subject: 3\n\nthree\n")
	out := session(t, st, md, time.Time{}, nil,
		"a STATUS INBOX.Work (MESSAGES RECENT UIDNEXT UNSEEN)",
		"b STATUS INBOX.Work (RECENT)",
		"c SELECT INBOX.Work",
		"z LOGOUT")
	expect(t, out,
		`* STATUS "INBOX.Work" (MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 3)`,
		`* STATUS "INBOX.Work" (RECENT 3)`,
		"* 3 EXISTS", "* 3 RECENT")
}

// B4: STATUS SIZE is the sum of the messages' RFC822.SIZE (RFC 8438 §3), selected or not,
// and the items come in Courier's order.
func TestStatusSize(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Work")
	// 19 and 23 bytes with CRLF line ends.
	deliverTo(t, filepath.Join(md, ".Work"), "Subject: 1\n\none\n", "Subject: 2\n\ntwo two\n")
	out := session(t, st, md, time.Time{}, nil,
		"a STATUS INBOX.Work (SIZE UNSEEN MESSAGES)",
		"b SELECT INBOX.Work",
		"c FETCH 1:* (RFC822.SIZE)",
		"d STATUS INBOX.Work (SIZE MESSAGES)",
		"z LOGOUT")
	expect(t, out,
		`* STATUS "INBOX.Work" (MESSAGES 2 UNSEEN 2 SIZE 42)`,
		"* 1 FETCH (RFC822.SIZE 19)", "* 2 FETCH (RFC822.SIZE 23)",
		`* STATUS "INBOX.Work" (MESSAGES 2 SIZE 42)`)
}

// B5: with IMAP_MOVE_EXPUNGE_TO_TRASH, messages that cannot be put into Trash are not
// expunged: EXPUNGE answers NO and they stay.
func TestExpungeKeepsWhatTrashRefused(t *testing.T) {
	md, st := newMaildir(t)
	deliverTo(t, md, "Subject: 1\n\none\n", "Subject: 2\n\ntwo\n")
	// Trash cannot be made: a file has its name.
	if err := os.WriteFile(filepath.Join(md, ".Trash"), []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"IMAP_MOVE_EXPUNGE_TO_TRASH": "1"}
	out := session(t, st, md, time.Time{}, env,
		"a SELECT INBOX",
		`b STORE 1 +FLAGS.SILENT (\Deleted)`,
		"c EXPUNGE",
		"d UID EXPUNGE 1",
		"e FETCH 1:* (UID FLAGS)",
		"f CLOSE",
		"z LOGOUT")
	if !regexp.MustCompile(`(?m)^c NO Cannot move the deleted messages to INBOX\.Trash`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^d NO `).MatchString(out) {
		t.Errorf("EXPUNGE did not refuse:\n%s", out)
	}
	expectNot(t, out, "* 1 EXPUNGE")
	expect(t, out, `* 1 FETCH (UID 1 FLAGS (\Deleted \Recent))`, `* 2 FETCH (UID 2 FLAGS (\Recent))`)
	if n := count(t, md); n != 2 {
		t.Errorf("INBOX holds %d messages after the refused EXPUNGE and CLOSE, want 2", n)
	}
}

// B5: a missing Trash is created (as Courier does) and the message arrives there without
// \Deleted, so that expunging something else in Trash later does not remove it too.
func TestExpungeCreatesTrash(t *testing.T) {
	md, st := newMaildir(t)
	deliverTo(t, md, "Subject: 1\n\none\n", "Subject: 2\n\ntwo\n")
	env := map[string]string{"IMAP_MOVE_EXPUNGE_TO_TRASH": "1"}
	out := session(t, st, md, time.Time{}, env,
		"a SELECT INBOX",
		`b STORE 2 +FLAGS.SILENT (\Deleted \Seen)`,
		"c EXPUNGE",
		"d SELECT INBOX.Trash",
		"e FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
		"z LOGOUT")
	expect(t, out, "* 2 EXPUNGE", "c OK EXPUNGE completed", "* 1 EXISTS", "* 1 RECENT",
		`* 1 FETCH (UID 1 FLAGS (\Seen \Recent) BODY[HEADER.FIELDS ("SUBJECT")] {14}`)
	if n := count(t, md); n != 1 {
		t.Errorf("INBOX holds %d, want 1", n)
	}
}

// B6: the selected folder cannot be deleted or renamed (nor a folder above it): Courier
// refuses, and the session stays selected instead of failing its next FETCH.
func TestDeleteSelectedRefused(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Work", "INBOX.Work.Sub")
	deliverTo(t, filepath.Join(md, ".Work"), "Subject: 1\n\none\n")
	out := session(t, st, md, time.Time{}, nil,
		"a SELECT INBOX.Work",
		"b DELETE INBOX.Work",
		"c RENAME INBOX.Work INBOX.Play",
		"d FETCH 1 (UID)",
		"e SELECT INBOX.Work.Sub",
		"f RENAME INBOX.Work INBOX.Play",
		"g DELETE INBOX.Work",
		"z LOGOUT")
	expect(t, out,
		"b NO Cannot delete currently-open folder.",
		"c NO Can't RENAME the currently-open folder.",
		"* 1 FETCH (UID 1)", "d OK FETCH completed.",
		"f NO Can't RENAME the currently-open folder.",
		"g OK Folder deleted.")
	if _, err := os.Stat(filepath.Join(md, ".Work.Sub", "cur")); err != nil {
		t.Errorf("the selected subfolder went: %v", err)
	}
}

// countingStore counts the message files the IMAP server opens.
type countingStore struct {
	*maildirstore.Store
	opens *atomic.Int64
}

func (s countingStore) Open(name string) (store.Mailbox, error) {
	mb, err := s.Store.Open(name)
	if err != nil {
		return nil, err
	}
	return countingMailbox{mb, s.opens}, nil
}

type countingMailbox struct {
	store.Mailbox
	opens *atomic.Int64
}

func (m countingMailbox) OpenMessage(uid store.UID) (store.Content, error) {
	m.opens.Add(1)
	return m.Mailbox.OpenMessage(uid)
}

// VirtualSize passes the store's size cache through.
func (m countingMailbox) VirtualSize(uid store.UID, measure func() (int64, error)) (int64, error) {
	return m.Mailbox.(interface {
		VirtualSize(store.UID, func() (int64, error)) (int64, error)
	}).VirtualSize(uid, measure)
}

// B8: FETCH RFC822.SIZE reads each message at most once, ever: the size (with CRLF line
// ends, not the ,S= size of the LF file) is kept in the folder's index.
func TestFetchSizeFromCache(t *testing.T) {
	md, st := newMaildir(t)
	var texts []string
	for i := 0; i < 20; i++ {
		texts = append(texts, fmt.Sprintf("Subject: %d\n\n%s", i, strings.Repeat("line\n", i)))
	}
	deliverTo(t, md, texts...)
	var opens atomic.Int64
	cs := countingStore{st, &opens}
	cmds := []string{"a SELECT INBOX", "b FETCH 1:* (UID FLAGS RFC822.SIZE)", "c UID FETCH 1:* (RFC822.SIZE)", "z LOGOUT"}
	first := session(t, cs, md, time.Time{}, nil, cmds...)
	if n := opens.Load(); n != 20 {
		t.Errorf("first session opened %d messages, want 20 (each once)", n)
	}
	opens.Store(0)
	second := session(t, cs, md, time.Time{}, nil, cmds...)
	if n := opens.Load(); n != 0 {
		t.Errorf("second session opened %d messages, want 0", n)
	}
	sizes := regexp.MustCompile(`RFC822\.SIZE \d+`)
	if a, b := sizes.FindAllString(first, -1), sizes.FindAllString(second, -1); strings.Join(a, ",") != strings.Join(b, ",") || len(a) != 40 {
		t.Errorf("sizes differ between sessions:\n%v\n%v", a, b)
	}
	// Message 6 (index 5): "Subject: 5\n\n" and five lines, 37 bytes, 7 line ends.
	expect(t, second, `* 6 FETCH (UID 6 FLAGS () RFC822.SIZE 44)`)
}

// B8: UID sets are matched range by range; big, unordered, overlapping sets name each
// message once, in order.
func TestUIDSetRanges(t *testing.T) {
	md, st := newMaildir(t)
	var texts []string
	for i := 0; i < 30; i++ {
		texts = append(texts, fmt.Sprintf("Subject: %d\n\nx\n", i))
	}
	deliverTo(t, md, texts...)
	var set []string
	for i := 0; i < 3000; i++ {
		set = append(set, fmt.Sprintf("%d:%d", 40-i%37, 25+i%11))
	}
	out := session(t, st, md, time.Time{}, nil,
		"a SELECT INBOX",
		"b UID STORE 5:7,12 +FLAGS.SILENT (\\Deleted)",
		"c EXPUNGE",
		"d UID FETCH 30,"+strings.Join(set, ",")+",2,1:3,* (UID)",
		"e UID SEARCH UID 25:*,1",
		"z LOGOUT")
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^\* \d+ FETCH \(UID (\d+)\)`).FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	want := "1,2,3,4,8,9,10,11,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30"
	if strings.Join(got, ",") != want {
		t.Errorf("UID FETCH named %v, want %s", got, want)
	}
	expect(t, out, "* SEARCH 1 25 26 27 28 29 30")
}
