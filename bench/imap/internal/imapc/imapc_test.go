package imapc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLoopback(t *testing.T) {
	for _, a := range []string{"127.0.0.1:143", "127.1.2.3:10143", "[::1]:143", "localhost:143"} {
		if _, err := Loopback(a); err != nil {
			t.Errorf("Loopback(%q): %v", a, err)
		}
	}
	for _, a := range []string{"10.0.0.1:143", "192.0.2.1:143", "[2001:db8::1]:143", "0.0.0.0:143", "[::]:143"} {
		if _, err := Loopback(a); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Loopback(%q) = %v, want ErrNotLoopback", a, err)
		}
	}
	for _, a := range []string{"127.0.0.1", "127.0.0.1:0", "127.0.0.1:x", "127.0.0.1:70000"} {
		if _, err := Loopback(a); err == nil {
			t.Errorf("Loopback(%q) accepted", a)
		}
	}
	if got, _ := Loopback("127.0.0.1:143"); got != "127.0.0.1:143" {
		t.Errorf("Loopback returned %q", got)
	}
}

func TestDialRefusesNonLoopback(t *testing.T) {
	start := time.Now()
	_, err := Dial("192.0.2.1:143", Options{Timeout: 5 * time.Second})
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("Dial = %v, want ErrNotLoopback", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("Dial tried to connect before refusing")
	}
}

func TestTrailingLiteral(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int64
		ok   bool
		err  bool
	}{
		{"* 1 FETCH (BODY[] {12}", 12, true, false},
		{"* 1 FETCH (BODY[] {0}", 0, true, false},
		{"* 1 FETCH (BODY[] {12+}", 12, true, false},
		{"* OK done", 0, false, false},
		{"* OK {}", 0, false, false},
		{"* OK {x}", 0, false, false},
		{"}", 0, false, false},
		{"* 1 FETCH (BODY[] {99999999999}", 0, false, true},
	} {
		n, ok, err := trailingLiteral([]byte(tc.line))
		if n != tc.n || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("trailingLiteral(%q) = %d %v %v", tc.line, n, ok, err)
		}
	}
}

// fake is the server end of a net.Pipe: the test scripts it line by line.
type fake struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func pipe(t *testing.T, greeting string) (*Conn, *fake, <-chan error) {
	t.Helper()
	cc, sc := net.Pipe()
	t.Cleanup(func() { cc.Close(); sc.Close() })
	_ = cc.SetDeadline(time.Now().Add(10 * time.Second))
	_ = sc.SetDeadline(time.Now().Add(10 * time.Second))
	f := &fake{t: t, nc: sc, r: bufio.NewReader(sc)}
	c := New(cc, 16, 16) // tiny buffers: lines and literals cross buffer boundaries
	done := make(chan error, 1)
	go func() {
		if greeting != "" {
			_, err := io.WriteString(sc, greeting+"\r\n")
			done <- err
		}
	}()
	if greeting != "" {
		r, err := c.ReadResponse()
		if err != nil || r.Line != greeting {
			t.Fatalf("greeting: %q %v", r.Line, err)
		}
		<-done
	}
	return c, f, done
}

func (f *fake) expect(line string) {
	f.t.Helper()
	l, err := f.r.ReadString('\n')
	if err != nil {
		f.t.Errorf("server read: %v", err)
		return
	}
	if got := strings.TrimSuffix(l, "\r\n"); got != line {
		f.t.Errorf("server got %q, want %q", got, line)
	}
}

func (f *fake) send(s string) {
	if _, err := io.WriteString(f.nc, s); err != nil {
		f.t.Errorf("server write: %v", err)
	}
}

// serve runs the script in a goroutine; wait for it with the returned function.
func serve(f *fake, script func()) func() {
	ch := make(chan struct{})
	go func() { defer close(ch); script() }()
	return func() { <-ch }
}

func TestCmdLiteralsAndTracking(t *testing.T) {
	c, f, _ := pipe(t, "* OK IMAP ready")
	wait := serve(f, func() {
		f.expect("a1 SELECT INBOX")
		f.send("* FLAGS (\\Seen)\r\n* 5 EXISTS\r\n* 0 RECENT\r\na1 OK [READ-WRITE] done\r\n")
		f.expect("a2 FETCH 2 (BODY[])")
		lit := "Subject: x\r\n\r\nhello {3}\r\n" // a literal that ends like a literal announcement
		f.send(fmt.Sprintf("* 2 FETCH (UID 7 BODY[] {%d}\r\n%s)\r\n* 3 EXPUNGE\r\na2 OK done\r\n", len(lit), lit))
	})
	if _, err := c.Cmd("SELECT INBOX", false); err != nil {
		t.Fatal(err)
	}
	if c.Exists != 5 {
		t.Errorf("Exists = %d, want 5", c.Exists)
	}
	res, err := c.Cmd("FETCH 2 (BODY[])", true)
	if err != nil {
		t.Fatal(err)
	}
	wait()
	if len(res.Untagged) != 2 || res.Untagged[0] != "* 2 FETCH (UID 7 BODY[] {25})" {
		t.Errorf("untagged = %q", res.Untagged)
	}
	if c.LiteralBytes != 25 {
		t.Errorf("LiteralBytes = %d", c.LiteralBytes)
	}
	if c.Exists != 4 {
		t.Errorf("Exists after EXPUNGE = %d, want 4", c.Exists)
	}
}

