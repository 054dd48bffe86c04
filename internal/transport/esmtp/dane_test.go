package esmtp_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// spkiHash is the "3 1 1" data of a certificate: SHA-256 of its public key info.
func spkiHash(c *x509.Certificate) string {
	s := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(s[:])
}

// certHash is the "2 0 1" data of a certificate: SHA-256 of the whole certificate.
func certHash(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// daneZone is example.net's zone with one TLSA record for the MX on port.
func daneZone(port int, tlsa string) []string {
	return mxZone("", fmt.Sprintf("_%d._tcp.mx.example.net. 300 IN TLSA %s", port, tlsa))
}

// TestDANE: with DNSSEC-validated answers (the AD bit from the test's DNS server on
// loopback), the MX host's TLSA records decide: a DANE-EE record matching the peer's key
// lets a self-signed certificate through; one that does not match is refused (deferred,
// nothing sent); a DANE-TA record accepts a chain to that anchor naming the MX host, and
// refuses one naming another host; a peer without STARTTLS is refused. Without the AD bit
// the same wrong record is ignored and the message goes out by opportunistic TLS.
func TestDANE(t *testing.T) {
	ca := newCA(t)
	send := func(z *zone, port int) (*harness, string) {
		h := newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(z.addr), Port: port})
		return h, h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net")}, body)
	}
	selfSigned := startPeer(t, true)
	leaf, err := x509.ParseCertificate(selfSigned.srv.TLSConfig.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}

	// DANE-EE matching the self-signed certificate's key: delivered over TLS
	z := startZone(t, daneZone(selfSigned.port, "3 1 1 "+spkiHash(leaf))...)
	z.setAD(true)
	h, id := send(z, selfSigned.port)
	h.waitGone(id)
	if txns := selfSigned.transactions(); len(txns) != 1 || !txns[0].tls {
		t.Fatalf("DANE-EE match: transactions %+v, notices %+v", txns, h.notes.of(id))
	}

	// DANE-EE not matching: deferred, nothing sent
	z.set(t, daneZone(selfSigned.port, "3 1 1 "+strings.Repeat("ab", 32))...)
	h, id = send(z, selfSigned.port)
	if why := h.waitDeferred(id); !strings.Contains(why, "DANE") {
		t.Errorf("deferred with %q", why)
	}
	if n := len(selfSigned.transactions()); n != 1 {
		t.Fatalf("%d transactions, want still 1", n)
	}

	// the same record without the AD bit: not DNSSEC-validated, so ignored
	z.setAD(false)
	h, id = send(z, selfSigned.port)
	h.waitGone(id)
	if n := len(selfSigned.transactions()); n != 2 {
		t.Fatalf("insecure TLSA: %d transactions, want 2", n)
	}
	z.setAD(true)

	// DANE-TA: a chain to the anchor naming mx.example.net passes; another name fails
	for _, c := range []struct {
		name string
		ok   bool
	}{{"mx.example.net", true}, {"elsewhere.example.org", false}} {
		p := startPeer(t, false, func(s *smtp.Server) {
			s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, c.name)}}
		})
		z.set(t, daneZone(p.port, "2 0 1 "+certHash(ca.cert))...)
		h, id = send(z, p.port)
		if c.ok {
			h.waitGone(id)
			if txns := p.transactions(); len(txns) != 1 || !txns[0].tls {
				t.Errorf("DANE-TA %s: transactions %+v, notices %+v", c.name, txns, h.notes.of(id))
			}
		} else {
			if why := h.waitDeferred(id); !strings.Contains(why, "DANE") {
				t.Errorf("DANE-TA %s: deferred with %q", c.name, why)
			}
			if n := len(p.transactions()); n != 0 {
				t.Errorf("DANE-TA %s: %d transactions", c.name, n)
			}
		}
	}

	// TLSA records and a peer without STARTTLS: refused, never in clear
	plain := startPeer(t, false)
	z.set(t, daneZone(plain.port, "3 1 1 "+spkiHash(leaf))...)
	h, id = send(z, plain.port)
	if why := h.waitDeferred(id); !strings.Contains(why, "STARTTLS") || !strings.Contains(why, "DANE") {
		t.Errorf("deferred with %q", why)
	}
	if n := len(plain.transactions()); n != 0 {
		t.Fatalf("%d transactions in clear despite TLSA records", n)
	}
}
