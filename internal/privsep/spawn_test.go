package privsep_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/internal/netx"
	"courier/internal/privsep"
)

// testUID is the identity the helper runs as: no account on the machine needs to exist
// for it.
const testUID = 12345

// syncBuffer is a bytes.Buffer safe for the loggers of several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connPair returns both ends of a loopback TCP connection: the server's (what a listener
// accepts) and the client's.
func connPair(t *testing.T) (server *net.TCPConn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return r.c.(*net.TCPConn), client
}

// tlsPair wraps a loopback connection in TLS and completes the handshake.
func tlsPair(t *testing.T) (server *tls.Conn, client *tls.Conn) {
	t.Helper()
	s, c := connPair(t)
	pem, err := netx.SelfSigned([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pem, pem)
	if err != nil {
		t.Fatal(err)
	}
	server = tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}})
	client = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return server, client
}

// lineReader reads the client's side line by line with a deadline.
type lineReader struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (l *lineReader) expect(want string) {
	l.t.Helper()
	_ = l.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := l.r.ReadString('\n')
	if err != nil {
		l.t.Fatalf("expecting %q: %v (got %q)", want, err, got)
	}
	if got = strings.TrimRight(got, "\r\n"); got != want {
		l.t.Fatalf("got %q, want %q", got, want)
	}
}

func (l *lineReader) send(s string) {
	l.t.Helper()
	if _, err := l.c.Write([]byte(s)); err != nil {
		l.t.Fatal(err)
	}
}

func spawner(t *testing.T, killAfter time.Duration) *privsep.Spawner {
	t.Helper()
	return privsep.New(privsep.Options{KillAfter: killAfter})
}

func spec(mode string, conn net.Conn, buffered []byte, log *slog.Logger) privsep.Spec {
	return privsep.Spec{
		Cred:     privsep.Credential{UID: testUID, GID: testUID, Groups: []uint32{testUID}},
		Dir:      "/",
		Args:     []string{"helper"},
		Env:      []string{helperEnv + "=" + mode, "HELPER_VALUE=from-env"},
		Conn:     conn,
		Buffered: buffered,
		Log:      log,
	}
}

// waitDone runs p.Wait in the background.
func waitDone(ctx context.Context, p *privsep.Process) chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.Wait(ctx) }()
	return ch
}

func within(t *testing.T, ch chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("the session process did not end within %v", d)
		return nil
	}
}

const wantIdentity = "uid=12345 gid=12345 groups=[12345] cwd=/ env=from-env"

