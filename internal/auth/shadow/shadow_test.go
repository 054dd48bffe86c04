package shadow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
)

func files(t *testing.T) (string, string) {
	t.Helper()
	h6, _ := pwhash.Hash(pwhash.SHA512CryptScheme, "joe pw")
	h1, _ := pwhash.Hash(pwhash.MD5CryptScheme, "ann pw")
	dir := t.TempDir()
	passwd := "root:x:0:0:root:/root:/bin/bash\n" +
		"# comment\n" +
		"\n" +
		"joe:x:1000:1000:Joe Bloggs,Room 1,,:/home/joe:/bin/bash\n" +
		"ann:" + h1 + ":1001:100:Ann:/home/ann:/bin/sh\n" +
		"old:x:1002:100::/home/old:/bin/sh\n" +
		"yes:x:1003:100::/home/yes:/bin/sh\n" +
		"nopw:x:1004:100::/home/nopw:/bin/sh\n" +
		"noshadow:x:1005:100::/home/noshadow:/bin/sh\n" +
		"short:x:1006\n" +
		"+nis::::::\n" +
		"joe:x:2000:2000:duplicate:/tmp:/bin/sh\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	shadow := "root:*:19000:0:99999:7:::\n" +
		"joe:" + h6 + ":19000:0:99999:7:::\n" +
		"ann:!:19000::::::\n" +
		"old:" + h6 + ":19000:0:99999:7::19001:\n" +
		"yes:$y$j9T$abcdefghijklmnop$0123456789012345678901234567890123456789012:19000::::::\n" +
		"nopw::19000::::::\n"
	pp, sp := filepath.Join(dir, "passwd"), filepath.Join(dir, "shadow")
	if err := os.WriteFile(pp, []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sp, []byte(shadow), 0o600); err != nil {
		t.Fatal(err)
	}
	return pp, sp
}

func login(user, pw string) *auth.Request {
	return &auth.Request{Service: "imap", Mech: auth.MechLogin, User: user, Password: pw}
}

func TestShadow(t *testing.T) {
	pp, sp := files(t)
	m := NewShadow(pp, sp)
	m.SetClock(func() time.Time { return time.Unix(19500*86400, 0) })
	ctx := context.Background()
	a, err := m.Authenticate(ctx, login("joe", "joe pw"))
	if err != nil {
		t.Fatal(err)
	}
	want := &auth.Account{Address: "joe", SysUser: "joe", UID: 1000, GID: 1000, FullName: "Joe Bloggs,Room 1,,",
		Home: "/home/joe", Passwd: a.Passwd, ClearPasswd: "joe pw", Module: "authshadow"}
	if !reflect.DeepEqual(a, want) || !strings.HasPrefix(a.Passwd, "$6$") {
		t.Errorf("account =\n%+v\nwant\n%+v", a, want)
	}
	if a.MaildirPath() != "/home/joe/Maildir" {
		t.Errorf("maildir %q", a.MaildirPath())
	}
	for _, c := range []struct {
		user, pw string
		want     error
	}{
		{"joe", "wrong", auth.ErrBadPassword},
		{"ann", "ann pw", auth.ErrBadPassword},   // locked in shadow; passwd's hash not used
		{"old", "joe pw", auth.ErrBadPassword},   // expired
		{"yes", "anything", auth.ErrBadPassword}, // yescrypt: not verifiable
		{"nopw", "", auth.ErrBadPassword},        // empty hash
		{"noshadow", "x", auth.ErrNoUser},
		{"nobody", "x", auth.ErrNoUser},
		{"short", "x", auth.ErrNoUser},
		{"+nis", "", auth.ErrNoUser},
	} {
		if _, err := m.Authenticate(ctx, login(c.user, c.pw)); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.user, err, c.want)
		}
	}
	if _, err := m.Authenticate(ctx, &auth.Request{Mech: auth.MechCRAMMD5, User: "joe"}); !errors.Is(err, auth.ErrNotSupported) {
		t.Errorf("CRAM: %v", err)
	}
	a, err = m.Lookup(ctx, "imap", "ann")
	if err != nil || a.Passwd != "!" || a.UID != 1001 || a.GID != 100 {
		t.Errorf("lookup ann = %+v, %v", a, err)
	}
	if err := m.ChangePassword(ctx, "imap", "joe", "joe pw", "n"); !errors.Is(err, auth.ErrNotSupported) {
		t.Errorf("change: %v", err)
	}
}

func TestPwd(t *testing.T) {
	pp, _ := files(t)
	m := NewPwd(pp)
	ctx := context.Background()
	if a, err := m.Authenticate(ctx, login("ann", "ann pw")); err != nil || a.Module != "authpwd" {
		t.Fatalf("ann = %+v, %v", a, err)
	}
	if _, err := m.Authenticate(ctx, login("joe", "joe pw")); !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("joe (x in passwd): %v", err)
	}
}

func TestEnumerateAndReload(t *testing.T) {
	pp, sp := files(t)
	m := NewShadow(pp, sp)
	var names []string
	err := m.Enumerate(context.Background(), func(a *auth.Account) error {
		names = append(names, a.Address)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"joe", "ann", "old", "yes", "nopw", "noshadow"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("enumerate = %q, want %q", names, want)
	}
	if _, err := m.Lookup(context.Background(), "imap", "new"); !errors.Is(err, auth.ErrNoUser) {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(pp, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("new:x:3000:100::/home/new:/bin/sh\n")
	f.Close()
	if a, err := m.Lookup(context.Background(), "imap", "new"); !errors.Is(err, auth.ErrNoUser) || a != nil {
		// no shadow line yet
		t.Fatalf("new without shadow: %+v %v", a, err)
	}
	if a, err := NewPwd(pp).Lookup(context.Background(), "imap", "new"); err != nil || a.UID != 3000 {
		t.Fatalf("reread: %+v %v", a, err)
	}
	os.Remove(pp)
	if _, err := NewPwd(pp).Lookup(context.Background(), "imap", "joe"); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("missing passwd: %v", err)
	}
}

func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		"root:x:0:0:root:/root:/bin/bash\n",
		"a:b\n::::::\n#x\n\n+:::\n",
		"x:" + strings.Repeat(":", 100) + "\n",
		"\x00:\xff:\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, order, err := ParseFile(strings.NewReader(string(data)), 7)
		if err != nil {
			return
		}
		if len(recs) != len(order) {
			t.Fatalf("%d records, %d names", len(recs), len(order))
		}
		for _, n := range order {
			if len(recs[n]) < 7 || n == "" {
				t.Fatalf("bad record %q", recs[n])
			}
		}
	})
}
