package pop3_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
	"courier/internal/auth/userdb"
	clog "courier/internal/log"
	"courier/internal/netx"
	"courier/internal/pop3"
	"courier/internal/pop3/pop3maildir"
	"courier/internal/store/maildir"
	"courier/internal/testutil"
)

const (
	demoUser = "demo@example.test"
	demoPass = "demo-Pass-1"
)

// env is one test installation: a quickstart app, or a bare POP3 server, over a config
// directory with a userdb of test accounts and the demo Maildir filled with testMessages.
type env struct {
	t       testing.TB
	dir     string // installation directory
	conf    string // config directory
	maildir string // demo's Maildir
	addr    string // pop3 address
	addrS   string // pop3s address (quickstart only)
	certs   *x509.CertPool
}

// testMessages are delivered to demo, in this order (message n is testMessages[n-1]).
var testMessages = []string{
	"From: a@example.org\nSubject: one\n\nline one\nline two\n.dot line\n",
	"From: b@example.org\nSubject: two\n\n.\n..\nno final newline",
	"From: c@example.org\nSubject: three\n\nbody\n",
}

// sizes of testMessages as POP3 reports them (LF counted as CRLF).
func popSize(m string) int { return len(m) + strings.Count(m, "\n") }

// account is a userdb line for a test account with its own Maildir under dir/mail.
func account(t testing.TB, dir, name, options string) string {
	t.Helper()
	local, _, _ := strings.Cut(name, "@")
	home := filepath.Join(dir, "mail", "example.test", local)
	md := filepath.Join(home, "Maildir")
	if _, err := os.Stat(md); err != nil {
		if err := maildir.Create(md, maildir.Private, true); err != nil {
			t.Fatal(err)
		}
	}
	pw, err := pwhash.Hash(pwhash.MD5CryptScheme, demoPass)
	if err != nil {
		t.Fatal(err)
	}
	cram, err := pwhash.HMACContext(pwhash.HMACMD5, demoPass)
	if err != nil {
		t.Fatal(err)
	}
	f := []string{fmt.Sprintf("uid=%d", os.Getuid()), fmt.Sprintf("gid=%d", os.Getgid()), "home=" + home,
		"mail=" + md, "systempw=" + pw, "hmac-md5pw=" + cram}
	if options != "" {
		f = append(f, "options="+options)
	}
	return name + "\t" + strings.Join(f, "|") + "\n"
}

// prepare writes the accounts' userdb and its indexes and fills demo's Maildir.
func prepare(t testing.TB, conf string) string {
	t.Helper()
	dir := filepath.Dir(conf)
	db := account(t, dir, demoUser, "") + account(t, dir, "off@example.test", "disablepop3=1") +
		account(t, dir, "secure@example.test", "disableinsecurepop3=1")
	src := filepath.Join(conf, "userdb")
	if err := os.WriteFile(src, []byte(db), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := userdb.Make(src); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "mail", "example.test", "demo", "Maildir")
	for i, m := range testMessages {
		deliver(t, md, fmt.Sprintf("%d.M%dP1.test", 1600000001+i, i+1), m)
	}
	return md
}

// deliver puts a message in new/ under the given name.
func deliver(t testing.TB, md, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(md, "new", name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// setEnv is testutil.SetEnv.
func setEnv(t testing.TB, file, name, value string) {
	t.Helper()
	testutil.SetEnv(t, file, name, value)
}

// startApp runs a whole quickstart app with the test accounts; edit may change etc/ first.
func startApp(t *testing.T, edit func(conf string)) *env {
	t.Helper()
	e := &env{t: t}
	srv := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, conf string) {
		e.maildir = prepare(t, conf)
		if edit != nil {
			edit(conf)
		}
	}})
	e.dir, e.conf = srv.Dir, srv.ConfigDir
	e.addr = srv.MustAddr(t, "pop3")
	e.addrS = srv.MustAddr(t, "pop3s")
	e.certs = certPool(t, filepath.Join(srv.Dir, "tls", "server.pem"))
	return e
}

// certPool trusts the certificate of a PEM file holding certificate and key.
func certPool(t testing.TB, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			pool.AddCert(c)
		}
	}
	return pool
}

// bare is a POP3 server outside the app, for what the quickstart configuration cannot
// reach: a throttle with a short fuse, a short idle timeout.
type bare struct {
	*env
	srv  *pop3.Server
	stop func()
}

// startBare runs a pop3.Server on its own listener over a fresh installation directory.
func startBare(t testing.TB, set *pop3.Settings, mod func(*pop3.Config)) *bare {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "etc")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, conf: conf}
	e.maildir = prepare(t, conf)
	cfg := pop3.Config{
		Auth:     auth.NewChain(nil, userdb.New(filepath.Join(conf, "userdb"))),
		Throttle: auth.NewThrottle(auth.ThrottleConfig{BaseDelay: time.Millisecond}, nil),
		Opener:   pop3maildir.Opener(nil),
		Settings: func(string) (*pop3.Settings, error) { return set, nil },
		Log:      clog.Discard(),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := pop3.New(cfg)
	ln, err := netx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ns := netx.NewServer("pop3", clog.Discard(), &netx.IDSource{}, nil)
	ns.Configure(srv, netx.Limits{}, nil)
	go ns.Serve(ln)
	e.addr = ln.Addr().String()
	b := &bare{env: e, srv: srv}
	b.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ns.Shutdown(ctx)
	}
	t.Cleanup(b.stop)
	return b
}

// loopbackSettings allow cleartext logins from loopback, as quickstart does.
func loopbackSettings() *pop3.Settings {
	s, err := pop3.SettingsFromEnv(map[string]string{"POP3AUTH": "LOGIN PLAIN CRAM-MD5",
		"PLAINTEXT_LOGIN_FROM": "127.0.0.0/8 ::1"}, nil)
	if err != nil {
		panic(err)
	}
	return s
}

// dial connects and reads the greeting.
func (e *env) dial() *testutil.Conn {
	c := testutil.Dial(e.t, e.addr)
	c.Expect("+OK Hello there.")
	return c
}

// login connects and logs in as demo with USER/PASS.
func (e *env) login() *testutil.Conn {
	c := e.dial()
	c.Transcript(`
		C: USER ` + demoUser + `
		S: +OK Password required.
		C: PASS ` + demoPass + `
		S: +OK logged in.`)
	return c
}

// dialTLS connects to pop3s.
func (e *env) dialTLS() *testutil.Conn {
	tc, err := tls.Dial("tcp", e.addrS, &tls.Config{RootCAs: e.certs, ServerName: "localhost"})
	if err != nil {
		e.t.Fatalf("pop3s: %v", err)
	}
	e.t.Cleanup(func() { tc.Close() })
	c := testutil.Wrap(e.t, tc)
	c.Expect("+OK Hello there.")
	return c
}

// files lists the names in demo's cur/ and new/ ("cur/NAME").
func (e *env) files() []string {
	var out []string
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(e.maildir, sub))
		if err != nil {
			e.t.Fatal(err)
		}
		for _, de := range ents {
			out = append(out, sub+"/"+de.Name())
		}
	}
	sort.Strings(out)
	return out
}

// waitFiles waits until demo's Maildir holds exactly want (the server finishes QUIT after
// the client has read +OK; it never does for a dropped connection, so this also checks
// that nothing changes).
func (e *env) waitFiles(want ...string) {
	e.t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := e.files()
		if strings.Join(got, " ") == strings.Join(want, " ") {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("maildir holds %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawConn is a net.Conn for tests that write bytes themselves.
func rawDial(t testing.TB, addr string) net.Conn {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