// TestDirect hands a plain TCP connection with nothing buffered to the child as it is.
func TestDirect(t *testing.T) {
	requireRoot(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, cli := connPair(t)
	p, err := spawner(t, 0).Spawn(spec("echo", srv, nil, log))
	if err != nil {
		t.Fatal(err)
	}
	if p.Proxied() {
		t.Error("a plain connection with nothing buffered was proxied")
	}
	done := waitDone(context.Background(), p)
	l := &lineReader{t, cli, bufio.NewReader(cli)}
	l.expect(wantIdentity)
	l.send("hello\n")
	l.expect("echo: hello")
	l.send("quit\n")
	l.expect("bye")
	if err := within(t, done, 10*time.Second); err != nil {
		t.Errorf("exit: %v", err)
	}
	for _, want := range []string{`msg="session process started"`, "mode=direct", "uid=12345",
		`level=WARN msg="helper log" session.k=v`, `stderr="plain text on stderr"`, `msg="session process ended"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

// TestProxyBuffered: input the server read before the handoff reaches the child first,
// then what the client sends later; the child's last words still reach the client after it
// exits.
func TestProxyBuffered(t *testing.T) {
	requireRoot(t)
	srv, cli := connPair(t)
	p, err := spawner(t, 0).Spawn(spec("echo", srv, []byte("first\nsecond\n"), nil))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Proxied() {
		t.Error("buffered input was not proxied")
	}
	done := waitDone(context.Background(), p)
	l := &lineReader{t, cli, bufio.NewReader(cli)}
	l.expect(wantIdentity)
	l.expect("echo: first")
	l.expect("echo: second")
	l.send("third\n")
	l.expect("echo: third")
	l.send("quit\n")
	l.expect("bye")
	if err := within(t, done, 10*time.Second); err != nil {
		t.Errorf("exit: %v", err)
	}
	// The parent is done with the connection: the caller closes it, the client sees EOF.
	srv.Close()
	_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := l.r.ReadByte(); err == nil {
		t.Errorf("read %q after the session ended", b)
	}
}

// TestProxyTLS: the parent keeps the TLS connection; the child sees plaintext. The client
// ending its side (close_notify) is the child's end of input.
func TestProxyTLS(t *testing.T) {
	requireRoot(t)
	srv, cli := tlsPair(t)
	p, err := spawner(t, 0).Spawn(spec("echo", srv, []byte("early\n"), nil))
	if err != nil {
		t.Fatal(err)
	}
	done := waitDone(context.Background(), p)
	l := &lineReader{t, cli, bufio.NewReader(cli)}
	l.expect(wantIdentity)
	l.expect("echo: early")
	l.send("over tls\n")
	l.expect("echo: over tls")
	if err := cli.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	l.expect("eof")
	if err := within(t, done, 10*time.Second); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// TestTerminate: when the server drains, the child gets SIGTERM and may say goodbye.
func TestTerminate(t *testing.T) {
	requireRoot(t)
	for _, proxied := range []bool{false, true} {
		srv, cli := connPair(t)
		var buffered []byte
		if proxied {
			buffered = []byte("x\n")
		}
		p, err := spawner(t, 10*time.Second).Spawn(spec("term", srv, buffered, nil))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := waitDone(ctx, p)
		l := &lineReader{t, cli, bufio.NewReader(cli)}
		l.expect(wantIdentity)
		if proxied {
			l.expect("echo: x")
		}
		cancel()
		l.expect("terminated")
		if err := within(t, done, 5*time.Second); err != nil {
			t.Errorf("proxied=%v: exit: %v", proxied, err)
		}
	}
}

// TestKill: a child that ignores SIGTERM is killed after KillAfter.
func TestKill(t *testing.T) {
	requireRoot(t)
	srv, cli := connPair(t)
	p, err := spawner(t, 300*time.Millisecond).Spawn(spec("stubborn", srv, []byte("x\n"), nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := waitDone(ctx, p)
	l := &lineReader{t, cli, bufio.NewReader(cli)}
	l.expect(wantIdentity)
	l.expect("echo: x")
	start := time.Now()
	cancel()
	err = within(t, done, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("exit: %v, want killed", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("killed after %v, before KillAfter", d)
	}
}

// TestSpawnErrors: a failure to start leaves the connection to the caller, and root is
// never a session's identity.
func TestSpawnErrors(t *testing.T) {
	requireRoot(t)
	srv, cli := connPair(t)
	sp := spawner(t, 0)
	bad := spec("echo", srv, nil, nil)
	bad.Dir = "/nonexistent/home"
	if _, err := sp.Spawn(bad); err == nil || !strings.Contains(err.Error(), "/nonexistent/home") {
		t.Errorf("spawn in a missing home: %v", err)
	}
	root := spec("echo", srv, nil, nil)
	root.Cred = privsep.Credential{}
	if _, err := sp.Spawn(root); err == nil {
		t.Error("spawned a session process as root")
	}
	// The connection is still the caller's to use.
	if _, err := srv.Write([]byte("still here\n")); err != nil {
		t.Fatal(err)
	}
	l := &lineReader{t, cli, bufio.NewReader(cli)}
	l.expect("still here")
	if _, err := privsep.New(privsep.Options{Executable: "/nonexistent/courier"}).Spawn(spec("echo", srv, nil, nil)); err == nil {
		t.Error("spawned a missing executable")
	}
}
