package ldapauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"courier/internal/auth"
	"courier/internal/auth/authlib"
	"courier/internal/auth/pwhash"
	"courier/internal/testutil/dbserver"
)

var slapd *dbserver.Slapd

const base = "dc=example,dc=com"

func TestMain(m *testing.M) {
	schema, err := filepath.Abs("testdata/test.schema")
	if err == nil {
		slapd, err = dbserver.StartSlapd(dbserver.SlapdOptions{Suffix: base, Schema: []string{schema},
			Config: "access to attrs=userPassword,clearPassword by self write by anonymous auth by * none\n" +
				"access to * by self write by * read\n"})
	}
	if err == nil {
		err = populate()
	}
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "authldap tests need slapd: %v\n", err)
	} else {
		code = m.Run()
	}
	if slapd != nil {
		slapd.Stop()
	}
	os.Exit(code)
}

// populate adds the test entries as the root DN.
func populate() error {
	c, err := ldap.DialURL(slapd.URI)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
		return err
	}
	ssha, _ := pwhash.Hash(pwhash.LDAPSSHAScheme, "joe pw")
	sha512, _ := pwhash.Hash(pwhash.SHA512CryptScheme, "ann pw")
	add := func(dn string, attrs map[string][]string) error {
		r := ldap.NewAddRequest(dn, nil)
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r.Attribute(k, attrs[k])
		}
		if err := c.Add(r); err != nil {
			return fmt.Errorf("add %s: %w", dn, err)
		}
		return nil
	}
	person := func(uid string, n int, extra map[string][]string) map[string][]string {
		m := map[string][]string{
			"objectClass": {"inetOrgPerson", "posixAccount", "CourierMailAccount"},
			"uid":         {uid}, "cn": {strings.ToUpper(uid[:1]) + uid[1:] + " Test"}, "sn": {"Test"},
			"uidNumber": {fmt.Sprint(n)}, "gidNumber": {"100"}, "homeDirectory": {"/home/" + uid},
			"mail": {uid + "@example.com"},
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, e := range []struct {
		dn    string
		attrs map[string][]string
	}{
		{base, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}}},
		{"ou=people," + base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
		{"ou=map," + base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"map"}}},
		{"uid=joe,ou=people," + base, person("joe", 1000, map[string][]string{
			"mail": {"joe@example.com", "joe.alias@example.com"}, "userPassword": {ssha}, "mailbox": {"/home/joe/Maildir"},
			"quota": {"1000S"}, "disableimap": {"0"}, "defaultDelivery": {"| /usr/bin/maildrop"}})},
		{"uid=ann,ou=people," + base, person("ann", 1001, map[string][]string{
			"userPassword": {"{CRYPT}" + sha512}, "clearPassword": {"ann pw"}})},
		{"uid=zero,ou=people," + base, person("zero", 0, map[string][]string{"userPassword": {ssha}})},
		{"uid=dup1,ou=people," + base, person("dup1", 1002, map[string][]string{"mail": {"dup@example.com"}, "userPassword": {ssha}})},
		{"uid=dup2,ou=people," + base, person("dup2", 1003, map[string][]string{"mail": {"dup@example.com"}, "userPassword": {ssha}})},
		{"uid=star,ou=people," + base, person("star", 1004, map[string][]string{"mail": {"st*r(x)@example.com"}, "userPassword": {ssha}})},
		{"uid=jsmith,ou=map," + base, map[string][]string{"objectClass": {"account"}, "uid": {"jsmith"},
			"l": {"example.org"}, "description": {"joe@example.com"}}},
	} {
		if err := add(e.dn, e.attrs); err != nil {
			return err
		}
	}
	return nil
}

// module writes an authldaprc with the common settings plus extra.
func module(t *testing.T, extra string) *Module {
	t.Helper()
	text := "LDAP_URI " + slapd.URI + "\nLDAP_BASEDN " + base + "\nLDAP_BINDDN " + slapd.RootDN + "\n" +
		"LDAP_BINDPW " + slapd.RootPW + "\nLDAP_TIMEOUT 5\nLDAP_MAIL mail\nLDAP_HOMEDIR homeDirectory\n" +
		"LDAP_MAILDIR mailbox\nLDAP_DEFAULTDELIVERY defaultDelivery\nLDAP_FULLNAME cn\nLDAP_CLEARPW clearPassword\n" +
		"LDAP_CRYPTPW userPassword\nLDAP_UID uidNumber\nLDAP_GID gidNumber\nLDAP_MAILDIRQUOTA quota\n" +
		"LDAP_AUXOPTIONS disableimap=disableimap,uid=sharedgroup\nLDAP_DEREF never\n" + extra + "##NAME: MARKER:0\n"
	// Settings in extra come first so they win (authlib keeps the first).
	text = extra + text
	path := filepath.Join(t.TempDir(), "authldaprc")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	m := New(path)
	t.Cleanup(func() { m.Close() })
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	return m
}

