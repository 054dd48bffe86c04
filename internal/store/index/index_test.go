package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"courier/internal/store/keywords"
	"courier/internal/store/maildir"
)

func newFolder(t testing.TB) *maildir.Folder {
	t.Helper()
	p := filepath.Join(t.TempDir(), "md")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	m, err := maildir.Open(p, &maildir.Options{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return m.Inbox()
}

func deliver(t testing.TB, f *maildir.Folder, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := f.Deliver(strings.NewReader(fmt.Sprintf("Subject: %d\n\nbody\n", i)), &maildir.DeliverOptions{NoQuota: true, NoSync: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ix := New()
	ix.Reset(1234)
	ms := ix.NextModSeq(time.Unix(1, 0))
	ix.Insert(Entry{UID: 1, Name: "a,S=3:2,S", Size: 3, Date: 99, ModSeq: ms, Keywords: []string{"K1", "K2"}})
	ix.Insert(Entry{UID: 5, Name: "b", New: true, Size: -1, ModSeq: ms})
	ix.Insert(Entry{UID: 3, Name: "c:2,", Size: 7, ModSeq: ms, Keywords: []string{"K2"}})
	ix.Remove([]int{1}, ix.NextModSeq(time.Unix(1, 0)))
	ix.Stamps = Stamps{1, 2, 3, 4, 5}
	b := ix.Encode()
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 2 || got.UID(0) != 1 || got.UID(1) != 5 || got.UIDValidity != 1234 || got.NextUID != 6 ||
		got.Stamps != ix.Stamps || got.HighestModSeq != ix.HighestModSeq || len(got.Expunges) != 1 || got.Expunges[0].UID != 3 {
		t.Fatalf("decoded %+v", got)
	}
	e := got.At(0)
	if e.Name != "a,S=3:2,S" || e.Size != 3 || e.Date != 99 || strings.Join(e.Keywords, ",") != "K1,K2" || got.Info(0) != "S" {
		t.Errorf("entry %+v", e)
	}
	if e := got.At(1); !e.New || e.Size != -1 || e.Keywords != nil {
		t.Errorf("entry %+v", e)
	}
	// every single-byte change is detected
	for i := 0; i < len(b); i++ {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		if _, err := Decode(c); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d not detected: %v", i, err)
		}
	}
	if _, err := Decode(b[:len(b)-1]); !errors.Is(err, ErrCorrupt) {
		t.Error("truncation not detected")
	}
}

func TestRefreshFollowsOthers(t *testing.T) {
	f := newFolder(t)
	deliver(t, f, 3)
	ix := New()
	d, err := ix.Refresh(f, false, time.Now())
	if err != nil || len(d.New) != 3 || len(d.Recent) != 3 || ix.UIDValidity == 0 {
		t.Fatalf("first refresh %+v %v", d, err)
	}
	var seq atomic.Uint64
	if err := ix.Save(f.Path(), &seq); err != nil {
		t.Fatal(err)
	}
	ix, err = Load(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Fresh(f.Path()) {
		t.Fatal("saved index not fresh")
	}
	hms := ix.HighestModSeq
	// another program: a delivery, a flag change, a removal, a keyword
	deliver(t, f, 1)
	msgs, _ := f.List()
	var cur []maildir.Message
	for _, m := range msgs {
		if m.Sub == maildir.Cur {
			cur = append(cur, m)
		}
	}
	if _, err := f.SetFlags(cur[0], "S"); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(cur[1]); err != nil {
		t.Fatal(err)
	}
	if err := keywords.Open(f.Path(), keywords.Options{}).Set(cur[2].Base(), []string{"Work"}); err != nil {
		t.Fatal(err)
	}
	if ix.Fresh(f.Path()) {
		t.Fatal("stale index looks fresh")
	}
	d, err = ix.Refresh(f, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.New) != 1 || d.New[0] != 4 || len(d.Expunged) != 1 || len(d.Updated) != 2 {
		t.Fatalf("delta %+v", d)
	}
	if ix.HighestModSeq <= hms || len(ix.Expunges) != 1 || ix.Expunges[0].ModSeq != ix.HighestModSeq {
		t.Errorf("modseq %d -> %d, expunges %+v", hms, ix.HighestModSeq, ix.Expunges)
	}
	// UIDs are those of courierimapuiddb
	db, err := maildir.ReadUIDDB(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < ix.Len(); i++ {
		e := ix.At(i)
		if db.UIDs[e.Base()] != e.UID {
			t.Errorf("%s: index UID %d, uiddb %d", e.Base(), e.UID, db.UIDs[e.Base()])
		}
	}
}

func TestCorruptFileRebuilt(t *testing.T) {
	f := newFolder(t)
	deliver(t, f, 2)
	if err := os.WriteFile(filepath.Join(f.Path(), FileName), []byte("GMIDX\x00\x00\x01garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f.Path()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("load corrupt: %v", err)
	}
}

// A Snapshot encodes as the index was when it was taken, while the owner changes the index
// in every way at the same time (run with -race: nothing the two share is written).
func TestSnapshotEncode(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		ix := New()
		ix.Reset(77)
		ms := ix.NextModSeq(time.Unix(1, 0))
		for u := uint32(1); u <= 500; u++ {
			ix.Insert(Entry{UID: u, Name: fmt.Sprintf("%d.M1P1.h,S=5:2,S", u), Size: 5, ModSeq: ms, Keywords: []string{"K" + fmt.Sprint(u%3)}})
		}
		ix.SetVSize(3, 9)
		want := ix.Encode()
		if lazy { // as loaded from a file: records read in place
			var err error
			if ix, err = Decode(slices.Clone(want)); err != nil {
				t.Fatal(err)
			}
		}
		snap := ix.Snapshot()
		if snap.lazy != lazy {
			t.Fatalf("snapshot lazy %v", snap.lazy)
		}
		done := make(chan []byte)
		go func() { done <- snap.Encode() }()
		for i := 0; i < 200; i++ {
			m := ix.NextModSeq(time.Unix(2, 0))
			ix.SetName(i, fmt.Sprintf("x%d:2,FS", i), false, m)
			ix.SetKeywords(i+1, []string{"New" + fmt.Sprint(i)}, m)
			ix.SetDate(i+2, 1234)
			ix.Insert(Entry{UID: uint32(1000 + i), Name: "late", ModSeq: m})
			ix.Remove([]int{i + 3}, m)
		}
		if got := <-done; string(got) != string(want) {
			t.Fatalf("lazy %v: the snapshot encoded %d bytes unlike the index when taken (%d)", lazy, len(got), len(want))
		}
	}
}
