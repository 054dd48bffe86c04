package esmtp_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// TestOutboundBatch: a message for three recipients at one domain and one at another is
// sent in two transactions (three recipients, then one) over one kept session, with the
// message intact (dot-stuffing, CRLF), the EHLO name of esmtphelo, and SIZE, 8BITMIME and
// the DSN parameters passed on.
func TestOutboundBatch(t *testing.T) {
	p := startPeer(t, false)
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", "# test routes\n"+route("example.net", p.port)+route(".example.org", p.port))
	h.write("esmtphelo", "relay.sender.test\n")
	env := &queue.Envelope{From: "a@sender.test", Ret: "HDRS", EnvID: "env-1",
		Rcpts: rcpts("x@example.net", "y@example.net", "z@sub.example.org", "w@EXAMPLE.NET")}
	env.Rcpts[0].Notify = "SUCCESS,FAILURE"
	env.Rcpts[1].ORCPT = "rfc822;list@sender.test"
	id := h.send(env, body)
	h.waitGone(id)
	txns := p.transactions()
	if len(txns) != 2 {
		t.Fatalf("got %d transactions, want 2: %+v", len(txns), txns)
	}
	if got := strings.Join(txns[0].rcpts, " "); got != "x@example.net y@example.net w@EXAMPLE.NET" {
		t.Errorf("first transaction to %q", got)
	}
	if got := strings.Join(txns[1].rcpts, " "); got != "z@sub.example.org" {
		t.Errorf("second transaction to %q", got)
	}
	if n := p.sessionCount(); n != 1 {
		t.Errorf("%d sessions, want 1 (the session is kept between transactions)", n)
	}
	tx := txns[0]
	if string(tx.data) != crlf(body) {
		t.Errorf("data %q, want %q", tx.data, crlf(body))
	}
	if tx.helo != "relay.sender.test" {
		t.Errorf("EHLO %q, want esmtphelo's name", tx.helo)
	}
	if tx.from != "a@sender.test" || tx.mailOpts.Size != int64(len(body)) || tx.mailOpts.Body != smtp.Body8BitMIME ||
		tx.mailOpts.Return != smtp.DSNReturnHeaders || tx.mailOpts.EnvelopeID != "env-1" {
		t.Errorf("MAIL FROM %q %+v", tx.from, tx.mailOpts)
	}
	if n := tx.rcptOpts[0].Notify; len(n) != 2 || n[0] != smtp.DSNNotifySuccess || n[1] != smtp.DSNNotifyFailure {
		t.Errorf("NOTIFY %v", n)
	}
	if o := tx.rcptOpts[1]; o.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || o.OriginalRecipient != "list@sender.test" {
		t.Errorf("ORCPT %+v", o)
	}
	if tx.tls {
		t.Errorf("TLS without STARTTLS offered?")
	}
}

// TestOutboundSTARTTLS: a peer offering STARTTLS gets the message over TLS.
func TestOutboundSTARTTLS(t *testing.T) {
	p := startPeer(t, true)
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", route("example.net", p.port))
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	h.waitGone(id)
	if txns := p.transactions(); len(txns) != 1 || !txns[0].tls || txns[0].helo != "sender.test" {
		t.Fatalf("transactions %+v, want one over TLS", txns)
	}
}

// TestOutboundSecurityRequired: /SECURITY=REQUIRED refuses a peer without STARTTLS (a
// temporary failure), and /SECURITY=NONE does not start TLS with a peer offering it.
func TestOutboundSecurity(t *testing.T) {
	plain := startPeer(t, false)
	withTLS := startPeer(t, true)
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", "example.net: 127.0.0.1,"+itoa(plain.port)+" /SECURITY=REQUIRED\n"+
		"example.org: [127.0.0.1],"+itoa(withTLS.port)+"/SECURITY=NONE\n")
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	if why := h.waitDeferred(id); !strings.HasPrefix(why, "4.7.4") {
		t.Errorf("deferred with %q, want 4.7.4 (no STARTTLS)", why)
	}
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.org")}, body)
	h.waitGone(id)
	if txns := withTLS.transactions(); len(txns) != 1 || txns[0].tls {
		t.Fatalf("transactions %+v, want one in clear", txns)
	}
}