func TestStatusErrors(t *testing.T) {
	c, f, _ := pipe(t, "* OK ready")
	wait := serve(f, func() {
		f.expect(`a1 LOGIN "u\"x" "p\\w"`)
		f.send("a1 NO [AUTHENTICATIONFAILED] Login failed.\r\n")
		f.expect("a2 FOO")
		f.send("a2 BAD unknown command\r\n")
		f.expect("a3 NOOP")
		f.send("+ what\r\n")
	})
	err := c.Login(`u"x`, `p\w`)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != "NO" || se.Command != "LOGIN" {
		t.Errorf("Login = %v", err)
	}
	if _, err := c.Cmd("FOO", false); !errors.As(err, &se) || se.Status != "BAD" {
		t.Errorf("FOO = %v", err)
	}
	if _, err := c.Cmd("NOOP", false); err == nil || errors.As(err, &se) {
		t.Errorf("unexpected continuation: %v", err)
	}
	wait()
}

func TestAppend(t *testing.T) {
	c, f, _ := pipe(t, "* OK ready")
	msg := []byte("Subject: hi\r\n\r\nbody\r\n")
	wait := serve(f, func() {
		f.expect(fmt.Sprintf(`a1 APPEND "INBOX" (\Seen) {%d}`, len(msg)))
		f.send("+ Ready for literal\r\n")
		got := make([]byte, len(msg)+2)
		if _, err := io.ReadFull(f.r, got); err != nil || string(got) != string(msg)+"\r\n" {
			t.Errorf("literal %q %v", got, err)
		}
		f.send("* 6 EXISTS\r\na1 OK [APPENDUID 1 9] done\r\n")
		f.expect(fmt.Sprintf(`a2 APPEND "INBOX" {%d}`, len(msg)))
		f.send("a2 NO [OVERQUOTA] too big\r\n")
	})
	if err := c.Append("INBOX", `\Seen`, msg); err != nil {
		t.Fatal(err)
	}
	if c.Exists != 6 {
		t.Errorf("Exists = %d", c.Exists)
	}
	var se *StatusError
	if err := c.Append("INBOX", "", msg); !errors.As(err, &se) || se.Status != "NO" {
		t.Errorf("rejected APPEND = %v", err)
	}
	wait()
}

func TestIdleDoneSelectLogout(t *testing.T) {
	c, f, _ := pipe(t, "* OK ready")
	wait := serve(f, func() {
		f.expect(`a1 SELECT "INBOX.idle"`)
		f.send("* 20 EXISTS\r\na1 OK done\r\n")
		f.expect("a2 IDLE")
		f.send("+ idling\r\n")
		f.expect("DONE")
		f.send("* 21 EXISTS\r\na2 OK IDLE terminated\r\n")
		f.expect(`a3 SELECT "INBOX"`)
		f.send("a3 OK no exists\r\n")
		f.expect("a4 LOGOUT")
		f.send("* BYE bye\r\na4 OK done\r\n")
	})
	if n, err := c.Select("INBOX.idle"); err != nil || n != 20 {
		t.Fatalf("Select = %d %v", n, err)
	}
	if err := c.Idle(); err != nil {
		t.Fatal(err)
	}
	if err := c.Done(); err != nil {
		t.Fatal(err)
	}
	if c.Exists != 21 {
		t.Errorf("Exists = %d", c.Exists)
	}
	if _, err := c.Select("INBOX"); err == nil {
		t.Errorf("SELECT without EXISTS accepted")
	}
	if err := c.Logout(); err != nil {
		t.Errorf("Logout: %v", err)
	}
	wait()
}

func TestBounds(t *testing.T) {
	c, f, _ := pipe(t, "* OK ready")
	wait := serve(f, func() {
		f.expect("a1 FETCH 1 (BODY[])")
		f.send("* 1 FETCH (BODY[] {2000000000}\r\n")
	})
	if _, err := c.Cmd("FETCH 1 (BODY[])", false); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge literal: %v", err)
	}
	wait()

	c, f, _ = pipe(t, "* OK ready")
	wait = serve(f, func() {
		f.expect("a1 NOOP")
		// A line over MaxLine: the client must stop reading it, so write in the background.
		go func() {
			chunk := strings.Repeat("x", 1<<16)
			io.WriteString(f.nc, "* OK ")
			for i := 0; i <= MaxLine>>16; i++ {
				if _, err := io.WriteString(f.nc, chunk); err != nil {
					return
				}
			}
		}()
	})
	if _, err := c.Cmd("NOOP", false); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v", err)
	}
	c.Close()
	wait()
}

func TestGreetingRejected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(nc, "* BYE too many connections\r\n")
			nc.Close()
		}
	}()
	if _, err := Dial(ln.Addr().String(), Options{Timeout: 5 * time.Second}); err == nil || !strings.Contains(err.Error(), "BYE") {
		t.Errorf("Dial with a BYE greeting: %v", err)
	}
}
