package maildirstore

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/maildir"
)

// openStore makes a Maildir++ with a folder "INBOX.Work" and opens it.
func openStore(t *testing.T) (*Store, *maildir.Folder) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	s, err := Open(p, &Options{Host: "testhost", NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Create("INBOX.Work"); err != nil {
		t.Fatal(err)
	}
	f, err := s.md.Folder("INBOX.Work")
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// deliverNew puts messages into new/ as an MDA does.
func deliverNew(t *testing.T, f *maildir.Folder, texts ...string) {
	t.Helper()
	for _, x := range texts {
		if _, err := f.Deliver(strings.NewReader(x), &maildir.DeliverOptions{NoQuota: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// lfCount is an IMAP size for tests: the LF file with each LF counted as CRLF.
func lfCount(c store.Content) (int64, error) {
	b, err := io.ReadAll(io.NewSectionReader(c, 0, c.Size()))
	return int64(len(b) + strings.Count(string(b), "\n")), err
}

// TestPeekStatusLeavesRecent: STATUS must not claim the \Recent messages a later SELECT
// reports (as Courier: its STATUS leaves new/ and courierimapuiddb alone).
func TestPeekStatusLeavesRecent(t *testing.T) {
	s, f := openStore(t)
	deliverNew(t, f, "Subject: 1\n\none\n", "Subject: 2\n\ntwo\n", "Subject: 3\n\nthree\n")
	for range 2 {
		st, _, err := s.PeekStatus("INBOX.Work", nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages != 3 || st.Recent != 3 || st.Unseen != 3 || st.UIDNext != 4 {
			t.Fatalf("peek: %+v", st)
		}
	}
	if _, err := os.Stat(filepath.Join(f.Path(), maildir.UIDDBFile)); err == nil {
		t.Error("STATUS wrote courierimapuiddb")
	}
	mb, err := s.Open("INBOX.Work")
	if err != nil {
		t.Fatal(err)
	}
	if st := mb.Status(); st.Recent != 3 || st.Messages != 3 || st.UIDNext != 4 {
		t.Errorf("SELECT after STATUS: %+v, want 3 recent", st)
	}
	// Seen one, then two more arrive: the counters follow, with the view still open and its
	// index in step (the fast path) and once new mail makes the index stale.
	if _, err := mb.SetFlags([]store.UID{1}, store.Add, store.Seen, nil); err != nil {
		t.Fatal(err)
	}
	if err := mb.Close(); err != nil {
		t.Fatal(err)
	}
	st, _, err := s.PeekStatus("INBOX.Work", nil)
	if err != nil || st.Messages != 3 || st.Recent != 0 || st.Unseen != 2 || st.UIDNext != 4 {
		t.Fatalf("peek with the index in step: %+v, %v", st, err)
	}
	deliverNew(t, f, "Subject: 4\n\nfour\n", "Subject: 5\n\nfive\n")
	st, _, err = s.PeekStatus("INBOX.Work", nil)
	if err != nil || st.Messages != 5 || st.Recent != 2 || st.Unseen != 4 || st.UIDNext != 6 {
		t.Fatalf("peek after new mail: %+v, %v", st, err)
	}
	mb, err = s.Open("INBOX.Work")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if st := mb.Status(); st.Recent != 2 || st.Messages != 5 || st.UIDNext != 6 {
		t.Errorf("SELECT: %+v, want 2 recent", st)
	}
	if _, _, err := s.PeekStatus("INBOX.Nothing", nil); err == nil {
		t.Error("STATUS of a missing folder succeeded")
	}
}

// TestVirtualSizeCached: a message's IMAP size is measured once and kept in the index, so
// STATUS SIZE and FETCH RFC822.SIZE of later sessions read no message.
func TestVirtualSizeCached(t *testing.T) {
	s, f := openStore(t)
	deliverNew(t, f, "Subject: 1\n\none\n", "Subject: 2\n\ntwo two\n")
	calls := 0
	counting := func(c store.Content) (int64, error) { calls++; return lfCount(c) }
	_, size, err := s.PeekStatus("INBOX.Work", counting)
	if err != nil || size != 19+23 || calls != 2 {
		t.Fatalf("peek SIZE = %d (%d reads), %v; want 42 (2 reads)", size, calls, err)
	}
	mb, err := s.Open("INBOX.Work")
	if err != nil {
		t.Fatal(err)
	}
	vs := mb.(*mailbox)
	// Delivery order decides which message gets which UID, so remember each answer.
	want := map[store.UID]int64{}
	for _, m := range mb.Messages() {
		n, err := vs.VirtualSize(m.UID, func() (int64, error) {
			calls++
			c, err := mb.OpenMessage(m.UID)
			if err != nil {
				return 0, err
			}
			defer c.Close()
			return lfCount(c)
		})
		if err != nil || n != m.Size+3 {
			t.Fatalf("UID %d: %d, %v", m.UID, n, err)
		}
		want[m.UID] = n
	}
	if calls != 4 {
		t.Fatalf("%d reads, want 4", calls)
	}
	if _, err := mb.SetFlags([]store.UID{1}, store.Add, store.Seen, nil); err != nil {
		t.Fatal(err)
	}
	if err := mb.Close(); err != nil {
		t.Fatal(err)
	}
	// Another session: nothing is read again, flag changes notwithstanding.
	_, size, err = s.PeekStatus("INBOX.Work", counting)
	if err != nil || size != 42 || calls != 4 {
		t.Fatalf("second peek SIZE = %d (%d reads in all), %v", size, calls, err)
	}
	mb, err = s.Open("INBOX.Work")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	n, err := mb.(*mailbox).VirtualSize(2, func() (int64, error) { calls++; return 0, nil })
	if err != nil || n != want[2] || calls != 4 {
		t.Errorf("reopened: %d, %v, %d reads", n, err, calls)
	}
	// A stale index (new mail) still lends its sizes; only the new message is read.
	deliverNew(t, f, "Subject: 3\n\n3\n")
	_, size, err = s.PeekStatus("INBOX.Work", counting)
	if err != nil || size != 42+17 || calls != 5 {
		t.Errorf("peek after new mail: SIZE %d, %d reads, %v", size, calls, err)
	}
}

// TestPurge: IMAP_EMPTYTRASH goes by the time a message was put into the folder (its
// ctime), not by its internal date, and leaves new/ alone.
func TestPurge(t *testing.T) {
	s, _ := openStore(t)
	if err := s.Create("INBOX.Trash"); err != nil {
		t.Fatal(err)
	}
	tr, err := s.Open("INBOX.Trash")
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, x := range []string{"Subject: a\n\na\n", "Subject: b\n\nb\n"} {
		if _, err := tr.Append(strings.NewReader(x), store.AppendOptions{Date: old}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := s.md.Folder("INBOX.Trash")
	if err != nil {
		t.Fatal(err)
	}
	deliverNew(t, f, "Subject: c\n\nc\n")
	// Put into Trash just now, with internal dates a month ago: nothing is old enough.
	if n, err := s.Purge("INBOX.Trash", time.Now().Add(-7*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("purge of fresh Trash: %d, %v", n, err)
	}
	// Seven days on, the two in cur/ go; the one in new/ stays.
	if n, err := s.Purge("INBOX.Trash", time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	msgs, err := f.List()
	if err != nil || len(msgs) != 1 || msgs[0].Sub != maildir.New {
		t.Fatalf("left %v, %v", msgs, err)
	}
	if n, err := s.Purge("INBOX.Nothing", time.Now()); err != nil || n != 0 {
		t.Errorf("purge of a missing folder: %d, %v", n, err)
	}
}
