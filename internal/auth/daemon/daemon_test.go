package daemon

import (
	"bufio"
	"context"
	"courier/internal/testutil/courierref"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
	"courier/internal/auth/userdb"
)

const secretMD5 = "$1$1aJZgsFW$dyqsWHMTrWu.ts4RVuQrh/" // "secret", from Debian's userdbpw -md5
const secretHM = "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"

// testChain compiles a small userdb and returns a chain over it.
func testChain(t testing.TB) *auth.Chain {
	t.Helper()
	src := filepath.Join(t.TempDir(), "userdb")
	text := "alice@ex.test\tuid=1000|gid=1001|home=/home/alice|mail=/home/alice/Maildir|quota=100000S|systempw=" + secretMD5 +
		"|hmac-md5pw=" + secretHM + "|options=disablepop3=1|gecos=Alice A\n" +
		"bob\tuid=1002|gid=1002|home=/home/bob|systempw=" + secretMD5 + "|options=disableshared=1\n"
	if err := os.WriteFile(src, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := userdb.Make(src); err != nil {
		t.Fatal(err)
	}
	return auth.NewChain(auth.ParseOptions("disablewebmail=1"), userdb.New(src))
}

// raw sends one request to the server's handler and returns the reply.
func raw(t *testing.T, s *Server, req string) string {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() { s.ServeConn(context.Background(), a); close(done) }()
	go func() { b.Write([]byte(req)) }()
	var out []byte
	buf := make([]byte, 4096)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := b.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	<-done
	return string(out)
}

func TestServerReplies(t *testing.T) {
	s := &Server{Auth: testChain(t), Timeout: 2 * time.Second}
	full := "UID=1000\nGID=1001\nHOME=/home/alice\nADDRESS=alice@ex.test\nNAME=Alice A\nMAILDIR=/home/alice/Maildir\nQUOTA=100000S\nPASSWD=" +
		secretMD5 + "\n"
	opts := "OPTIONS=disablepop3=1,disablewebmail=1\n.\n"
	cases := []struct{ req, want string }{
		{"PRE . imap alice@ex.test\n", full + opts},
		{"TCPREMOTEIP=::1\nPRE  . imap alice@ex.test\n", full + opts},
		{"PRE . login nobody\n", "FAIL\n"},
		{"PRE x imap alice@ex.test\n", "FAIL\n"},
		{"PRE . imap alice@ex.test extra\n", "FAIL\n"},
		{"AUTH 32\nimap\nlogin\nalice@ex.test\nsecret\n", full + "PASSWD2=secret\n" + opts},
		{"AUTH 31\nimap\nlogin\nalice@ex.test\nsecret", full + "PASSWD2=secret\n" + opts},
		{"AUTH 31\nimap\nlogin\nalice@ex.test\nwrong\n", "FAIL\n"},
		{"AUTH 5\nimap\n", "FAIL\n"},
		{"AUTH x\nimap\n", ""},
		{"BOGUS\n", ""},
		{"pre . imap alice@ex.test\n", ""},
		{"PRE . imap\n", ""},
		{"ENUMERATE\n", "# authuserdb\n\nalice@ex.test\t1000\t1001\t/home/alice\t/home/alice/Maildir\tdisablepop3=1,disablewebmail=1\n" +
			"bob\t1002\t1002\t/home/bob\t\tdisableshared=1,disablewebmail=1\n.\n"},
		{"PASSWD imap\tnobody\ta\tb\n", "FAIL\n"},
	}
	for _, c := range cases {
		if got := raw(t, s, c.req); got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.req, got, c.want)
		}
	}
	ch := "<1896.697170952@postoffice.example.net>"
	d, _ := pwhash.CRAMDigest(pwhash.HMACMD5, "secret", []byte(ch))
	payload := fmt.Sprintf("imap\ncram-md5\n%s\n%s\n", base64.StdEncoding.EncodeToString([]byte(ch)),
		base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("alice@ex.test %x", d))))
	if got := raw(t, s, fmt.Sprintf("AUTH %d\n%s", len(payload), payload)); !strings.HasPrefix(got, "UID=1000\n") {
		t.Errorf("cram-md5: %q", got)
	}
}

func TestTempFailClosesSilently(t *testing.T) {
	bad := auth.NewChain(nil, &failing{})
	s := &Server{Auth: bad}
	if got := raw(t, s, "PRE . imap x\n"); got != "" {
		t.Errorf("tempfail answered %q", got)
	}
}

type failing struct{}

func (failing) Name() string { return "failing" }
func (failing) Lookup(context.Context, string, string) (*auth.Account, error) {
	return nil, auth.ErrTempFail
}
func (failing) Authenticate(context.Context, *auth.Request) (*auth.Account, error) {
	return nil, auth.ErrTempFail
}
func (failing) ChangePassword(context.Context, string, string, string, string) error {
	return auth.ErrTempFail
}
func (failing) Enumerate(context.Context, func(*auth.Account) error) error { return auth.ErrTempFail }

func TestClientServerRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&Server{Auth: testChain(t)}).Serve(ctx, l) }()
	defer func() { cancel(); <-done }()
	if _, err := Listen(sock); err == nil {
		t.Error("second Listen on a live socket succeeded")
	}
	c := &Client{Socket: sock, RemoteIP: "192.0.2.1"}
	a, err := c.Lookup(ctx, "imap", "alice@ex.test")
	if err != nil || a.UID != 1000 || a.FullName != "Alice A" || !a.Options.Bool("disablewebmail") {
		t.Fatalf("lookup %+v %v", a, err)
	}
	if _, err := c.Authenticate(ctx, &auth.Request{Service: "imap", User: "alice@ex.test", Password: "secret"}); err != nil {
		t.Error(err)
	}
	if _, err := c.Authenticate(ctx, &auth.Request{Service: "imap", User: "alice@ex.test", Password: "bad"}); !errors.Is(err, auth.ErrBadPassword) {
		t.Error(err)
	}
	if _, err := c.Lookup(ctx, "imap", "x\nENUMERATE"); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("newline in name: %v", err)
	}
	var n int
	if err := c.Enumerate(ctx, func(*auth.Account) error { n++; return nil }); err != nil || n != 2 {
		t.Errorf("enumerate %d %v", n, err)
	}
	ch := []byte("<x@y>")
	d, _ := pwhash.CRAMDigest(pwhash.HMACMD5, "secret", ch)
	if _, err := c.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechCRAMMD5, User: "alice@ex.test", Challenge: ch, Response: fmt.Sprintf("%x", d)}); err != nil {
		t.Errorf("cram via client: %v", err)
	}
	// A daemon that is not there is a temporary failure.
	gone := &Client{Socket: filepath.Join(t.TempDir(), "none")}
	if _, err := gone.Lookup(ctx, "imap", "a"); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("no daemon: %v", err)
	}
}

// refAuthtest locates Debian's authtest unpacked by ../shared/tools/courier-ref.
func refAuthtest(t *testing.T) (string, []string) {
	t.Helper()
	return courierref.Tool(t, "usr/sbin/authtest"), append(os.Environ(), courierref.Env()...)
}

// TestRealAuthtestAgainstOurDaemon runs Courier's authtest binary against our
// server on the socket path compiled into it. The path is global, so the
// test takes a lock file beside it and waits for any other daemon there.
func TestRealAuthtestAgainstOurDaemon(t *testing.T) {
	bin, env := refAuthtest(t)
	dir := filepath.Dir(DefaultSocket)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("cannot create %s (run as root): %v", dir, err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, ".test.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var l net.Listener
	for i := 0; ; i++ {
		if l, err = Listen(DefaultSocket); err == nil {
			break
		}
		if i > 50 {
			t.Fatalf("socket busy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&Server{Auth: testChain(t)}).Serve(ctx, l) }()
	defer func() { cancel(); <-done; os.Remove(DefaultSocket) }()

	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return so.String(), se.String(), code
	}
	out, errOut, code := run("-s", "imap", "alice@ex.test", "secret")
	want := "Authentication succeeded.\n\n     Authenticated: alice@ex.test  (uid 1000, gid 1001)\n    Home Directory: /home/alice\n" +
		"           Maildir: /home/alice/Maildir\n             Quota: 100000S\nEncrypted Password: " + secretMD5 +
		"\nCleartext Password: secret\n           Options: disablepop3=1,disablewebmail=1\n"
	if code != 0 || out != want {
		t.Errorf("authtest login: code %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
	if out, errOut, code = run("alice@ex.test", "wrong"); code != 1 || errOut != "Authentication FAILED: Operation not permitted\n" {
		t.Errorf("wrong password: %d %q %q", code, out, errOut)
	}
	if out, _, code = run("bob"); code != 0 || !strings.Contains(out, "Cleartext Password: (none)") {
		t.Errorf("lookup: %d %q", code, out)
	}
	if _, errOut, code = run("nobody", "x"); code != 1 || !strings.Contains(errOut, "Operation not permitted") {
		t.Errorf("unknown user: %d %q", code, errOut)
	}
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{"PRE . imap alice\n", "TCPREMOTEIP=::1\nAUTH 22\npop3\nlogin\nfoo\nsecret\n",
		"PASSWD login\tfoo\tsecret\tnewpw\n", "ENUMERATE\n", "AUTH 5\nimap\n", "AUTH 99999999\n", "A=1\nB=2\nPRE\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req, err := ReadRequest(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if req.Command == CmdAuth && !req.Fail {
			req.AuthRequest()
		}
		if req.Command == CmdPre && strings.ContainsAny(req.User, "\n") {
			t.Fatalf("user with newline %q", req.User)
		}
	})
}
