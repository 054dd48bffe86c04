package maildirstore

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/maildir"
)

// waitUpdate waits up to 2 s (the package's promise for others' changes) for mb's signal.
func waitUpdate(t *testing.T, mb store.Mailbox, what string) {
	t.Helper()
	select {
	case <-mb.Updates():
	case <-time.After(2 * time.Second):
		t.Fatalf("%s: no notification within 2 s", what)
	}
}

func noUpdate(t *testing.T, mb store.Mailbox, what string) {
	t.Helper()
	select {
	case <-mb.Updates():
		t.Fatalf("%s: unexpected notification", what)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestWatcherShared: views of one folder in different Stores (as two IMAP sessions) share one
// Watcher and one set of watches; each is told of the other's changes, a view of the folder
// through a symbolic link too; closing one view keeps the others' watches; a Store's Close
// unsubscribes its views only.
func TestWatcherShared(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	w := NewWatcher()
	defer w.Close()
	open := func(path string) (*Store, store.Mailbox) {
		s, err := Open(path, &Options{Host: "testhost", Watcher: w})
		if err != nil {
			t.Fatal(err)
		}
		mb, err := s.Open("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		return s, mb
	}
	s1, a := open(p)
	s2, b := open(p)
	s3, c := open(link)
	defer s1.Close()
	defer s2.Close()
	defer s3.Close()
	if n := len(w.folders); n != 1 {
		t.Fatalf("%d watched folders, want 1 (the symbolic link resolved)", n)
	}
	appendOne := func(mb store.Mailbox) {
		t.Helper()
		if _, err := mb.Append(strings.NewReader("Subject: x\n\nbody\n"), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	drain := func(mbs ...store.Mailbox) {
		time.Sleep(100 * time.Millisecond)
		for _, mb := range mbs {
			select {
			case <-mb.Updates():
			default:
			}
			if _, err := mb.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}

	appendOne(a)
	waitUpdate(t, b, "other Store")
	waitUpdate(t, c, "Store through a symbolic link")
	drain(a, b, c)

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	appendOne(b)
	waitUpdate(t, c, "after another view closed")
	drain(b, c)

	// Store.Close ends the subscription of its own views only.
	s3.Close()
	appendOne(b)
	noUpdate(t, c, "view of a closed Store")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	drain(b)

	// Another process's delivery (a file linked into new/) is seen too.
	if err := os.WriteFile(filepath.Join(p, "new", "1.M1P1.otherhost"), []byte("Subject: y\n\nz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitUpdate(t, b, "delivery by another process")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// The watches linger without views (adding them again costs), until swept.
	w.mu.Lock()
	defer w.mu.Unlock()
	if n, wf := len(w.folders), w.folders[watchKey(p)]; n != 1 || len(wf.views) != 0 || wf.idle.IsZero() || w.idle != 1 {
		t.Fatalf("%d folders watched after every view closed, want the one lingering", n)
	}
	w.sweep(time.Now().Add(watchLinger + time.Second))
	if n := len(w.folders); n != 0 || w.idle != 0 {
		t.Fatalf("%d folders still watched after the linger time", n)
	}
}

// TestWatcherLingerBound: at most maxIdleFolders folders without views stay watched; a
// folder opened again while lingering is watched without adding its directories again.
func TestWatcherLingerBound(t *testing.T) {
	w := NewWatcher()
	defer w.Close()
	root := t.TempDir()
	w.mu.Lock()
	if !w.start() {
		w.mu.Unlock()
		t.Skip("no inotify")
	}
	w.mu.Unlock()
	for i := 0; i < maxIdleFolders+10; i++ {
		m := &mailbox{updates: make(chan struct{}, 1)}
		key := filepath.Join(root, strconv.Itoa(i)) // no directories: only the bookkeeping
		if !w.add(m, key) {
			t.Fatal("not watched")
		}
		w.remove(m, key)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.idle > maxIdleFolders || len(w.folders) != w.idle {
		t.Fatalf("%d idle folders watched (%d in all), at most %d allowed", w.idle, len(w.folders), maxIdleFolders)
	}
}

// TestWatcherRecreatedFolder: a folder deleted and made again while a stale view of it is
// still open gets watched again by a new view (inotify watches are per inode).
func TestWatcherRecreatedFolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	w := NewWatcher()
	defer w.Close()
	s, err := Open(p, &Options{Host: "testhost", Watcher: w})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create("INBOX.F"); err != nil {
		t.Fatal(err)
	}
	stale, err := s.Open("INBOX.F")
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	key := watchKey(stale.(*mailbox).f.Path())
	if err := s.Delete("INBOX.F"); err != nil {
		t.Fatal(err)
	}
	// The deletion's events end the old watches; until they are read, a folder made again
	// with the same inode numbers would be taken for the watched one (found by Sync then).
	for deadline := time.Now().Add(2 * time.Second); ; {
		w.mu.Lock()
		gone := w.folders[key].inos == [3]uint64{}
		w.mu.Unlock()
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted folder's watches were not noted as ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Create("INBOX.F"); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.Open("INBOX.F")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	s2, err := Open(p, &Options{Host: "testhost", Watcher: w})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	other, err := s2.Open("INBOX.F")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Append(strings.NewReader("Subject: x\n\nbody\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUpdate(t, fresh, "view of the recreated folder")
}

// TestWatcherProcessWide: Stores opened without a Watcher share the process's one.
func TestWatcherProcessWide(t *testing.T) {
	md := func() string {
		p := filepath.Join(t.TempDir(), "Maildir")
		if err := maildir.Create(p, maildir.Private, false); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, err := Open(md(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(md(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.opt.Watcher == nil || a.opt.Watcher != b.opt.Watcher {
		t.Fatal("Stores do not share the process's Watcher")
	}
	c, err := Open(md(), &Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.opt.Watcher != nil {
		t.Fatal("NoWatch Store has a Watcher")
	}
}
