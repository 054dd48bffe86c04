package maildirstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/store"
	"courier/internal/store/index"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
	"courier/internal/store/storetest"
)

func newStore(t *testing.T) store.Store {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(p, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	s, err := Open(p, &Options{Host: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func hooks() storetest.Hooks {
	return storetest.Hooks{
		Reopen: func(t *testing.T, s store.Store) store.Store {
			p := s.(*Store).Path()
			s.Close()
			n, err := Open(p, &Options{Host: "testhost"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { n.Close() })
			return n
		},
		SetQuota: func(t *testing.T, s store.Store, b, c int64) {
			if err := s.(*Store).SetQuota(b, c); err != nil {
				t.Fatal(err)
			}
		},
		Damage: func(t *testing.T, s store.Store, folder string, d storetest.Damage) {
			f, err := s.(*Store).md.Folder(folder)
			if err != nil {
				t.Fatal(err)
			}
			var p string
			switch d {
			case storetest.DamageIndex:
				p = filepath.Join(f.Path(), index.FileName)
			case storetest.DamageUIDDB:
				p = filepath.Join(f.Path(), maildir.UIDDBFile)
			case storetest.DamageQuota:
				p = filepath.Join(s.(*Store).Path(), quota.FileName)
			}
			garbage := []byte("garbage\x00\xff 12 x\n-1\n")
			if d == storetest.DamageQuota {
				// keep the quota line: the damage is to the usage lines
				old, _ := os.ReadFile(p)
				first, _, _ := strings.Cut(string(old), "\n")
				garbage = append([]byte(first+"\n       99999 -5\nxx yy\n"), garbage...)
			}
			if err := os.WriteFile(p, garbage, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, newStore, hooks()) }
