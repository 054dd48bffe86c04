package authlib

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/auth/pwhash"
	"courier/internal/testutil/courierref"
)

func TestParseRC(t *testing.T) {
	in := "# comment\n" +
		"   # indented comment\n" +
		"\n" +
		"NAME1\tvalue one  \r\n" +
		"NAME2\n" +
		"NAME3        \\\n" +
		"          host=pg.example.com \\\n" +
		"\t  port=5400\n" +
		"NAME1 second setting ignored\n" +
		"TRAIL  a\\\n" +
		"#not a comment inside a continuation\n" +
		"##NAME: MARKER:0\n"
	rc, err := ParseRC("x", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"NAME1": "value one",
		"NAME2": "",
		"NAME3": " host=pg.example.com  port=5400",
		"TRAIL": "a #not a comment inside a continuation",
	}
	for k, v := range want {
		got, ok := rc.Get(k)
		if !ok || got != v {
			t.Errorf("%s = %q, %v; want %q", k, got, ok, v)
		}
	}
	if len(rc.Names()) != len(want) {
		t.Errorf("names %v", rc.Names())
	}
	if rc.String("ABSENT", "def") != "def" || rc.String("NAME2", "def") != "" {
		t.Error("String defaults")
	}
}

func TestParseRCNoMarker(t *testing.T) {
	_, err := ParseRC("x", strings.NewReader("A b\n #NAME: MARKER:0\n"))
	if !errors.Is(err, ErrNoMarker) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseRCLimits(t *testing.T) {
	long := "A " + strings.Repeat("x\\\n", MaxValueSize) + "##NAME: MARKER:0\n"
	if _, err := ParseRC("x", strings.NewReader(long)); err == nil {
		t.Error("overlong value accepted")
	}
	if _, err := ParseRC("x", strings.NewReader(strings.Repeat("#", MaxFileSize+1))); err == nil {
		t.Error("overlong file accepted")
	}
}

// TestCourierSamples reads the sample files Debian's courier-authlib ships
// and checks the settings the modules depend on.
func TestCourierSamples(t *testing.T) {
	etc := filepath.Join(courierref.Root(), "etc/courier")
	if _, err := os.Stat(filepath.Join(etc, "authmysqlrc")); err != nil {
		t.Fatalf("reference Courier configuration not found (%v): run ../shared/tools/courier-ref", err)
	}
	for file, want := range map[string]map[string]string{
		"authmysqlrc":  {"MYSQL_SERVER": "localhost", "MYSQL_PORT": "0", "MYSQL_LOGIN_FIELD": "id", "MYSQL_CRYPT_PWFIELD": "crypt"},
		"authpgsqlrc":  {"PGSQL_CONNECTION": " host=pgsql.example.com  port=5400               user=admin              password=admin", "PGSQL_USER_TABLE": "passwd"},
		"authsqliterc": {"SQLITE_DATABASE": "/var/lib/courier/users.db", "SQLITE_NAME_FIELD": "name"},
		"authldaprc": {"LDAP_URI": "ldaps://ldap.example.com, ldaps://backup.example.com", "LDAP_BASEDN": "o=example, c=com",
			"LDAP_TLS": "0", "LDAP_DEREF": "never"},
	} {
		rc, err := LoadRC(filepath.Join(etc, file))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if got, _ := rc.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", file, k, got, v)
			}
		}
		if _, ok := rc.Get("MYSQL_SELECT_CLAUSE"); ok {
			t.Errorf("%s: commented-out clause read", file)
		}
	}
}

func TestLeadingInt(t *testing.T) {
	for in, want := range map[string]int{"5": 5, " 42abc": 42, "-3": -3, "+7": 7, "0": 0} {
		if n, ok := LeadingInt(in); !ok || n != want {
			t.Errorf("LeadingInt(%q) = %d, %v", in, n, ok)
		}
	}
	for _, in := range []string{"", "abc", "-", "99999999999"} {
		if _, ok := LeadingInt(in); ok {
			t.Errorf("LeadingInt(%q) accepted", in)
		}
	}
	if ParseID("-5") != 0 || ParseID("x") != 0 || ParseID("1000") != 1000 {
		t.Error("ParseID")
	}
}

func TestSplitLogin(t *testing.T) {
	cases := []struct{ in, def, local, domain string }{
		{"joe@example.com", "d.org", "joe", "example.com"},
		{"joe", "d.org", "joe", "d.org"},
		{"a@b@c", "", "a", "b@c"},
	}
	for _, c := range cases {
		l, d := SplitLogin(c.in, c.def)
		if l != c.local || d != c.domain {
			t.Errorf("SplitLogin(%q) = %q, %q", c.in, l, d)
		}
	}
	if WithDefaultDomain("joe", "d.org") != "joe@d.org" || WithDefaultDomain("joe@x", "d.org") != "joe@x" ||
		WithDefaultDomain("joe", "") != "joe" {
		t.Error("WithDefaultDomain")
	}
}

func TestCryptNew(t *testing.T) {
	ssha, _ := pwhash.Hash(pwhash.LDAPSSHAScheme, "old")
	md5c, _ := pwhash.Hash(pwhash.MD5CryptScheme, "old")
	for old, prefix := range map[string]string{
		"":                "$1$",
		ssha:              "{SSHA}",
		md5c:              "$1$",
		"{CRYPT}" + md5c:  "{CRYPT}$1$",
		"plainjunk":       "$6$",
		"{MD5}xxxxxxxxxx": "{MD5}",
	} {
		h, err := CryptNew("new pw", old)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, prefix) {
			t.Errorf("CryptNew(old %q) = %q, want prefix %q", old, h, prefix)
		}
		if ok, err := pwhash.Verify(h, "new pw"); !ok || err != nil {
			t.Errorf("CryptNew(old %q) = %q does not verify: %v", old, h, err)
		}
	}
}

func FuzzParseRC(f *testing.F) {
	for _, s := range []string{
		"A b\n##NAME: MARKER:0\n",
		"A \\\n\\\n\\",
		"\x00\r\n\t#\\\n##NAME: MARKER:",
		"A\tb\\\r\nc\n##NAME: MARKER:0",
		strings.Repeat("X \\\n", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := ParseRC("fuzz", strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, n := range rc.Names() {
			v, _ := rc.Get(n)
			if len(v) > MaxValueSize+1 || strings.ContainsAny(n, " \t\n") {
				t.Fatalf("bad setting %q = %.40q", n, v)
			}
		}
	})
}
