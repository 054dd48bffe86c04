// Package storetest is the conformance suite every store.Store backend passes: call Run from
// the backend's tests with a function making a fresh, empty account.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"courier/internal/store"
)

// Damage names a kind of on-disk damage for Hooks.Damage.
type Damage int

// The damages the suite inflicts (through the backend's hook) to check repair.
const (
	DamageIndex Damage = iota // the backend's own cache (index) of a folder is garbage
	DamageUIDDB               // the UID database of a folder is garbage
	DamageQuota               // the quota usage file is garbage
)

// Hooks give the suite what the store.Store interface does not offer. A nil hook skips the
// tests needing it, saying so.
type Hooks struct {
	// Reopen closes s and opens the same account again.
	Reopen func(t *testing.T, s store.Store) store.Store
	// SetQuota installs a quota (bytes, messages; zero: no limit of that kind).
	SetQuota func(t *testing.T, s store.Store, bytes, messages int64)
	// Damage damages the given folder's files (all views of it are closed).
	Damage func(t *testing.T, s store.Store, folder string, d Damage)
}

// Run runs the suite; newStore returns a new empty account, closed by the caller's cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, h Hooks) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, h Hooks)
	}{
		{"AppendFetch", testAppendFetch},
		{"Flags", testFlags},
		{"UIDs", testUIDs},
		{"CopyMove", testCopyMove},
		{"Expunge", testExpunge},
		{"Folders", testFolders},
		{"Subscriptions", testSubscriptions},
		{"Quota", testQuota},
		{"Names", testNames},
		{"Notifications", testNotifications},
		{"Repair", testRepair},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t), h)
		})
	}
}

// Msg returns a small RFC 5322 message identified by id.
func Msg(id string) string {
	return fmt.Sprintf("From: a@example.test\r\nTo: b@example.test\r\nMessage-ID: <%s@example.test>\r\nSubject: %s\r\n\r\nbody of %s\r\n", id, id, id)
}

func open(t *testing.T, s store.Store, name string) store.Mailbox {
	t.Helper()
	mb, err := s.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}

func appendMsg(t *testing.T, mb store.Mailbox, id string, opt store.AppendOptions) store.UID {
	t.Helper()
	uid, err := mb.Append(strings.NewReader(Msg(id)), opt)
	if err != nil {
		t.Fatalf("append %s: %v", id, err)
	}
	return uid
}

func syncView(t *testing.T, mb store.Mailbox) store.Changes {
	t.Helper()
	c, err := mb.Sync()
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return c
}

