package maildirstore

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/index"
	"courier/internal/store/maildir"
)

// newSharedTest makes a maildir with n messages in INBOX.
func newSharedTest(t *testing.T, n int) string {
	t.Helper()
	md := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(md, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	s, err := Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	add, err := s.AppendFolder("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, _, err := add(strings.NewReader(fmt.Sprintf("Subject: m%d\n\nbody %d\n", i, i)), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return md
}

// diskView returns what a view made from the files alone shows: the folder's messages by
// UID with their flags (a new process: no shared index, the index file removed).
func diskView(t *testing.T, md string) []store.Message {
	t.Helper()
	s, err := Open(md, &Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.md.Folder("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	dir := f.Path()
	if st := lookupState(dir); st != nil {
		st.drop()
		t.Fatalf("shared index of %s still held", dir)
	}
	snap, err := f.Sync(&maildir.SyncOptions{NoAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Message
	for _, m := range snap.Messages {
		out = append(out, store.Message{UID: store.UID(m.UID), Flags: flagsOf(maildir.Message{Sub: m.Sub, Name: m.Name}.Flags())})
	}
	return out
}

func brief(ms []store.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d:%d", m.UID, m.Flags))
	}
	return out
}

// TestSharedIndexMix runs sessions as the IMAP benchmark's mix does, each with a Store of
// its own in this process (as the IMAP server does): open INBOX, flag, flag \Deleted,
// expunge, search-like reads of every message, append, close. Afterwards a view opened by
// the process agrees with the files (every change reached the shared index), and while it
// ran the sessions seldom had to list the folder to find a renamed file.
func TestSharedIndexMix(t *testing.T) {
	md := newSharedTest(t, 200)
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(w)))
			for r := 0; r < rounds; r++ {
				if err := mixSession(md, rnd, w, r); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// A view of this process (the shared index) against the files.
	s, err := Open(md, &Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Open("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	got := brief(mb.Messages())
	mb.Close()
	s.Close()
	want := brief(diskView(t, md))
	if !slices.Equal(got, want) {
		t.Fatalf("shared index disagrees with the folder:\n got %v\nwant %v", got, want)
	}
	t.Logf("%d messages; %d opens of a renamed or expunged file listed the folder", len(got), findFallbacks.Load())
}

func mixSession(md string, rnd *rand.Rand, w, r int) error {
	// A host name per worker: deliveries of two Stores in the same microsecond would
	// otherwise pick the same temporary name (maildir's sequence is per Maildir).
	s, err := Open(md, &Options{Host: fmt.Sprintf("w%d", w)})
	if err != nil {
		return err
	}
	defer s.Close()
	mb, err := s.Open("INBOX")
	if err != nil {
		return err
	}
	defer mb.Close()
	msgs := mb.Messages()
	if len(msgs) == 0 {
		return fmt.Errorf("empty INBOX")
	}
	pick := func() store.UID { return msgs[rnd.Intn(len(msgs))].UID }
	if _, err := mb.SetFlags([]store.UID{pick(), pick()}, store.Add, store.Flagged, nil); err != nil {
		return err
	}
	if _, err := mb.SetFlags([]store.UID{pick()}, store.Add, store.Deleted, nil); err != nil {
		return err
	}
	if _, err := mb.Expunge(nil); err != nil {
		return err
	}
	for _, m := range msgs[:10] {
		if c, err := mb.OpenMessage(m.UID); err == nil {
			c.Close()
		}
	}
	if _, err := mb.Sync(); err != nil {
		return err
	}
	add, err := s.AppendFolder("INBOX")
	if err != nil {
		return err
	}
	_, _, err = add(strings.NewReader(fmt.Sprintf("Subject: w%d r%d\n\nx\n", w, r)), store.AppendOptions{})
	return err
}

// openView opens INBOX of md in a Store of its own (a session).
func openView(t *testing.T, md string) (*Store, *mailbox) {
	t.Helper()
	s, err := Open(md, &Options{Host: "t"})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Open("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close(); s.Close() })
	return s, mb.(*mailbox)
}

func uidsOf(ms []store.Message) []store.UID {
	var out []store.UID
	for _, m := range ms {
		out = append(out, m.UID)
	}
	return out
}

// TestSharedIndexViewsChangeAtSync: two sessions (Stores) of one process on one folder
// share its index, yet each sees the other's flag change, expunge and append only at its
// own Sync, which reports them; its own changes it sees at once and are not reported back.
// No change of this process makes anyone list the folder.
func TestSharedIndexViewsChangeAtSync(t *testing.T) {
	md := newSharedTest(t, 5)
	sa, a := openView(t, md)
	_, b := openView(t, md)
	if a.st != b.st {
		t.Fatal("two views of one folder do not share its index")
	}
	listed := a.st.listed
	before := uidsOf(b.Messages())

	if _, err := a.SetFlags([]store.UID{1}, store.Add, store.Flagged, []string{"$Work"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetFlags([]store.UID{2}, store.Add, store.Deleted, nil); err != nil {
		t.Fatal(err)
	}
	if gone, err := a.Expunge(nil); err != nil || len(gone) != 1 || gone[0] != 2 {
		t.Fatalf("expunge: %v %v", gone, err)
	}
	add, err := sa.AppendFolder("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	_, uid, err := add(strings.NewReader("Subject: new\n\nx\n"), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// a sees its own changes at once, b nothing yet
	if m, _ := a.Message(1); m.Flags != store.Flagged || !slices.Equal(m.Keywords, []string{"$Work"}) {
		t.Fatalf("own change not in own view: %+v", m)
	}
	if got := uidsOf(b.Messages()); !slices.Equal(got, before) {
		t.Fatalf("b's view changed before its Sync: %v", got)
	}
	if m, _ := b.Message(1); m.Flags != 0 {
		t.Fatalf("b sees a's flag before its Sync: %+v", m)
	}
	c, err := b.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Expunged, []store.UID{2}) || len(c.New) != 1 || c.New[0].UID != uid ||
		len(c.Updated) != 1 || c.Updated[0].UID != 1 || c.Updated[0].Flags != store.Flagged {
		t.Fatalf("b's Sync: %+v", c)
	}
	if got, want := uidsOf(b.Messages()), []store.UID{1, 3, 4, 5, uid}; !slices.Equal(got, want) {
		t.Fatalf("b after Sync: %v, want %v", got, want)
	}
	// a's Sync reports only what it did not do: the append (by its Store, not its view)
	c, err = a.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Expunged) != 0 || len(c.Updated) != 0 || len(c.New) != 1 || c.New[0].UID != uid {
		t.Fatalf("a's Sync: %+v", c)
	}
	if !a.st.listed.Equal(listed) {
		t.Error("an own change made the process list the folder")
	}
	// and the shared index agrees with the files
	if got, want := brief(b.Messages()), brief(diskViewOpen(t, md)); !slices.Equal(got, want) {
		t.Fatalf("view %v, files %v", got, want)
	}
}

// diskViewOpen is diskView while views are open: the folder listed without the shared index.
func diskViewOpen(t *testing.T, md string) []store.Message {
	t.Helper()
	f, err := maildir.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	fo, err := f.Folder("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := fo.Sync(&maildir.SyncOptions{NoAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Message
	for _, m := range snap.Messages {
		out = append(out, store.Message{UID: store.UID(m.UID), Flags: flagsOf(maildir.Message{Sub: m.Sub, Name: m.Name}.Flags())})
	}
	return out
}

// TestSharedIndexForeignChanges: changes by other programs (Courier's imapd renaming and
// removing files, its deliverquota writing into new/) reach the views at their next Sync,
// also when they happen while this process's own changes are in flight.
func TestSharedIndexForeignChanges(t *testing.T) {
	md := newSharedTest(t, 4)
	_, a := openView(t, md)
	_, b := openView(t, md)
	dir := a.f.Path()
	cur := filepath.Join(dir, maildir.Cur)
	nameOf := func(uid store.UID) string {
		i, ok := a.ix.Search(uint32(uid))
		if !ok {
			t.Fatalf("UID %d not in view", uid)
		}
		return a.ix.Name(i)
	}
	rename := func(uid store.UID, flags string) {
		n := nameOf(uid)
		base, _, _ := maildir.ParseName(n)
		if err := os.Rename(filepath.Join(cur, n), filepath.Join(cur, base+":2,"+flags)); err != nil {
			t.Fatal(err)
		}
	}
	// Outside own changes: the folder's stamps change, the next Sync lists it.
	rename(1, "S")
	if err := os.Remove(filepath.Join(cur, nameOf(2))); err != nil {
		t.Fatal(err)
	}
	bumpMtime(t, cur)
	c, err := b.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Expunged, []store.UID{2}) || len(c.Updated) != 1 || c.Updated[0].Flags != store.Seen {
		t.Fatalf("foreign changes: %+v", c)
	}
	if _, err := a.Sync(); err != nil {
		t.Fatal(err)
	}

	// While an own change is in flight: a delivery into new/ is seen by the next Sync even
	// before the change ends...
	a.st.begin()
	if err := os.WriteFile(filepath.Join(dir, maildir.New, "1700000000.M1P1.other"), []byte("Subject: d\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bumpMtime(t, filepath.Join(dir, maildir.New))
	c, err = b.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.New) != 1 || !c.New[0].Recent {
		t.Fatalf("delivery during an own change: %+v", c)
	}
	// ...and a rename in cur/, which the stamps cannot tell from own changes, is seen at
	// the latest trustFor after the folder was last listed.
	rename(3, "F")
	a.st.end(nil)
	a.st.mu.Lock()
	a.st.listed = a.st.listed.Add(-trustFor - time.Second)
	a.st.mu.Unlock()
	c, err = b.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Updated) != 1 || c.Updated[0].UID != 3 || c.Updated[0].Flags != store.Flagged {
		t.Fatalf("rename during an own change, after trustFor: %+v", c)
	}

	// Another program handing out UIDs during an own change (courierimapuiddb's next UID
	// moves past the index's) makes the folder be listed when the change ends.
	a.Sync()
	a.st.begin()
	if err := os.WriteFile(filepath.Join(cur, "1700000001.M2P2.other:2,"), []byte("Subject: e\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other, err := maildir.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	of, _ := other.Folder("INBOX")
	if _, _, err := of.AssignUIDs([]string{"1700000001.M2P2.other"}); err != nil {
		t.Fatal(err)
	}
	a.st.end(nil)
	c, err = b.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.New) != 1 {
		t.Fatalf("UID handed out by another program during an own change: %+v", c)
	}
}

// bumpMtime moves a directory's mtime a second on: changes within one tick of the kernel's
// clock may leave it as it was, which the index's stamps cannot see (a test need not race it).
func bumpMtime(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	next := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(dir, next, next); err != nil {
		t.Fatal(err)
	}
}

// TestSharedIndexRestart: when the last view closes the shared index is saved and dropped;
// a later view (as after a restart) loads the file and agrees with the folder, also when
// another program changed it meanwhile.
func TestSharedIndexRestart(t *testing.T) {
	md := newSharedTest(t, 6)
	s, err := Open(md, &Options{Host: "t"})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Open("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	m := mb.(*mailbox)
	if _, err := m.SetFlags([]store.UID{2, 4}, store.Add, store.Seen|store.Deleted, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Expunge([]store.UID{4}); err != nil {
		t.Fatal(err)
	}
	dir := m.f.Path()
	if err := mb.Close(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st := lookupState(dir); st != nil {
		st.drop()
		t.Fatal("shared index kept after the last view closed")
	}
	ix, err := index.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Fresh(dir) || ix.Len() != 5 {
		t.Fatalf("saved index: fresh %v, %d messages", ix.Fresh(dir), ix.Len())
	}
	// another program removes a message while no view is open
	cur := filepath.Join(dir, maildir.Cur)
	i, _ := ix.Search(5)
	if err := os.Remove(filepath.Join(cur, ix.Name(i))); err != nil {
		t.Fatal(err)
	}
	bumpMtime(t, cur)
	_, v := openView(t, md)
	if got, want := brief(v.Messages()), brief(diskViewOpen(t, md)); !slices.Equal(got, want) {
		t.Fatalf("after restart: %v, files %v", got, want)
	}
	if got := uidsOf(v.Messages()); !slices.Equal(got, []store.UID{1, 2, 3, 6}) {
		t.Fatalf("after restart: %v", got)
	}
}

// TestSharedIndexMoveInto: messages moved into a folder by a session of this process (whose
// files its shared index does not get) reach the views of that folder at their next Sync,
// also while another session's own change there is in flight.
func TestSharedIndexMoveInto(t *testing.T) {
	md := newSharedTest(t, 3)
	s1, err := Open(md, &Options{Host: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if err := s1.Create("INBOX.X"); err != nil {
		t.Fatal(err)
	}
	src, err := s1.Open("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	s2, err := Open(md, &Options{Host: "u"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	dst, err := s2.Open("INBOX.X")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dst.(*mailbox).st.begin() // another change in flight in X
	// the destination view of the Move is a view of s1 (same Store as the source)
	x1, err := s1.Open("INBOX.X")
	if err != nil {
		t.Fatal(err)
	}
	defer x1.Close()
	uids, err := src.Move([]store.UID{2}, x1)
	if err != nil || len(uids) != 1 {
		t.Fatalf("move: %v %v", uids, err)
	}
	dst.(*mailbox).st.end(nil)
	c, err := dst.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.New) != 1 || c.New[0].UID != uids[0] {
		t.Fatalf("X's view after the move: %+v", c)
	}
	c, err = src.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if got := uidsOf(src.Messages()); !slices.Equal(got, []store.UID{1, 3}) || len(c.Expunged) != 0 {
		t.Fatalf("INBOX after the move: %v %+v", got, c)
	}
}
