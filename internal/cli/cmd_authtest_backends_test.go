package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"courier/internal/auth/authconfig"
	"courier/internal/auth/daemon"
	"courier/internal/auth/pwhash"
	"courier/internal/auth/sqlauth"
	"courier/internal/testutil/dbserver"
)

// authlibMarker ends every authlib rc file (sysconftool's marker; authlib
// refuses a file without it).
const authlibMarker = "##NAME: MARKER:0\n"

// The account every backend of TestAuthtestEveryBackend holds.
const (
	beAddr    = "demo@example.test"
	bePW      = "demo pw"
	beUID     = 5000
	beGID     = 5001
	beHome    = "/home/demo"
	beMaildir = "/home/demo/Maildir"
	beQuota   = "1000000S"
)

// backendDir writes authdaemonrc naming module (plus extra lines) in a new
// configuration directory, serves its chain on the directory's own socket
// until the test ends, and returns the directory.
func backendDir(t *testing.T, module, extra string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	rc := fmt.Sprintf("authmodulelist=%q\nauthdaemonvar=%s\n%s", module, filepath.Join(dir, "run"), extra)
	files["authdaemonrc"] = rc
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "run"), 0o755)
	setup, err := authconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(setup.Warnings) > 0 {
		t.Fatalf("%s: warnings %q", module, setup.Warnings)
	}
	l, err := daemon.Listen(setup.Socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&daemon.Server{Auth: setup.Chain, MaxConns: 16}).Serve(ctx, l)
	}()
	t.Cleanup(func() { cancel(); l.Close(); <-done })
	return dir
}

