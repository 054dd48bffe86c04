package keywords

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// newMaildir makes a maildir folder with the given messages in cur/.
func newMaildir(t *testing.T, msgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs {
		if err := os.WriteFile(filepath.Join(dir, "cur", m+":2,S"), []byte("Subject: x\n\nx\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func kwFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, DirName))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetGetAddRemove(t *testing.T) {
	dir := newMaildir(t, "1.a")
	s := Open(dir, Options{})
	if err := s.Set("1.a", []string{"bar", "Foo", "foo", ""}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, DirName, "1.a")); got != "Foo\nbar\n" {
		t.Errorf("update file = %q", got)
	}
	if err := s.Add("1.a", "Zeta", "BAR"); err != nil {
		t.Fatal(err)
	}
	kws, err := s.Get("1.a")
	if err != nil || !reflect.DeepEqual(kws, []string{"Foo", "Zeta", "bar"}) {
		t.Errorf("Get = %q, %v", kws, err)
	}
	if err := s.Remove("1.a", "FOO", "nothere"); err != nil {
		t.Fatal(err)
	}
	if kws, _ := s.Get("1.a"); !reflect.DeepEqual(kws, []string{"Zeta", "bar"}) {
		t.Errorf("after Remove = %q", kws)
	}
	cs := Open(dir, Options{CaseSensitive: true})
	if err := cs.Add("1.a", "BAR"); err != nil {
		t.Fatal(err)
	}
	if kws, _ := cs.Get("1.a"); !reflect.DeepEqual(kws, []string{"BAR", "Zeta", "bar"}) {
		t.Errorf("case-sensitive Add = %q", kws)
	}
	// nothing left behind in tmp/
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ not empty: %v", ents)
	}
}

func TestInvalid(t *testing.T) {
	s := Open(newMaildir(t), Options{})
	for _, b := range []string{"", ".", "..", "a/b", ".hidden", "x:2,S", ":list"} {
		if err := s.Set(b, []string{"k"}); err == nil {
			t.Errorf("Set(%q) accepted", b)
		}
	}
	for _, k := range []string{"a\nb", "a\x00", "a\rb"} {
		if err := s.Set("1.a", []string{k}); err == nil {
			t.Errorf("keyword %q accepted", k)
		}
	}
	if got := BaseName("cur/1.M1P1.host,S=20:2,FS"); got != "1.M1P1.host,S=20" {
		t.Errorf("BaseName = %q", got)
	}
}

// TestCourierListFormat checks :list against files Courier's maildirkw wrote for the same
// operations (see conformance/maildirkw.sh).
func TestCourierListFormat(t *testing.T) {
	now := time.Unix(1795571400, 0)
	dir := newMaildir(t, "1000.M1P1.host,S=20", "1001.M2P2.host,S=20")
	s := Open(dir, Options{Now: fixed(now)})
	if err := s.Set("1000.M1P1.host,S=20", []string{"Foo", "bar"}); err != nil {
		t.Fatal(err)
	}
	entries, err := s.ReadAll(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Entry{{"1000.M1P1.host,S=20", []string{"Foo", "bar"}}}; !reflect.DeepEqual(entries, want) {
		t.Errorf("ReadAll = %v", entries)
	}
	if got := readFile(t, filepath.Join(dir, DirName, ListName)); got != "bar\nFoo\n\n1000.M1P1.host,S=20:1 0\n" {
		t.Errorf(":list = %q", got)
	}
	n := now.Unix()/300 + 1
	if got, want := kwFiles(t, dir), []string{fmt.Sprintf(".%d.1000.M1P1.host,S=20", n), ":list"}; !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if err := s.Add("1001.M2P2.host,S=20", "Zeta", "alpha", "Foo"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadAll(nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, DirName, ListName)); got != "bar\nZeta\nalpha\nFoo\n\n1000.M1P1.host,S=20:3 0\n1001.M2P2.host,S=20:3 1 2\n" {
		t.Errorf(":list = %q", got)
	}

	// many keywords: Courier's hash order
	many := strings.Fields("a2 a0 a1 bca zzzz zzzzz zz zzz ab abc aa ba bb")
	d2 := newMaildir(t, "1.a")
	s2 := Open(d2, Options{Now: fixed(now)})
	if err := s2.Set("1.a", many); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.ReadAll(nil); err != nil {
		t.Fatal(err)
	}
	want := "bca\nzzzz\nzzzzz\nzz\nzzz\na2\na0\na1\nab\nabc\naa\nba\nbb\n\n1.a:6 7 5 10 8 9 11 12 0 3 4 1 2\n"
	if got := readFile(t, filepath.Join(d2, DirName, ListName)); got != want {
		t.Errorf("hash order :list = %q, want %q", got, want)
	}
	// non-ASCII and case folding, both modes (values from Courier)
	for _, c := range []struct {
		cs   bool
		want string
	}{
		{false, "é\nö\nÜnï\nü\nab\nbd\ncf\nä\nae\naj\nFoo\n\n1.a:10 4 8 9 5 6 2 7 0 1 3\n"},
		{true, "é\nö\nÜnï\nü\nab\nbd\ncf\nä\nFoo\nae\naj\n\n1.a:8 4 9 10 5 6 2 7 0 1 3\n"},
	} {
		d := newMaildir(t, "1.a")
		s := Open(d, Options{Now: fixed(now), CaseSensitive: c.cs})
		if err := s.Set("1.a", strings.Fields("cf ab bd Foo ae aj ü ä é Ünï ö")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadAll(nil); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(d, DirName, ListName)); got != c.want {
			t.Errorf("case-sensitive=%v :list = %q, want %q", c.cs, got, c.want)
		}
	}
}

func TestMergeAndCleanup(t *testing.T) {
	now := time.Unix(1795571400, 0)
	T := now.Unix() / 300
	dir := newMaildir(t, "1.a", "2.a", "3.a")
	kd := filepath.Join(dir, DirName)
	if err := os.Mkdir(kd, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(kd, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ListName, "x\ny\n\n1.a:0\n2.a:1\ngone.a:0 1\n")
	write(fmt.Sprintf(".%d.1.a", T-5), "old\n")
	write(fmt.Sprintf(".%d.1.a", T-3), "newer\n")
	write(fmt.Sprintf(".%d.2.a", T+1), "cur\n")
	write("2.a", "plain\n\nignored\n")
	write(fmt.Sprintf(".%d.3.a", T-2), "lone\n")
	write("unknown.a", "z\n")
	exists := func(b string) bool { return b == "1.a" || b == "2.a" || b == "3.a" }
	s := Open(dir, Options{Now: fixed(now)})
	entries, err := s.ReadAll(exists)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"1.a", []string{"newer"}}, {"2.a", []string{"plain"}}, {"3.a", []string{"lone"}}}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("entries = %v, want %v", entries, want)
	}
	got := kwFiles(t, dir)
	wantFiles := []string{fmt.Sprintf(".%d.1.a", T-3), fmt.Sprintf(".%d.2.a", T+1), ":list", "unknown.a"}
	sort.Strings(wantFiles)
	if !reflect.DeepEqual(got, wantFiles) {
		t.Errorf("files = %q, want %q", got, wantFiles)
	}
	if c := readFile(t, filepath.Join(kd, fmt.Sprintf(".%d.2.a", T+1))); c != "plain\n\nignored\n" {
		t.Errorf("plain file not renamed over the .N file: %q", c)
	}
	// twenty minutes later: the unknown message's file is stale, the lone old file goes
	later := Open(dir, Options{Now: fixed(time.Now().Add(20 * time.Minute))})
	if _, err := later.ReadAll(exists); err != nil {
		t.Fatal(err)
	}
	if got := kwFiles(t, dir); !reflect.DeepEqual(got, []string{":list"}) {
		t.Errorf("files later = %q", got)
	}
	if again, err := later.ReadAll(exists); err != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("re-read from :list = %v, %v; want %v", again, err, want)
	}
	// clearing everything removes :list
	for _, b := range []string{"1.a", "2.a", "3.a"} {
		if err := later.Set(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := later.ReadAll(exists); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(kd, ListName)); !os.IsNotExist(err) {
		t.Errorf(":list still there: %v", err)
	}
}

