package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SyncShared links new shared messages into the copy's new/, keeps the user's flags on
// links it already has, and drops links to messages gone from the sharable folder.
func TestSyncShared(t *testing.T) {
	root := filepath.Join(t.TempDir(), "shared")
	if err := Create(root, Sharable, true); err != nil {
		t.Fatal(err)
	}
	if err := CreateSharedFolder(root, ".W", SharedWrite); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(t.TempDir(), "md")
	if err := Create(md, Private, true); err != nil {
		t.Fatal(err)
	}
	if err := AddShared(md, "n", root, ""); err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(root, ".W")
	os.WriteFile(filepath.Join(w, "new", "1.a.host"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(w, "cur", "2.b.host:2,S"), []byte("y"), 0o644)
	cp, err := SubscribeShared(md, "", "n", ".W")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SubscribeShared(md, "", "n", ".W"); err == nil {
		t.Error("second subscribe succeeded")
	}
	if err := SyncShared(cp, time.Now()); err != nil {
		t.Fatal(err)
	}
	names, _ := readNames(filepath.Join(cp, New))
	if strings.Join(names, " ") != "1.a.host:2, 2.b.host:2," {
		t.Fatalf("copy new/: %v", names)
	}
	// the user flags one, the shared folder loses the other
	os.Rename(filepath.Join(cp, New, "1.a.host:2,"), filepath.Join(cp, Cur, "1.a.host:2,F"))
	os.Remove(filepath.Join(w, "cur", "2.b.host:2,S"))
	time.Sleep(10 * time.Millisecond)
	os.Chtimes(filepath.Join(w, "cur"), time.Now().Add(time.Second), time.Now().Add(time.Second))
	if err := SyncShared(cp, time.Now()); err != nil {
		t.Fatal(err)
	}
	cur, _ := readNames(filepath.Join(cp, Cur))
	nw, _ := readNames(filepath.Join(cp, New))
	if strings.Join(cur, " ") != "1.a.host:2,F" || len(nw) != 0 {
		t.Fatalf("copy cur/ %v new/ %v", cur, nw)
	}
	if l, _ := os.Readlink(filepath.Join(cp, Cur, "1.a.host:2,F")); l != filepath.Join(w, "cur", "1.a.host:2,") {
		t.Errorf("link %s", l)
	}
	removed, err := UnlinkShared(filepath.Join(cp, Cur, "1.a.host:2,F"))
	if err != nil || !removed {
		t.Fatal(removed, err)
	}
	if _, err := os.Stat(filepath.Join(w, "cur", "1.a.host:2,")); err == nil {
		t.Error("shared message not removed")
	}
	if err := UnsubscribeShared(md, "n", ".W"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(md, SharedFoldersDir, "n")); err == nil {
		t.Error("empty nick directory left")
	}
}