// TestAuthtestEveryBackend loads one account into every module's backend
// (userdb, SQLite, PostgreSQL, MariaDB, OpenLDAP, an authpipe program, and a
// real system user for authshadow, authpwd and authpam) and checks that
// `courier authtest`, talking to the authdaemon socket, prints the same
// account for each, refuses a wrong password and an unknown user alike.
func TestAuthtestEveryBackend(t *testing.T) {
	crypt, err := pwhash.Hash(pwhash.SHA512CryptScheme, bePW)
	if err != nil {
		t.Fatal(err)
	}
	var (
		pg    *dbserver.Postgres
		my    *dbserver.MariaDB
		sl    *dbserver.Slapd
		errs  [3]error
		start sync.WaitGroup
	)
	schema, _ := filepath.Abs("../auth/ldapauth/testdata/test.schema")
	start.Add(3)
	go func() { defer start.Done(); pg, errs[0] = dbserver.StartPostgres() }()
	go func() { defer start.Done(); my, errs[1] = dbserver.StartMariaDB() }()
	go func() {
		defer start.Done()
		sl, errs[2] = dbserver.StartSlapd(dbserver.SlapdOptions{Suffix: "dc=example,dc=test", Schema: []string{schema}})
	}()
	start.Wait()
	for _, s := range []interface{ Stop() error }{pg, my, sl} {
		if s != nil && !isNilServer(s) {
			t.Cleanup(func() { s.Stop() })
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatalf("backends: %v", err)
	}

	// The same record in every virtual backend.
	sqlRow := func(t *testing.T, cfg *sqlauth.Config) {
		db, err := sqlauth.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ph := func(i int) string {
			if cfg.Dialect == sqlauth.PostgreSQL {
				return fmt.Sprintf("$%d", i)
			}
			return "?"
		}
		ctx := context.Background()
		for _, q := range []string{"DROP TABLE IF EXISTS users",
			"CREATE TABLE users (id varchar(200) primary key, crypt varchar(200), clear varchar(200), name varchar(200)," +
				" uid int, gid int, home varchar(200), maildir varchar(200), quota varchar(200), opts varchar(200))"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		ins := fmt.Sprintf("INSERT INTO users VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
			ph(1), ph(2), ph(3), ph(4), ph(5), ph(6), ph(7), ph(8), ph(9), ph(10))
		if _, err := db.ExecContext(ctx, ins, beAddr, crypt, "", "Demo", beUID, beGID, beHome, beMaildir, beQuota,
			"disablepop3=1"); err != nil {
			t.Fatal(err)
		}
	}
	sqlFields := func(p string) string {
		return p + "USER_TABLE users\n" + p + "CRYPT_PWFIELD crypt\n" + p + "UID_FIELD uid\n" + p + "GID_FIELD gid\n" +
			p + "LOGIN_FIELD id\n" + p + "HOME_FIELD home\n" + p + "NAME_FIELD name\n" + p + "MAILDIR_FIELD maildir\n" +
			p + "QUOTA_FIELD quota\n" + p + "AUXOPTIONS_FIELD opts\n" + authlibMarker
	}

	type backend struct {
		name  string
		setup func(t *testing.T) string // returns the configuration directory
	}
	virtual := []backend{
		{"authuserdb", func(t *testing.T) string {
			dir := backendDir(t, "authuserdb", "", map[string]string{"userdb": fmt.Sprintf(
				"%s\tuid=%d|gid=%d|home=%s|mail=%s|quota=%s|systempw=%s|options=disablepop3=1\n",
				beAddr, beUID, beGID, beHome, beMaildir, beQuota, crypt)})
			if _, e, code := runAuthTool(t, dir, "", "makeuserdb"); code != 0 {
				t.Fatalf("makeuserdb: %s", e)
			}
			return dir
		}},
		{"authsqlite", func(t *testing.T) string {
			db := filepath.Join(t.TempDir(), "users.db")
			os.WriteFile(db, nil, 0o600)
			sqlRow(t, &sqlauth.Config{Dialect: sqlauth.SQLite, SQLitePath: db})
			return backendDir(t, "authsqlite", "", map[string]string{"authsqliterc": "SQLITE_DATABASE " + db + "\n" +
				sqlFields("SQLITE_")})
		}},
		{"authpgsql", func(t *testing.T) string {
			sqlRow(t, &sqlauth.Config{Dialect: sqlauth.PostgreSQL, PGConnInfo: pg.ConnInfo})
			return backendDir(t, "authpgsql", "", map[string]string{"authpgsqlrc": "PGSQL_CONNECTION " + pg.ConnInfo + "\n" +
				sqlFields("PGSQL_")})
		}},
		{"authmysql", func(t *testing.T) string {
			sqlRow(t, &sqlauth.Config{Dialect: sqlauth.MySQL, MySQL: sqlauth.MySQLConn{Socket: my.Socket, User: "root", Database: "mysql"}})
			return backendDir(t, "authmysql", "", map[string]string{"authmysqlrc": "MYSQL_SERVER localhost\nMYSQL_SOCKET " +
				my.Socket + "\nMYSQL_USERNAME root\nMYSQL_PASSWORD\nMYSQL_DATABASE mysql\n" + sqlFields("MYSQL_")})
		}},
		{"authldap", func(t *testing.T) string {
			c, err := ldap.DialURL(sl.URI)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Bind(sl.RootDN, sl.RootPW); err != nil {
				t.Fatal(err)
			}
			for _, e := range []struct {
				dn    string
				attrs [][2]string
			}{
				{"dc=example,dc=test", [][2]string{{"objectClass", "dcObject"}, {"objectClass", "organization"}, {"dc", "example"}, {"o", "Example"}}},
				{"uid=demo,dc=example,dc=test", [][2]string{{"objectClass", "inetOrgPerson"}, {"objectClass", "posixAccount"},
					{"objectClass", "CourierMailAccount"}, {"uid", "demo"}, {"cn", "Demo"}, {"sn", "Demo"},
					{"uidNumber", fmt.Sprint(beUID)}, {"gidNumber", fmt.Sprint(beGID)}, {"homeDirectory", beHome},
					{"mail", beAddr}, {"mailbox", beMaildir}, {"quota", beQuota}, {"userPassword", crypt}}},
			} {
				r := ldap.NewAddRequest(e.dn, nil)
				vals := map[string][]string{}
				var order []string
				for _, a := range e.attrs {
					if vals[a[0]] == nil {
						order = append(order, a[0])
					}
					vals[a[0]] = append(vals[a[0]], a[1])
				}
				for _, k := range order {
					r.Attribute(k, vals[k])
				}
				if err := c.Add(r); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					t.Fatalf("add %s: %v", e.dn, err)
				}
			}
			return backendDir(t, "authldap", "DEFAULTOPTIONS=\"disablepop3=1\"\n", map[string]string{"authldaprc": "LDAP_URI " + sl.URI +
				"\nLDAP_BASEDN dc=example,dc=test\nLDAP_BINDDN " + sl.RootDN + "\nLDAP_BINDPW " + sl.RootPW +
				"\nLDAP_INITBIND 1\nLDAP_TIMEOUT 5\nLDAP_MAIL mail\nLDAP_HOMEDIR homeDirectory\nLDAP_MAILDIR mailbox\n" +
				"LDAP_CRYPTPW userPassword\nLDAP_UID uidNumber\nLDAP_GID gidNumber\nLDAP_MAILDIRQUOTA quota\nLDAP_FULLNAME cn\n" + authlibMarker})
		}},
		{"authpipe", func(t *testing.T) string {
			// A small authpipe program in Python (Courier's protocol: PRE,
			// AUTH with a byte count, PASSWD, ENUMERATE).
			prog := filepath.Join(t.TempDir(), "authProg")
			account := fmt.Sprintf("ADDRESS=%s\\nUID=%d\\nGID=%d\\nHOME=%s\\nMAILDIR=%s\\nQUOTA=%s\\nPASSWD=%s\\nOPTIONS=disablepop3=1\\n.\\n",
				beAddr, beUID, beGID, beHome, beMaildir, beQuota, strings.ReplaceAll(crypt, "$", "\\$"))
			py := `#!/usr/bin/python3
import sys
ACCOUNT = "` + strings.ReplaceAll(account, `\$`, `$`) + `"
inp = sys.stdin.buffer
out = sys.stdout
while True:
    line = inp.readline()
    if not line:
        break
    line = line.decode().rstrip("\n")
    if line.startswith("PRE . "):
        f = line.split(" ", 3)
        out.write(ACCOUNT if len(f) == 4 and f[3] == "` + beAddr + `" else "FAIL\n")
    elif line.startswith("AUTH "):
        body = inp.read(int(line[5:])).decode().split("\n")
        ok = len(body) >= 4 and body[1] == "login" and body[2] == "` + beAddr + `" and body[3] == "` + bePW + `"
        out.write(ACCOUNT if ok else "FAIL\n")
    else:
        out.write("FAIL\n")
    out.flush()
`
			if err := os.WriteFile(prog, []byte(py), 0o755); err != nil {
				t.Fatal(err)
			}
			return backendDir(t, "authpipe", "PIPE_PROGRAM="+prog+"\n", map[string]string{})
		}},
	}

	var want string
	for _, b := range virtual {
		t.Run(b.name, func(t *testing.T) {
			dir := b.setup(t)
			out, e, code := runAuthTool(t, dir, "", "authtest", beAddr, bePW)
			if code != 0 {
				t.Fatalf("authtest: exit %d: %s", code, e)
			}
			if want == "" {
				want = out
				t.Logf("authtest prints:\n%s", out)
			} else if out != want {
				t.Errorf("authtest with %s prints\n%s\nwhere authuserdb prints\n%s", b.name, out, want)
			}
			// PRE (no password) finds the same account.
			if out, _, code := runAuthTool(t, dir, "", "authtest", beAddr); code != 0 || !strings.Contains(out, "Home Directory: "+beHome) {
				t.Errorf("lookup: %d %q", code, out)
			}
			for _, c := range [][2]string{{beAddr, "wrong"}, {"nobody@example.test", bePW}} {
				_, e, code := runAuthTool(t, dir, "", "authtest", c[0], c[1])
				if code != 1 || e != "Authentication FAILED: Operation not permitted\n" {
					t.Errorf("authtest %q %q: exit %d %q", c[0], c[1], code, e)
				}
			}
		})
	}
	if !strings.Contains(want, "Authenticated: "+beAddr+"  (uid 5000, gid 5001)") || !strings.Contains(want, "Options: disablepop3=1") {
		t.Errorf("authuserdb output %q", want)
	}

	t.Run("system", func(t *testing.T) { systemBackends(t, crypt) })
}

// isNilServer reports whether s is a typed nil pointer.
func isNilServer(s any) bool {
	switch v := s.(type) {
	case *dbserver.Postgres:
		return v == nil
	case *dbserver.MariaDB:
		return v == nil
	case *dbserver.Slapd:
		return v == nil
	}
	return false
}

// systemBackends makes a real system user (useradd, its password in
// /etc/shadow by chpasswd) and a PAM service file under /etc/pam.d using
// pam_unix, then checks authshadow, authpwd and authpam through authtest.
func systemBackends(t *testing.T, crypt string) {
	if os.Getuid() != 0 {
		t.Fatal("the system-account backends need root to add a test user and a PAM service (CI runs as root)")
	}
	name := fmt.Sprintf("ctest%d", os.Getpid()%100000)
	service := "courier-test-" + name
	if out, err := exec.Command("useradd", "-M", "-d", "/home/"+name, "-s", "/usr/sbin/nologin", "-c", "Courier Test", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	chp := exec.Command("chpasswd", "-e")
	chp.Stdin = strings.NewReader(name + ":" + crypt + "\n")
	if out, err := chp.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v %s", err, out)
	}
	pamFile := filepath.Join("/etc/pam.d", service)
	if err := os.WriteFile(pamFile, []byte("auth required pam_unix.so\naccount required pam_unix.so\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(pamFile) })
	if _, err := user.Lookup(name); err != nil {
		t.Fatal(err)
	}

	helper := filepath.Join(t.TempDir(), "courier-authpam")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", helper, "courier/cmd/courier-authpam")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the PAM helper needs cgo and libpam0g-dev: %v\n%s", err, out)
	}

	for _, c := range []struct{ module, extra, encrypted string }{
		{"authshadow", "", crypt},
		{"authpwd", "", "x"}, // authpwd reads /etc/passwd only: its password field is Debian's "x"
		{"authpam", "AUTHPAM_HELPER=" + helper + "\n", "(none)"},
	} {
		t.Run(c.module, func(t *testing.T) {
			dir := backendDir(t, c.module, c.extra, map[string]string{})
			out, e, code := runAuthTool(t, dir, "", "authtest", "-s", service, name, bePW)
			if c.module == "authpwd" {
				// Nothing to check a password against ("x"): authpwd
				// only answers lookups, as Courier's does on a shadow system.
				if code != 1 {
					t.Errorf("authpwd accepted a password against %q: %s", "x", out)
				}
				out, e, code = runAuthTool(t, dir, "", "authtest", "-s", service, name)
			}
			if code != 0 {
				t.Fatalf("authtest: exit %d: %s", code, e)
			}
			wantOut := fmt.Sprintf("Authentication succeeded.\n\n     Authenticated: %s  (system username: %s)\n"+
				"    Home Directory: /home/%s\n           Maildir: (none)\n             Quota: (none)\n"+
				"Encrypted Password: %s\n", name, name, name, c.encrypted)
			if !strings.HasPrefix(out, wantOut) {
				t.Errorf("authtest prints\n%s\nwant it to start\n%s", out, wantOut)
			}
			if c.module != "authpwd" {
				_, e, code = runAuthTool(t, dir, "", "authtest", "-s", service, name, "wrong")
				if code != 1 || e != "Authentication FAILED: Operation not permitted\n" {
					t.Errorf("wrong password: %d %q", code, e)
				}
			}
		})
	}
}
