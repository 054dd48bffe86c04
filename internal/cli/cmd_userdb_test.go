package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/auth/pwhash"
)

// runAuthTool runs a tool in-process with COURIER_CONFIG=dir.
func runAuthTool(t *testing.T, dir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var so, se strings.Builder
	code := Run(args, strings.NewReader(stdin), &so, &se, func(k string) string {
		if k == "COURIER_CONFIG" {
			return dir
		}
		return ""
	})
	return so.String(), se.String(), code
}

func TestUserdbTools(t *testing.T) {
	dir := t.TempDir()
	if _, _, code := runAuthTool(t, dir, "", "userdb", "alice@ex.test", "set", "uid=1", "gid=2", "home=/h", "flag"); code != 1 {
		t.Errorf("set with no stdin value: %d", code)
	}
	if _, e, code := runAuthTool(t, dir, "$1$x$y\n", "userdb", "alice@ex.test", "set", "uid=1", "gid=2", "home=/h", "systempw"); code != 0 {
		t.Fatalf("set: %d %s", code, e)
	}
	runAuthTool(t, dir, "", "userdb", "bob", "set", "uid=3", "gid=3", "home=/b")
	runAuthTool(t, dir, "", "userdb", "alice@ex.test", "set", "gid=5", "quota=10S")
	if _, _, code := runAuthTool(t, dir, "", "userdb", "bob", "set", "home=/a|uid=0"); code == 0 {
		t.Error("| in value accepted")
	}
	out, _, _ := runAuthTool(t, dir, "", "userdb", "-show", "alice@ex.test")
	if out != "uid=1\ngid=5\nhome=/h\nsystempw=$1$x$y\nquota=10S\n" {
		t.Errorf("-show NAME (the userdb script reads CONFIG/userdb): %q", out)
	}
	out, _, _ = runAuthTool(t, dir, "", "userdb", "-show", "-f", filepath.Join(dir, "userdb"), "alice@ex.test")
	if out != "uid=1\ngid=5\nhome=/h\nsystempw=$1$x$y\nquota=10S\n" {
		t.Errorf("-show fields %q", out)
	}
	out, _, _ = runAuthTool(t, dir, "", "userdb", "-show", "-f", filepath.Join(dir, "userdb"))
	if out != "alice@ex.test\nbob\n" {
		t.Errorf("-show names %q", out)
	}
	runAuthTool(t, dir, "", "userdb", "alice@ex.test", "unset", "quota")
	runAuthTool(t, dir, "", "userdb", "bob", "del")
	text, _ := os.ReadFile(filepath.Join(dir, "userdb"))
	if string(text) != "alice@ex.test\tuid=1|gid=5|home=/h|systempw=$1$x$y\n" {
		t.Errorf("file %q", text)
	}
	if st, _ := os.Stat(filepath.Join(dir, "userdb")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if _, e, code := runAuthTool(t, dir, "", "makeuserdb"); code != 0 {
		t.Fatalf("makeuserdb: %s", e)
	}
	os.Chmod(filepath.Join(dir, "userdb"), 0o644)
	if _, e, code := runAuthTool(t, dir, "", "makeuserdb"); code == 0 || !strings.Contains(e, "MAY NOT HAVE GROUP OR WORLD PERMISSIONS!!") {
		t.Errorf("makeuserdb 0644: %d %q", code, e)
	}
	if _, _, code := runAuthTool(t, dir, "", "userdb"); code != 1 {
		t.Errorf("usage exit %d", code)
	}
}

func TestUserdbpw(t *testing.T) {
	for _, c := range []struct{ flag, scheme string }{{"", "des-crypt"}, {"-md5", "md5-crypt"}, {"-sha512", "sha512-crypt"}, {"-bcrypt", "bcrypt"}} {
		args := []string{"userdbpw"}
		if c.flag != "" {
			args = append(args, c.flag)
		}
		out, _, code := runAuthTool(t, "", "secret\nother\n", args...)
		h := strings.TrimSuffix(out, "\n")
		if ok, _ := pwhash.Verify(h, "secret"); code != 0 || !ok || string(pwhash.Identify(h)) != c.scheme {
			t.Errorf("%s: %q %d", c.flag, out, code)
		}
	}
	out, _, _ := runAuthTool(t, "", "secret\n", "userdbpw", "-hmac-md5")
	if out != "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56\n" {
		t.Errorf("hmac-md5 %q", out)
	}
	if _, e, code := runAuthTool(t, "", "x\n", "userdbpw", "-x"); code != 1 || e != "userdbpw: invalid argument.\n" {
		t.Errorf("bad flag: %d %q", code, e)
	}
	if _, _, code := runAuthTool(t, "", "", "userdbpw"); code != 1 {
		t.Errorf("empty input: %d", code)
	}
}

func TestPw2userdb(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	sh := filepath.Join(dir, "shadow")
	os.WriteFile(pw, []byte("root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000:Bob|B,,,:/home/bob:\n"), 0o644)
	os.WriteFile(sh, []byte("root:$6$a$b:19000:0:99999:7:::\nbob:!:19000::::::\n"), 0o600)
	out, e, code := runAuthTool(t, dir, "", "pw2userdb", "--passwd="+pw, "--shadow="+sh, "--domain=ex.test")
	want := "root@ex.test\tuid=0|gid=0|home=/root|shell=/bin/bash|systempw=$6$a$b|gecos=root\n0=\troot\n" +
		"bob@ex.test\tuid=1000|gid=1000|home=/home/bob|systempw=!|gecos=Bob.B,,,\n1000=\tbob\n"
	if code != 0 || out != want {
		t.Errorf("pw2userdb: %d %s\n%q\nwant\n%q", code, e, out, want)
	}
}
