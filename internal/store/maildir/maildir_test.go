package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/internal/store/foldername"
	"courier/internal/store/quota"
)

func newMD(t testing.TB) *Maildir {
	t.Helper()
	p := filepath.Join(t.TempDir(), "md")
	if err := Create(p, Private, false); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p, &Options{Host: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode() & (fs.ModePerm | fs.ModeSticky)
}

func TestCreateModes(t *testing.T) {
	d := t.TempDir()
	if err := Create(filepath.Join(d, "p"), Private, false); err != nil {
		t.Fatal(err)
	}
	if err := Create(filepath.Join(d, "p"), Private, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v", err)
	}
	if err := Create(filepath.Join(d, "s"), Sharable, false); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, filepath.Join(d, "s")); m != 0o755 {
		t.Errorf("sharable top %o", m)
	}
	if m := mode(t, filepath.Join(d, "s", "new")); m != 0o700 {
		t.Errorf("sharable new %o", m)
	}
	if err := CreateFolderDir(filepath.Join(d, "s"), ".W", SharedWrite); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, filepath.Join(d, "s", ".W")); m != 0o755|fs.ModeSticky {
		t.Errorf("write folder %o", m)
	}
	if m := mode(t, filepath.Join(d, "s", ".W", "cur")); m != 0o777|fs.ModeSticky {
		t.Errorf("write folder cur %o", m)
	}
	if m := mode(t, filepath.Join(d, "s", ".W", FolderMarker)); m != 0o600 {
		t.Errorf("maildirfolder %o", m)
	}
	if err := Create(filepath.Join(d, "a", "b", "c"), Private, true); err != nil {
		t.Fatal(err)
	}
	if err := Validate(filepath.Join(d, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	if err := Validate(d); err == nil {
		t.Fatal("a plain directory validated")
	}
}

var nameRE = regexp.MustCompile(`^\d+\.M\d+P\d+V[0-9A-F]{16}I[0-9A-F]{16}(_\d+)?\.testhost,S=(\d+)$`)

func TestDeliverAndFlags(t *testing.T) {
	m := newMD(t)
	in := m.Inbox()
	d, err := in.Deliver(strings.NewReader("Subject: x\n\nhello\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Sub != New || !nameRE.MatchString(d.Name) || d.Size != 18 || !strings.HasSuffix(d.Name, ",S=18") {
		t.Fatalf("delivered %+v", d)
	}
	if ents, _ := os.ReadDir(filepath.Join(m.Path(), Tmp)); len(ents) != 0 {
		t.Fatal("tmp not empty after delivery")
	}
	d2, err := in.Deliver(strings.NewReader("two"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The counter is process-wide: every delivery but the process's first has a suffix.
	if !regexp.MustCompile(`_[1-9]\d*\.testhost`).MatchString(d2.Name) || d2.Name == d.Name {
		t.Fatalf("second delivery of the process lacks its unique suffix: %s", d2.Name)
	}
	acc, err := in.AcceptNew()
	if err != nil || len(acc) != 2 {
		t.Fatalf("accept: %v %v", acc, err)
	}
	msg := acc[0]
	if !strings.HasSuffix(msg.Name, ":2,") || msg.Base() != d.Name && msg.Base() != d2.Name {
		t.Fatalf("accepted %+v", msg)
	}
	// unknown letters are kept and everything is sorted
	msg, err = in.SetFlags(msg, "SaPFS")
	if err != nil || msg.Flags() != "FPSa" {
		t.Fatalf("set flags: %+v %v", msg, err)
	}
	msg, err = in.ChangeFlags(msg, "R", "S")
	if err != nil || msg.Flags() != "FPRa" {
		t.Fatalf("change flags: %+v %v", msg, err)
	}
	found, err := in.Find(msg.Base())
	if err != nil || found != msg {
		t.Fatalf("find: %+v %v", found, err)
	}
	list, _ := in.List()
	if len(list) != 2 {
		t.Fatalf("list %v", list)
	}
	if err := in.Remove(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Find(msg.Base()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("removed message still found")
	}
}

func TestDeliverCurWithFlags(t *testing.T) {
	m := newMD(t)
	d, err := m.Inbox().Deliver(strings.NewReader("x"), &DeliverOptions{Cur: true, Flags: "SD"})
	if err != nil || d.Sub != Cur || !strings.HasSuffix(d.Name, ",S=1:2,DS") {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestQuotaAccounting(t *testing.T) {
	m := newMD(t)
	if _, err := quota.Set(m.Path(), quota.Spec{Bytes: 10}, nil); err != nil {
		t.Fatal(err)
	}
	in := m.Inbox()
	if _, err := in.Deliver(strings.NewReader("12345"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Deliver(strings.NewReader("123456"), nil); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("over quota: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(m.Path(), Tmp)); len(ents) != 0 {
		t.Fatal("refused message left in tmp")
	}
	msgs, _ := in.AcceptNew()
	// \Deleted frees the space, undeleting takes it back
	msg, err := in.SetFlags(msgs[0], "T")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := quota.Check(m.Path(), quota.Usage{}, nil)
	if st.Usage != (quota.Usage{}) {
		t.Fatalf("after T: %+v", st.Usage)
	}
	if _, err := in.SetFlags(msg, ""); err != nil {
		t.Fatal(err)
	}
	st, _ = quota.Check(m.Path(), quota.Usage{}, nil)
	if st.Usage != (quota.Usage{Bytes: 5, Count: 1}) {
		t.Fatalf("after un-T: %+v", st.Usage)
	}
	// moving to Trash frees; out of Trash is checked
	trash, err := m.CreateFolder("INBOX.Trash", Private)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ = in.Find(msg.Base())
	moved, err := in.MoveTo(msg, trash)
	if err != nil {
		t.Fatal(err)
	}
	st, _ = quota.Check(m.Path(), quota.Usage{}, nil)
	if st.Usage != (quota.Usage{}) {
		t.Fatalf("after move to Trash: %+v", st.Usage)
	}
	if _, err := in.Deliver(strings.NewReader("1234567890"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := trash.MoveTo(moved, in); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("move out of Trash over quota: %v", err)
	}
}

func TestCleanTmp(t *testing.T) {
	m := newMD(t)
	old := filepath.Join(m.Path(), Tmp, "old")
	fresh := filepath.Join(m.Path(), Tmp, "fresh")
	os.WriteFile(old, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	ts := time.Now().Add(-37 * time.Hour)
	os.Chtimes(old, ts, ts)
	if _, err := Open(m.Path(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("stale tmp file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("fresh tmp file removed")
	}

	// A delivery in progress that dated its file (APPEND with an old internal date) is
	// recognised by the time in its name; an old name with an old date goes.
	now := time.Now()
	inFlight := filepath.Join(m.Path(), Tmp, fmt.Sprintf("%d.M1P2.host", now.Unix()))
	left := filepath.Join(m.Path(), Tmp, fmt.Sprintf("%d.M1P2.host", now.Add(-40*time.Hour).Unix()))
	for _, f := range []string{inFlight, left} {
		os.WriteFile(f, nil, 0o600)
		os.Chtimes(f, ts, ts)
	}
	if n, err := CleanTmp(m.Path(), now); err != nil || n != 1 {
		t.Fatalf("CleanTmp removed %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(inFlight); err != nil {
		t.Fatal("a dated delivery in progress was removed")
	}
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("an old, old-named tmp file was kept")
	}
}

func TestFolders(t *testing.T) {
	m := newMD(t)
	if _, err := m.CreateFolder("INBOX.A", Private); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateFolder("INBOX.A.B", Private); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateFolder("INBOX.Pers&APY-nlich", Private); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Path(), ".Persönlich", FolderMarker)); err != nil {
		t.Fatal("UTF-8 folder directory not made")
	}
	if _, err := m.CreateFolder("INBOX.A", Private); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("duplicate: %v", err)
	}
	// only the named folder is made, not its parents
	if _, err := m.CreateFolder("INBOX.X.Y", Private); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Path(), ".X")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("parent folder made")
	}
	if err := m.RenameFolder("INBOX.A", "INBOX.C"); err != nil {
		t.Fatal(err)
	}
	list, _ := m.ListFolders()
	var names []string
	for _, f := range list {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "INBOX INBOX.C INBOX.C.B INBOX.Pers&APY-nlich INBOX.X.Y" {
		t.Fatalf("folders: %s", got)
	}
	if _, err := m.Folder("INBOX.C.B"); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteFolder("INBOX.C"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Folder("INBOX.C"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("deleted folder: %v", err)
	}
	if _, err := m.Folder("INBOX.C.B"); err != nil {
		t.Fatal("subfolder went with its parent")
	}
	if err := m.DeleteFolder("INBOX"); !errors.Is(err, ErrInbox) {
		t.Fatal("INBOX deleted")
	}
	// legacy modified UTF-7 directory is found
	if err := CreateFolderPath(filepath.Join(m.Path(), ".R&AOk-sum&AOk-"), Private); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Folder("INBOX.R&AOk-sum&AOk-"); err != nil || f.Dir() != ".R&AOk-sum&AOk-" {
		t.Fatalf("legacy folder: %v %v", f, err)
	}
}

// No folder name reaches a path outside the maildir.
func TestFolderContainment(t *testing.T) {
	m := newMD(t)
	outside := filepath.Dir(m.Path())
	bad := []string{"INBOX/../../x", "INBOX...", "INBOX.a/b", "INBOX..", "INBOX.&AC8-x", "INBOX." + strings.Repeat("a", 300), "INBOX.a\x00b", "../x", "INBOX.a&AC4-b"}
	for _, n := range bad {
		if _, err := m.CreateFolder(n, Private); err == nil {
			t.Errorf("CreateFolder(%q) accepted", n)
		}
		if _, err := m.Folder(n); err == nil {
			t.Errorf("Folder(%q) accepted", n)
		}
		if err := m.RenameFolder("INBOX.none", n); err == nil {
			t.Errorf("Rename to %q accepted", n)
		}
		if err := m.DeleteFolder(n); err == nil {
			t.Errorf("DeleteFolder(%q) accepted", n)
		}
	}
	for _, d := range []string{"..", "../x", ".a/../../x", "/etc"} {
		if _, err := m.FolderDir(d); err == nil {
			t.Errorf("FolderDir(%q) accepted", d)
		}
		if err := CreateFolderDir(m.Path(), d, Private); err == nil {
			t.Errorf("CreateFolderDir(%q) accepted", d)
		}
	}
	ents, _ := os.ReadDir(outside)
	if len(ents) != 1 {
		t.Fatalf("something was created outside the maildir: %v", ents)
	}
	if !errors.Is(func() error { _, err := m.Folder("INBOX/x"); return err }(), foldername.ErrInvalidName) {
		t.Error("invalid name error does not wrap foldername.ErrInvalidName")
	}
}

func TestSubscriptions(t *testing.T) {
	m := newMD(t)
	for _, n := range []string{"INBOX.Foo", "INBOX", "INBOX.Foo"} {
		if err := m.Subscribe(n); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(m.Path(), SubscriptionsFile))
	if string(b) != "INBOX.Foo\nINBOX\n" {
		t.Fatalf("%q", b)
	}
	if err := m.Unsubscribe("INBOX.Foo"); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Subscriptions(); len(s) != 1 || s[0] != "INBOX" {
		t.Fatal(s)
	}
	if err := m.Subscribe("a\nb"); err == nil {
		t.Fatal("newline in a subscription accepted")
	}
}

func TestUIDDB(t *testing.T) {
	m := newMD(t)
	in := m.Inbox()
	for i := 0; i < 3; i++ {
		in.Deliver(strings.NewReader(fmt.Sprintf("m%d", i)), nil)
	}
	s, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Messages) != 3 || s.NextUID != 4 || s.Messages[2].UID != 3 || len(s.Recent) != 3 {
		t.Fatalf("%+v", s)
	}
	want := time.Now().Unix() - imapEpoch
	if d := int64(s.UIDValidity) - want; d < -2 || d > 2 {
		t.Fatalf("uidvalidity %d, want about %d", s.UIDValidity, want)
	}
	b, _ := os.ReadFile(filepath.Join(in.Path(), UIDDBFile))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != fmt.Sprintf("1 %d 4", s.UIDValidity) || len(lines) != 4 || strings.Contains(string(b), ":2,") {
		t.Fatalf("uiddb %q", b)
	}
	// removal and a new message: UIDs are kept, the next one is used
	in.Remove(s.Messages[1].Message)
	in.Deliver(strings.NewReader("m4"), nil)
	s2, _ := in.Sync(nil)
	if len(s2.Messages) != 3 || s2.Messages[0].UID != 1 || s2.Messages[1].UID != 3 || s2.Messages[2].UID != 4 || s2.UIDValidity != s.UIDValidity {
		t.Fatalf("%+v", s2)
	}
	// corrupt: started over with a new UIDVALIDITY, UIDs from 1
	os.WriteFile(filepath.Join(in.Path(), UIDDBFile), []byte("garbage\n"), 0o644)
	m.now = func() time.Time { return time.Now().Add(time.Hour) }
	s3, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s3.UIDValidity == s.UIDValidity || s3.Messages[0].UID != 1 || s3.NextUID != 4 {
		t.Fatalf("after corruption %+v", s3)
	}
	if _, err := ReadUIDDB(in.Path()); err != nil {
		t.Fatalf("repaired file unreadable: %v", err)
	}
	for _, bad := range []string{"", "2 5 5\n", "1 x 5\n", "1 5 5\n3 a\n3 b\n", "1 5 5\nnouid\n", "1 5 0\n"} {
		if _, err := ParseUIDDB([]byte(bad)); !errors.Is(err, ErrCorruptUIDDB) {
			t.Errorf("ParseUIDDB(%q) = %v", bad, err)
		}
	}
}

// Several processes' worth of concurrent Syncs while mail arrives never give one UID to two
// messages or two UIDs to one.
func TestUIDConcurrent(t *testing.T) {
	m := newMD(t)
	in := m.Inbox()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]uint32{}
	errs := make(chan error, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			m2, err := Open(m.Path(), &Options{Host: "testhost"}) // a separate opener, like another process
			if err != nil {
				errs <- err
				return
			}
			f := m2.Inbox()
			for i := 0; i < 10; i++ {
				if _, err := f.Deliver(strings.NewReader(fmt.Sprintf("g%d i%d", g, i)), &DeliverOptions{NoSync: true}); err != nil {
					errs <- err
					return
				}
				s, err := f.Sync(nil)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, msg := range s.Messages {
					if u, ok := seen[msg.Base()]; ok && u != msg.UID {
						errs <- fmt.Errorf("%s had UID %d, now %d", msg.Base(), u, msg.UID)
					}
					seen[msg.Base()] = msg.UID
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	byUID := map[uint32]string{}
	for b, u := range seen {
		if o, ok := byUID[u]; ok {
			t.Fatalf("UID %d given to %s and %s", u, o, b)
		}
		byUID[u] = b
	}
	if len(seen) != 80 {
		t.Fatalf("%d messages", len(seen))
	}
	_ = in
}

func TestPOP3SizeList(t *testing.T) {
	src := "/3 5 1795570768\n1795570756.M801536P6248V000000000000FE00I00000000000B83FC.vm,S=20:2, 23 1:1795570768:0\nb:2,S 40 4:1795570768:1\n"
	l, err := ParsePOP3SizeList([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if l.NextUID != 5 || len(l.Entries) != 2 || l.Entries[0].Size != 23 || !l.Entries[1].UTF8 || l.Entries[1].UID != 4 {
		t.Fatalf("%+v", l)
	}
	if string(l.Bytes()) != src {
		t.Fatalf("round trip %q", l.Bytes())
	}
	m := newMD(t)
	if err := WritePOP3SizeList(m.Path(), l, time.Now()); err != nil {
		t.Fatal(err)
	}
	l2, err := ReadPOP3SizeList(m.Path())
	if err != nil || len(l2.Entries) != 2 {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "/2 1 1\n", "/3 1 1\nname 1\n", "/3 1 1\nname x 1:1:0\n", "/3 1 1\nname 1 1:1:2\n"} {
		if _, err := ParsePOP3SizeList([]byte(bad)); !errors.Is(err, ErrCorruptSizeList) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSharedList(t *testing.T) {
	m := newMD(t)
	shared := filepath.Join(t.TempDir(), "shared")
	if err := Create(shared, Sharable, false); err != nil {
		t.Fatal(err)
	}
	if err := AddShared(m.Path(), "notices", shared, ""); err != nil {
		t.Fatal(err)
	}
	if err := AddShared(m.Path(), "notices", shared, ""); !errors.Is(err, ErrNickExists) {
		t.Fatal(err)
	}
	if err := AddShared(m.Path(), "a.b", shared, ""); !errors.Is(err, ErrInvalidNick) {
		t.Fatal(err)
	}
	if err := AddShared(m.Path(), "x", shared+"/none", ""); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	g := filepath.Join(t.TempDir(), "maildirshared")
	os.WriteFile(g, []byte("global\t/x\n"), 0o644)
	if err := AddShared(m.Path(), "global", shared, g); !errors.Is(err, ErrNickExists) {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(m.Path(), SharedMaildirsFile))
	if string(b) != "notices\t"+shared+"\n" {
		t.Fatalf("%q", b)
	}
	if err := DelShared(m.Path(), "nope"); !errors.Is(err, ErrNickNotFound) {
		t.Fatal(err)
	}
	if err := DelShared(m.Path(), "notices"); err != nil {
		t.Fatal(err)
	}
	if l, _ := ReadSharedList(filepath.Join(m.Path(), SharedMaildirsFile)); len(l) != 0 {
		t.Fatal(l)
	}
	CreateSharedFolder(shared, ".W", SharedWrite)
	dir, err := EnsureSharedCache(m.Path(), "notices", shared, ".W")
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := os.Readlink(filepath.Join(dir, SharedLink)); l != filepath.Join(shared, ".W") {
		t.Fatal(l)
	}
	if _, err := SharedCache(m.Path(), "..", ".W"); err == nil {
		t.Fatal("bad nick accepted")
	}
	if _, err := SharedCache(m.Path(), "n", "../x"); err == nil {
		t.Fatal("bad folder accepted")
	}
}

func setTestQuota(p string) error {
	_, err := quota.Set(p, quota.Spec{Bytes: 1 << 40}, nil)
	return err
}

// TestDeliverDeletedNotCounted: a message stored already flagged deleted (IMAP APPEND with
// \Deleted) is not counted in maildirsize, as Courier counts none; its later removal must
// then take nothing back, or the quota would creep up with every such message.
func TestDeliverDeletedNotCounted(t *testing.T) {
	m := newMD(t)
	if _, err := quota.Set(m.Path(), quota.Spec{Bytes: 1000, Count: 10}, nil); err != nil {
		t.Fatal(err)
	}
	in := m.Inbox()
	if _, err := in.Deliver(strings.NewReader("12345"), &DeliverOptions{Cur: true, Flags: "T"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Deliver(strings.NewReader("123"), &DeliverOptions{Cur: true, Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	st, err := quota.Check(m.Path(), quota.Usage{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Usage.Bytes != 3 || st.Usage.Count != 1 {
		t.Errorf("usage %+v, want 3 bytes in 1 message (the deleted one not counted)", st.Usage)
	}
}
