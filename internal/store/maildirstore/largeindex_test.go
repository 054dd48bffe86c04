package maildirstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"courier/internal/store"
	"courier/internal/store/index"
	"courier/internal/store/maildir"
)

// A folder large enough for its index to be kept and shared (index.Load): flags listed from
// the records' letters agree with the file names, and a view keeps working while another
// view changes flags and saves the index (a new file renamed over the one it read).
func TestLargeFolderSharedIndex(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	const n = 6000
	want := map[int]store.Flags{}
	for i := 0; i < n; i++ {
		info, f := "", store.Flags(0)
		if i%2 == 0 {
			info, f = "S", store.Seen
		}
		if i%5 == 0 {
			info, f = "FST", store.Flagged|store.Seen|store.Deleted
		}
		name := fmt.Sprintf("%d.M%dP1.a-rather-long-host-name.example.test,S=2:2,%s", 1704097020+i, i, info)
		if err := os.WriteFile(filepath.Join(p, "cur", name), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		want[i] = f
	}
	s, err := Open(p, &Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.Open("INBOX") // built, saved in the background
	if err != nil {
		t.Fatal(err)
	}
	mb.Close()
	if st, err := os.Stat(filepath.Join(p, index.FileName)); err != nil || st.Size() < 64<<10 {
		t.Fatalf("index too small to be kept: %v", err)
	}
	check := func(mb store.Mailbox) {
		t.Helper()
		msgs := mb.Messages()
		if len(msgs) != n {
			t.Fatalf("%d messages", len(msgs))
		}
		unseen := 0
		for i, m := range msgs {
			if m.Flags != want[i] {
				t.Fatalf("message %d (UID %d): flags %v, want %v", i, m.UID, m.Flags, want[i])
			}
			if m.Flags&store.Seen == 0 {
				unseen++
			}
		}
		if st := mb.Status(); st.Messages != n || st.Unseen != unseen {
			t.Fatalf("status %+v, want %d unseen", st, unseen)
		}
	}
	a, err := s.Open("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	check(a)
	b, err := s.Open("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs := b.Messages()
	if _, err := b.SetFlags([]store.UID{msgs[1].UID}, store.Add, store.Answered, nil); err != nil {
		t.Fatal(err)
	}
	want[1] |= store.Answered
	check(b)
	if err := b.Close(); err != nil { // saves: the file a read is replaced
		t.Fatal(err)
	}
	if _, err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	check(a)
	if gone, err := a.Expunge(nil); err != nil || len(gone) != n/5 {
		t.Fatalf("expunged %d: %v", len(gone), err)
	}
}
