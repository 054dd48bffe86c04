package esmtp_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	clog "courier/internal/log"
	"courier/internal/netx"
	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// txn is one transaction a peer received.
type txn struct {
	from     string
	mailOpts smtp.MailOptions
	rcpts    []string
	rcptOpts []smtp.RcptOptions
	data     []byte
	tls      bool
	helo     string
	authUser string
}

// peer is a real SMTP server (go-smtp's) on 127.0.0.1 that records what it receives and
// answers as told.
type peer struct {
	srv  *smtp.Server
	addr string
	port int

	mu       sync.Mutex
	sessions int
	txns     []txn
	// rcptErr, when set, answers RCPT TO (nil accepts).
	rcptErr func(to string) error
	// dataErr, when set, answers the final dot.
	dataErr error
	// users allowed to AUTH PLAIN (user → password); nil offers no AUTH.
	users map[string]string
}

type peerSession struct {
	p    *peer
	c    *smtp.Conn
	cur  txn
	user string
}

func (s *peerSession) Reset()        { s.cur = txn{} }
func (s *peerSession) Logout() error { return nil }
func (s *peerSession) Mail(from string, opts *smtp.MailOptions) error {
	s.cur = txn{from: from, helo: s.c.Hostname(), authUser: s.user}
	if opts != nil {
		s.cur.mailOpts = *opts
	}
	_, s.cur.tls = s.c.TLSConnectionState()
	return nil
}
func (s *peerSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.p.mu.Lock()
	f := s.p.rcptErr
	s.p.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.cur.rcpts = append(s.cur.rcpts, to)
	if opts != nil {
		s.cur.rcptOpts = append(s.cur.rcptOpts, *opts)
	} else {
		s.cur.rcptOpts = append(s.cur.rcptOpts, smtp.RcptOptions{})
	}
	return nil
}
func (s *peerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.dataErr != nil {
		return s.p.dataErr
	}
	s.cur.data = b
	s.p.txns = append(s.p.txns, s.cur)
	return nil
}

// AuthMechanisms and Auth make the session an smtp.AuthSession.
func (s *peerSession) AuthMechanisms() []string {
	if s.p.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}
func (s *peerSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if s.p.users[user] != pass || pass == "" {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

// startPeer starts a peer; withTLS offers STARTTLS with a self-signed certificate.
func startPeer(t *testing.T, withTLS bool, adjust ...func(*smtp.Server)) *peer {
	t.Helper()
	p := &peer{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		p.mu.Lock()
		p.sessions++
		p.mu.Unlock()
		return &peerSession{p: p, c: c}, nil
	}))
	s.Domain = "peer.test"
	s.EnableDSN, s.EnableSMTPUTF8 = true, true
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = 1 << 20
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		pem, err := netx.SelfSigned([]string{"peer.test"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(pem, pem)
		if err != nil {
			t.Fatal(err)
		}
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	for _, f := range adjust {
		f(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	p.srv = s
	p.addr = ln.Addr().String()
	p.port = ln.Addr().(*net.TCPAddr).Port
	return p
}

func (p *peer) transactions() []txn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]txn(nil), p.txns...)
}

func (p *peer) sessionCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions
}

// closedPort returns a port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// notes records the queue's notifications.
type notes struct {
	mu sync.Mutex
	n  map[string][]queue.Notice
}

func (n *notes) Notify(ctx context.Context, m *queue.Message, ns []queue.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.n[m.ID] = append(n.n[m.ID], ns...)
	return nil
}

func (n *notes) of(id string) []queue.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]queue.Notice(nil), n.n[id]...)
}

// harness is a real queue delivering through a transport.
type harness struct {
	t     *testing.T
	q     *queue.Queue
	tr    *esmtp.Transport
	notes *notes
	conf  string
}

// newHarness opens a queue whose Deliverer is a transport reading conf (a config dir);
// retries wait an hour, so a test sees exactly one attempt until it calls Flush.
func newHarness(t *testing.T, o esmtp.Options) *harness {
	t.Helper()
	return newHarnessN(t, o, 2)
}

// newHarnessN is newHarness with that many queue workers (deliveries at once).
func newHarnessN(t *testing.T, o esmtp.Options, workers int) *harness {
	t.Helper()
	if o.ConfigDir == "" {
		o.ConfigDir = t.TempDir()
	}
	if o.Log == nil {
		o.Log = clog.Discard()
	}
	if o.Hostname == "" {
		o.Hostname = "sender.test"
	}
	if o.Resolver == nil {
		o.Resolver = esmtp.NewDNSResolver(deadDNS(t))
	}
	tr, err := esmtp.New(o)
	if err != nil {
		t.Fatal(err)
	}
	n := &notes{n: map[string][]queue.Notice{}}
	q, err := queue.Open(queue.Options{Dir: filepath.Join(t.TempDir(), "q"), Deliverer: tr, Notifier: n, NoSync: true,
		Workers: workers, RetryDelays: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Close(ctx)
		tr.Close()
	})
	return &harness{t: t, q: q, tr: tr, notes: n, conf: o.ConfigDir}
}

// deadDNS returns the address of a UDP port nobody answers on, so that a test that
// should not reach DNS fails fast instead of asking the machine's resolver.
func deadDNS(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// write writes a control file of the harness's configuration.
func (h *harness) write(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.conf, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

const body = "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\nSubject: hello\nFrom: a@sender.test\n\nline one\n.dot line\nlast\n"

// send queues a message and returns its id.
func (h *harness) send(env *queue.Envelope, content string) string {
	h.t.Helper()
	if env.Time.IsZero() {
		env.Time = time.Now()
	}
	w, err := h.q.Create(env)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := io.WriteString(w, content); err != nil {
		h.t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		h.t.Fatal(err)
	}
	return w.ID()
}

func rcpts(addrs ...string) []queue.Recipient {
	var out []queue.Recipient
	for _, a := range addrs {
		out = append(out, queue.Recipient{Addr: a})
	}
	return out
}

// info returns the queue's entry for id, or nil when the message has left the queue.
func (h *harness) info(id string) *queue.Info {
	for _, in := range h.q.List() {
		if in.ID == id {
			return &in
		}
	}
	return nil
}

// waitGone waits until the message has left the queue (delivered or failed for good).
func (h *harness) waitGone(id string) {
	h.t.Helper()
	waitFor(h.t, "message "+id+" to leave the queue", func() bool { return h.info(id) == nil })
}

// waitDeferred waits until an attempt at id ended with a temporary failure and returns it.
func (h *harness) waitDeferred(id string) string {
	h.t.Helper()
	var last string
	waitFor(h.t, "message "+id+" to be deferred", func() bool {
		in := h.info(id)
		if in != nil {
			last = in.LastErr
		}
		return in != nil && in.LastErr != ""
	})
	return last
}

// waitFor polls cond (deliveries happen in the queue's own goroutines).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func route(domain string, port int) string {
	return domain + ": 127.0.0.1," + strconv.Itoa(port) + "\n"
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

var errTemp = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