func login(user, pw string) *auth.Request {
	return &auth.Request{Service: "imap", Mech: auth.MechLogin, User: user, Password: pw}
}

func TestLogin(t *testing.T) {
	m := module(t, "LDAP_INITBIND 1\n")
	ctx := context.Background()
	a, err := m.Authenticate(ctx, login("joe@example.com", "joe pw"))
	if err != nil {
		t.Fatal(err)
	}
	want := &auth.Account{Address: "joe@example.com", UID: 1000, GID: 100, Home: "/home/joe", FullName: "Joe Test",
		Maildir: "/home/joe/Maildir", Quota: "1000S", Passwd: a.Passwd, ClearPasswd: "joe pw", Module: ModuleName,
		Options: auth.Options{{Name: "disableimap", Value: "0"}, {Name: "sharedgroup", Value: "joe"}}}
	if !reflect.DeepEqual(a, want) || !strings.HasPrefix(a.Passwd, "{SSHA}") {
		t.Errorf("account =\n%+v\nwant\n%+v", a, want)
	}
	if a, err := m.Lookup(ctx, "courier", "joe.alias@example.com"); err != nil || a.Maildir != "| /usr/bin/maildrop" {
		t.Errorf("alias, courier service: %+v %v", a, err)
	}
	if a, err := m.Authenticate(ctx, login("ann@example.com", "ann pw")); err != nil || a.ClearPasswd != "ann pw" {
		t.Errorf("ann: %+v %v", a, err)
	}
	for _, c := range []struct {
		user, pw string
		want     error
	}{
		{"joe@example.com", "wrong", auth.ErrBadPassword},
		{"ann@example.com", "joe pw", auth.ErrBadPassword},
		{"nobody@example.com", "x", auth.ErrNoUser},
		{"dup@example.com", "joe pw", auth.ErrNoUser},
		{"zero@example.com", "joe pw", auth.ErrTempFail},
		{"*", "joe pw", auth.ErrNoUser},
		{"j*", "joe pw", auth.ErrNoUser},
		{"joe@example.com)(mail=*", "joe pw", auth.ErrNoUser},
		{"*)(|(mail=*", "joe pw", auth.ErrNoUser},
		{`joe@example.com\`, "joe pw", auth.ErrNoUser},
		{"joe", "joe pw", auth.ErrNoUser}, // no LDAP_DOMAIN
	} {
		if _, err := m.Authenticate(ctx, login(c.user, c.pw)); !errors.Is(err, c.want) {
			t.Errorf("%q: err = %v, want %v", c.user, err, c.want)
		}
	}
	// Names no account can have (NUL, line breaks, 10 kB) stop at the chain with the answer
	// an unknown user gets; quotes and a long name reach the directory as escaped data.
	chain := auth.NewChain(nil, m)
	for _, u := range []string{"joe@example.com\x00", "joe\x00*", "joe@example.com\n(uid=*)", strings.Repeat("*", 10240),
		`"joe"@example.com`, "joe'@example.com", strings.Repeat("(", 300)} {
		if _, err := chain.Authenticate(ctx, login(u, "joe pw")); !errors.Is(err, auth.ErrNoUser) {
			t.Errorf("chain login %.40q: %v", u, err)
		}
	}
	// The filter metacharacters of a real address are matched literally.
	if a, err := m.Authenticate(ctx, login("st*r(x)@example.com", "joe pw")); err != nil || a.UID != 1004 {
		t.Errorf("st*r: %+v %v", a, err)
	}
	ch := []byte("<1@x>")
	d, _ := pwhash.CRAMDigest(pwhash.HMACMD5, "ann pw", ch)
	if _, err := m.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechCRAMMD5, User: "ann@example.com",
		Challenge: ch, Response: fmt.Sprintf("%x", d)}); err != nil {
		t.Errorf("CRAM: %v", err)
	}
	if !m.Capabilities().CRAM[auth.MechCRAMMD5] {
		t.Error("CRAM not offered")
	}
}

func TestDomainFilterRootGlob(t *testing.T) {
	m := module(t, "LDAP_INITBIND 1\nLDAP_DOMAIN example.com\nLDAP_FILTER (objectClass=posixAccount)\n"+
		"LDAP_MAILROOT /var/mail\nLDAP_UID\nLDAP_GID\nLDAP_GLOB_UID 5000\nLDAP_GLOB_GID 6000\n")
	a, err := m.Authenticate(context.Background(), login("joe", "joe pw"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != "joe" || a.Home != "/var/mail//home/joe" || a.UID != 5000 || a.GID != 6000 {
		t.Errorf("account = %+v", a)
	}
	m = module(t, "LDAP_INITBIND 1\nLDAP_FILTER (objectClass=organizationalUnit)\n")
	if _, err := m.Lookup(context.Background(), "imap", "joe@example.com"); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("LDAP_FILTER not applied: %v", err)
	}
}

func TestAuthBind(t *testing.T) {
	m := module(t, "LDAP_INITBIND 0\nLDAP_AUTHBIND 1\n")
	ctx := context.Background()
	a, err := m.Authenticate(ctx, login("joe@example.com", "joe pw"))
	if err != nil || a.Passwd != "" || a.ClearPasswd != "joe pw" {
		t.Fatalf("authbind = %+v, %v", a, err)
	}
	for _, pw := range []string{"wrong", ""} {
		if _, err := m.Authenticate(ctx, login("joe@example.com", pw)); !errors.Is(err, auth.ErrBadPassword) {
			t.Errorf("password %q: %v", pw, err)
		}
	}
	if m.Capabilities().CRAM[auth.MechCRAMMD5] {
		t.Error("CRAM offered with LDAP_AUTHBIND")
	}
	// The anonymous search cannot read the passwords, so the change has
	// nothing to replace: refused.
	if err := m.ChangePassword(ctx, "imap", "joe@example.com", "joe pw", "x"); !errors.Is(err, auth.ErrNotSupported) {
		t.Errorf("change without readable attributes: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	m := module(t, "LDAP_INITBIND 1\n")
	ctx := context.Background()
	if err := m.ChangePassword(ctx, "imap", "ann@example.com", "wrong", "x"); !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("wrong old: %v", err)
	}
	if err := m.ChangePassword(ctx, "imap", "ann@example.com", "ann pw", "new ann"); err != nil {
		t.Fatal(err)
	}
	a, err := m.Lookup(ctx, "imap", "ann@example.com")
	if err != nil || a.ClearPasswd != "new ann" || !strings.HasPrefix(a.Passwd, "{CRYPT}$6$") {
		t.Fatalf("after change: %+v %v", a, err)
	}
	if ok, _ := pwhash.Verify(a.Passwd, "new ann"); !ok {
		t.Error("new hash does not verify")
	}
	// As the user, with LDAP_AUTHBIND and a reader that sees the attribute.
	mb := module(t, "LDAP_INITBIND 1\nLDAP_AUTHBIND 1\n")
	if err := mb.ChangePassword(ctx, "imap", "ann@example.com", "new ann", "ann pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Authenticate(ctx, login("ann@example.com", "ann pw")); err != nil {
		t.Errorf("after self change: %v", err)
	}
}

func TestEmailMap(t *testing.T) {
	m := module(t, "LDAP_INITBIND 1\nLDAP_EMAILMAP (&(uid=@user@)(l=@realm@))\nLDAP_EMAILMAP_BASEDN ou=map,"+base+"\n"+
		"LDAP_EMAILMAP_ATTRIBUTE description\nLDAP_EMAILMAP_MAIL mail\n")
	a, err := m.Authenticate(context.Background(), login("jsmith@example.org", "joe pw"))
	if err != nil || a.Address != "jsmith@example.org" || a.UID != 1000 {
		t.Fatalf("emailmap = %+v, %v", a, err)
	}
	for _, u := range []string{"jsmith@example.com", "*@example.org", "nobody@example.org"} {
		if _, err := m.Lookup(context.Background(), "imap", u); !errors.Is(err, auth.ErrNoUser) {
			t.Errorf("%q: %v", u, err)
		}
	}
	if got := emailMapFilter("(&(a=@user@)(b=@realm@)(c=@x@)@", "u", "r"); got != "(&(a=u)(b=r)(c=)" {
		t.Errorf("emailMapFilter = %q", got)
	}
}

func TestEnumerate(t *testing.T) {
	m := module(t, "LDAP_INITBIND 1\n")
	var got []string
	err := m.Enumerate(context.Background(), func(a *auth.Account) error {
		got = append(got, fmt.Sprintf("%s %d %d %s %s %s", a.Address, a.UID, a.GID, a.Home, a.Maildir, a.Options))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{
		"ann@example.com 1001 100 /home/ann  sharedgroup=ann",
		"dup@example.com 1002 100 /home/dup1  sharedgroup=dup1",
		"dup@example.com 1003 100 /home/dup2  sharedgroup=dup2",
		"joe.alias@example.com 1000 100 /home/joe /home/joe/Maildir disableimap=0,sharedgroup=joe",
		"joe@example.com 1000 100 /home/joe /home/joe/Maildir disableimap=0,sharedgroup=joe",
		"st*r(x)@example.com 1004 100 /home/star  sharedgroup=star",
		"zero@example.com 0 100 /home/zero  sharedgroup=zero",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("enumerate =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTempFail(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) *Module {
		p := filepath.Join(dir, fmt.Sprint(len(text)))
		os.WriteFile(p, []byte(text+"##NAME: MARKER:0\n"), 0o600)
		return New(p)
	}
	for name, m := range map[string]*Module{
		"down":     write("LDAP_URI ldap://127.0.0.1:1\nLDAP_BASEDN " + base + "\nLDAP_TIMEOUT 2\n"),
		"bad bind": write("LDAP_URI " + slapd.URI + "\nLDAP_BASEDN " + base + "\nLDAP_INITBIND 1\nLDAP_BINDDN cn=x\nLDAP_BINDPW y\n"),
		"no uri":   write("LDAP_BASEDN " + base + "\n"),
		"no base":  write("LDAP_URI " + slapd.URI + "\n"),
		"deref":    write("LDAP_URI " + slapd.URI + "\nLDAP_BASEDN " + base + "\nLDAP_DEREF sometimes\n"),
		"missing":  New(filepath.Join(dir, "none")),
	} {
		if _, err := m.Authenticate(context.Background(), login("joe@example.com", "joe pw")); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("%s: %v", name, err)
		}
		m.Close()
	}
}

func TestParseConfigDefaults(t *testing.T) {
	rc, err := authlib.ParseRC("x", strings.NewReader("LDAP_URI ldap://a, ldaps://b\nLDAP_BASEDN o=x\n##NAME: MARKER:0\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.URIs, []string{"ldap://a", "ldaps://b"}) || c.Mail != "mail" || c.HomeDir != "homeDir" ||
		c.Timeout.Seconds() != 5 || c.InitBind || c.AuthBind || c.EmailMapAttr != "handle" || c.EmailMapMail != "mail" {
		t.Errorf("defaults = %+v", c)
	}
	if f := c.accountFilter("mail", "joe"); f != "(mail=joe)" {
		t.Errorf("filter %q", f)
	}
	c.Filter, c.Domain = "(objectClass=x)", "d.org"
	if f := c.accountFilter("mail", "joe"); f != "(&(objectClass=x)(mail=joe@d.org))" {
		t.Errorf("filter %q", f)
	}
}

// TestUnknownUserCostsAHash: see the sqlauth test of the same name; ann's
// password is a sha512-crypt hash.
func TestUnknownUserCostsAHash(t *testing.T) {
	m := module(t, "LDAP_INITBIND 1\nLDAP_CLEARPW\n")
	ctx := context.Background()
	timeIt := func(user string) time.Duration {
		best := time.Hour
		for i := 0; i < 5; i++ {
			st := time.Now()
			m.Authenticate(ctx, login(user, "wrong"))
			best = min(best, time.Since(st))
		}
		return best
	}
	known := timeIt("ann@example.com")
	unknown := timeIt("nobody@example.com")
	if unknown < known/3 {
		t.Errorf("unknown user %v vs wrong password %v: timing reveals accounts", unknown, known)
	}
}