// TestOutboundPermanentFailure: a 5xx reply to one RCPT fails that recipient with the
// peer's reply (status first, for the notification); the others are delivered.
func TestOutboundPermanentFailure(t *testing.T) {
	p := startPeer(t, false)
	p.rcptErr = func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: unknown user"}
		}
		return nil
	}
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", route("example.net", p.port))
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net", "nobody@example.net")}, body)
	h.waitGone(id)
	ns := h.notes.of(id)
	if len(ns) != 1 || ns[0].Rcpt != 1 || ns[0].Kind != queue.NoticeFailed {
		t.Fatalf("notices %+v, want one failure for recipient 1", ns)
	}
	why := ns[0].Err.Error()
	if !strings.HasPrefix(why, "5.1.1 ") || !strings.Contains(why, "550 5.1.1 <nobody@example.net>: unknown user") {
		t.Errorf("reason %q", why)
	}
	if txns := p.transactions(); len(txns) != 1 || len(txns[0].rcpts) != 1 {
		t.Errorf("transactions %+v", txns)
	}
	// a 5xx to the message itself fails every recipient
	p.mu.Lock()
	p.dataErr = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "content refused"}
	p.mu.Unlock()
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net", "y@example.net")}, body)
	h.waitGone(id)
	if ns := h.notes.of(id); len(ns) != 2 || !strings.HasPrefix(ns[0].Err.Error(), "5.6.0 ") {
		t.Errorf("notices %+v", ns)
	}
}

// TestOutboundTemporaryFailures: a 451 to RCPT or to the message, a closed port and a peer
// that hangs up all defer the message (no waiting: retries are an hour away).
func TestOutboundTemporaryFailures(t *testing.T) {
	p := startPeer(t, false)
	p.rcptErr = func(string) error { return errTemp }
	h := newHarness(t, esmtp.Options{})
	hangup, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangup.Close()
	go func() {
		for {
			c, err := hangup.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	h.write("esmtproutes", route("rcpt.test", p.port)+route("closed.test", closedPort(t))+
		route("hangup.test", hangup.Addr().(*net.TCPAddr).Port))
	cases := map[string]string{
		"x@rcpt.test":   "4.3.0 ",
		"x@closed.test": "4.4.1 ",
		"x@hangup.test": "4.4.2 ",
	}
	for rcpt, want := range cases {
		id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts(rcpt)}, body)
		if why := h.waitDeferred(id); !strings.HasPrefix(why, want) {
			t.Errorf("%s: deferred with %q, want %q…", rcpt, why, want)
		}
	}
	p.mu.Lock()
	p.rcptErr, p.dataErr = nil, errTemp
	p.mu.Unlock()
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("y@rcpt.test")}, body)
	if why := h.waitDeferred(id); !strings.Contains(why, "451 4.3.0 try again later") {
		t.Errorf("deferred with %q", why)
	}
	if len(h.notes.of(id)) != 0 {
		t.Errorf("a temporary failure was notified")
	}
}

// TestOutboundPartialRetry: when the peer defers one recipient of three, the retry sends
// the message to that one only: nobody gets it twice.
func TestOutboundPartialRetry(t *testing.T) {
	p := startPeer(t, false)
	p.rcptErr = func(to string) error {
		if to == "y@example.net" {
			return errTemp
		}
		return nil
	}
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", route("example.net", p.port))
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net", "y@example.net", "z@example.net")}, body)
	h.waitDeferred(id)
	p.mu.Lock()
	p.rcptErr = nil
	p.mu.Unlock()
	h.q.Flush()
	h.waitGone(id)
	txns := p.transactions()
	var got []string
	for _, tx := range txns {
		got = append(got, strings.Join(tx.rcpts, ","))
	}
	if strings.Join(got, " | ") != "x@example.net,z@example.net | y@example.net" {
		t.Errorf("transactions %q", got)
	}
}

// TestOutboundRoutesReread: esmtproutes applies as soon as it changes, without a restart.
func TestOutboundRoutesReread(t *testing.T) {
	p := startPeer(t, false)
	var offset atomic.Int64
	h := newHarness(t, esmtp.Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	h.write("esmtproutes", route("example.net", closedPort(t)))
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	h.waitDeferred(id)
	h.write("esmtproutes", route("example.net", p.port))
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(h.conf, "esmtproutes"), future, future); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(2 * time.Second)) // the files are looked at once a second at most
	h.q.Flush()
	h.waitGone(id)
	if len(p.transactions()) != 1 {
		t.Fatal("not delivered through the new route")
	}
}

