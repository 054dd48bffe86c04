package acl

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParseString(t *testing.T) {
	in := "owner aceilrstwx\nadministrators lr\nuser=john rl\nanyone \n-user=tom r\n\nbare\n"
	a := Parse([]byte(in))
	want := ACL{{"owner", AllRights}, {"administrators", AllRights}, {"user=john", "lr"}, {"anyone", ""}, {"-user=tom", "r"}, {"bare", ""}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("Parse = %v", a)
	}
	if got := a.String(); got != "owner aceilrstwx\nadministrators aceilrstwx\nuser=john lr\nanyone \n-user=tom r\nbare \n" {
		t.Errorf("String = %q", got)
	}
	if NormalizeRights("xxaawrl") != "alrwx" {
		t.Error("NormalizeRights")
	}
}

func TestSetDeleteCheck(t *testing.T) {
	a := Default()
	var err error
	steps := []struct{ id, rights, want string }{
		{"user=john", "lr", "lr"}, {"anyone", "-r", ""}, {"-user=tom", "+r", "r"},
		{"user=a", "wrl", "lrw"}, {"user=a", "+e", "elrw"}, {"user=a", "-lq", "erw"},
		{"user=b", "dk", "dk"}, {"group=staff", "+cd", "cd"}, {"owner", "al", "al"}, {"owner", "+x", "alx"},
	}
	for _, s := range steps {
		if a, err = a.Set(s.id, s.rights); err != nil {
			t.Fatalf("Set(%s, %s): %v", s.id, s.rights, err)
		}
		if got, _ := a.Get(s.id); got != s.want {
			t.Errorf("after Set(%s, %s): %q, want %q", s.id, s.rights, got, s.want)
		}
	}
	for _, c := range [][2]string{{"owner", "lr"}, {"owner", "-a"}, {"-owner", "a"}, {"-anyone", "a"}, {"-anonymous", "xa"}, {"owner", ""}} {
		if _, err := a.Set(c[0], c[1]); !errors.Is(err, ErrOwnerRights) {
			t.Errorf("Set(%s, %s) err = %v", c[0], c[1], err)
		}
	}
	for _, c := range [][2]string{{"administrators", "lr"}, {"-administrators", "r"}, {"-group=administrators", "r"}} {
		if _, err := a.Set(c[0], c[1]); !errors.Is(err, ErrAdministrators) {
			t.Errorf("Set(%s, %s) err = %v", c[0], c[1], err)
		}
	}
	for _, id := range []string{"", "-", "user=a b", "user=\tx", "x\n"} {
		if _, err := a.Set(id, "r"); !errors.Is(err, ErrIdentifier) {
			t.Errorf("Set(%q) err = %v", id, err)
		}
	}
	if _, err := a.Delete("owner"); !errors.Is(err, ErrOwnerRights) {
		t.Errorf("Delete(owner) err = %v", err)
	}
	if _, err := a.Delete("administrators"); !errors.Is(err, ErrAdministrators) {
		t.Errorf("Delete(administrators) err = %v", err)
	}
	b, err := a.Delete("user=john")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Get("user=john"); ok {
		t.Error("Delete left the entry")
	}
	if _, ok := a.Get("user=john"); !ok {
		t.Error("Delete changed its receiver")
	}
}

func TestCompute(t *testing.T) {
	a := Parse([]byte("owner aceilrstwx\nadministrators aceilrstwx\nuser=john lr\nanyone \n-user=tom r\nanonymous l\ngroup=staff w\n-group=bad l\n"))
	for _, c := range []struct {
		ids  []string
		want string
	}{
		{[]string{"owner", "user=tom"}, "aceilstwx"},
		{[]string{"user=john"}, "lr"},
		{[]string{"user=tom"}, "l"},
		{[]string{"user=z", "group=staff"}, "lw"},
		{[]string{"user=z", "group=staff", "group=bad"}, "w"},
		{[]string{"administrators"}, AllRights},
		{[]string{"user=tom", "group=administrators"}, AllRights},
		{nil, "l"},
	} {
		if got := a.Compute(c.ids...); got != c.want {
			t.Errorf("Compute(%v) = %q, want %q", c.ids, got, c.want)
		}
	}
	if got := Identifiers("tom", []string{"staff"}, true); !reflect.DeepEqual(got, []string{"owner", "user=tom", "group=staff"}) {
		t.Errorf("Identifiers = %v", got)
	}
}

