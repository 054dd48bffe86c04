package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// bigIndex saves an index large enough to be kept (≥ cacheMin) into a new folder directory
// and returns the directory and the index.
func bigIndex(t *testing.T) (string, *Index) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	ix := New()
	ix.Reset(77)
	ms := ix.NextModSeq(time.Unix(1, 0))
	for u := uint32(1); u <= 8000; u++ {
		flags := ""
		if u%3 == 0 {
			flags = "S"
		}
		if u%7 == 0 {
			flags += "T"
		}
		var kws []string
		if u%5 == 0 {
			kws = []string{"Work"}
		}
		ix.Insert(Entry{UID: u, Name: fmt.Sprintf("1704097020.M%dP1.host.example.test,S=%d:2,%s", u, 1000+u, flags),
			Size: int64(1000 + u), ModSeq: ms, Keywords: kws})
	}
	ix.SetVSize(5, 1234)
	ix.Stamps = Stamps{1, 2, 3, 4, 5}
	var seq atomic.Uint64
	if err := ix.Save(dir, &seq); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, FileName)); err != nil || st.Size() < cacheMin {
		t.Fatalf("index too small to be kept: %v %v", st.Size(), err)
	}
	return dir, ix
}

func sameIndex(t *testing.T, got, want *Index) {
	t.Helper()
	if got.Len() != want.Len() || got.UIDValidity != want.UIDValidity || got.Stamps != want.Stamps {
		t.Fatalf("loaded %d messages, want %d", got.Len(), want.Len())
	}
	for i := 0; i < want.Len(); i++ {
		g, w := got.At(i), want.At(i)
		if g.UID != w.UID || g.Name != w.Name || g.Size != w.Size || g.ModSeq != w.ModSeq || fmt.Sprint(g.Keywords) != fmt.Sprint(w.Keywords) ||
			got.Letters(i) != want.Letters(i) || got.Info(i) != want.Info(i) {
			t.Fatalf("message %d: %+v, want %+v", i, g, w)
		}
		gv, gok := got.VSize(i)
		wv, wok := want.VSize(i)
		if gv != wv || gok != wok {
			t.Fatalf("message %d: vsize %d %v, want %d %v", i, gv, gok, wv, wok)
		}
	}
}

// rewrite replaces the index file of dir with data the way our writers do (new file,
// rename), so the file gets a new identity.
func rewrite(t *testing.T, dir string, data []byte) {
	t.Helper()
	var seq atomic.Uint64
	if err := WriteFile(dir, data, &seq); err != nil {
		t.Fatal(err)
	}
}

// TestLoadShared: a large index is read and checked once, then Indexes loaded from the
// same file share its contents; a change to one (which decodes its records into memory of
// its own) leaves the others as they were.
func TestLoadShared(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	loaded.forget()
	dir, want := bigIndex(t)
	time.Sleep(20 * time.Millisecond) // past a tick of the coarse clock that stamps ctime
	a, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !a.lazy || !b.lazy || len(a.raw) == 0 || &a.raw[0] != &b.raw[0] {
		t.Fatal("contents not shared")
	}
	sameIndex(t, a, want)
	if i, ok := a.Search(4000); !ok || a.UID(i) != 4000 {
		t.Fatalf("search: %d %v", i, ok)
	}
	a.SetName(0, "changed:2,S", false, 1)
	a.Insert(Entry{UID: 9000, Name: "new", Size: 1, Keywords: []string{"Brand-new"}})
	a.logExpunges([]uint32{8000}, 2)
	if a.lazy {
		t.Fatal("still lazy after a change")
	}
	sameIndex(t, b, want)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameIndex(t, c, want)
	if len(c.Expunges) != len(want.Expunges) || len(c.kwSets) != len(b.kwSets) {
		t.Fatal("a holder's appends reached the shared contents")
	}
	if a.Name(0) != "changed:2,S" || a.Len() != want.Len()+1 || a.Letters(0) != letterSets[1<<3] {
		t.Fatal("change lost")
	}
}

// A file replaced by our writers (a new file renamed over it) has a new identity: the next
// Load reads it; Indexes loaded before keep what they read.
func TestLoadReplaced(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	dir, want := bigIndex(t)
	time.Sleep(20 * time.Millisecond)
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	small := New()
	small.Reset(78)
	rewrite(t, dir, small.Encode())
	sameIndex(t, got, want)
	if n, err := Load(dir); err != nil || n.Len() != 0 || n.UIDValidity != 78 {
		t.Fatalf("new file: %v", err)
	}
}

