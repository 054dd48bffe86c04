package esmtp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// zone is a DNS server on 127.0.0.1 (UDP) whose records a test may change while it runs;
// names without records are NXDOMAIN. With ad set, answers carry the AD bit (RFC 4035
// section 3.2.3), as a validating resolver's do for secure data.
type zone struct {
	addr string
	mu   sync.Mutex
	rrs  map[string][]dns.RR
	ad   bool
}

func startZone(t *testing.T, records ...string) *zone {
	t.Helper()
	z := &zone{}
	z.set(t, records...)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		z.mu.Lock()
		rrs, ok := z.rrs[strings.ToLower(q.Name)]
		m.AuthenticatedData = z.ad
		z.mu.Unlock()
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	z.addr = pc.LocalAddr().String()
	return z
}

// set replaces the zone's records (zone-file syntax).
func (z *zone) set(t *testing.T, records ...string) {
	t.Helper()
	m := map[string][]dns.RR{}
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		n := strings.ToLower(rr.Header().Name)
		m[n] = append(m[n], rr)
	}
	z.mu.Lock()
	z.rrs = m
	z.mu.Unlock()
}

func (z *zone) setAD(ad bool) { z.mu.Lock(); z.ad = ad; z.mu.Unlock() }

// testCA is a certificate authority of the test: its pool, and certificates it issues.
type testCA struct {
	pool *x509.CertPool
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{pool: pool, cert: cert, key: key}
}

// issue makes a server certificate for names, with the CA's certificate in its chain.
func (ca *testCA) issue(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}
}

// policyServer serves MTA-STS policy files over HTTPS with a certificate of ca for every
// mta-sts.DOMAIN it is told of; client is an HTTP client that trusts ca and reaches this
// server whatever host it asks for (as DNS would send it there).
type policyServer struct {
	srv      *httptest.Server
	client   *http.Client
	mu       sync.Mutex
	policies map[string]string // host → policy text
	fetches  atomic.Int32
}

func startPolicyServer(t *testing.T, ca *testCA, domains ...string) *policyServer {
	t.Helper()
	ps := &policyServer{policies: map[string]string{}}
	var names []string
	for _, d := range domains {
		names = append(names, "mta-sts."+d)
	}
	ps.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.fetches.Add(1)
		ps.mu.Lock()
		text, ok := ps.policies[r.Host]
		ps.mu.Unlock()
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, text)
	}))
	ps.srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, names...)}}
	ps.srv.StartTLS()
	t.Cleanup(ps.srv.Close)
	addr := ps.srv.Listener.Addr().String()
	ps.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	return ps
}

func (ps *policyServer) set(domain, policy string) {
	ps.mu.Lock()
	ps.policies["mta-sts."+domain] = strings.ReplaceAll(policy, "\n", "\r\n")
	ps.mu.Unlock()
}

// mxZone is example.net's zone: MX mx.example.net on 127.0.0.1, and an MTA-STS record
// with id.
func mxZone(id string, extra ...string) []string {
	recs := []string{
		"example.net. 300 IN MX 10 mx.example.net.",
		"mx.example.net. 300 IN A 127.0.0.1",
	}
	if id != "" {
		recs = append(recs, `_mta-sts.example.net. 300 IN TXT "v=STSv1; id=`+id+`;"`)
	}
	return append(recs, extra...)
}