func mkfolder(t *testing.T, md, dir string) {
	t.Helper()
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(md, dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStoreInheritance(t *testing.T) {
	md := t.TempDir()
	mkfolder(t, md, "")
	mkfolder(t, md, ".Sent")
	s := Open(md)
	a, err := s.Read("")
	if err != nil || !reflect.DeepEqual(a, Default()) {
		t.Fatalf("INBOX = %v, %v", a, err)
	}
	if _, err := os.Stat(filepath.Join(md, FileName)); !os.IsNotExist(err) {
		t.Error("INBOX default was written")
	}
	if err := s.Set("", "user=x", "lr"); err != nil {
		t.Fatal(err)
	}
	// an existing folder without a file inherits and saves the copy
	if a, err = s.Read(".Sent"); err != nil || len(a) != 3 {
		t.Fatalf("Sent = %v, %v", a, err)
	}
	if got := readString(t, filepath.Join(md, ".Sent", FileName)); got != "owner aceilrstwx\nadministrators aceilrstwx\nuser=x lr\n" {
		t.Errorf("Sent file = %q", got)
	}
	// nodes without a folder go to courierimaphieracl, parents first
	if err := s.Set(".Sent.X.Y", "user=v", "r"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Sent.X", "Sent.X.Y"} {
		if _, err := os.Stat(filepath.Join(md, HierDir, n)); err != nil {
			t.Errorf("hieracl %s: %v", n, err)
		}
	}
	// a new folder takes its node's ACL
	mkfolder(t, md, ".Sent.X.Y")
	if err := s.Inherit(".Sent.X.Y"); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(md, ".Sent.X.Y", FileName)); got != "owner aceilrstwx\nadministrators aceilrstwx\nuser=x lr\nuser=v r\n" {
		t.Errorf("new folder ACL = %q", got)
	}
	// a new folder without a node ACL takes its parent's
	if err := s.Set(".Sent", "user=p", "l"); err != nil {
		t.Fatal(err)
	}
	mkfolder(t, md, ".Sent.Z")
	if err := s.Inherit(".Sent.Z"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Rights(".Sent.Z", "p", nil, false); r != "l" {
		t.Errorf("inherited rights = %q", r)
	}
	// legacy (modified UTF-7) hieracl names are read
	os.WriteFile(filepath.Join(md, HierDir, "Gr&APw-n"), []byte("owner a\nuser=old r\n"), 0o644)
	if r, err := s.Compute(".Grün", "user=old"); err != nil || r != "r" {
		t.Errorf("legacy hieracl: %q, %v", r, err)
	}
	if _, err := s.Read("../etc"); err == nil {
		t.Error("Read accepted a traversal")
	}
	// Reset removes old files of nodes with nothing at or below them
	old := time.Now().Add(-2 * time.Hour)
	os.WriteFile(filepath.Join(md, HierDir, "Gone"), []byte("owner a\n"), 0o644)
	os.Chtimes(filepath.Join(md, HierDir, "Gone"), old, old)
	os.Chtimes(filepath.Join(md, HierDir, "Sent.X"), old, old)
	os.WriteFile(filepath.Join(md, HierDir, "Fresh"), []byte("owner a\n"), 0o644)
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]bool{"Gone": false, "Sent.X": true, "Fresh": true} {
		_, err := os.Stat(filepath.Join(md, HierDir, n))
		if (err == nil) != want {
			t.Errorf("after Reset %s present=%v, want %v", n, err == nil, want)
		}
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParse checks that any file content parses without panic, renders, and reparses to the
// same ACL.
func FuzzParse(f *testing.F) {
	f.Add("owner aceilrstwx\nadministrators aceilrstwx\nuser=john lr\nanyone \n-user=tom r\n")
	f.Add("\n\n  \nx\n-\n")
	f.Fuzz(func(t *testing.T, s string) {
		a := Parse([]byte(s))
		b := Parse([]byte(a.String()))
		if len(a) != len(b) {
			t.Fatalf("reparse: %v vs %v", a, b)
		}
		_ = a.Compute("owner", "user=x")
	})
}
