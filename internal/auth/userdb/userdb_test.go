package userdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
)

// Hashes made by Debian's `userdbpw -md5` and `userdbpw -hmac-md5`.
const (
	alicePW   = "$1$MGVmL55q$6aapi06WCsrqNpCUcjsGp0" // not used for verification below
	secretMD5 = "$1$1aJZgsFW$dyqsWHMTrWu.ts4RVuQrh/" // "secret"
	secretHM  = "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"
)

// writeDB writes a userdb source with mode 0600 and compiles it.
func writeDB(t testing.TB, text string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "userdb")
	if err := os.WriteFile(src, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Make(src); err != nil {
		t.Fatal(err)
	}
	return src
}

func TestParseLine(t *testing.T) {
	r, err := ParseLine("alice@ex.test\tuid=1|gid=2|home=/h|flag|mail=/m=x")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "alice@ex.test" || len(r.Fields) != 5 || r.Fields[3].HasValue || r.Fields[4].Value != "/m=x" {
		t.Errorf("%+v", r)
	}
	if got := r.String(); got != "alice@ex.test\tuid=1|gid=2|home=/h|flag|mail=/m=x" {
		t.Errorf("String %q", got)
	}
	for _, bad := range []string{"", "noTab", "\tuid=1", "a\tb\x00"} {
		if _, err := ParseLine(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseLine(%q) = %v", bad, err)
		}
	}
	r.Set(Field{Name: "gid", Value: "9", HasValue: true})
	r.Set(Field{Name: "quota", Value: "5S", HasValue: true})
	if !r.Unset("flag") || r.Unset("flag") {
		t.Error("Unset")
	}
	if r.String() != "alice@ex.test\tuid=1|gid=9|home=/h|mail=/m=x|quota=5S" {
		t.Errorf("edited %q", r.String())
	}
}

func TestLoadDirectoryAndDuplicates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "userdb")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "a"), []byte("# comment\n\nx\tuid=1|gid=1|home=/x\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("y\tuid=2|gid=2|home=/y\n"), 0o600)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("z\tuid=3|gid=3|home=/z\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c~"), []byte("z\tuid=3|gid=3|home=/z\n"), 0o600)
	os.Chmod(dir, 0o700)
	recs, err := Load(dir)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %v", recs, err)
	}
	if _, err := Make(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + ".dat"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "sub", "c"), []byte("x\tuid=5|gid=5|home=/x\n"), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate not reported: %v", err)
	}
}

func TestMakeRefusesOpenPermissions(t *testing.T) {
	src := filepath.Join(t.TempDir(), "userdb")
	os.WriteFile(src, []byte("x\tuid=1|gid=1|home=/x\n"), 0o644)
	if _, err := Make(src); !errors.Is(err, ErrPermissions) {
		t.Errorf("Make on 0644: %v", err)
	}
}

func TestIndexSplitsShadow(t *testing.T) {
	src := writeDB(t, "a\tuid=1|gid=1|home=/a|systempw="+secretMD5+"|imappw=x|hmac-md5pw="+secretHM+"\n1=\ta\n")
	dat, shadow := IndexPaths(src)
	pub, err := ReadIndex(dat)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := pub.Get("a"); strings.Contains(v, "pw=") {
		t.Errorf("password in public index: %q", v)
	}
	if v, ok := pub.Get("1="); !ok || v != "a" {
		t.Errorf("uid map %q %v", v, ok)
	}
	st, _ := os.Stat(shadow)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("shadow mode %v", st.Mode())
	}
	st, _ = os.Stat(dat)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("dat mode %v", st.Mode())
	}
	b, _ := os.ReadFile(dat)
	b[len(b)/2] ^= 0xff
	if _, err := ParseIndex(b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corruption not detected: %v", err)
	}
}

const testDB = "alice@ex.test\tuid=1000|gid=1001|home=/home/alice|mail=/home/alice/Maildir|quota=100000S|systempw=" + secretMD5 +
	"|hmac-md5pw=" + secretHM + "|options=disablepop3=1|gecos=Alice A\n" +
	"bob\tuid=1002|gid=1002|home=/home/bob|systempw=bobclear\n" +
	"carol\tuid=1003|gid=1003|home=/home/carol|systempw=" + secretMD5 + "|imappw={SSHA}" + "\n" +
	"1000=\talice@ex.test\n" +
	"broken\tgid=1|home=/x|systempw=" + secretMD5 + "\n"

