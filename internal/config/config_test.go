package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"courier/internal/config/courierfmt"
)

var imapdSchema = Schema{
	{Name: "ADDRESS", Default: "0", Doc: "address to listen on"},
	{Name: "PORT", Kind: CommaList, Default: "143", Doc: "ports"},
	{Name: "MAXDAEMONS", Kind: Int, Default: "40", Doc: "maximum number of IMAP servers"},
	{Name: "MAXPERIP", Kind: Int, Default: "20", Doc: "maximum connections per IP"},
	{Name: "IMAP_CAPABILITY", Kind: List, Default: "IMAP4rev1 IDLE", Doc: "CAPABILITY response"},
	{Name: "IMAP_KEYWORDS", Kind: Bool, Default: "1", Doc: "custom keywords"},
	{Name: "IMAP_USELOCKS", Kind: Bool, Doc: "dot-locking"},
	{Name: "IMAP_IDLE_TIMEOUT", Kind: Duration, Default: "60", Doc: "IDLE re-check interval"},
	{Name: "IMAP_MAXMSGSIZE", Kind: Size, Default: "10M", Doc: "largest APPEND"},
	{Name: "DEFDOMAIN", Doc: "default domain"},
	{Name: "POSTMASTER", Kind: Address, Default: "postmaster@example.test", Doc: "postmaster"},
	{Name: "AUTHSERVICE*", Doc: "service name per port"},
}

func parse(t *testing.T, name, content string) *courierfmt.EnvFile {
	t.Helper()
	f, err := courierfmt.ParseEnv(name, strings.NewReader(content), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestValuesDefaults(t *testing.T) {
	t.Parallel()
	v, warns, err := New(parse(t, "imapd", "# nothing set\n"), imapdSchema)
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warns %v", err, warns)
	}
	if v.String("ADDRESS") != "0" || !reflect.DeepEqual(v.CommaList("PORT"), []string{"143"}) ||
		v.Int("MAXDAEMONS") != 40 || !v.Bool("IMAP_KEYWORDS") || v.Bool("IMAP_USELOCKS") ||
		v.Duration("IMAP_IDLE_TIMEOUT") != time.Minute || v.Size("IMAP_MAXMSGSIZE") != 10<<20 ||
		!reflect.DeepEqual(v.List("IMAP_CAPABILITY"), []string{"IMAP4rev1", "IDLE"}) ||
		v.String("DEFDOMAIN") != "" || v.Address("POSTMASTER") != "postmaster@example.test" ||
		v.String("AUTHSERVICE143") != "" {
		t.Error("defaults not returned")
	}
}

func TestValuesSet(t *testing.T) {
	t.Parallel()
	content := `PORT=143,993
MAXDAEMONS=100
MAXPERIP=
IMAP_CAPABILITY="IMAP4rev1 UIDPLUS SORT"
IMAP_KEYWORDS=0
IMAP_USELOCKS=yes
IMAP_IDLE_TIMEOUT=1h30m
IMAP_MAXMSGSIZE=512K
DEFDOMAIN=""
POSTMASTER=" admin@example.org "
AUTHSERVICE993=imaps
`
	v, warns, err := New(parse(t, "imapd", content), imapdSchema)
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warns %v", err, warns)
	}
	if got := v.CommaList("PORT"); !reflect.DeepEqual(got, []string{"143", "993"}) {
		t.Errorf("PORT = %q", got)
	}
	if v.Int("MAXDAEMONS") != 100 {
		t.Errorf("MAXDAEMONS = %d", v.Int("MAXDAEMONS"))
	}
	if v.Int("MAXPERIP") != 20 { // empty means default
		t.Errorf("MAXPERIP = %d", v.Int("MAXPERIP"))
	}
	if got := v.List("IMAP_CAPABILITY"); !reflect.DeepEqual(got, []string{"IMAP4rev1", "UIDPLUS", "SORT"}) {
		t.Errorf("IMAP_CAPABILITY = %q", got)
	}
	if v.Bool("IMAP_KEYWORDS") || !v.Bool("IMAP_USELOCKS") {
		t.Error("bools")
	}
	if v.Duration("IMAP_IDLE_TIMEOUT") != 90*time.Minute || v.Size("IMAP_MAXMSGSIZE") != 512<<10 {
		t.Error("duration or size")
	}
	if v.String("DEFDOMAIN") != "" || v.Address("POSTMASTER") != "admin@example.org" {
		t.Error("string or address")
	}
	if v.String("AUTHSERVICE993") != "imaps" || v.String("AUTHSERVICE143") != "" {
		t.Error("pattern")
	}
	if va, ok := v.Lookup("MAXDAEMONS"); !ok || va.Line != 2 {
		t.Errorf("Lookup = %+v", va)
	}
	if v.File().Path != "imapd" {
		t.Error("File")
	}
	if err := v.Errorf("MAXDAEMONS", "must be at most %d", 50); err.Error() != "imapd:2: MAXDAEMONS: must be at most 50" {
		t.Errorf("Errorf = %q", err)
	}
	if err := v.Errorf("ADDRESS", "bad"); err.Error() != "imapd: ADDRESS (default): bad" {
		t.Errorf("Errorf default = %q", err)
	}
}

