package server_test

import (
	"crypto/tls"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"courier/internal/queue"
	"courier/internal/testutil"
)

// TestRequireTLSInbound (RFC 8689 section 2): REQUIRETLS is offered only inside TLS; MAIL
// FROM with REQUIRETLS in clear is refused with 530 5.7.10; over TLS it is accepted and
// recorded in the queued message's envelope (here a relayed message, which stays queued
// since the test's routes lead nowhere), together with the relaying privilege of the
// client (AUTH) that ESMTP_BLOCKBACKSCATTER looks at.
func TestRequireTLSInbound(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.ExpectMatch(`^220 `)
	c.Send("EHLO client.test")
	if kw := readEhlo(t, c); slices.Contains(kw, "REQUIRETLS") {
		t.Fatalf("REQUIRETLS offered in clear: %v", kw)
	}
	c.Transcript(`
		C: MAIL FROM:<a@b.test> REQUIRETLS
		S: 530 5.7.10 REQUIRETLS needs a TLS session (STARTTLS first).
		C: STARTTLS
		S: 220 2.0.0 Ready to start TLS.
	`)
	tc := tls.Client(c.Raw(), &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c2 := testutil.Wrap(t, tc)
	c2.Send("EHLO client.test")
	if kw := readEhlo(t, c2); !slices.Contains(kw, "REQUIRETLS") {
		t.Fatalf("REQUIRETLS not offered over TLS: %v", kw)
	}
	c2.Transcript(`
		C: AUTH PLAIN ` + plain("demo@example.test", "demo-Pass-1") + `
		S: 235 2.7.0 Authentication successful.
		C: MAIL FROM:<demo@example.test> REQUIRETLS=yes
		S: 501 5.5.4 REQUIRETLS takes no value.
		C: MAIL FROM:<demo@example.test> REQUIRETLS
		S: 250 2.1.0 Ok.
		C: RCPT TO:<someone@elsewhere.test>
		S: 250 2.1.5 Ok.
		C: DATA
	`)
	c2.ExpectMatch(`^354 `)
	io.WriteString(tc, "Subject: secret\r\n\r\nhush\r\n.\r\n")
	c2.ExpectMatch(`^250 2\.0\.0 `)
	spool := filepath.Join(s.Dir, "spool", "msgs")
	var got *queue.Envelope
	for end := time.Now().Add(10 * time.Second); got == nil && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		st, err := queue.Scan(spool)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st {
			if len(m.Env.Rcpts) == 1 && m.Env.Rcpts[0].Addr == "someone@elsewhere.test" {
				got = m.Env
			}
		}
	}
	if got == nil || !got.RequireTLS || !got.RelayClient {
		t.Fatalf("queued envelope %+v, want RequireTLS and RelayClient", got)
	}
}
