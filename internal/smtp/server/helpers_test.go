package server_test

import (
	"crypto/tls"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/queue"
	"courier/internal/testutil"
)

// maildirNew is the demo account's Maildir/new.
func maildirNew(s *testutil.Server) string {
	return filepath.Join(s.Dir, "mail", "example.test", "demo", "Maildir", "new")
}

// delivered returns the messages in demo's Maildir/new.
func delivered(t testing.TB, s *testutil.Server) []string {
	t.Helper()
	ents, err := os.ReadDir(maildirNew(s))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(maildirNew(s), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// waitDelivered waits until demo's Maildir holds n messages, and fails if it ever holds
// more.
func waitDelivered(t testing.TB, s *testutil.Server, n int) []string {
	t.Helper()
	var got []string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		got = delivered(t, s)
		if len(got) >= n {
			break
		}
	}
	if len(got) != n {
		t.Fatalf("Maildir holds %d messages, want %d", len(got), n)
	}
	return got
}

// queued counts the messages in the queue directory (spares, empty or recycled, are not).
func queued(t testing.TB, s *testutil.Server) int {
	t.Helper()
	msgs, err := queue.Scan(filepath.Join(s.Dir, "spool", "msgs"))
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

// ehlo dials a service and reads through the greeting and EHLO reply.
func ehlo(t testing.TB, s *testutil.Server, service string) *testutil.Conn {
	t.Helper()
	c := testutil.Dial(t, s.MustAddr(t, service))
	if service == "smtps" {
		tc := tls.Client(c.Raw(), &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c = testutil.Wrap(t, tc)
	}
	c.ExpectMatch(`^220 example\.test ESMTP$`)
	c.Send("EHLO client.test")
	readEhlo(t, c)
	return c
}

// readEhlo reads a multi-line 250 reply and returns its keywords.
func readEhlo(t testing.TB, c *testutil.Conn) []string {
	t.Helper()
	var kw []string
	for {
		l, err := c.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(l, "250") {
			t.Fatalf("EHLO: %q", l)
		}
		kw = append(kw, l[4:])
		if l[3] == ' ' {
			return kw
		}
	}
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
