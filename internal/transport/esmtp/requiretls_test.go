package esmtp_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// TestRequireTLS (RFC 8689 section 4.2.1): a REQUIRETLS message goes, with REQUIRETLS on
// MAIL FROM, to an MX host found through DNSSEC-validated records (the test zone sets the
// AD bit) that presents a certificate valid under the roots and offers REQUIRETLS. Any
// missing piece returns it to the sender with the RFC's status: a peer without REQUIRETLS
// (5.7.30), MX records without DNSSEC and no MTA-STS policy (5.7.30), a certificate the
// roots do not vouch for (5.7.10), a peer without STARTTLS (5.7.10). An MTA-STS policy
// naming the MX host vouches for it in place of DNSSEC.
func TestRequireTLS(t *testing.T) {
	ca := newCA(t)
	z := startZone(t, mxZone("")...)
	z.setAD(true)
	withCert := func(enable bool) func(*smtp.Server) {
		return func(s *smtp.Server) {
			s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "mx.example.net")}}
			s.EnableREQUIRETLS = enable
		}
	}
	reqEnv := func() *queue.Envelope {
		return &queue.Envelope{From: "a@sender.test", RequireTLS: true, Rcpts: rcpts("x@example.net")}
	}
	failedWith := func(h *harness, id, status string) {
		t.Helper()
		h.waitGone(id)
		ns := h.notes.of(id)
		if len(ns) != 1 || ns[0].Kind != queue.NoticeFailed || !strings.HasPrefix(ns[0].Err.Error(), status+" ") {
			t.Fatalf("notices %+v, want one failure with %s", ns, status)
		}
	}

	// 1. everything in place: delivered over TLS with REQUIRETLS
	good := startPeer(t, false, withCert(true))
	h := newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: good.port, RootCAs: ca.pool, NoMTASTS: true})
	id := h.send(reqEnv(), body)
	h.waitGone(id)
	if txns := good.transactions(); len(txns) != 1 || !txns[0].tls || !txns[0].mailOpts.RequireTLS {
		t.Fatalf("transactions %+v, want one over TLS with REQUIRETLS", txns)
	}
	if ns := h.notes.of(id); len(ns) != 0 {
		t.Fatalf("notices %+v", ns)
	}
	// a message without REQUIRETLS to the same peer does not pass the parameter
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	h.waitGone(id)
	if txns := good.transactions(); len(txns) != 2 || txns[1].mailOpts.RequireTLS {
		t.Fatalf("transactions %+v", txns)
	}

	// 2. the peer does not offer REQUIRETLS: returned with 5.7.30, nothing sent
	noReq := startPeer(t, false, withCert(false))
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: noReq.port, RootCAs: ca.pool, NoMTASTS: true})
	failedWith(h, h.send(reqEnv(), body), "5.7.30")
	if n := len(noReq.transactions()); n != 0 {
		t.Fatalf("%d transactions to a peer without REQUIRETLS", n)
	}

	// 3. MX records without DNSSEC and no MTA-STS policy: 5.7.30
	z.setAD(false)
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: good.port, RootCAs: ca.pool, NoMTASTS: true})
	failedWith(h, h.send(reqEnv(), body), "5.7.30")
	if n := len(good.transactions()); n != 2 {
		t.Fatalf("%d transactions, want still 2", n)
	}

	// 4. ... but an MTA-STS policy naming the MX host vouches for it
	ps := startPolicyServer(t, ca, "example.net")
	ps.set("example.net", "version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n")
	z.set(t, mxZone("1")...)
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: good.port, RootCAs: ca.pool, HTTPClient: ps.client})
	id = h.send(reqEnv(), body)
	h.waitGone(id)
	if txns := good.transactions(); len(txns) != 3 || !txns[2].mailOpts.RequireTLS {
		t.Fatalf("transactions %+v", txns)
	}
	if ns := h.notes.of(id); len(ns) != 0 {
		t.Fatalf("notices %+v", ns)
	}

	// 5. DNSSEC again, but a self-signed certificate: 5.7.10
	z.setAD(true)
	z.set(t, mxZone("")...)
	selfSigned := startPeer(t, true, func(s *smtp.Server) { s.EnableREQUIRETLS = true })
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: selfSigned.port, RootCAs: ca.pool, NoMTASTS: true})
	failedWith(h, h.send(reqEnv(), body), "5.7.10")

	// 6. no STARTTLS at all: 5.7.10, never in clear
	plain := startPeer(t, false)
	h = newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: plain.port, RootCAs: ca.pool, NoMTASTS: true})
	failedWith(h, h.send(reqEnv(), body), "5.7.10")
	if n := len(plain.transactions()); n != 0 {
		t.Fatalf("%d transactions in clear", n)
	}
}

// TestTLSRequiredNo (RFC 8689 section 3): "TLS-Required: No" in the header makes the
// transport ignore the domain's MTA-STS enforce policy, so a peer whose certificate the
// policy would refuse gets the message; without the field it is deferred; REQUIRETLS on
// MAIL FROM overrides the field.
func TestTLSRequiredNo(t *testing.T) {
	ca := newCA(t)
	ps := startPolicyServer(t, ca, "example.net")
	ps.set("example.net", "version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n")
	z := startZone(t, mxZone("1")...)
	selfSigned := startPeer(t, true)
	h := newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: selfSigned.port, HTTPClient: ps.client, RootCAs: ca.pool})

	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	if why := h.waitDeferred(id); !strings.Contains(why, "certificate") {
		t.Errorf("without the field: deferred with %q", why)
	}
	const noTLS = "TLS-Required: No\nSubject: not secret\nFrom: a@sender.test\n\nhello\n"
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, noTLS)
	h.waitGone(id)
	if txns := selfSigned.transactions(); len(txns) != 1 || !txns[0].tls {
		t.Fatalf("transactions %+v, want one (opportunistic TLS)", txns)
	}
	id = h.send(&queue.Envelope{From: "a@sender.test", RequireTLS: true, Rcpts: rcpts("x@example.net")}, noTLS)
	h.waitGone(id)
	if ns := h.notes.of(id); len(ns) != 1 || !strings.HasPrefix(ns[0].Err.Error(), "5.7.") {
		t.Errorf("REQUIRETLS with TLS-Required: No: notices %+v", ns)
	}
}