// TestOutboundAuthClient: esmtpauthclient's credentials log in to the relay.
func TestOutboundAuthClient(t *testing.T) {
	p := startPeer(t, false)
	p.users = map[string]string{"relayuser": "s3cret"}
	var offset atomic.Int64
	h := newHarness(t, esmtp.Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	h.write("esmtproutes", ": [127.0.0.1],"+itoa(p.port)+"\n")
	h.write("esmtpauthclient", "[127.0.0.1] relayuser s3cret\n")
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@anywhere.test")}, body)
	h.waitGone(id)
	if txns := p.transactions(); len(txns) != 1 || txns[0].authUser != "relayuser" {
		t.Fatalf("transactions %+v, want one as relayuser", txns)
	}
	// a wrong password is a temporary failure (the relay may be misconfigured for a while)
	h.write("esmtpauthclient", "[127.0.0.1] relayuser wrong\n")
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(h.conf, "esmtpauthclient"), future, future); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(2 * time.Second)) // the files are looked at once a second at most
	h.tr.CloseIdle()                     // kept sessions are logged in already (as Courier's)
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("y@anywhere.test")}, body)
	if why := h.waitDeferred(id); !strings.HasPrefix(why, "4.7.0") {
		t.Errorf("deferred with %q", why)
	}
}

// TestOutboundSizeAndUTF8: a message larger than the peer's SIZE fails with 5.3.4; a
// non-ASCII address goes with SMTPUTF8 to a peer offering it.
func TestOutboundSizeAndUTF8(t *testing.T) {
	small := startPeer(t, false, func(s *smtp.Server) { s.MaxMessageBytes = 64 })
	p := startPeer(t, false)
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", route("small.test", small.port)+route("example.net", p.port))
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@small.test")}, body+strings.Repeat("x", 100)+"\n")
	h.waitGone(id)
	if ns := h.notes.of(id); len(ns) != 1 || !strings.HasPrefix(ns[0].Err.Error(), "5.3.4 ") {
		t.Fatalf("notices %+v", ns)
	}
	id = h.send(&queue.Envelope{From: "a@sender.test", SMTPUTF8: true, Rcpts: rcpts("jösé@example.net")}, "Subject: x\n\nhi\n")
	h.waitGone(id)
	if txns := p.transactions(); len(txns) != 1 || !txns[0].mailOpts.UTF8 || txns[0].rcpts[0] != "jösé@example.net" {
		t.Fatalf("transactions %+v", txns)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestOutboundAlreadyDelivered: the journal lets a transport of a later process recognise
// the recipients peers accepted, and only those.
func TestOutboundAlreadyDelivered(t *testing.T) {
	p := startPeer(t, false)
	p.rcptErr = func(to string) error {
		if to == "y@example.net" {
			return errTemp
		}
		return nil
	}
	journal := filepath.Join(t.TempDir(), "esmtp-delivered")
	h := newHarness(t, esmtp.Options{JournalPath: journal})
	h.write("esmtproutes", route("example.net", p.port))
	env := &queue.Envelope{From: "a@sender.test", Time: time.Now(), Rcpts: rcpts("x@example.net", "y@example.net")}
	id := h.send(env, body)
	h.waitDeferred(id)
	later, err := esmtp.New(esmtp.Options{ConfigDir: h.conf, JournalPath: journal})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	m := &queue.Message{ID: id, Env: env}
	for i, want := range []bool{true, false} {
		if got, err := later.AlreadyDelivered(t.Context(), m, i); err != nil || got != want {
			t.Errorf("recipient %d: %v %v, want %v", i, got, err, want)
		}
	}
}

// TestOutboundTLSFailure: when the handshake fails, opportunistic TLS goes on in clear
// (and remembers the peer); a route requiring TLS defers instead.
func TestOutboundTLSFailure(t *testing.T) {
	p := startPeer(t, false, func(s *smtp.Server) { s.TLSConfig = &tls.Config{} }) // STARTTLS offered, no certificate
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", route("example.net", p.port)+"example.org: [127.0.0.1],"+itoa(p.port)+" /SECURITY=REQUIRED\n")
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	h.waitGone(id)
	if txns := p.transactions(); len(txns) != 1 || txns[0].tls {
		t.Fatalf("transactions %+v, want one in clear", txns)
	}
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.org")}, body)
	if why := h.waitDeferred(id); !strings.HasPrefix(why, "4.7.5 ") {
		t.Errorf("deferred with %q, want 4.7.5", why)
	}
}