func TestModule(t *testing.T) {
	src := writeDB(t, testDB)
	m := New(src)
	ctx := context.Background()

	a, err := m.Lookup(ctx, "imap", "alice@ex.test")
	if err != nil {
		t.Fatal(err)
	}
	if a.UID != 1000 || a.GID != 1001 || a.Home != "/home/alice" || a.Maildir != "/home/alice/Maildir" ||
		a.Quota != "100000S" || a.FullName != "Alice A" || a.Passwd != secretMD5 || a.ClearPasswd != "" ||
		a.Options.String() != "disablepop3=1" {
		t.Errorf("lookup %+v", a)
	}
	a, err = m.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechLogin, User: "alice@ex.test", Password: "secret"})
	if err != nil || a.ClearPasswd != "secret" {
		t.Fatalf("auth: %v %+v", err, a)
	}
	cases := []struct {
		service, user, pw string
		want              error
	}{
		{"imap", "alice@ex.test", "wrong", auth.ErrBadPassword},
		{"imap", "ALICE@ex.test", "secret", auth.ErrNoUser},
		{"imap", "nobody", "secret", auth.ErrNoUser},
		{"imap", "1000=", "", auth.ErrNoUser},
		{"login", "bob", "bobclear", auth.ErrBadPassword}, // Courier never matches cleartext in systempw
		{"imap", "carol", "secret", auth.ErrBadPassword},  // imappw overrides systempw
		{"pop3", "carol", "secret", nil},
		{"imap", "broken", "secret", auth.ErrNoUser}, // no uid
	}
	for _, c := range cases {
		_, err := m.Authenticate(ctx, &auth.Request{Service: c.service, Mech: auth.MechLogin, User: c.user, Password: c.pw})
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s %s %s: %v, want %v", c.service, c.user, c.pw, err, c.want)
		}
	}
	// CRAM-MD5 with the precomputed context.
	ch := []byte("<1.2@host>")
	d, _ := pwhash.CRAMDigest(pwhash.HMACMD5, "secret", ch)
	resp := fmt.Sprintf("%x", d)
	if _, err := m.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechCRAMMD5, User: "alice@ex.test", Challenge: ch, Response: resp}); err != nil {
		t.Errorf("cram-md5: %v", err)
	}
	if _, err := m.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechCRAMMD5, User: "alice@ex.test", Challenge: ch, Response: strings.Repeat("0", 32)}); !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("cram-md5 wrong: %v", err)
	}
	if _, err := m.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechCRAMSHA1, User: "alice@ex.test", Challenge: ch, Response: resp}); !errors.Is(err, auth.ErrNotSupported) {
		t.Errorf("cram-sha1 without secret: %v", err)
	}
	caps := m.Capabilities()
	if !caps.CRAM[auth.MechCRAMMD5] || caps.CRAM[auth.MechCRAMSHA1] || caps.SCRAM {
		t.Errorf("caps %+v", caps)
	}
	var names []string
	m.Enumerate(ctx, func(a *auth.Account) error { names = append(names, a.Address); return nil })
	if strings.Join(names, ",") != "alice@ex.test,bob,carol" {
		t.Errorf("enumerate %v", names)
	}
}

func TestModuleReloadsAndMissingIndex(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "userdb")
	m := New(src)
	if _, err := m.Lookup(context.Background(), "imap", "x"); !errors.Is(err, auth.ErrNoUser) {
		t.Fatalf("missing index: %v", err)
	}
	os.WriteFile(src, []byte("x\tuid=1|gid=1|home=/x\n"), 0o600)
	Make(src)
	if _, err := m.Lookup(context.Background(), "imap", "x"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(src, []byte("y\tuid=1|gid=1|home=/y\n"), 0o600)
	Make(src)
	if _, err := m.Lookup(context.Background(), "imap", "y"); err != nil {
		t.Fatalf("not reloaded: %v", err)
	}
	dat, _ := IndexPaths(src)
	os.WriteFile(dat, []byte("garbage"), 0o644)
	if _, err := m.Lookup(context.Background(), "imap", "y"); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("corrupt index: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	src := writeDB(t, "# keep me\n"+testDB)
	m := New(src)
	ctx := context.Background()
	if err := m.ChangePassword(ctx, "imap", "alice@ex.test", "wrong", "new"); !errors.Is(err, auth.ErrBadPassword) {
		t.Fatalf("wrong old password: %v", err)
	}
	if err := m.ChangePassword(ctx, "imap", "alice@ex.test", "secret", "n3w"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, &auth.Request{Service: "imap", User: "alice@ex.test", Password: "n3w"}); err != nil {
		t.Errorf("new password: %v", err)
	}
	text, _ := os.ReadFile(src)
	if !strings.HasPrefix(string(text), "# keep me\n") || strings.Contains(string(text), secretHM) {
		t.Errorf("source after change:\n%s", text)
	}
	ch := []byte("<c@h>")
	d, _ := pwhash.CRAMDigest(pwhash.HMACMD5, "n3w", ch)
	if _, err := m.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechCRAMMD5, User: "alice@ex.test", Challenge: ch, Response: fmt.Sprintf("%x", d)}); err != nil {
		t.Errorf("hmac not refreshed: %v", err)
	}
}

