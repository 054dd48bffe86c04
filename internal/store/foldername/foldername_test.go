package foldername

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMUTF7Vectors(t *testing.T) {
	cases := []struct{ utf8, mutf7 string }{
		{"", ""},
		{"INBOX", "INBOX"},
		{"&", "&-"},
		{"a&b", "a&-b"},
		{"Persönlich", "Pers&APY-nlich"},
		{"日本語", "&ZeVnLIqe-"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"tab\tx", "tab&AAk-x"},
		{"ä&ö", "&AOQ-&-&APY-"},
		{"😀", "&2D3eAA-"},
		{"\u00e4\u00f6\u00fc", "&AOQA9gD8-"},
	}
	for _, c := range cases {
		if got := EncodeMUTF7(c.utf8); got != c.mutf7 {
			t.Errorf("EncodeMUTF7(%q) = %q, want %q", c.utf8, got, c.mutf7)
		}
		got, err := DecodeMUTF7(c.mutf7)
		if err != nil || got != c.utf8 {
			t.Errorf("DecodeMUTF7(%q) = %q, %v; want %q", c.mutf7, got, err, c.utf8)
		}
	}
}

func TestMUTF7Invalid(t *testing.T) {
	for _, s := range []string{
		"&",          // unterminated
		"&APY",       // unterminated
		"a&AP*-",     // not base64
		"&APZ-",      // non-zero padding bits
		"&AP-",       // partial unit
		"&AGE-",      // encoded printable 'a'
		"&AOQ-&APY-", // adjacent shift sequences
		"&2D0-",      // lone high surrogate
		"&3gA-",      // lone low surrogate
		"&2D0AYQ-",   // high surrogate then 'a'
		"ä",          // raw 8-bit
		"a\tb",       // raw control
		"&APY/-",     // standard base64 '/' instead of ','
		"&APY=-",     // padding
	} {
		if _, err := DecodeMUTF7(s); err == nil {
			t.Errorf("DecodeMUTF7(%q) succeeded", s)
		}
	}
}

func TestToDir(t *testing.T) {
	cases := []struct{ imap, dir, legacy string }{
		{"INBOX", "", ""},
		{"inbox", "", ""},
		{"INBOX.Sent", ".Sent", ".Sent"},
		{"inbox.Sent.2024", ".Sent.2024", ".Sent.2024"},
		{"INBOX.Pers&APY-nlich", ".Persönlich", ".Pers&APY-nlich"},
		{"INBOX.Pers&APY-nlich.sub", ".Persönlich.sub", ".Pers&APY-nlich.sub"},
		{"INBOX.a&-b", ".a&b", ".a&-b"},
		{"INBOX.we:ird~x", ".we:ird~x", ".we:ird~x"},
		{"INBOX.a\\b", ".a\\b", ".a\\b"},
		{"INBOX.sp ace", ".sp ace", ".sp ace"},
		{"INBOX.a%b*c", ".a%b*c", ".a%b*c"},
		{"INBOX.&ZeVnLIqe-", ".日本語", ".&ZeVnLIqe-"},
		{"INBOX.tmp", ".tmp", ".tmp"},
		{"INBOX.Trash", ".Trash", ".Trash"},
	}
	for _, c := range cases {
		d, err := ToDir(c.imap)
		if err != nil || d != c.dir {
			t.Errorf("ToDir(%q) = %q, %v; want %q", c.imap, d, err, c.dir)
		}
		l, err := ToLegacyDir(c.imap)
		if err != nil || l != c.legacy {
			t.Errorf("ToLegacyDir(%q) = %q, %v; want %q", c.imap, l, err, c.legacy)
		}
		if c.dir == "" {
			continue
		}
		back, err := FromDir(c.dir)
		want := "INBOX" + c.imap[5:]
		if err != nil || back != want {
			t.Errorf("FromDir(%q) = %q, %v; want %q", c.dir, back, err, want)
		}
		back, err = FromDir(c.legacy)
		if err != nil || back != want {
			t.Errorf("FromDir(legacy %q) = %q, %v; want %q", c.legacy, back, err, want)
		}
	}
}