func TestDamagedList(t *testing.T) {
	dir := newMaildir(t, "1.a")
	kd := filepath.Join(dir, DirName)
	os.Mkdir(kd, 0o700)
	for _, content := range []string{
		"x\ny\n\n1.a:0 5 1\nnocolon\n2.a:\n3.a:abc 1\n:0\n4.a:1 1 0\n",
		"x\ny\n", "\n\n\n", "1.a:0\n", "\n1.a:99999999999999999999999\n", "x\n\n1.a:-1 0\n",
	} {
		os.WriteFile(filepath.Join(kd, ListName), []byte(content), 0o644)
		s := Open(dir, Options{})
		if _, err := s.ReadAll(nil); err != nil {
			t.Errorf("ReadAll(%q): %v", content, err)
		}
		if _, err := s.Get("1.a"); err != nil {
			t.Errorf("Get(%q): %v", content, err)
		}
	}
	os.WriteFile(filepath.Join(kd, ListName), []byte("x\ny\n\n1.a:0 5 1\n2.a:\n3.a:abc 1\n4.a:1 1 0\n"), 0o644)
	if _, err := Open(dir, Options{}).ReadAll(nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(kd, ListName)); got != "x\ny\n\n1.a:0 1\n3.a:0 1\n4.a:0 1\n" {
		t.Errorf("repaired :list = %q", got)
	}
}

