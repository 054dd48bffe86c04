package foldername

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMUTF7 checks that decoding never panics, that whatever decodes re-encodes to the same
// text (the accepted form is canonical) and that encoding any UTF-8 string round-trips.
func FuzzMUTF7(f *testing.F) {
	for _, s := range []string{"", "&-", "Pers&APY-nlich", "&ZeVnLIqe-", "&2D3eAA-", "&AGE-", "&", "&AOQ-&APY-", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := DecodeMUTF7(s); err == nil {
			if !utf8.ValidString(dec) {
				t.Fatalf("DecodeMUTF7(%q) gave invalid UTF-8", s)
			}
			if enc := EncodeMUTF7(dec); enc != s {
				t.Fatalf("DecodeMUTF7(%q) = %q re-encodes to %q", s, dec, enc)
			}
		}
		if utf8.ValidString(s) {
			enc := EncodeMUTF7(s)
			dec, err := DecodeMUTF7(enc)
			if err != nil || dec != s {
				t.Fatalf("round trip of %q via %q gave %q, %v", s, enc, dec, err)
			}
		}
	})
}

// FuzzToDir checks that a name either is refused or maps to a single safe directory name
// that maps back to the same folder.
func FuzzToDir(f *testing.F) {
	for _, s := range []string{"INBOX", "INBOX.Sent", "INBOX.Pers&APY-nlich", "INBOX.x/y", "INBOX..", "INBOX.&AC8-", "inbox.a.b", "INBOX.../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		dir, err := ToDir(name)
		if err != nil {
			return
		}
		if dir == "" {
			if !IsInbox(name) {
				t.Fatalf("ToDir(%q) = INBOX", name)
			}
			return
		}
		if dir[0] != '.' || strings.ContainsAny(dir, "/\x00") || strings.Contains(dir, "..") || len(dir) > MaxDirLen || strings.HasSuffix(dir, ".") {
			t.Fatalf("ToDir(%q) = unsafe %q", name, dir)
		}
		if p := filepath.Join("/m", dir); filepath.Dir(p) != "/m" {
			t.Fatalf("ToDir(%q) = %q escapes: %q", name, dir, p)
		}
		back, err := FromDirUTF8(dir)
		if err != nil {
			t.Fatalf("FromDirUTF8(%q) from %q: %v", dir, name, err)
		}
		want, _ := DecodeMUTF7(name)
		if back[len(Inbox):] != want[len(Inbox):] {
			// a UTF-8 dir name that is itself valid mUTF-7 with '&' reads back as legacy: allowed
			if !strings.Contains(dir, "&") {
				t.Fatalf("FromDirUTF8(ToDir(%q)=%q) = %q", name, dir, back)
			}
		}
		if legacy, err := ToLegacyDir(name); err == nil {
			lb, err := FromDirUTF8(legacy)
			if err != nil || lb[len(Inbox):] != want[len(Inbox):] {
				t.Fatalf("FromDirUTF8(ToLegacyDir(%q)=%q) = %q, %v", name, legacy, lb, err)
			}
		}
	})
}
