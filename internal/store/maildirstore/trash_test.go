package maildirstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/store"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

// TestMoveToTrash: IMAP_MOVE_EXPUNGE_TO_TRASH renames the messages into Trash's new/ under
// their own names, without T and with their other flags and keywords; Trash's next view
// numbers them in name order and reports them \Recent (as Courier's next SELECT does); the
// quota no longer counts them.
func TestMoveToTrash(t *testing.T) {
	s, _ := openStore(t)
	if err := s.Create("INBOX.Trash"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetQuota(100000, 0); err != nil {
		t.Fatal(err)
	}
	mb, err := s.Open("INBOX.Work")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	for i, x := range []string{"Subject: 1\n\none\n", "Subject: 2\n\ntwo\n", "Subject: 3\n\nthree\n"} {
		opt := store.AppendOptions{Flags: store.Seen}
		if i == 1 {
			opt = store.AppendOptions{Keywords: []string{"$Label1"}}
		}
		if _, err := mb.Append(strings.NewReader(x), opt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mb.Sync(); err != nil {
		t.Fatal(err)
	}
	before, err := s.Quota()
	if err != nil {
		t.Fatal(err)
	}
	// UID 3 first: the order given does not decide Trash's numbering.
	if _, err := mb.SetFlags([]store.UID{2, 3}, store.Add, store.Deleted, nil); err != nil {
		t.Fatal(err)
	}
	gone, err := mb.(*mailbox).MoveToTrash([]store.UID{3, 2}, "INBOX.Trash")
	if err != nil || len(gone) != 2 || gone[0] != 3 || gone[1] != 2 {
		t.Fatalf("MoveToTrash = %v, %v", gone, err)
	}
	if msgs := mb.Messages(); len(msgs) != 1 || msgs[0].UID != 1 {
		t.Fatalf("left in the view: %+v", msgs)
	}
	trash, err := s.md.Folder("INBOX.Trash")
	if err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(filepath.Join(trash.Path(), maildir.New))
	if err != nil || len(names) != 2 {
		t.Fatalf("Trash new/: %v, %v", names, err)
	}
	for _, n := range names {
		if _, flags, _ := maildir.ParseName(n.Name()); strings.Contains(flags, "T") {
			t.Errorf("%s kept T", n.Name())
		}
	}
	after, err := s.Quota()
	if err != nil {
		t.Fatal(err)
	}
	// The \Deleted messages no longer counted (Maildir++ leaves T-flagged mail out).
	if after.Messages != before.Messages-2 {
		t.Errorf("quota messages %d -> %d", before.Messages, after.Messages)
	}
	tv, err := s.Open("INBOX.Trash")
	if err != nil {
		t.Fatal(err)
	}
	defer tv.Close()
	st := tv.Status()
	msgs := tv.Messages()
	if st.Recent != 2 || len(msgs) != 2 {
		t.Fatalf("Trash: %+v %+v", st, msgs)
	}
	for i, want := range []struct {
		flags store.Flags
		kw    string
		subj  string
	}{{0, "$Label1", "two"}, {store.Seen, "", "three"}} {
		m := msgs[i]
		if m.Flags != want.flags || strings.Join(m.Keywords, ",") != want.kw || !m.Recent {
			t.Errorf("Trash message %d: %+v", i+1, m)
		}
		c, err := tv.OpenMessage(m.UID)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, c.Size())
		c.ReadAt(b, 0)
		c.Close()
		if !strings.HasSuffix(string(b), want.subj+"\n") {
			t.Errorf("Trash message %d is %q", i+1, b)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Path(), quota.FileName)); err != nil {
		t.Fatal(err)
	}
	// Into itself: refused, nothing moves.
	if _, err := tv.(*mailbox).MoveToTrash([]store.UID{msgs[0].UID}, "INBOX.Trash"); err == nil {
		t.Error("Trash moved into itself")
	}
}
