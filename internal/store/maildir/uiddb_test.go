package maildir

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLeadingNumber(t *testing.T) {
	for s, want := range map[string]int64{
		"1704097020.M1P2.host,S=5": 1704097020,
		"999999999.x":              999999999,
		"abc":                      0,
		"":                         0,
		"-5.x":                     -5,
		"+7":                       7,
		"99999999999999999999999":  math.MaxInt64,
		"-99999999999999999999999": -math.MaxInt64,
	} {
		if got := leadingNumber(s); got != want {
			t.Errorf("leadingNumber(%q) = %d, want %d", s, got, want)
		}
	}
}

// putCur puts an empty message named name (a base name) into cur/ with empty flags.
func putCur(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, Cur, name+InfoSep), []byte("Subject: x\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// uidsByBase returns the base name to UID map of a Snapshot.
func uidsByBase(s *Snapshot) map[string]uint32 {
	m := map[string]uint32{}
	for _, msg := range s.Messages {
		m[msg.Base()] = msg.UID
	}
	return m
}

// New messages are numbered in Courier's order: by the leading number of the name (its time,
// however many digits it has), then byte by byte.
func TestSyncNewOrder(t *testing.T) {
	m := newMD(t)
	in := m.Inbox()
	names := []string{"1000000000.b", "999999999.z", "1000000000.a", "12.x", "x.nodigits", "1000000000.a2", "-3.neg"}
	for _, n := range names {
		putCur(t, in.Path(), n)
	}
	s, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-3.neg", "x.nodigits", "12.x", "999999999.z", "1000000000.a", "1000000000.a2", "1000000000.b"}
	got := uidsByBase(s)
	for i, n := range want {
		if got[n] != uint32(i+1) {
			t.Fatalf("UIDs %v, want the order %v", got, want)
		}
	}
	// The file is as Courier writes it: header, then the entries in UID order.
	b, err := os.ReadFile(filepath.Join(in.Path(), UIDDBFile))
	if err != nil {
		t.Fatal(err)
	}
	var exp strings.Builder
	fmt.Fprintf(&exp, "1 %d %d\n", s.UIDValidity, len(want)+1)
	for i, n := range want {
		fmt.Fprintf(&exp, "%d %s\n", i+1, n)
	}
	if string(b) != exp.String() {
		t.Fatalf("courierimapuiddb:\n%s\nwant:\n%s", b, exp.String())
	}
}

// Messages gone are dropped from the file line by line, the others keep their lines and UIDs,
// and new ones follow.
func TestSyncRemoveKeepsLines(t *testing.T) {
	m := newMD(t)
	in := m.Inbox()
	for i := 1; i <= 6; i++ {
		putCur(t, in.Path(), strconv.Itoa(1600000000+i)+".M1P1.h")
	}
	s, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 4, 6} {
		if err := os.Remove(filepath.Join(in.Path(), Cur, strconv.Itoa(1600000000+i)+".M1P1.h"+InfoSep)); err != nil {
			t.Fatal(err)
		}
	}
	putCur(t, in.Path(), "1700000000.M1P1.h")
	s2, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(in.Path(), UIDDBFile))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("1 %d 8\n2 1600000002.M1P1.h\n3 1600000003.M1P1.h\n5 1600000005.M1P1.h\n7 1700000000.M1P1.h\n", s.UIDValidity)
	if string(b) != want || s2.UIDValidity != s.UIDValidity || s2.NextUID != 8 || len(s2.Messages) != 4 {
		t.Fatalf("after removals: %q (snapshot %+v), want %q", b, s2, want)
	}
	db, err := ParseUIDDB(b)
	if err != nil || db.UIDs["1600000005.M1P1.h"] != 5 {
		t.Fatalf("%v %+v", err, db)
	}
}

// sortNew's two ways (numbers packed into integers, or compared) give the reference order.
func TestSortNew(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, neg := range []bool{false, true} {
		var msgs []Message
		for i := 0; i < 3000; i++ {
			n := 1600000000 + r.IntN(500) // many ties
			if neg && i == 7 {
				n = -n
			}
			msgs = append(msgs, Message{Sub: Cur, Name: fmt.Sprintf("%d.M%dP%d.h:2,S", n, r.IntN(1000), r.IntN(10))})
		}
		keys := make([]newKey, len(msgs))
		for i, m := range msgs {
			b := m.Base()
			keys[i] = newKey{num: leadingNumber(b), pos: uint32(i), blen: uint32(len(b))}
		}
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(a, b newKey) int {
			if c := cmp.Compare(a.num, b.num); c != 0 {
				return c
			}
			return strings.Compare(msgs[a.pos].Base(), msgs[b.pos].Base())
		})
		sortNew(keys, msgs)
		for i := range keys {
			if msgs[keys[i].pos].Base() != msgs[want[i].pos].Base() {
				t.Fatalf("negative %v: at %d %s, want %s", neg, i, msgs[keys[i].pos].Name, msgs[want[i].pos].Name)
			}
		}
	}
}

// TestSyncEmptyBaseName: a message file called ":2,S" (nothing before the info part) gets a
// UID like any other, and the database Courier's way ("N " with an empty name) reads back,
// so a second open keeps the UIDVALIDITY instead of starting over.
func TestSyncEmptyBaseName(t *testing.T) {
	m := newMD(t)
	in := m.Inbox()
	putCur(t, in.Path(), "1600000001.M1P1.h")
	if err := os.WriteFile(filepath.Join(in.Path(), Cur, InfoSep+"S"), []byte("Subject: odd\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s1, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1.Messages) != 2 || s2.UIDValidity != s1.UIDValidity || len(s2.Messages) != 2 || s2.NextUID != s1.NextUID {
		t.Fatalf("first %+v, second %+v: want the same two messages and UIDVALIDITY", s1, s2)
	}
	if _, err := ParseUIDDB([]byte("1 5 3\n1 \n2 x\n")); err != nil {
		t.Fatalf("an empty name: %v", err)
	}
	if _, err := ParseUIDDB([]byte("1 5 3\n1\n")); err == nil {
		t.Fatal("a line without a name field parsed")
	}
}