func read(t *testing.T, mb store.Mailbox, uid store.UID) string {
	t.Helper()
	c, err := mb.OpenMessage(uid)
	if err != nil {
		t.Fatalf("open UID %d: %v", uid, err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 4)
	if n, err := c.ReadAt(part, 0); n != 4 || err != nil || string(part) != string(b[:4]) {
		t.Errorf("ReadAt: %q %v", part[:n], err)
	}
	if c.Size() != int64(len(b)) {
		t.Errorf("Size %d, read %d bytes", c.Size(), len(b))
	}
	return string(b)
}

func uids(msgs []store.Message) []store.UID {
	var out []store.UID
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

func testAppendFetch(t *testing.T, s store.Store, _ Hooks) {
	mb := open(t, s, "INBOX")
	date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	uid := appendMsg(t, mb, "one", store.AppendOptions{Flags: store.Seen | store.Flagged, Keywords: []string{"$Label1", "Work"}, Date: date})
	if uid == 0 {
		t.Fatal("UID 0")
	}
	if _, ok := mb.Message(uid); ok {
		t.Error("appended message in the view before Sync")
	}
	c := syncView(t, mb)
	if len(c.New) != 1 || c.New[0].UID != uid {
		t.Fatalf("Sync New = %+v, want UID %d", c.New, uid)
	}
	m, ok := mb.Message(uid)
	if !ok {
		t.Fatal("not in view after Sync")
	}
	if m.Flags != store.Seen|store.Flagged {
		t.Errorf("flags %b", m.Flags)
	}
	if !slices.Equal(m.Keywords, []string{"$Label1", "Work"}) {
		t.Errorf("keywords %q", m.Keywords)
	}
	if got := read(t, mb, uid); got != Msg("one") {
		t.Errorf("content %q", got)
	}
	if m.Size != int64(len(Msg("one"))) {
		t.Errorf("size %d", m.Size)
	}
	if m.ModSeq == 0 {
		t.Error("modseq 0")
	}
	d, err := mb.InternalDate(uid)
	if err != nil || !d.Equal(date) {
		t.Errorf("internal date %v %v, want %v", d, err, date)
	}
	st := mb.Status()
	if st.Messages != 1 || st.UIDNext <= uid || st.UIDValidity == 0 || st.HighestModSeq < m.ModSeq || st.Unseen != 0 {
		t.Errorf("status %+v", st)
	}
	if _, err := mb.OpenMessage(uid + 100); !errors.Is(err, store.ErrNoMessage) {
		t.Errorf("open missing UID: %v", err)
	}
}

func testFlags(t *testing.T, s store.Store, h Hooks) {
	mb := open(t, s, "INBOX")
	u1 := appendMsg(t, mb, "a", store.AppendOptions{})
	u2 := appendMsg(t, mb, "b", store.AppendOptions{Flags: store.Draft})
	syncView(t, mb)
	m0, _ := mb.Message(u1)
	got, err := mb.SetFlags([]store.UID{u1, u2}, store.Add, store.Seen|store.Answered, []string{"Todo"})
	if err != nil || len(got) != 2 {
		t.Fatalf("SetFlags add: %v %+v", err, got)
	}
	if got[0].Flags != store.Seen|store.Answered || got[1].Flags != store.Seen|store.Answered|store.Draft {
		t.Errorf("after add: %b %b", got[0].Flags, got[1].Flags)
	}
	if got[0].ModSeq <= m0.ModSeq {
		t.Errorf("modseq did not grow: %d then %d", m0.ModSeq, got[0].ModSeq)
	}
	if _, err := mb.SetFlags([]store.UID{u1}, store.Remove, store.Answered, []string{"Todo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.SetFlags([]store.UID{u2}, store.Replace, store.Flagged, []string{"X", "A"}); err != nil {
		t.Fatal(err)
	}
	check := func(mb store.Mailbox) {
		t.Helper()
		a, _ := mb.Message(u1)
		b, _ := mb.Message(u2)
		if a.Flags != store.Seen || len(a.Keywords) != 0 {
			t.Errorf("u1: %b %q", a.Flags, a.Keywords)
		}
		if b.Flags != store.Flagged || !slices.Equal(b.Keywords, []string{"A", "X"}) {
			t.Errorf("u2: %b %q", b.Flags, b.Keywords)
		}
	}
	check(mb)
	// a second view sees the same
	other := open(t, s, "INBOX")
	check(other)
	if st := other.Status(); st.Unseen != 1 {
		t.Errorf("unseen %d", st.Unseen)
	}
	if h.Reopen != nil {
		mb.Close()
		other.Close()
		s = h.Reopen(t, s)
		check(open(t, s, "INBOX"))
	}
}

func testUIDs(t *testing.T, s store.Store, h Hooks) {
	mb := open(t, s, "INBOX")
	var all []store.UID
	for i := 0; i < 5; i++ {
		all = append(all, appendMsg(t, mb, fmt.Sprint("u", i), store.AppendOptions{}))
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("UIDs not increasing: %v", all)
		}
	}
	syncView(t, mb)
	if _, err := mb.Expunge(all[3:]); err != nil {
		t.Fatal(err)
	}
	v := mb.Status().UIDValidity
	u := appendMsg(t, mb, "after-expunge", store.AppendOptions{})
	if u <= all[4] {
		t.Errorf("UID %d reused after expunge of %v", u, all[3:])
	}
	if h.Reopen == nil {
		return
	}
	mb.Close()
	s = h.Reopen(t, s)
	mb = open(t, s, "INBOX")
	st := mb.Status()
	if st.UIDValidity != v || st.UIDNext <= u {
		t.Errorf("after reopen: %+v (validity was %d, last UID %d)", st, v, u)
	}
	if got := uids(mb.Messages()); !slices.Equal(got, []store.UID{all[0], all[1], all[2], u}) {
		t.Errorf("after reopen UIDs %v", got)
	}
	u2 := appendMsg(t, mb, "after-reopen", store.AppendOptions{})
	if u2 <= u {
		t.Errorf("UID %d after reopen not above %d", u2, u)
	}
}

func testCopyMove(t *testing.T, s store.Store, _ Hooks) {
	if err := s.Create("INBOX.Archive"); err != nil {
		t.Fatal(err)
	}
	src := open(t, s, "INBOX")
	dst := open(t, s, "INBOX.Archive")
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	a := appendMsg(t, src, "ca", store.AppendOptions{Flags: store.Seen, Keywords: []string{"K"}, Date: date})
	b := appendMsg(t, src, "cb", store.AppendOptions{})
	syncView(t, src)
	cu, err := src.Copy([]store.UID{a, b}, dst)
	if err != nil || len(cu) != 2 || cu[0] >= cu[1] {
		t.Fatalf("copy: %v %v", cu, err)
	}
	c := syncView(t, dst)
	if !slices.Equal(uids(c.New), cu) {
		t.Fatalf("dst New %v, copy said %v", uids(c.New), cu)
	}
	m, _ := dst.Message(cu[0])
	if m.Flags != store.Seen || !slices.Equal(m.Keywords, []string{"K"}) {
		t.Errorf("copied flags %b keywords %q", m.Flags, m.Keywords)
	}
	if d, err := dst.InternalDate(cu[0]); err != nil || !d.Equal(date) {
		t.Errorf("copied date %v %v", d, err)
	}
	if read(t, dst, cu[1]) != Msg("cb") {
		t.Error("copied content differs")
	}
	if src.Status().Messages != 2 {
		t.Error("copy removed from source")
	}
	mu, err := src.Move([]store.UID{a}, dst)
	if err != nil || len(mu) != 1 || mu[0] <= cu[1] {
		t.Fatalf("move: %v %v", mu, err)
	}
	if _, ok := src.Message(a); ok {
		t.Error("moved message still in source view")
	}
	syncView(t, dst)
	if read(t, dst, mu[0]) != Msg("ca") {
		t.Error("moved content differs")
	}
	if st := dst.Status(); st.Messages != 3 {
		t.Errorf("dst has %d messages", st.Messages)
	}
	// the source's other views see the move as an expunge
	other := open(t, s, "INBOX")
	if got := uids(other.Messages()); !slices.Equal(got, []store.UID{b}) {
		t.Errorf("source now %v", got)
	}
}

func testExpunge(t *testing.T, s store.Store, _ Hooks) {
	mb := open(t, s, "INBOX")
	var us []store.UID
	for i := 0; i < 4; i++ {
		us = append(us, appendMsg(t, mb, fmt.Sprint("e", i), store.AppendOptions{}))
	}
	syncView(t, mb)
	if _, err := mb.SetFlags([]store.UID{us[1], us[3]}, store.Add, store.Deleted, nil); err != nil {
		t.Fatal(err)
	}
	gone, err := mb.Expunge(nil)
	if err != nil || !slices.Equal(gone, []store.UID{us[1], us[3]}) {
		t.Fatalf("expunge: %v %v", gone, err)
	}
	if got := uids(mb.Messages()); !slices.Equal(got, []store.UID{us[0], us[2]}) {
		t.Errorf("left %v", got)
	}
	if _, err := mb.OpenMessage(us[1]); !errors.Is(err, store.ErrNoMessage) {
		t.Errorf("open expunged: %v", err)
	}
	gone, err = mb.Expunge([]store.UID{us[0]})
	if err != nil || !slices.Equal(gone, []store.UID{us[0]}) {
		t.Errorf("expunge by UID: %v %v", gone, err)
	}
	if c := syncView(t, mb); !c.Empty() {
		t.Errorf("own changes reported by Sync: %+v", c)
	}
}

func names(t *testing.T, s store.Store) []string {
	t.Helper()
	l, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range l {
		out = append(out, f.Name)
	}
	return out
}

func testFolders(t *testing.T, s store.Store, _ Hooks) {
	for _, n := range []string{"INBOX.A", "INBOX.A.B", "INBOX.A.B.C", "INBOX.Pers&APY-nlich"} {
		if err := s.Create(n); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	if err := s.Create("INBOX.A"); !errors.Is(err, store.ErrExists) {
		t.Errorf("create existing: %v", err)
	}
	if _, err := s.Open("INBOX.Nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("open missing: %v", err)
	}
	mb := open(t, s, "INBOX.A.B")
	appendMsg(t, mb, "in-b", store.AppendOptions{})
	mb.Close()
	if err := s.Rename("INBOX.A", "INBOX.Z"); err != nil {
		t.Fatal(err)
	}
	want := []string{"INBOX", "INBOX.Pers&APY-nlich", "INBOX.Z", "INBOX.Z.B", "INBOX.Z.B.C"}
	if got := names(t, s); !slices.Equal(got, want) {
		t.Errorf("after rename %q, want %q", got, want)
	}
	mb = open(t, s, "INBOX.Z.B")
	if mb.Status().Messages != 1 {
		t.Error("message did not follow the rename")
	}
	mb.Close()
	for _, bad := range [][2]string{{"INBOX", "INBOX.X"}, {"INBOX.Z", "INBOX"}} {
		if err := s.Rename(bad[0], bad[1]); err == nil {
			t.Errorf("rename %s to %s allowed", bad[0], bad[1])
		}
	}
	if err := s.Rename("INBOX.Z", "INBOX.Pers&APY-nlich"); !errors.Is(err, store.ErrExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if err := s.Rename("INBOX.Z", "INBOX.Z.B.D"); err == nil {
		t.Error("rename into own child allowed")
	}
	if err := s.Delete("INBOX"); !errors.Is(err, store.ErrNotAllowed) {
		t.Errorf("delete INBOX: %v", err)
	}
	if err := s.Delete("INBOX.Z.B"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("INBOX.Z.B"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("open deleted: %v", err)
	}
	if err := s.Delete("INBOX.Nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
}

func testSubscriptions(t *testing.T, s store.Store, _ Hooks) {
	for _, n := range []string{"INBOX.A", "INBOX.B", "INBOX.A"} {
		if err := s.Subscribe(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Unsubscribe("INBOX.A"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Subscriptions()
	if err != nil || !slices.Equal(got, []string{"INBOX.B"}) {
		t.Errorf("subscriptions %q %v", got, err)
	}
}

func testQuota(t *testing.T, s store.Store, h Hooks) {
	if h.SetQuota == nil {
		t.Skip("backend gives no SetQuota hook")
	}
	size := int64(len(Msg("q0")))
	h.SetQuota(t, s, 0, 3)
	if err := s.Create("INBOX.Other"); err != nil {
		t.Fatal(err)
	}
	mb := open(t, s, "INBOX")
	for i := 0; i < 3; i++ {
		appendMsg(t, mb, fmt.Sprint("q", i), store.AppendOptions{})
	}
	if _, err := mb.Append(strings.NewReader(Msg("q3")), store.AppendOptions{}); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("append over quota: %v", err)
	}
	q, err := s.Quota()
	if err != nil || q.Messages != 3 || q.Bytes != 3*size || q.LimitMessages != 3 {
		t.Errorf("quota %+v %v", q, err)
	}
	syncView(t, mb)
	other := open(t, s, "INBOX.Other")
	first := mb.Messages()[0].UID
	if _, err := mb.Copy([]store.UID{first}, other); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("copy over quota: %v", err)
	}
	if c := syncView(t, other); len(c.New) != 0 {
		t.Errorf("refused copy left %d messages", len(c.New))
	}
	// a move does not grow usage
	if _, err := mb.Move([]store.UID{first}, other); err != nil {
		t.Errorf("move within quota: %v", err)
	}
	if q, _ := s.Quota(); q.Messages != 3 {
		t.Errorf("after move usage %+v", q)
	}
	if _, err := mb.Expunge(uids(mb.Messages())); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Quota(); q.Messages != 1 || q.Bytes != size {
		t.Errorf("after expunge usage %+v", q)
	}
	appendMsg(t, mb, "fits-again", store.AppendOptions{})
}

func testNames(t *testing.T, s store.Store, _ Hooks) {
	bad := []string{"..", "INBOX..", "INBOX..a", "../x", "INBOX/../x", "INBOX.a/b", "INBOX.a\x00b", "/etc",
		"INBOX." + strings.Repeat("x", 10000), "INBOX.&Jjo", "INBOX.&-a&", "INBOX.a.", "INBOX.\r\n"}
	for _, n := range bad {
		if err := s.Create(n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("create %q: %v", trunc(n), err)
		}
		if _, err := s.Open(n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("open %q: %v", trunc(n), err)
		}
		if err := s.Rename("INBOX.ok", n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("rename to %q: %v", trunc(n), err)
		}
		if err := s.Subscribe(n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("subscribe %q: %v", trunc(n), err)
		}
		if err := s.Delete(n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("delete %q: %v", trunc(n), err)
		}
	}
	if got := names(t, s); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("folders after refusals: %q", got)
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func wait(t *testing.T, mb store.Mailbox) {
	t.Helper()
	select {
	case <-mb.Updates():
	case <-time.After(15 * time.Second):
		t.Fatal("no update notification within 15 s")
	}
}

func testNotifications(t *testing.T, s store.Store, _ Hooks) {
	a := open(t, s, "INBOX")
	b := open(t, s, "INBOX")
	drain := func() {
		for {
			select {
			case <-a.Updates():
			case <-time.After(50 * time.Millisecond):
				return
			}
		}
	}
	u := appendMsg(t, b, "n1", store.AppendOptions{})
	wait(t, a)
	if c := syncView(t, a); len(c.New) != 1 || c.New[0].UID != u {
		t.Fatalf("a saw %+v", c)
	}
	syncView(t, b)
	drain()
	if _, err := b.SetFlags([]store.UID{u}, store.Add, store.Flagged, []string{"kw"}); err != nil {
		t.Fatal(err)
	}
	wait(t, a)
	c := syncView(t, a)
	if len(c.Updated) != 1 || c.Updated[0].Flags != store.Flagged || !slices.Equal(c.Updated[0].Keywords, []string{"kw"}) {
		t.Fatalf("a saw %+v", c)
	}
	drain()
	if _, err := b.Expunge([]store.UID{u}); err != nil {
		t.Fatal(err)
	}
	wait(t, a)
	if c := syncView(t, a); !slices.Equal(c.Expunged, []store.UID{u}) {
		t.Fatalf("a saw %+v", c)
	}
	if a.Status().Messages != 0 {
		t.Error("expunged message still in view")
	}
}

func testRepair(t *testing.T, s store.Store, h Hooks) {
	if h.Damage == nil || h.Reopen == nil {
		t.Skip("backend gives no Damage/Reopen hook")
	}
	mb := open(t, s, "INBOX")
	var us []store.UID
	for i := 0; i < 5; i++ {
		us = append(us, appendMsg(t, mb, fmt.Sprint("r", i), store.AppendOptions{Flags: store.Seen}))
	}
	syncView(t, mb)
	v := mb.Status().UIDValidity
	mb.Close()
	contents := func(mb store.Mailbox) []string {
		var out []string
		for _, m := range mb.Messages() {
			out = append(out, read(t, mb, m.UID))
		}
		slices.Sort(out)
		return out
	}
	var want []string
	for i := 0; i < 5; i++ {
		want = append(want, Msg(fmt.Sprint("r", i)))
	}
	slices.Sort(want)

	h.Damage(t, s, "INBOX", DamageIndex)
	s = h.Reopen(t, s)
	mb = open(t, s, "INBOX")
	if got := uids(mb.Messages()); !slices.Equal(got, us) || mb.Status().UIDValidity != v {
		t.Errorf("corrupt index: UIDs %v validity %d, want %v %d", got, mb.Status().UIDValidity, us, v)
	}
	if m, _ := mb.Message(us[0]); m.Flags != store.Seen {
		t.Errorf("corrupt index: flags %b", m.Flags)
	}
	mb.Close()

	h.Damage(t, s, "INBOX", DamageUIDDB)
	s = h.Reopen(t, s)
	mb = open(t, s, "INBOX")
	if got := contents(mb); !slices.Equal(got, want) {
		t.Errorf("corrupt UID database: messages %d, want %d", len(got), len(want))
	}
	ms := mb.Messages()
	for i := 1; i < len(ms); i++ {
		if ms[i].UID <= ms[i-1].UID {
			t.Errorf("UIDs not increasing after repair: %v", uids(ms))
		}
	}
	next := appendMsg(t, mb, "after-repair", store.AppendOptions{})
	if mb.Status().UIDValidity == v && next <= us[len(us)-1] {
		t.Errorf("UID %d reused under the same UIDVALIDITY", next)
	}
	mb.Close()

	if h.SetQuota == nil {
		return
	}
	h.SetQuota(t, s, 0, 7)
	h.Damage(t, s, "INBOX", DamageQuota)
	s = h.Reopen(t, s)
	q, err := s.Quota()
	if err != nil || q.Messages != 6 || q.LimitMessages != 7 {
		t.Errorf("corrupt quota file: %+v %v", q, err)
	}
	mb = open(t, s, "INBOX")
	appendMsg(t, mb, "seventh", store.AppendOptions{})
	if _, err := mb.Append(bytes.NewReader([]byte(Msg("eighth"))), store.AppendOptions{}); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("over quota after repair: %v", err)
	}
}
