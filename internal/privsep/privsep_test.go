package privsep

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"courier/internal/auth"
)

func fakeLookup(users map[string]SystemUser) UserLookup {
	return func(name string) (SystemUser, error) {
		if u, ok := users[name]; ok {
			return u, nil
		}
		return SystemUser{}, errors.New("no such user")
	}
}

func TestPlan(t *testing.T) {
	lookup := fakeLookup(map[string]SystemUser{
		"root":  {UID: 0, GID: 0, Groups: []int{0}},
		"alice": {UID: 1001, GID: 1001, Groups: []int{1001, 27, 100}},
	})
	tests := []struct {
		name   string
		a      auth.Account
		euid   int
		mode   Mode
		cred   Credential
		errIs  error
		refuse bool
	}{
		{name: "not root: in-process whatever the uid", a: auth.Account{UID: 5000, GID: 5000}, euid: 1000, mode: InProcess},
		{name: "not root: even uid 0", a: auth.Account{UID: 0}, euid: 1000, mode: InProcess},
		{name: "not root: system accounts too", a: auth.Account{SysUser: "root"}, euid: 1000, mode: InProcess},
		{name: "root: virtual account with its own uid", a: auth.Account{UID: 5000, GID: 5001}, euid: 0, mode: Handoff,
			cred: Credential{UID: 5000, GID: 5001, Groups: []uint32{5001}}},
		{name: "root: virtual account under the server's uid (quickstart as root)", a: auth.Account{UID: 0, GID: 0}, euid: 0, mode: InProcess},
		{name: "root: system account with its groups", a: auth.Account{SysUser: "alice"}, euid: 0, mode: Handoff,
			cred: Credential{UID: 1001, GID: 1001, Groups: []uint32{1001, 27, 100}}},
		{name: "root: the record's gid wins", a: auth.Account{SysUser: "alice", GID: 100}, euid: 0, mode: Handoff,
			cred: Credential{UID: 1001, GID: 100, Groups: []uint32{100, 1001, 27}}},
		{name: "root: system root is refused", a: auth.Account{SysUser: "root"}, euid: 0, errIs: auth.ErrDisabled, refuse: true},
		{name: "root: unknown system account", a: auth.Account{SysUser: "nobody-here"}, euid: 0, errIs: auth.ErrTempFail},
		{name: "root: negative uid", a: auth.Account{UID: -2, GID: 5}, euid: 0, errIs: auth.ErrTempFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mode, cred, err := Plan(&tc.a, tc.euid, lookup)
			if tc.errIs != nil {
				if !errors.Is(err, tc.errIs) {
					t.Fatalf("err %v, want %v", err, tc.errIs)
				}
				if IsRefusal(err) != tc.refuse {
					t.Errorf("IsRefusal = %v", IsRefusal(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if mode != tc.mode {
				t.Errorf("mode %v, want %v", mode, tc.mode)
			}
			if cred.UID != tc.cred.UID || cred.GID != tc.cred.GID || !slices.Equal(cred.Groups, tc.cred.Groups) {
				t.Errorf("credential %+v, want %+v", cred, tc.cred)
			}
		})
	}
}

func TestAccountEnv(t *testing.T) {
	a := &auth.Account{Address: "bob@example.test", FullName: "Bob B", Home: "/home/bob", Quota: "1000S",
		Options: auth.ParseOptions("group=staff,disablewebmail=1")}
	env := AccountEnv(a, "bob", "/home/bob/Maildir", "192.0.2.1")
	for _, want := range []string{"AUTHENTICATED=bob", "AUTHADDR=bob@example.test", "AUTHFULLNAME=Bob B",
		"OPTIONS=group=staff,disablewebmail=1", "HOME=/home/bob", "MAILDIR=/home/bob/Maildir",
		"MAILDIRQUOTA=1000S", "TCPREMOTEIP=192.0.2.1", "PATH=" + defaultPath} {
		if !slices.Contains(env, want) {
			t.Errorf("environment lacks %s: %q", want, env)
		}
	}
	if len(env) != 9 {
		t.Errorf("unexpected entries: %q", env)
	}
	if got := Setting("IMAPLOGINTAG", "a\x00b"); got != "IMAPLOGINTAG=ab" {
		t.Errorf("NUL kept: %q", got)
	}
}

func TestLogRelay(t *testing.T) {
	var b bytes.Buffer
	r := &logRelay{log: slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.Level(-8)}))}
	in := `{"time":"t","level":"ERROR","msg":"boom","user":"bob","n":3}` + "\n" +
		`{"time":"t","level":"DEBUG-4","msg":"trace"}` + "\npanic: oops\n" + `{"level":"INFO","msg":"split`
	// Written in odd pieces, as a pipe delivers it.
	for i := 0; i < len(in); i += 7 {
		if _, err := r.Write([]byte(in[i:min(i+7, len(in))])); err != nil {
			t.Fatal(err)
		}
	}
	r.flush()
	got := b.String()
	for _, want := range []string{`level=ERROR msg=boom session.n=3 session.user=bob`, `level=DEBUG-4 msg=trace`,
		`level=WARN msg="session process" stderr="panic: oops"`, `stderr="{\"level\":\"INFO\",\"msg\":\"split"`} {
		if !strings.Contains(got, want) {
			t.Errorf("relay lacks %s:\n%s", want, got)
		}
	}
}