// TestConcurrent runs writers and readers at once: every final state is one a writer wrote.
func TestConcurrent(t *testing.T) {
	msgs := []string{"1.a", "2.a", "3.a", "4.a"}
	dir := newMaildir(t, msgs...)
	s := Open(dir, Options{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if err := s.Set(msgs[(w+i)%len(msgs)], []string{fmt.Sprintf("w%d", w), "common"}); err != nil {
					t.Error(err)
				}
				if _, err := s.ReadAll(nil); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	entries, err := s.ReadAll(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(msgs) {
		t.Errorf("entries = %v", entries)
	}
	for _, e := range entries {
		if len(e.Keywords) != 2 || e.Keywords[0] != "common" {
			t.Errorf("entry %v", e)
		}
	}
}

func TestLock(t *testing.T) {
	dir := newMaildir(t)
	unlock, err := LockMaildir(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockMaildir(dir, 200*time.Millisecond); err == nil {
		t.Error("second lock taken")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err = LockMaildir(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	// a lock of a dead process is broken
	os.WriteFile(filepath.Join(dir, LockName), []byte(fmt.Sprintf("%d:%s", 1<<30, hostname())), 0o644)
	unlock, err = LockMaildir(dir, time.Second)
	if err != nil {
		t.Fatalf("stale lock not broken: %v", err)
	}
	unlock()
}

func hostname() string { h, _ := os.Hostname(); return h }

// FuzzReadAll feeds arbitrary :list and update file contents to the parser and renderer: no
// panic, and a rendered :list parses back to the same entries (the merge is a fixed point).
func FuzzReadAll(f *testing.F) {
	f.Add("bar\nFoo\n\n1.a:1 0\n", "Zeta\nalpha\n")
	f.Add("x\ny\n\n1.a:0 5 1\nnocolon\n2.a:\n3.a:abc 1\n:0\n", "")
	f.Add("", "\n\nx")
	f.Fuzz(func(t *testing.T, list, update string) {
		for _, cs := range []bool{false, true} {
			s := Open("", Options{CaseSensitive: cs})
			l := s.parseList([]byte(list), nil)
			entries := append(l.entries, Entry{Base: "upd", Keywords: s.normalize(s.canonical(l.canon, parseUpdate([]byte(update))))})
			content := s.render(entries)
			again := s.parseList([]byte(content), nil)
			var want []Entry
			for _, e := range entries {
				if len(e.Keywords) > 0 {
					want = append(want, e)
				}
			}
			if again.damaged || !reflect.DeepEqual(again.entries, want) {
				t.Fatalf("case-sensitive=%v: %q renders %q which parses to %v (damaged %v), want %v", cs, list, content, again.entries, again.damaged, want)
			}
			if s.render(again.entries) != content {
				t.Fatalf("render not stable for %q", content)
			}
		}
	})
}
