package app_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"courier/internal/testutil"
)

// startPair starts two servers on 127.0.0.1: dest, which takes mail for example.net (an
// alias of its example.test, so demo@example.net is its demo account), and src, whose
// esmtproutes sends example.net to dest's SMTP port.
func startPair(t testing.TB) (src, dest *testutil.Server) {
	t.Helper()
	dest = testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		appendTo(t, filepath.Join(dir, "hosteddomains"), "example.net example.test\n")
	}})
	smtpAddr := dest.MustAddr(t, "smtp")
	_, port, _ := net.SplitHostPort(smtpAddr)
	src = testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		// first: testutil's catch-all route keeps every other domain's mail queued
		prependTo(t, filepath.Join(dir, "esmtproutes"), "example.net: 127.0.0.1,"+port+"\n")
	}})
	return src, dest
}

func appendTo(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func prependTo(t testing.TB, path, text string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(text), old...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// submit sends a message through s's submission service as its demo account.
func submit(t testing.TB, s *testutil.Server, to []string, msg string) {
	t.Helper()
	c, err := smtp.Dial(s.MustAddr(t, "submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", s.Account, s.Password)); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.SendMail(s.Account, to, strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		t.Fatalf("send: %v", err)
	}
	_ = c.Quit()
}

// inbox returns the messages in new/ of a server's demo Maildir.
func inbox(t testing.TB, s *testutil.Server) []string {
	t.Helper()
	dir := filepath.Join(s.Dir, "mail", "example.test", "demo", "Maildir", "new")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

func waitInbox(t testing.TB, s *testutil.Server, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs := inbox(t, s)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages in %s's inbox, want %d", len(msgs), s.Dir, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOutboundRelay: mail submitted to one server for demo@example.net crosses, through
// esmtproutes, to the other server's Maildir; the recipient the other server does not know
// comes back to the sender as a multipart/report notification with the peer's 5.1.1.
func TestOutboundRelay(t *testing.T) {
	src, dest := startPair(t)
	submit(t, src, []string{"demo@example.net", "nobody@example.net"},
		"From: demo@example.test\nTo: demo@example.net\nSubject: across\n\nHello over there.\n")
	got := waitInbox(t, dest, 1)
	if len(got) != 1 || !strings.Contains(got[0], "Subject: across") || !strings.Contains(got[0], "Hello over there.") {
		t.Fatalf("destination inbox: %q", got)
	}
	if !strings.Contains(got[0], "Return-Path: <demo@example.test>") {
		t.Errorf("envelope sender lost: %q", got[0])
	}
	bounce := waitInbox(t, src, 1)
	if len(bounce) != 1 {
		t.Fatalf("sender inbox: %q", bounce)
	}
	b := bounce[0]
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "Action: failed",
		"Status: 5.1.1", "nobody@example.net", "Return-Path: <>"} {
		if !strings.Contains(b, want) {
			t.Errorf("notification lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(b, "Final-Recipient: rfc822; demo@example.net") {
		t.Errorf("the delivered recipient is reported too:\n%s", b)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(inbox(t, dest)); n != 1 {
		t.Errorf("%d copies at the destination, want 1", n)
	}
}

// BenchmarkOutboundRelay measures relaying from one server to another over loopback: 20
// authenticated submission connections send 4 KB messages to demo@example.net; the clock
// stops when the last one is in the destination's Maildir. Both servers fsync as in
// production (queue files, Maildir files). It reports messages per second.
func BenchmarkOutboundRelay(b *testing.B) {
	src, dest := startPair(b)
	const conns = 20
	line := strings.Repeat("0123456789abcdef", 4) + "\n" // 65 octets
	var body strings.Builder
	body.WriteString("From: demo@example.test\nTo: demo@example.net\nSubject: bench\n\n")
	for body.Len() < 4096 {
		body.WriteString(line)
	}
	msg := strings.ReplaceAll(body.String(), "\n", "\r\n")
	clients := make([]*smtp.Client, conns)
	for i := range clients {
		c, err := smtp.Dial(src.MustAddr(b, "submission"))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Hello("bench.test"); err != nil {
			b.Fatal(err)
		}
		if err := c.Auth(sasl.NewPlainClient("", src.Account, src.Password)); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
		defer c.Close()
	}
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	errs := make(chan error, conns)
	b.ResetTimer()
	start := time.Now()
	for _, c := range clients {
		go func() {
			for range work {
				if err := c.SendMail(src.Account, []string{"demo@example.net"}, strings.NewReader(msg)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	accepted := time.Since(start)
	dir := filepath.Join(dest.Dir, "mail", "example.test", "demo", "Maildir", "new")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ents, _ := os.ReadDir(dir)
		if len(ents) >= b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages arrived", len(ents), b.N)
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted-msgs/s")
}