func TestToDirInvalid(t *testing.T) {
	long := "INBOX." + strings.Repeat("a", 10000)
	for _, n := range []string{
		"INBOX.x/y", "INBOX.x/y.z/w", "INBOX.a..b", "INBOX..lead", "INBOX.trail.", "INBOX.",
		"INBOX.&AC8-", "INBOX.&AC4-dot", "INBOX.nul&AAA-x", "INBOX.tab&AAk-x", "INBOX.de&AH8-l",
		"INBOX.bad&APY", "INBOX.&2D0-", long, "INBOX." + strings.Repeat("a", 255),
		"INBOX.../..", "INBOX.a\x00b", "INBOX.x\ny",
	} {
		if d, err := ToDir(n); err == nil || !errors.Is(err, ErrInvalidName) {
			t.Errorf("ToDir(%q) = %q, %v; want ErrInvalidName", truncate(n), d, err)
		}
	}
	for _, n := range []string{"Top", "INBOXfoo", "#shared.x", "shared.x", "", "."} {
		if _, err := ToDir(n); !errors.Is(err, ErrNotPersonal) {
			t.Errorf("ToDir(%q) err = %v; want ErrNotPersonal", n, err)
		}
	}
	if _, err := ToDir("INBOX." + strings.Repeat("a", 254)); err != nil {
		t.Errorf("255-byte dir name refused: %v", err)
	}
	if _, err := ToDirUTF8("INBOX.a\xffb"); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

func TestFromDirInvalid(t *testing.T) {
	for _, d := range []string{"cur", "..", "...", ".a..b", ".a.", "./x", ".a/b", ".a\tb", ".\xff", "courierimapkeywords", "." + strings.Repeat("x", 300)} {
		if n, err := FromDir(d); err == nil {
			t.Errorf("FromDir(%q) = %q, want error", d, n)
		}
	}
	for _, c := range []struct{ dir, imap string }{
		{"", "INBOX"}, {".", "INBOX"}, {".bad&Zz", "INBOX.bad&-Zz"}, {".Gr&APw-n", "INBOX.Gr&APw-n"},
		{".Grün", "INBOX.Gr&APw-n"},
	} {
		n, err := FromDir(c.dir)
		if err != nil || n != c.imap {
			t.Errorf("FromDir(%q) = %q, %v; want %q", c.dir, n, err, c.imap)
		}
	}
}

func TestResolve(t *testing.T) {
	md := t.TempDir()
	if err := os.Mkdir(filepath.Join(md, ".Gr&APw-n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(md, ".Persönlich"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(md, ".Pers&APY-nlich"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ imap, dir string }{
		{"INBOX", ""},
		{"INBOX.Gr&APw-n", ".Gr&APw-n"},         // only the legacy form exists
		{"INBOX.Pers&APY-nlich", ".Persönlich"}, // both exist: UTF-8 wins
		{"INBOX.&ZeVnLIqe-", ".日本語"},            // neither: the new form
		{"INBOX.plain", ".plain"},
	} {
		d, err := Resolve(md, c.imap)
		if err != nil || d != c.dir {
			t.Errorf("Resolve(%q) = %q, %v; want %q", c.imap, d, err, c.dir)
		}
	}
	if _, err := Resolve(md, "INBOX.../etc"); err == nil {
		t.Error("Resolve accepted a traversal")
	}
}

func TestParentPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{{".a.b", ".a"}, {".a", ""}, {"", ""}, {".a.b.c", ".a.b"}} {
		if got := Parent(c.in); got != c.want {
			t.Errorf("Parent(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if p, err := Path("/m", ".a.b"); err != nil || p != "/m/.a.b" {
		t.Errorf("Path = %q, %v", p, err)
	}
	if p, err := Path("/m", ""); err != nil || p != "/m" {
		t.Errorf("Path INBOX = %q, %v", p, err)
	}
	if _, err := Path("/m", "../x"); err == nil {
		t.Error("Path accepted ../x")
	}
}
