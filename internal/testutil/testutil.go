// Package testutil starts whole servers for tests: a quickstart installation in a temporary
// directory, listening on 127.0.0.1 with ports the kernel picks, and a transcript runner that
// talks to a listener line by line and checks every reply.
package testutil

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/internal/app"
	clog "courier/internal/log"
	"courier/internal/netx"
	"courier/internal/quickstart"
)

// Server is a running app made by Start.
type Server struct {
	*app.App
	Dir       string // the quickstart directory
	ConfigDir string // Dir/etc
	Account   string // demo@example.test
	Password  string
}

// Options adjust Start.
type Options struct {
	// Handlers replace protocol servers by service name.
	Handlers map[string]netx.Handler
	// Edit runs after the configuration is written and before the app loads it.
	Edit func(t testing.TB, configDir string)
	// Log receives the app's logs; nil discards them.
	Log *slog.Logger
}

// testRoutes is the esmtproutes of every test server: all remote mail to port 1 of
// 127.0.0.1, where nothing listens (a temporary failure; the mail stays queued).
const testRoutes = "# testutil: remote mail stays queued (nothing listens on port 1)\n: [127.0.0.1],1\n"

// Start sets up a quickstart installation under t.TempDir() with ephemeral ports on
// 127.0.0.1, starts it, and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	res, err := quickstart.Setup(quickstart.Options{Dir: dir, Listen: "127.0.0.1", Ephemeral: true, Password: "demo-Pass-1"})
	if err != nil {
		t.Fatalf("quickstart setup: %v", err)
	}
	// Tests never send mail off the machine nor ask the machine's DNS: every remote domain
	// is routed to a closed loopback port, so its mail is deferred and stays queued. A test
	// that sends mail out rewrites esmtproutes in Edit (routes match first-line-first).
	if err := os.WriteFile(filepath.Join(res.ConfigDir, "esmtproutes"), []byte(testRoutes), 0o644); err != nil {
		t.Fatalf("esmtproutes: %v", err)
	}
	if o.Edit != nil {
		o.Edit(t, res.ConfigDir)
	}
	log := o.Log
	if log == nil {
		log = clog.Discard()
	}
	a, err := app.New(app.Options{ConfigDir: res.ConfigDir, Log: log, Handlers: o.Handlers, DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("app start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	return &Server{App: a, Dir: res.Dir, ConfigDir: res.ConfigDir, Account: res.Account, Password: res.Password}
}

// MustAddr returns the address of a service or fails the test.
func (s *Server) MustAddr(t testing.TB, service string) string {
	t.Helper()
	a := s.Addr(service)
	if a == "" {
		t.Fatalf("service %s is not listening", service)
	}
	return a
}

// Conn is a line-oriented client connection for protocol tests.
type Conn struct {
	t    testing.TB
	c    net.Conn
	r    *bufio.Reader
	Wait time.Duration // how long to wait for a line; default 5 s
}

// Dial connects to addr.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &Conn{t: t, c: c, r: bufio.NewReader(c), Wait: 5 * time.Second}
}

// Wrap makes a Conn of an existing connection (after a TLS handshake, say).
func Wrap(t testing.TB, c net.Conn) *Conn {
	return &Conn{t: t, c: c, r: bufio.NewReader(c), Wait: 5 * time.Second}
}

// Raw returns the underlying connection.
func (c *Conn) Raw() net.Conn { return c.c }

// Send writes one line, adding CRLF.
func (c *Conn) Send(line string) {
	c.t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(c.Wait))
	if _, err := io.WriteString(c.c, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// ReadLine reads one line without its CRLF.
func (c *Conn) ReadLine() (string, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(c.Wait))
	l, err := c.r.ReadString('\n')
	if err != nil {
		return strings.TrimRight(l, "\r\n"), err
	}
	return strings.TrimRight(l, "\r\n"), nil
}

// Expect reads one line and fails unless it equals want.
func (c *Conn) Expect(want string) {
	c.t.Helper()
	got, err := c.ReadLine()
	if err != nil {
		c.t.Fatalf("expecting %q: %v (got %q)", want, err, got)
	}
	if got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// ExpectMatch reads one line and fails unless it matches the regular expression.
func (c *Conn) ExpectMatch(re string) string {
	c.t.Helper()
	got, err := c.ReadLine()
	if err != nil {
		c.t.Fatalf("expecting /%s/: %v (got %q)", re, err, got)
	}
	if !regexp.MustCompile(re).MatchString(got) {
		c.t.Fatalf("got %q, want a match for /%s/", got, re)
	}
	return got
}

// ExpectClosed fails unless the server closes the connection (after any lines given).
func (c *Conn) ExpectClosed() {
	c.t.Helper()
	got, err := c.ReadLine()
	if err == nil {
		c.t.Fatalf("got %q, want the connection closed", got)
	}
}

// Transcript runs a script against the connection. Each line starts with a marker:
//
//	C: text   send text
//	S: text   expect exactly text
//	S~ re     expect a line matching the regular expression
//	# …       comment; blank lines are ignored
func (c *Conn) Transcript(script string) {
	c.t.Helper()
	for n, line := range strings.Split(script, "\n") {
		line = strings.TrimLeft(line, " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < 3 {
			c.t.Fatalf("transcript line %d: %q has no marker", n+1, line)
		}
		marker, text := line[:3], line[3:]
		switch marker {
		case "C: ":
			c.Send(text)
		case "S: ":
			c.Expect(text)
		case "S~ ":
			c.ExpectMatch(text)
		default:
			c.t.Fatalf("transcript line %d: unknown marker %q", n+1, marker)
		}
	}
}

// EchoHandler is a tiny line protocol for testing the server core: it greets with
// "* OK ready <conn id>", answers each line with "echo: LINE", ends on "QUIT", and refuses
// with "* BYE <reason>" as IMAP does.
type EchoHandler struct {
	mu       sync.Mutex
	Sessions int // sessions started
}

// ServeConn implements netx.Handler.
func (h *EchoHandler) ServeConn(ctx context.Context, c *netx.Conn) {
	defer c.Close()
	h.mu.Lock()
	h.Sessions++
	h.mu.Unlock()
	fmt.Fprintf(c, "* OK ready %s\r\n", c.ID)
	go func() { <-ctx.Done(); c.Close() }()
	r := bufio.NewScanner(c)
	for r.Scan() {
		line := strings.TrimRight(r.Text(), "\r")
		if line == "QUIT" {
			fmt.Fprintf(c, "* BYE\r\n")
			return
		}
		fmt.Fprintf(c, "echo: %s\r\n", line)
	}
}

// Refuse implements netx.Handler.
func (h *EchoHandler) Refuse(c net.Conn, reason string) {
	fmt.Fprintf(c, "* BYE %s\r\n", reason)
}
