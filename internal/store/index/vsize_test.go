package index

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"courier/internal/store/maildir"
)

// TestVSizeRoundTrip: the IMAP sizes set on messages survive Encode/Decode (the VSZ1
// extension) and unknown ones stay unknown.
func TestVSizeRoundTrip(t *testing.T) {
	ix := New()
	ix.Reset(7)
	ms := ix.NextModSeq(time.Unix(1, 0))
	ix.Insert(Entry{UID: 1, Name: "a,S=3:2,S", Size: 3, ModSeq: ms})
	ix.Insert(Entry{UID: 2, Name: "b,S=5:2,", Size: 5, ModSeq: ms})
	ix.Insert(Entry{UID: 3, Name: "c,S=9:2,", Size: 9, ModSeq: ms})
	if _, ok := ix.VSize(0); ok {
		t.Fatal("a new entry has a size cached")
	}
	plain := ix.Encode()
	if binary.LittleEndian.Uint32(plain[52:]) != 0 {
		t.Error("an index without cached sizes writes an extension")
	}
	ix.SetVSize(0, 4)
	ix.SetVSize(2, 12)
	got, err := Decode(ix.Encode())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{4, -1, 12} {
		n, ok := got.VSize(i)
		if want < 0 && ok || want >= 0 && (!ok || n != want) {
			t.Errorf("record %d: VSize = %d, %v; want %d", i, n, ok, want)
		}
	}
	// A file written without the extension (by the first writers) still loads.
	if old, err := Decode(plain); err != nil || old.Len() != 3 {
		t.Fatalf("index without extension: %v", err)
	}
}

// TestVSizeSkipsUnknownSections: a later writer's extension sections are skipped; a size
// section of the wrong length is corruption (the index is then rebuilt).
func TestVSizeSkipsUnknownSections(t *testing.T) {
	ix := New()
	ix.Reset(7)
	ix.Insert(Entry{UID: 1, Name: "a,S=3:2,", Size: 3, ModSeq: 1})
	ix.SetVSize(0, 4)
	b := ix.Encode()
	le := binary.LittleEndian
	ext := int(le.Uint32(b[52:]))
	withExt := func(sections []byte) []byte {
		c := append([]byte(nil), b[:len(b)-ext]...)
		c = append(c, sections...)
		le.PutUint32(c[52:], uint32(len(sections)))
		le.PutUint32(c[96:], crc32.Checksum(c[HeaderSize:], castagnoli))
		le.PutUint32(c[100:], crc32.Checksum(c[:100], castagnoli))
		return c
	}
	sections := append([]byte("ENV9\x03\x00\x00\x00xyz"), b[len(b)-ext:]...)
	got, err := Decode(withExt(sections))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := got.VSize(0); !ok || n != 4 {
		t.Errorf("VSize = %d, %v after an unknown section", n, ok)
	}
	if _, err := Decode(withExt([]byte("VSZ1\x08\x00\x00\x00\x04\x00\x00\x00\x04\x00\x00\x00"))); !errors.Is(err, ErrCorrupt) {
		t.Errorf("size section of two records for one message: %v", err)
	}
	if _, err := Decode(withExt([]byte("VSZ1\x40\x00\x00\x00"))); !errors.Is(err, ErrCorrupt) {
		t.Errorf("section longer than the extension: %v", err)
	}
}

// TestVSizeKeptAcrossFlagChanges: Refresh keeps a cached size when only the message's flags
// change (same file content) and drops it when the UID names another file.
func TestVSizeKeptAcrossFlagChanges(t *testing.T) {
	f := newFolder(t)
	deliver(t, f, 2)
	ix := New()
	if _, err := ix.Refresh(f, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	ix.SetVSize(0, 100)
	ix.SetVSize(1, 200)
	msgs, err := f.List()
	if err != nil {
		t.Fatal(err)
	}
	first := ix.At(0)
	for _, m := range msgs {
		if m.Base() == first.Base() {
			if _, err := f.SetFlags(m, "S"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Replace the second message's file by another under the same UID, as a restore from a
	// backup that kept courierimapuiddb might.
	e := ix.At(1)
	db, err := os.ReadFile(filepath.Join(f.Path(), maildir.UIDDBFile))
	if err != nil {
		t.Fatal(err)
	}
	other := "1.M1P1.other,S=6"
	db = []byte(string(db[:len(db)-len(e.Base())-1]) + other + "\n")
	if err := os.WriteFile(filepath.Join(f.Path(), maildir.UIDDBFile), db, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(f.Path(), "cur", e.Name), filepath.Join(f.Path(), "cur", other+":2,")); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Refresh(f, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, ok := ix.VSize(0); !ok || n != 100 {
		t.Errorf("after a flag change: VSize = %d, %v; want 100", n, ok)
	}
	if ix.Info(0) != "S" {
		t.Errorf("flags %q", ix.Info(0))
	}
	if second := ix.At(1); second.Base() != other {
		t.Fatalf("second message is %q", ix.At(1).Name)
	}
	if _, ok := ix.VSize(1); ok {
		t.Error("a size cached for another file is kept")
	}
}