// Damage anywhere in a large file is found, whether or not this process loaded an earlier
// file of the folder.
func TestLoadCorruptDetected(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	dir, _ := bigIndex(t)
	p := filepath.Join(dir, FileName)
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{HeaderSize + 3, HeaderSize + 8000*RecordSize + 10, len(good) - 1} {
		bad := append([]byte(nil), good...)
		bad[off] ^= 0x10
		rewrite(t, dir, bad)
		time.Sleep(20 * time.Millisecond)
		if _, err := Load(dir); !errors.Is(err, ErrCorrupt) {
			t.Errorf("byte %d flipped: %v", off, err)
		}
	}
	rewrite(t, dir, good[:len(good)-4096])
	if _, err := Load(dir); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v", err)
	}
}

// A file changed or truncated in place after this process loaded and kept it (never by our
// writers; by another program) is read and checked again: its ctime moved. What an Index
// read before stays as it was (nothing is mapped).
func TestLoadChangedInPlace(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	loaded.forget()
	dir, want := bigIndex(t)
	p := filepath.Join(dir, FileName)
	time.Sleep(20 * time.Millisecond)
	before, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if id, _ := identify(st); loaded.get(p, id) == nil {
		t.Fatal("not kept")
	}
	time.Sleep(20 * time.Millisecond)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// a name byte: only the body checksum can tell
	if _, err := f.WriteAt([]byte{'#'}, HeaderSize+8000*RecordSize+5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("changed in place: %v", err)
	}
	if err := os.Truncate(p, 8192); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated in place: %v", err)
	}
	sameIndex(t, before, want)
}

// A file another program wrote within racyWindow is not kept: a change in place in the same
// clock tick could go unseen. One this process saved is kept at once (WriteFile).
func TestLoadRecentNotKept(t *testing.T) {
	loaded.forget()
	dir, want := bigIndex(t)
	p := filepath.Join(dir, FileName)
	st, _ := os.Stat(p)
	if id, _ := identify(st); loaded.get(p, id) == nil {
		t.Fatal("a file this process saved was not kept")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	loaded.forget()
	if err := os.WriteFile(p+".new", data, 0o600); err != nil { // as another program would
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameIndex(t, got, want)
	st, _ = os.Stat(p)
	if id, _ := identify(st); loaded.get(p, id) != nil {
		t.Fatal("a file changed just now was kept")
	}
}

// Records written before the flag letters were stored in them: the letters come from the
// names, the index reports itself outdated, and saving it adds them.
func TestOlderRecordsWithoutLetters(t *testing.T) {
	dir, want := bigIndex(t)
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for i := 0; i < want.Len(); i++ {
		o := HeaderSize + i*RecordSize + 10
		le.PutUint16(b[o:], le.Uint16(b[o:])&bitNew) // as the first writers wrote them
	}
	le.PutUint32(b[96:], crc32.Checksum(b[HeaderSize:], castagnoli))
	le.PutUint32(b[100:], crc32.Checksum(b[:100], castagnoli))
	rewrite(t, dir, b)
	old, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !old.Outdated() {
		t.Fatal("older records not reported outdated")
	}
	sameIndex(t, old, want)
	up, err := Decode(old.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if up.Outdated() {
		t.Fatal("outdated after saving")
	}
	sameIndex(t, up, want)
}

// The cache keeps at most cacheMaxBytes, dropping the least recently used first.
func TestCacheBound(t *testing.T) {
	c := &indexCache{m: map[string]*cacheEntry{}}
	tmpl := New()
	for i := 0; i < 10; i++ {
		c.put(fmt.Sprint(i), fileID{ino: uint64(i), size: cacheMaxBytes / 4}, tmpl)
		if i == 3 {
			c.get("0", fileID{ino: 0, size: cacheMaxBytes / 4}) // used again: kept longer
		}
	}
	if c.bytes > cacheMaxBytes || len(c.m) != 4 {
		t.Fatalf("%d bytes in %d entries", c.bytes, len(c.m))
	}
	if c.get("9", fileID{ino: 9, size: cacheMaxBytes / 4}) == nil || c.get("1", fileID{ino: 1, size: cacheMaxBytes / 4}) != nil {
		t.Fatal("not the least recently used dropped")
	}
	if c.get("9", fileID{ino: 10, size: cacheMaxBytes / 4}) != nil {
		t.Fatal("another version of the file given")
	}
}

// BenchmarkLoad100kUncached is BenchmarkLoad100k for a file this process has not kept (the
// first open of the folder since the process started or the index changed): read and
// checked whole.
func BenchmarkLoad100kUncached(b *testing.B) {
	p := os.Getenv("COURIER_BIG_MAILDIR")
	if p == "" {
		p = "/var/tmp/courier-bench/big100k"
	}
	if _, err := os.Stat(filepath.Join(p, FileName)); err != nil {
		b.Skip("no 100k index: run maildirstore's BenchmarkOpen100kWarm first")
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		loaded.forget()
		ix, err := Load(p)
		if err != nil {
			b.Fatal(err)
		}
		if !ix.Fresh(p) || ix.Len() != 100000 {
			b.Fatal("not fresh")
		}
	}
}
