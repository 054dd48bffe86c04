package access

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLookupMostSpecific(t *testing.T) {
	es, err := Parse(strings.NewReader(`# comment
127.0.0.1	allow,RELAYCLIENT
:0000:0000:0000:0000:0000:0000:0000:0001	allow,RELAYCLIENT
10	allow,RELAYCLIENT
192.168.5	allow,BLOCK="550 Shoo! Go away, now!"
192.168.5.7	allow,BLOCK
192.168.6	deny
192.168.6.10	allow,SIZELIMIT=1000,MAXCPERIP=3
:2002:c0a8	deny
:2002:C0A8:1	allow
`), "smtpaccess/default")
	if err != nil {
		t.Fatal(err)
	}
	tb := New(es)
	for ip, want := range map[string]string{
		"127.0.0.1":       "allow RELAYCLIENT=1",
		"::1":             "allow RELAYCLIENT=1",
		"::ffff:10.1.2.3": "allow RELAYCLIENT=1",
		"10.200.0.1":      "allow RELAYCLIENT=1",
		"192.168.5.1":     "allow BLOCK=550 Shoo! Go away, now!",
		"192.168.5.7":     "allow BLOCK=1",
		"192.168.6.9":     "deny",
		"192.168.6.10":    "allow MAXCPERIP=3 SIZELIMIT=1000",
		"2002:c0a8::5":    "deny",
		"2002:c0a8:1::5":  "allow",
		"8.8.8.8":         "none",
	} {
		r := tb.Lookup(netip.MustParseAddr(ip))
		if got := describe(r); got != want {
			t.Errorf("%s: %s, want %s", ip, got, want)
		}
	}
	tb2 := New(append(es, Entry{Key: "*", Deny: true}))
	if r := tb2.Lookup(netip.MustParseAddr("8.8.8.8")); !r.Deny || r.Key != "*" {
		t.Errorf("* deny: %+v", r)
	}
}

func describe(r Result) string {
	switch {
	case !r.Found:
		return "none"
	case r.Deny:
		return "deny"
	}
	s := "allow"
	for _, k := range []string{"BLOCK", "MAXCPERIP", "RELAYCLIENT", "SIZELIMIT"} {
		if v, ok := r.Env[k]; ok {
			s += " " + k + "=" + v
		}
	}
	return s
}

// TestCIDR: makedat -cidr keys become the octet (IPv6: word) keys they cover.
func TestCIDR(t *testing.T) {
	for key, want := range map[string]string{
		"10.0.0.0/8":     "10",
		"192.168.2.0/23": "192.168.2 192.168.3",
		"172.16.0.0/12":  "172.16 172.17 172.18 172.19 172.20 172.21 172.22 172.23 172.24 172.25 172.26 172.27 172.28 172.29 172.30 172.31",
		"1.2.3.4/32":     "1.2.3.4",
		"0.0.0.0/0":      "*",
		"2001:db8::/32":  ":2001:0db8",
		"2001:db8::/31":  ":2001:0db8 :2001:0db9",
		"10.1.2.3/16":    "10.1",
	} {
		es, err := Parse(strings.NewReader(key+"\tdeny\n"), "f")
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Key)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: %s, want %s", key, strings.Join(got, " "), want)
		}
	}
	if _, err := Parse(strings.NewReader("2001::/1\tdeny\n"), "f"); err == nil {
		t.Error("a /1 IPv6 network expanded")
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"1.2.3.4", "1.2.3.4.5\tallow", "300\tallow", "1.2\tpermit", "1.2\tdeny,X",
		":12345\tallow", ":zz\tallow", "10.0.0.0/33\tdeny", "10/8\tdeny", "1.2\tallow,9X", "1.2\tallow,A=\"open", "a.b\tallow", "1..2\tallow"} {
		if _, err := Parse(strings.NewReader(bad+"\n"), "f"); err == nil || !strings.HasPrefix(err.Error(), "f:1: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestCompileAndReload: Compile writes the checked table; a File reads the compiled file
// when it is ours, the directory otherwise, and follows changes.
func TestCompileAndReload(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "smtpaccess")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "default"), []byte("127.0.0.1\tallow,RELAYCLIENT\n"), 0o644)
	os.WriteFile(filepath.Join(src, "default~"), []byte("127.0.0.1\tdeny\n"), 0o644) // an editor's backup: skipped
	f := NewFile(src)
	lo := netip.MustParseAddr("127.0.0.1")
	if r, err := f.Lookup(lo); err != nil || r.Env["RELAYCLIENT"] != "1" {
		t.Fatalf("text directory: %+v %v", r, err)
	}
	// A Courier GDBM .dat is not ours: the directory still rules.
	os.WriteFile(src+".dat", []byte("\x13\x57\x9a\xce GDBM"), 0o644)
	f = NewFile(src)
	if r, _ := f.Lookup(lo); r.Env["RELAYCLIENT"] != "1" {
		t.Fatalf("with a foreign .dat: %+v", r)
	}
	os.WriteFile(filepath.Join(src, "zblock"), []byte("127.0.0.1\tdeny\n"), 0o644)
	n, err := Compile(src, src+".dat")
	if err != nil || n != 1 {
		t.Fatalf("Compile: %d %v", n, err)
	}
	b, _ := os.ReadFile(src + ".dat")
	if string(b) != Magic+"\n127.0.0.1\tdeny\n" {
		t.Errorf("compiled:\n%s", b)
	}
	f.mu.Lock()
	f.checked = time.Time{}
	f.mu.Unlock()
	if r, _ := f.Lookup(lo); !r.Deny {
		t.Errorf("the compiled file was not picked up: %+v", r)
	}
	// Edits of the text do not count until compiled again (as with Courier).
	os.WriteFile(filepath.Join(src, "zblock"), []byte("# nothing\n"), 0o644)
	f.mu.Lock()
	f.checked = time.Time{}
	f.mu.Unlock()
	if r, _ := f.Lookup(lo); !r.Deny {
		t.Errorf("an uncompiled edit took effect: %+v", r)
	}
	// A broken compiled file keeps the table in force and says so.
	os.WriteFile(src+".dat", []byte(Magic+"\nbad line\n"), 0o644)
	f.mu.Lock()
	f.checked = time.Time{}
	f.mu.Unlock()
	if r, err := f.Lookup(lo); !r.Deny || err == nil {
		t.Errorf("broken file: %+v %v", r, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"127.0.0.1\tallow,RELAYCLIENT\n", "*\tdeny\n", ":2002:c0a8\tdeny\n",
		"1.2\tallow,BLOCK=\"550 a, b\"\n", "1.2.3.4.5\tallow\n", "\x00\tallow", "1\tallow,\"\n", ":\tallow\n",
		strings.Repeat("1.", 1000) + "\tallow\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Parse(strings.NewReader(s), "f")
		if err != nil {
			return
		}
		tb := New(es)
		tb.Lookup(netip.MustParseAddr("192.0.2.1"))
		tb.Lookup(netip.MustParseAddr("2001:db8::1"))
		for _, e := range es {
			// What Compile writes parses back to the same entry.
			back, err := Parse(strings.NewReader(e.Key+"\t"+e.action()+"\n"), "again")
			if err != nil || len(back) != 1 || back[0].Deny != e.Deny || len(back[0].Env) != len(e.Env) {
				t.Fatalf("%q → %q: %v %+v", s, e.action(), err, back)
			}
			for k, v := range e.Env {
				if back[0].Env[k] != v {
					t.Fatalf("%q: %s=%q came back as %q", s, k, v, back[0].Env[k])
				}
			}
		}
	})
}