// TestMTASTS: example.net publishes an enforce policy naming mx.example.net, fetched over
// HTTPS from a server of the test (its certificate from the test's CA). A peer that offers
// no STARTTLS is refused (the message is deferred and never sent in clear); a peer whose
// certificate is not valid for the MX name under the roots is refused too; one with a good
// certificate gets the message over TLS. An MX host the policy does not name is never
// used. The policy is fetched once per id, and again when DNS announces a new id; a policy
// in testing mode lets the message go in clear (a warning is logged).
func TestMTASTS(t *testing.T) {
	ca := newCA(t)
	ps := startPolicyServer(t, ca, "example.net")
	ps.set("example.net", "version: STSv1\nmode: enforce\nmx: mx.example.net\nmx: *.backup.example.net\nmax_age: 86400\n")
	z := startZone(t, mxZone("1")...)

	// 1. no STARTTLS: deferred, nothing sent
	plain := startPeer(t, false)
	h := newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: plain.port, HTTPClient: ps.client, RootCAs: ca.pool})
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	why := h.waitDeferred(id)
	if !strings.Contains(why, "STARTTLS") || !strings.Contains(why, "MTA-STS") {
		t.Errorf("deferred with %q", why)
	}
	if n := len(plain.transactions()); n != 0 {
		t.Fatalf("%d transactions in clear despite an enforce policy", n)
	}
	if n := ps.fetches.Load(); n != 1 {
		t.Errorf("%d policy fetches, want 1", n)
	}

	// 2. STARTTLS with a certificate the roots do not vouch for: deferred, never in clear
	selfSigned := startPeer(t, true)
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: selfSigned.port, HTTPClient: ps.client, RootCAs: ca.pool})
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	if why := h.waitDeferred(id); !strings.Contains(why, "certificate") {
		t.Errorf("deferred with %q", why)
	}
	if n := len(selfSigned.transactions()); n != 0 {
		t.Fatalf("%d transactions despite a bad certificate", n)
	}

	// 3. a certificate for mx.example.net from the CA: delivered over TLS; the cached
	// policy serves the next message without a fetch
	good := startPeer(t, false, func(s *smtp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "mx.example.net", "other.example.org")}}
	})
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: good.port, HTTPClient: ps.client, RootCAs: ca.pool})
	before := ps.fetches.Load()
	for range 2 {
		id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
		h.waitGone(id)
		if ns := h.notes.of(id); len(ns) != 0 {
			t.Fatalf("notices %+v", ns)
		}
	}
	txns := good.transactions()
	if len(txns) != 2 || !txns[0].tls || !txns[1].tls {
		t.Fatalf("transactions %+v", txns)
	}
	if n := ps.fetches.Load() - before; n != 1 {
		t.Errorf("%d fetches for two messages, want 1 (cached by id)", n)
	}

	// 4. the MX moves to a host the policy does not name: deferred with 4.7.5
	z.set(t, `_mta-sts.example.net. 300 IN TXT "v=STSv1; id=1;"`, "example.net. 300 IN MX 5 other.example.org.", "other.example.org. 300 IN A 127.0.0.1")
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	if why := h.waitDeferred(id); !strings.HasPrefix(why, "4.7.5 ") || !strings.Contains(why, "allows none") {
		t.Errorf("deferred with %q", why)
	}
	if n := len(good.transactions()); n != 2 {
		t.Errorf("%d transactions, want still 2", n)
	}

	// 5. a new id announces a policy naming the new MX: fetched again, delivered there
	ps.set("example.net", "version: STSv1\nmode: enforce\nmx: other.example.org\nmax_age: 86400\n")
	z.set(t, `_mta-sts.example.net. 300 IN TXT "v=STSv1; id=2;"`, "example.net. 300 IN MX 5 other.example.org.", "other.example.org. 300 IN A 127.0.0.1")
	before = ps.fetches.Load()
	h.q.Flush()
	h.waitGone(id)
	if n := ps.fetches.Load() - before; n != 1 {
		t.Errorf("%d fetches after the id changed, want 1", n)
	}
	if txns := good.transactions(); len(txns) != 3 || !txns[2].tls {
		t.Errorf("transactions %+v", txns)
	}

	// 6. a testing policy: the peer without STARTTLS gets the message in clear
	ps.set("example.net", "version: STSv1\nmode: testing\nmx: mx.example.net\nmax_age: 86400\n")
	z.set(t, mxZone("3")...)
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: plain.port, HTTPClient: ps.client, RootCAs: ca.pool})
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	h.waitGone(id)
	if txns := plain.transactions(); len(txns) != 1 || txns[0].tls {
		t.Errorf("testing mode: transactions %+v", txns)
	}
}
