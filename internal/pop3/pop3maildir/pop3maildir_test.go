package pop3maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/internal/pop3"
	"courier/internal/store/maildir"
)

func newMaildir(t testing.TB) string {
	t.Helper()
	md := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(md, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	return md
}

func put(t testing.TB, md, sub, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(md, sub, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func clock(sec int64) *Options {
	return &Options{Now: func() time.Time { return time.Unix(sec, 0) }}
}

func open(t testing.TB, md string, opt *Options) *Maildrop {
	t.Helper()
	d, err := Open(context.Background(), md, opt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func uidls(d *Maildrop) string {
	var s []string
	for _, m := range d.Messages() {
		s = append(s, m.UID)
	}
	return strings.Join(s, " ")
}

func listText(t testing.TB, md string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(md, maildir.POP3SizeListFile))
	if err != nil {
		return "(none)"
	}
	return string(b)
}

func TestOrderSizesAndList(t *testing.T) {
	md := newMaildir(t)
	// Ordered by the leading number, then by name; mtime plays no part.
	for _, n := range []string{"1600000001.M9P1.x", "1600000001.M10P1.x", "999999999.M1P1.x", "abc.x", "0001600000002.M1.x"} {
		put(t, md, "new", n, "Subject: "+n+"\n\nbody\n")
	}
	put(t, md, "new", "1600000003.crlf", "Subject: crlf\r\n\r\nbody\r\n")
	put(t, md, "new", "1600000004.utf", "Subject: h\xc3\xa9\n\nbody\n")
	put(t, md, "new", "1600000005.butf", "Subject: b\n\nb\xc3\xa9dy\n")
	put(t, md, "new", "1600000006.empty", "")
	d := open(t, md, clock(1000))
	want := "abc.x:2, 24 1:1000:0\n" +
		"999999999.M1P1.x:2, 35 2:1000:0\n" +
		"1600000001.M10P1.x:2, 37 3:1000:0\n" +
		"1600000001.M9P1.x:2, 36 4:1000:0\n" +
		"0001600000002.M1.x:2, 37 5:1000:0\n" +
		"1600000003.crlf:2, 26 6:1000:0\n" +
		"1600000004.utf:2, 22 7:1000:1\n" +
		"1600000005.butf:2, 21 8:1000:0\n" +
		"1600000006.empty:2, 0 9:1000:0\n"
	if got := listText(t, md); got != "/3 10 1000\n"+want {
		t.Fatalf("courierpop3dsizelist:\n%s\nwant\n/3 10 1000\n%s", got, want)
	}
	if got := uidls(d); got != "UID1-1000 UID2-1000 UID3-1000 UID4-1000 UID5-1000 UID6-1000 UID7-1000 UID8-1000 UID9-1000" {
		t.Fatalf("UIDLs %s", got)
	}
	if m := d.Messages()[6]; !m.UTF8 || m.Size != 22 {
		t.Fatalf("utf message %+v", m)
	}
	if ents, _ := os.ReadDir(filepath.Join(md, "new")); len(ents) != 0 {
		t.Fatalf("new/ not emptied: %v", ents)
	}
}

func TestRewriteRules(t *testing.T) {
	md := newMaildir(t)
	// An empty maildrop writes no list.
	open(t, md, clock(1000))
	if got := listText(t, md); got != "(none)" {
		t.Fatalf("list for an empty maildrop: %q", got)
	}
	put(t, md, "new", "1.a", "A\n")
	put(t, md, "new", "2.b", "B\n")
	open(t, md, clock(1000))
	first := listText(t, md)
	// A flag change alone does not rewrite the list, and the UID stays.
	if err := os.Rename(filepath.Join(md, "cur", "2.b:2,"), filepath.Join(md, "cur", "2.b:2,S")); err != nil {
		t.Fatal(err)
	}
	d := open(t, md, clock(2000))
	if got := listText(t, md); got != first {
		t.Fatalf("list rewritten after a flag change:\n%s", got)
	}
	if got := uidls(d); got != "UID1-1000 UID2-1000" {
		t.Fatalf("UIDLs %s", got)
	}
	// A vanished message rewrites it, with the current names.
	if err := os.Remove(filepath.Join(md, "cur", "1.a:2,")); err != nil {
		t.Fatal(err)
	}
	open(t, md, clock(2000))
	if got := listText(t, md); got != "/3 3 1000\n2.b:2,S 3 2:1000:0\n" {
		t.Fatalf("after a removal:\n%s", got)
	}
	// Everything gone: the list stays as it was; the next message still gets the next UID.
	if err := os.Remove(filepath.Join(md, "cur", "2.b:2,S")); err != nil {
		t.Fatal(err)
	}
	open(t, md, clock(3000))
	if got := listText(t, md); got != "/3 3 1000\n2.b:2,S 3 2:1000:0\n" {
		t.Fatalf("after emptying:\n%s", got)
	}
	put(t, md, "new", "3.c", "C\n")
	if got := uidls(open(t, md, clock(3000))); got != "UID3-1000" {
		t.Fatalf("UIDLs %s", got)
	}
}

func TestOldAndBadLists(t *testing.T) {
	md := newMaildir(t)
	put(t, md, "cur", "1.a:2,", "A\n")
	put(t, md, "cur", "2.b:2,S", "B\n")
	put(t, md, "", maildir.POP3SizeListFile, "/2 7 12345\n1.a:2, 40 5:12345\n2.b:2, 41 6:12345\n")
	d := open(t, md, clock(1000))
	if got := uidls(d); got != "UID5-12345 UID6-12345" {
		t.Fatalf("UIDLs from a /2 list: %s", got)
	}
	if d.Messages()[1].Size != 41 {
		t.Fatalf("the cached size is not used: %+v", d.Messages())
	}
	if got := listText(t, md); got != "/3 7 12345\n1.a:2, 40 5:12345:0\n2.b:2,S 41 6:12345:0\n" {
		t.Fatalf("a /2 list is rewritten as /3:\n%s", got)
	}
	for _, bad := range []string{"garbage\n", "1.a:2, 2\n", "/3 x 1\n", "/3 2 1\n1.a:2, 2 1:1\n", ""} {
		put(t, md, "", maildir.POP3SizeListFile, bad)
		if got := uidls(open(t, md, clock(5000))); got != "UID1-5000 UID2-5000" {
			t.Fatalf("list %q: UIDLs %s", bad, got)
		}
	}
}

func TestReadSeenDelete(t *testing.T) {
	md := newMaildir(t)
	put(t, md, "new", "1.a", "A\n")
	put(t, md, "new", "2.b", "B\n")
	put(t, md, "new", "3.c", "C\n")
	d := open(t, md, clock(1000))
	// Another program flags 1 and removes 3.
	if err := os.Rename(filepath.Join(md, "cur", "1.a:2,"), filepath.Join(md, "cur", "1.a:2,F")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(md, "cur", "3.c:2,")); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "A\n" {
		t.Fatalf("message 1: %q", b)
	}
	if err := d.Seen(0); err != nil {
		t.Fatal(err)
	}
	if err := d.Seen(0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(2); !errors.Is(err, pop3.ErrGone) {
		t.Fatalf("open of a vanished message: %v", err)
	}
	if err := d.Seen(2); !errors.Is(err, pop3.ErrGone) {
		t.Fatalf("seen of a vanished message: %v", err)
	}
	n, err := d.Delete([]int{1, 2})
	if err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	ents, _ := os.ReadDir(filepath.Join(md, "cur"))
	if len(ents) != 1 || ents[0].Name() != "1.a:2,FS" {
		t.Fatalf("cur/ holds %v", ents)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentOpensShareUIDs(t *testing.T) {
	md := newMaildir(t)
	for i := range 50 {
		put(t, md, "new", fmt.Sprintf("%d.m%d", 1600000000+i, i), "Subject: x\n\nbody\n")
	}
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := Open(context.Background(), md, clock(1000))
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = uidls(d)
		}()
	}
	wg.Wait()
	sort.Strings(results)
	if results[0] != results[len(results)-1] || strings.Count(results[0], "UID") != 50 {
		t.Fatalf("sessions opened at once disagree:\n%s\n%s", results[0], results[len(results)-1])
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "none"), nil); err == nil {
		t.Fatal("opened a missing maildir")
	}
}

// BenchmarkOpen measures a first open of 5,000 new messages (moving them to cur/ and
// measuring each) and a second open that finds them all in courierpop3dsizelist.
func BenchmarkOpen(b *testing.B) {
	body := strings.Repeat("a line of a message body, of a typical length for mail.\n", 700)
	for _, second := range []bool{false, true} {
		b.Run(fmt.Sprintf("cached=%v", second), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				md := newMaildir(b)
				for i := range 5000 {
					put(b, md, "new", fmt.Sprintf("%d.M%dP1.bench", 1600000000+i, i), "Subject: x\n\n"+body)
				}
				if second {
					open(b, md, nil)
				}
				b.StartTimer()
				open(b, md, nil)
			}
		})
	}
}

func TestPrefetch(t *testing.T) {
	md := newMaildir(t)
	for i := range 6 {
		put(t, md, "new", fmt.Sprintf("%d.m", i+1), fmt.Sprintf("Subject: %d\n\nbody\n", i+1))
	}
	d := open(t, md, clock(1000))
	for i := range 6 {
		d.Prefetch(i)
		d.Prefetch(i) // a second hint is ignored
	}
	d.Prefetch(99)
	// A prefetched copy is what Open returns, even if the file has been renamed since.
	if err := os.Rename(filepath.Join(md, "cur", "2.m:2,"), filepath.Join(md, "cur", "2.m:2,S")); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		rc, err := d.Open(i)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if want := fmt.Sprintf("Subject: %d\n\nbody\n", i+1); string(b) != want {
			t.Fatalf("message %d: %q", i+1, b)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// Hints left unused when the session ends are dropped.
	d = open(t, md, clock(1000))
	d.Prefetch(0)
	d.Prefetch(1)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRenamedAllAtOnce: when another session's S-flag renames (or an IMAP client) renamed
// every message after this session listed them, one listing of cur/ finds them all again,
// and one moved back to new/ or removed is still handled as before.
func TestRenamedAllAtOnce(t *testing.T) {
	md := newMaildir(t)
	for i := range 5 {
		put(t, md, "new", fmt.Sprintf("%d.r", i+1), fmt.Sprintf("R%d\n", i+1))
	}
	d := open(t, md, clock(1000))
	for i := range 5 {
		n := fmt.Sprintf("%d.r", i+1)
		if err := os.Rename(filepath.Join(md, "cur", n+":2,"), filepath.Join(md, "cur", n+":2,S")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(md, "cur", "4.r:2,S"), filepath.Join(md, "new", "4.r")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(md, "cur", "5.r:2,S")); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	for i, want := range []string{"1.r:2,S", "2.r:2,S", "3.r:2,S"} {
		if d.msgs[i].name != want {
			t.Fatalf("message %d is %q after one lookup", i+1, d.msgs[i].name)
		}
	}
	for i := range 4 {
		rc, err := d.Open(i)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if want := fmt.Sprintf("R%d\n", i+1); string(b) != want {
			t.Fatalf("message %d: %q", i+1, b)
		}
	}
	if d.msgs[3].name != "4.r:2," {
		t.Fatalf("message 4 back from new/ is %q", d.msgs[3].name)
	}
	if _, err := d.Open(4); !errors.Is(err, pop3.ErrGone) {
		t.Fatalf("open of a vanished message: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadAheadBuffers: a recycled buffer smaller than the next message is not used, and a
// file larger than its listed size is still read whole.
func TestReadAheadBuffers(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	big := filepath.Join(dir, "big")
	os.WriteFile(small, []byte("x\n"), 0o600)
	text := strings.Repeat("0123456789abcdef\n", 20000)
	os.WriteFile(big, []byte(text), 0o600)
	b, err := readAhead(small, 2)
	if err != nil || string(b) != "x\n" {
		t.Fatalf("small: %q %v", b, err)
	}
	m := &memMessage{data: b}
	m.Close()
	b, err = readAhead(big, 10) // grew since it was measured
	if err != nil || string(b) != text {
		t.Fatalf("big: %d octets, %v", len(b), err)
	}
	if _, err := readAhead(filepath.Join(dir, "none"), 1); err == nil {
		t.Fatal("a missing file read ahead")
	}
}