func TestValuesBadValues(t *testing.T) {
	t.Parallel()
	content := "ADDRESS=0\nMAXDAEMONS=abc\nIMAP_KEYWORDS=maybe\nIMAP_IDLE_TIMEOUT=1y\n" +
		"IMAP_MAXMSGSIZE=10X\nPOSTMASTER='a b'\nMAXPERIP=x\nMAXPERIP=5\n"
	v, _, err := New(parse(t, "imapd", content), imapdSchema)
	if err == nil || v != nil {
		t.Fatal("bad values accepted")
	}
	want := strings.Join([]string{
		`imapd:2: MAXDAEMONS: "abc" is not a number`,
		`imapd:3: IMAP_KEYWORDS: "maybe" is not a boolean (use 1 or 0)`,
		`imapd:4: IMAP_IDLE_TIMEOUT: "1y" is not a time interval (like 1w2d3h4m5s; a plain number is seconds)`,
		`imapd:5: IMAP_MAXMSGSIZE: "10X" is not a size (bytes, or a number followed by K, M or G)`,
		`imapd:6: POSTMASTER: "a b" is not an e-mail address or domain: contains ' '`,
	}, "\n") // MAXPERIP=x is overridden by MAXPERIP=5
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
}

func TestValuesUnknownNames(t *testing.T) {
	t.Parallel()
	f := parse(t, "imapd", "ADDRESS=0\nMAXDEAMONS=10\nmaxperip=3\nFOO=bar\nAUTHSERVICE143=imap\n")
	f.Warnings = append(f.Warnings, courierfmt.Warning{File: "imapd", Line: 9, Msg: "from the parser"})
	v, warns, err := New(f, imapdSchema)
	if err != nil || v == nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		"imapd:9: from the parser",
		"imapd:2: unknown setting MAXDEAMONS (did you mean MAXDAEMONS?)",
		"imapd:3: unknown setting maxperip (did you mean MAXPERIP?)",
		"imapd:4: unknown setting FOO",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings\n got %q\nwant %q", got, want)
	}
	// Unknown names stay readable through Lookup.
	if va, ok := v.Lookup("FOO"); !ok || va.Value != "bar" {
		t.Error("Lookup FOO")
	}
}

func TestSchemaErrors(t *testing.T) {
	t.Parallel()
	bad := Schema{
		{Name: "A", Kind: Int, Default: "many"},
		{Name: "B"},
		{Name: "B"},
		{Name: "C", Kind: Kind(99), Default: "x"},
	}
	_, _, err := New(parse(t, "esmtpd", ""), bad)
	want := "esmtpd: schema: A: default \"many\" is not a number\n" +
		"esmtpd: schema: B declared twice\n" +
		"esmtpd: schema: C: default unknown kind Kind(99)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v", err)
	}
}

func TestValuesMisuse(t *testing.T) {
	t.Parallel()
	v, _, err := New(parse(t, "imapd", ""), imapdSchema)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(){
		"config: imapd: NOPE is not declared in the schema":                  func() { v.String("NOPE") },
		"config: imapd: MAXDAEMONS is declared as int, read as bool":         func() { v.Bool("MAXDAEMONS") },
		"config: imapd: IMAP_CAPABILITY is declared as list, read as string": func() { v.String("IMAP_CAPABILITY") },
	} {
		func() {
			defer func() {
				if r := recover(); r != name {
					t.Errorf("panic %v, want %q", r, name)
				}
			}()
			f()
		}()
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "imapd")
	if err := os.WriteFile(p, []byte("MAXDAEMONS=7\nDEFDOMAIN=\"@$DOMAIN\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := func(n string) (string, bool) {
		if n == "DOMAIN" {
			return "example.test", true
		}
		return "", false
	}
	v, _, err := Load(p, base, imapdSchema)
	if err != nil {
		t.Fatal(err)
	}
	if v.Int("MAXDAEMONS") != 7 || v.String("DEFDOMAIN") != "@example.test" {
		t.Error("values")
	}
	if err := os.WriteFile(p, []byte("MAXDAEMONS=abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(p, nil, imapdSchema); err == nil || err.Error() != p+`:1: MAXDAEMONS: "abc" is not a number` {
		t.Errorf("err = %v", err)
	}
	_, _, err = Load(filepath.Join(dir, "missing"), nil, imapdSchema)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	// A missing file treated as empty gives the defaults.
	v, _, err = New(&courierfmt.EnvFile{Path: "pop3d"}, imapdSchema)
	if err != nil || v.Int("MAXDAEMONS") != 40 {
		t.Errorf("empty file: %v", err)
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	if Duration.String() != "duration" || CommaList.String() != "comma list" || Kind(-1).String() != "Kind(-1)" {
		t.Error("Kind.String")
	}
}

// TestShippedImapd checks the stock Debian imapd against a schema with its
// names, as the IMAP server will.
func TestShippedImapd(t *testing.T) {
	t.Parallel()
	f, err := courierfmt.LoadEnv("courierfmt/testdata/shipped/env/imapd", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every name the stock file sets, a few with their kinds.
	var uniq Schema
	seen := map[string]bool{}
	for _, va := range f.Vars {
		if !seen[va.Name] {
			seen[va.Name] = true
			uniq = append(uniq, Setting{Name: va.Name})
		}
	}
	for i := range uniq {
		switch uniq[i].Name {
		case "MAXDAEMONS", "MAXPERIP", "IMAP_KEYWORDS":
			uniq[i].Kind = Int
		case "IMAP_CAPABILITY":
			uniq[i].Kind = List
		case "PORT":
			uniq[i].Kind = CommaList
		case "IMAP_IDLE_TIMEOUT":
			uniq[i].Kind = Duration
		}
	}
	v, warns, err := New(f, uniq)
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warns %v", err, warns)
	}
	if v.Int("MAXDAEMONS") != 40 || v.Duration("IMAP_IDLE_TIMEOUT") != time.Minute {
		t.Errorf("MAXDAEMONS %d IMAP_IDLE_TIMEOUT %v", v.Int("MAXDAEMONS"), v.Duration("IMAP_IDLE_TIMEOUT"))
	}
}
