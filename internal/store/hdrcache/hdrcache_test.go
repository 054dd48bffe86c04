package hdrcache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// folderDir makes a folder directory with the tmp/ a save writes into.
func folderDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Mkdir(filepath.Join(d, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func entry(uid uint32, key, hdr string) Entry {
	b, ok := Extract(nil, []byte(hdr))
	return Entry{UID: uid, Key: key, Block: b, OK: ok}
}

func live(uids ...uint32) Live {
	l := Live{}
	for _, u := range uids {
		l.UIDs = append(l.UIDs, u)
		l.Keys = append(l.Keys, fmt.Sprintf("k%d", u))
	}
	return l
}

func TestExtract(t *testing.T) {
	for _, tc := range []struct {
		name, hdr, want string
		ok              bool
	}{
		{"fields kept in order", "Received: x\n y\nSubject: a\n b\nX-Other: z\nFROM : c\nDate: d\n\nbody Subject: no\n",
			"Subject: a\n b\nFROM : c\nDate: d\n", true},
		{"crlf kept", "Subject: a\r\nTo: b\r\n\r\nbody", "Subject: a\r\nTo: b\r\n", true},
		{"repeated field", "Subject: 1\nSubject: 2\n", "Subject: 1\nSubject: 2\n", true},
		{"no final newline", "To: x\nSubject: end", "To: x\nSubject: end", true},
		{"continuation first", " Subject: no\nCc: y\n", "Cc: y\n", true},
		{"not a field name", "Subjects: no\nSubject\tx: no\nX-Subject: no\n", "", true},
		{"tab before colon", "Subject\t: yes\n", "Subject\t: yes\n", true},
		{"odd end of header", "Subject: a\n\rX: b\nTo: c\n", "", false},
		{"blank crlf line ends", "Subject: a\n\r\nTo: c\n", "Subject: a\n", true},
		{"too long", "References: " + string(bytes.Repeat([]byte("<a@b> "), MaxBlock/6+1)) + "\n", "", false},
	} {
		got, ok := Extract(nil, []byte(tc.hdr))
		if string(got) != tc.want || ok != tc.ok {
			t.Errorf("%s: Extract = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAddSnapshotReload(t *testing.T) {
	d := folderDir(t)
	c := New(0, nil)
	if s := c.Snapshot(d); s.Len() != 0 {
		t.Fatalf("empty folder: %d entries", s.Len())
	}
	err := c.Add(d, []Entry{entry(2, "k2", "Subject: two\n\n"), entry(1, "k1", "Subject: one\nX: y\n\n"),
		entry(3, "k3", "Subject: a\n\rodd\n")}, live(1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Cache{c, New(0, nil)} { // this process, and another reading the file
		s := c.Snapshot(d)
		hint := 0
		if b, found, ok := s.Get(1, "k1", &hint); !found || !ok || string(b) != "Subject: one\n" {
			t.Errorf("uid 1: %q %v %v", b, found, ok)
		}
		if b, found, ok := s.Get(2, "k2", &hint); !found || !ok || string(b) != "Subject: two\n" {
			t.Errorf("uid 2: %q %v %v", b, found, ok)
		}
		if _, found, ok := s.Get(3, "k3", nil); !found || ok {
			t.Errorf("uid 3 (falls back to the file): %v %v", found, ok)
		}
		// a stale entry: the UID now names another file (UIDVALIDITY changed, say)
		if _, found, _ := s.Get(2, "other", nil); found {
			t.Error("entry of another file found")
		}
		if _, found, _ := s.Get(9, "k9", nil); found {
			t.Error("entry never made found")
		}
	}
}

func TestDeletedAndStaleDropped(t *testing.T) {
	d := folderDir(t)
	c := New(0, nil)
	if err := c.Add(d, []Entry{entry(1, "k1", "Subject: 1\n"), entry(2, "k2", "Subject: 2\n"), entry(3, "k3", "Subject: 3\n")}, live(1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	// 2 expunged; 3 now another file; 4 new; 7 is beyond the view (another session's)
	l := live(1, 3, 4)
	l.Keys[1] = "k3-new"
	if err := New(0, nil).Add(d, []Entry{entry(7, "k7", "Subject: 7\n")}, Live{UIDs: []uint32{1, 2, 3}, Keys: []string{"k1", "k2", "k3"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(d, []Entry{entry(4, "k4", "Subject: 4\n")}, l); err != nil {
		t.Fatal(err)
	}
	s := New(0, nil).Snapshot(d)
	var uids []uint32
	for _, r := range s.recs {
		uids = append(uids, r.uid)
	}
	if fmt.Sprint(uids) != "[1 4 7]" {
		t.Errorf("entries after save: %v, want [1 4 7]", uids)
	}
}

func TestCorruptFileIgnoredAndRebuilt(t *testing.T) {
	d := folderDir(t)
	c := New(0, nil)
	if err := c.Add(d, []Entry{entry(1, "k1", "Subject: 1\n"), entry(2, "k2", "Subject: 2\n")}, live(1, 2)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d, FileName)
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string]func([]byte) []byte{
		"flipped body byte": func(b []byte) []byte { b[len(b)-2] ^= 1; return b },
		"flipped header":    func(b []byte) []byte { b[12] ^= 1; return b },
		"truncated":         func(b []byte) []byte { return b[:len(b)-3] },
		"empty":             func(b []byte) []byte { return nil },
		"garbage":           func(b []byte) []byte { return []byte("not a cache at all, but long enough") },
	}
	for name, f := range damage {
		if err := os.WriteFile(p, f(bytes.Clone(good)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := decode(f(bytes.Clone(good))); err == nil {
			t.Errorf("%s: decoded", name)
		}
		c2 := New(0, nil)
		if s := c2.Snapshot(d); s.Len() != 0 {
			t.Errorf("%s: %d entries from a damaged file", name, s.Len())
		}
		// the next search's save replaces it
		if err := c2.Add(d, []Entry{entry(2, "k2", "Subject: 2\n")}, live(1, 2)); err != nil {
			t.Fatal(err)
		}
		if s := New(0, nil).Snapshot(d); s.Len() != 1 {
			t.Errorf("%s: rebuilt file has %d entries, want 1", name, s.Len())
		}
	}
	// A damaged record inside a file whose checksums were recomputed is refused too.
	b := bytes.Clone(good)
	b[headerSize+4] = 0xff // key length of the first record
	b = reseal(b)
	if _, err := decode(b); err == nil {
		t.Error("record beyond the body decoded")
	}
}

// reseal recomputes a file's checksums after a test changed it.
func reseal(b []byte) []byte {
	le := littleEndian()
	le.PutUint32(b[24:], crc32c(b[headerSize:]))
	le.PutUint32(b[28:], crc32c(b[:28]))
	return b
}

func TestFileChangedByAnotherWriter(t *testing.T) {
	d := folderDir(t)
	a, b := New(0, nil), New(0, nil)
	if err := a.Add(d, []Entry{entry(1, "k1", "Subject: 1\n")}, live(1)); err != nil {
		t.Fatal(err)
	}
	if s := b.Snapshot(d); s.Len() != 1 {
		t.Fatalf("b sees %d entries", s.Len())
	}
	if err := a.Add(d, []Entry{entry(2, "k2", "Subject: 2\n")}, live(1, 2)); err != nil {
		t.Fatal(err)
	}
	if s := b.Snapshot(d); s.Len() != 2 {
		t.Errorf("b sees %d entries after a's save, want 2", s.Len())
	}
	// deleted file: memory still answers (it is a cache of files that do not change)
	os.Remove(filepath.Join(d, FileName))
	if s := b.Snapshot(d); s.Len() != 2 {
		t.Errorf("after the file's removal: %d entries", s.Len())
	}
}

// TestConcurrentWriters runs sessions of two "processes" (Caches) adding entries to one
// folder at once: every save leaves a valid file, every entry read is one some writer made
// for that message, and nothing is left in tmp/.
func TestConcurrentWriters(t *testing.T) {
	d := folderDir(t)
	caches := []*Cache{New(0, nil), New(0, nil)}
	const writers, rounds, per = 4, 15, 20
	all := live()
	for u := uint32(1); u <= writers*rounds*per; u++ {
		all.UIDs = append(all.UIDs, u)
		all.Keys = append(all.Keys, fmt.Sprintf("k%d", u))
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := caches[w%len(caches)]
			for r := 0; r < rounds; r++ {
				var es []Entry
				for i := 0; i < per; i++ {
					u := uint32((r*writers+w)*per + i + 1)
					es = append(es, entry(u, fmt.Sprintf("k%d", u), fmt.Sprintf("Subject: %d\n", u)))
				}
				if err := c.Add(d, es, all); err != nil {
					t.Error(err)
					return
				}
				s := c.Snapshot(d)
				for i := range s.recs {
					checkEntry(t, s, i)
				}
			}
		}()
	}
	wg.Wait()
	s := New(0, nil).Snapshot(d)
	if s.Len() == 0 {
		t.Fatal("no entries after the writers")
	}
	for i := range s.recs {
		checkEntry(t, s, i)
	}
	if ents, _ := os.ReadDir(filepath.Join(d, "tmp")); len(ents) != 0 {
		t.Errorf("%d files left in tmp/", len(ents))
	}
}

// checkEntry checks that entry i of s is the one made for its UID.
func checkEntry(t *testing.T, s *Snapshot, i int) {
	t.Helper()
	u := s.recs[i].uid
	b, found, ok := s.Get(u, fmt.Sprintf("k%d", u), nil)
	if !found || !ok || string(b) != fmt.Sprintf("Subject: %d\n", u) {
		t.Errorf("uid %d: %q %v %v", u, b, found, ok)
	}
}

func TestMemoryLimit(t *testing.T) {
	c := New(1000, nil)
	var dirs []string
	for i := 0; i < 3; i++ {
		d := folderDir(t)
		dirs = append(dirs, d)
		if err := c.Add(d, []Entry{entry(1, "k1", "Subject: "+string(bytes.Repeat([]byte("x"), 600))+"\n")}, live(1)); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	n, used := len(c.folders), c.used
	c.mu.Unlock()
	if n != 1 || used > 1000 {
		t.Errorf("%d folders, %d bytes held; want 1 under the limit", n, used)
	}
	// a dropped folder is read from its file again
	if s := c.Snapshot(dirs[0]); s.Len() != 1 {
		t.Errorf("dropped folder: %d entries", s.Len())
	}
}

func littleEndian() binary.ByteOrder { return binary.LittleEndian }

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
