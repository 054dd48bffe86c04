package pam

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"courier/internal/auth"
)

// fakeHelper is the test binary acting as courier-authpam when
// AUTHPAM_FAKE is set: it answers what the variable says.
func TestMain(m *testing.M) {
	if v := os.Getenv("AUTHPAM_FAKE"); v != "" {
		os.Stdout.WriteString(v + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func passwd(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(p, []byte("joe:x:1000:1001:Joe:/home/joe:/bin/sh\n"), 0o644)
	return p
}

func login(user, pw string) *auth.Request {
	return &auth.Request{Service: "imap", Mech: auth.MechLogin, User: user, Password: pw, RemoteIP: "192.0.2.7"}
}

func TestFakeHelper(t *testing.T) {
	exe, _ := os.Executable()
	m := New(exe, passwd(t))
	ctx := context.Background()
	for answer, want := range map[string]error{"OK": nil, "FAIL pam_authenticate: no": auth.ErrBadPassword,
		"ERROR pam_start: x": auth.ErrTempFail, "": auth.ErrTempFail} {
		t.Setenv("AUTHPAM_FAKE", answer)
		if answer == "" {
			t.Setenv("AUTHPAM_FAKE", " ")
		}
		a, err := m.Authenticate(ctx, login("joe", "pw"))
		if want == nil {
			if err != nil || a.UID != 1000 || a.GID != 1001 || a.Home != "/home/joe" || a.SysUser != "joe" ||
				a.ClearPasswd != "pw" || a.Module != ModuleName {
				t.Errorf("OK: %+v %v", a, err)
			}
		} else if !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", answer, err, want)
		}
	}
	t.Setenv("AUTHPAM_FAKE", "OK")
	if _, err := m.Authenticate(ctx, login("ann", "pw")); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("not in passwd: %v", err)
	}
	if _, err := New("/nonexistent", passwd(t)).Authenticate(ctx, login("joe", "pw")); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("missing helper: %v", err)
	}
	if _, err := m.Authenticate(ctx, &auth.Request{Mech: auth.MechCRAMMD5, User: "joe"}); !errors.Is(err, auth.ErrNotSupported) {
		t.Errorf("CRAM: %v", err)
	}
	if a, err := m.Lookup(ctx, "imap", "joe"); err != nil || a.Passwd != "" {
		t.Errorf("lookup: %+v %v", a, err)
	}
}

// TestRealHelper builds cmd/courier-authpam (cgo, libpam0g-dev) and checks
// accept and reject with PAM service files of our own (pam_exec running a
// script that accepts one password).
func TestRealHelper(t *testing.T) {
	dir := t.TempDir()
	helper := filepath.Join(dir, "courier-authpam")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", helper, "courier/cmd/courier-authpam")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the PAM helper needs cgo and libpam0g-dev: %v\n%s", err, out)
	}
	confdir := filepath.Join(dir, "pam.d")
	os.Mkdir(confdir, 0o755)
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte("#!/bin/sh\npw=$(tr -d '\\000')\n[ \"$PAM_USER\" = joe ] && [ \"$pw\" = 'joe pw' ] && [ \"$PAM_RHOST\" = 192.0.2.7 ]\n"), 0o755)
	os.WriteFile(filepath.Join(confdir, "imap"), []byte("auth required pam_exec.so expose_authtok quiet "+script+
		"\naccount required pam_permit.so\n"), 0o644)
	m := New(helper, passwd(t), "-confdir", confdir)
	ctx := context.Background()
	if a, err := m.Authenticate(ctx, login("joe", "joe pw")); err != nil || a.UID != 1000 {
		t.Fatalf("accept: %+v %v", a, err)
	}
	if _, err := m.Authenticate(ctx, login("joe", "wrong")); !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("reject: %v", err)
	}
	req := login("joe", "joe pw")
	req.Service = "pop3" // no such service file: PAM's default "other" is not in confdir
	if _, err := m.Authenticate(ctx, req); err == nil {
		t.Error("unknown PAM service accepted")
	}
}