// TestInjectionNames: hostile names fail cleanly, through the same path.
func TestInjectionNames(t *testing.T) {
	src := writeDB(t, testDB)
	c := auth.NewChain(nil, New(src))
	for _, u := range []string{`a"b`, `a\b`, "a\x00b", "%", "*", "alice@ex.test\n", "alice@ex.test\t", "a%s%n", "' OR 1=1 --",
		strings.Repeat("a", 10240), "alice@ex.test|uid=0", "../../etc/passwd"} {
		_, err := c.Authenticate(context.Background(), &auth.Request{Service: "imap", User: u, Password: "secret"})
		if !errors.Is(err, auth.ErrNoUser) {
			t.Errorf("%.30q: %v", u, err)
		}
		if _, err := c.Lookup(context.Background(), "imap", u); !errors.Is(err, auth.ErrNoUser) {
			t.Errorf("lookup %.30q: %v", u, err)
		}
	}
}

// TestUnknownUserCostsAHash: an unknown user is checked against a real hash
// of the database, so it takes about as long as a wrong password.
func TestUnknownUserCostsAHash(t *testing.T) {
	h, err := pwhash.HashBcrypt("pw", 8)
	if err != nil {
		t.Fatal(err)
	}
	src := writeDB(t, "u\tuid=1|gid=1|home=/u|systempw="+h+"\n")
	m := New(src)
	ctx := context.Background()
	timeIt := func(user string) time.Duration {
		best := time.Hour
		for i := 0; i < 3; i++ {
			st := time.Now()
			m.Authenticate(ctx, &auth.Request{User: user, Password: "wrong"})
			best = min(best, time.Since(st))
		}
		return best
	}
	known, unknown := timeIt("u"), timeIt("nobody")
	if unknown < known/3 {
		t.Errorf("unknown user %v vs wrong password %v: timing reveals accounts", unknown, known)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	for _, s := range []pwhash.Scheme{pwhash.LDAPSSHAScheme, pwhash.MD5CryptScheme, pwhash.SHA512CryptScheme, pwhash.BcryptScheme} {
		var text strings.Builder
		for i := 0; i < 1000; i++ {
			h, _ := pwhash.Hash(s, fmt.Sprint("pw", i))
			if s == pwhash.BcryptScheme && i > 0 {
				break
			}
			fmt.Fprintf(&text, "user%d@ex.test\tuid=%d|gid=100|home=/home/u%d|systempw=%s\n", i, 1000+i, i, h)
		}
		src := writeDB(b, text.String())
		c := auth.NewChain(nil, New(src))
		b.Run(string(s), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := c.Authenticate(ctx, &auth.Request{Service: "imap", User: "user0@ex.test", Password: "pw0"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{testDB, "a\tb", "a\t", "\t", "a\tuid=|=|||", "x\ty=z\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseLine(line)
		if err != nil {
			return
		}
		// What parses prints back to the same line and parses the same.
		if r.String() != line && !strings.HasSuffix(line, "\t") {
			t.Fatalf("round trip %q → %q", line, r.String())
		}
		r2, err := ParseLine(r.String())
		if err != nil || r2.String() != r.String() {
			t.Fatalf("reparse %q: %v", r.String(), err)
		}
		Parse("fuzz", strings.NewReader(line))
	})
}

var _ = alicePW
