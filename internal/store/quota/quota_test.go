package quota

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mkmd(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, s := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(d, s), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in   string
		out  string
		okay bool
	}{
		{"100S", "100S", true},
		{"100S,5C,7S", "7S,5C", true},
		{"100X", "", false},
		{"100X,5C", "5C", false},
		{"x5Cy7S", "7S,5C", true},
		{"abc", "", true},
		{"100", "", false},
		{"100s", "", false},
		{"-5S", "5S", true},
		{"00010S", "10S", true},
		{"99999999999999999999S", "7766279631452241919S", true},
		{"", "", true},
	}
	for _, c := range cases {
		s, ok := ParseSpec(c.in)
		if s.String() != c.out || ok != c.okay {
			t.Errorf("ParseSpec(%q) = %q,%v want %q,%v", c.in, s.String(), ok, c.out, c.okay)
		}
	}
}

func TestMessageSize(t *testing.T) {
	cases := []struct {
		name   string
		size   int64
		counts bool
	}{
		{"a,S=100:2,T", 0, false},
		{"a,S=100:2,ST", 0, false},
		{"k,S=abc", 0, true},
		{"l,S=8x", 8, true},
		{"m,S=12,W=14:2,", 12, true},
		{"q,S=5:2,S,S=7", 5, true},
		{"plain:2,S", -1, true},
	}
	for _, c := range cases {
		s, ok := MessageSize(c.name)
		if s != c.size || ok != c.counts {
			t.Errorf("MessageSize(%q) = %d,%v want %d,%v", c.name, s, ok, c.size, c.counts)
		}
	}
}

func TestRecalculateWalk(t *testing.T) {
	md := mkmd(t)
	write(t, filepath.Join(md, "cur", "a,S=100:2,T"), "x")        // deleted: not counted
	write(t, filepath.Join(md, "cur", "b,S=7:2,S"), "xx")         // 7 from the name
	write(t, filepath.Join(md, "cur", "c:2,"), "12345")           // stat: 5
	write(t, filepath.Join(md, "new", "d"), "12345")              // 5
	write(t, filepath.Join(md, ".Trash", "cur", "e,S=1000"), "q") // Trash: no
	write(t, filepath.Join(md, ".Trash.Sub", "cur", "f,S=2000"), "q")
	write(t, filepath.Join(md, ".Foo", "new", "g,S=30"), "q")
	write(t, filepath.Join(md, "cur", ".hidden,S=700000"), "q")
	u, err := Recalculate(md, Spec{Bytes: 1000000}, &Options{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if u != (Usage{7 + 5 + 5 + 2000 + 30, 5}) {
		t.Fatalf("usage %+v", u)
	}
	b, _ := os.ReadFile(filepath.Join(md, FileName))
	if string(b) != "1000000S\n        2047            5\n" {
		t.Fatalf("maildirsize %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Join(md, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp not clean: %v", ents)
	}
}

// The sequence of maildir-quota.sh: appends while under quota, one recalculation when over
// with several lines, none when over with a single fresh line.
func TestCheckRules(t *testing.T) {
	md := mkmd(t)
	if _, err := Set(md, Spec{Bytes: 600, Count: 3}, nil); err != nil {
		t.Fatal(err)
	}
	deliver := func(n int) error {
		st, err := Check(md, Usage{214, 1}, nil)
		if err != nil {
			return err
		}
		write(t, filepath.Join(md, "new", "m"+strings.Repeat("x", n)+",S=214"), "")
		if st.Spec.IsZero() {
			t.Fatal("no spec")
		}
		return Add(md, Usage{214, 1})
	}
	for i := 1; i <= 2; i++ {
		if err := deliver(i); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	err := deliver(3)
	if !errors.Is(err, ErrOverQuota) {
		t.Fatalf("delivery 3: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(md, FileName))
	if string(b) != "600S,3C\n"+FormatLine(Usage{428, 2}) {
		t.Fatalf("after recalculation: %q", b)
	}
	st, err := Check(md, Usage{214, 1}, nil)
	if !errors.Is(err, ErrOverQuota) || st.Recalculated {
		t.Fatalf("fresh single line must not be recalculated: %v %+v", err, st)
	}
	// older than 15 minutes: recalculated
	old := time.Now().Add(-MaxAge - time.Minute)
	os.Chtimes(filepath.Join(md, FileName), old, old)
	st, _ = Check(md, Usage{214, 1}, nil)
	if !st.Recalculated {
		t.Fatal("old file not recalculated")
	}
}

func TestCorruptAndBigFilesAreRecalculated(t *testing.T) {
	md := mkmd(t)
	write(t, filepath.Join(md, "cur", "a,S=10:2,"), "")
	for name, content := range map[string]string{
		"garbage":   "100S\nthis is not a number\n",
		"truncated": "100S\n           5",
		"big":       "100S\n" + strings.Repeat(FormatLine(Usage{1, 1}), 200),
	} {
		write(t, filepath.Join(md, FileName), content)
		st, err := Check(md, Usage{1, 1}, nil)
		if err != nil || !st.Recalculated || st.Usage != (Usage{10, 1}) {
			t.Errorf("%s: %+v %v", name, st, err)
		}
	}
}

func TestNoQuotaAndOverride(t *testing.T) {
	md := mkmd(t)
	st, err := Check(md, Usage{1 << 40, 1}, nil)
	if err != nil || !st.Spec.IsZero() {
		t.Fatalf("no quota: %+v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(md, FileName)); !os.IsNotExist(err) {
		t.Fatal("maildirsize created without quota")
	}
	if err := Add(md, Usage{5, 1}); err != nil {
		t.Fatal(err)
	}
	st, err = Check(md, Usage{5, 1}, &Options{Override: "100S"})
	if err != nil || !st.Recalculated || st.Spec.Bytes != 100 {
		t.Fatalf("override: %+v %v", st, err)
	}
}

func TestFolderUsesParent(t *testing.T) {
	md := mkmd(t)
	f := filepath.Join(md, ".Sent")
	for _, s := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(f, s), 0o700)
	}
	write(t, filepath.Join(f, "maildirfolder"), "")
	if Root(f) != filepath.Join(f, "..") {
		t.Fatal(Root(f))
	}
	Set(md, Spec{Count: 1}, nil)
	write(t, filepath.Join(f, "cur", "x,S=1:2,"), "")
	Recalculate(md, Spec{Count: 1}, nil)
	if _, err := Check(f, Usage{1, 1}, nil); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("folder delivery should see the parent's quota: %v", err)
	}
}

func TestPercent(t *testing.T) {
	if p := (Spec{Bytes: 72, Count: 10}).Percent(Usage{36, 2}); p != 50 {
		t.Fatal(p)
	}
	if p := (Spec{Bytes: 1000, Count: 4}).Percent(Usage{36, 2}); p != 50 {
		t.Fatal(p)
	}
}
