package esmtp

// Transport security policies beyond opportunistic TLS: MTA-STS (RFC 8461, package
// mtasts) for mail delivered to a domain's MX hosts. A route through a relay in esmtproutes
// is the administrator's choice of next hop and is not subject to the domain's policy.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	"golang.org/x/net/idna"

	"courier/internal/queue"
	"courier/internal/transport/mtasts"
)

// verifyMode says how a peer's certificate is checked.
type verifyMode int

const (
	// verifyNone: opportunistic TLS, the certificate is not checked.
	verifyNone verifyMode = iota
	// verifyLog: checked as verifyPKIX would, failures only logged (MTA-STS testing).
	verifyLog
	// verifyPKIX: TLS is required and the certificate must be valid for the MX host name
	// under RootCAs (MTA-STS enforce).
	verifyPKIX
	// verifyDANE: TLS is required and the certificate must match a TLSA record (dane.go).
	verifyDANE
)

// applySTS applies the MTA-STS policy of domain, if any, to hops found through its MX
// records: enforce keeps only the MX hosts the policy names and requires verified TLS with
// them; testing logs what enforce would refuse. No hop left is a temporary failure (the
// policy or the MX records may be mid-change).
func (t *Transport) applySTS(ctx context.Context, m *queue.Message, domain string, hops []hop) ([]hop, *queue.Result) {
	if t.sts == nil || len(hops) == 0 || hops[0].relay != "" {
		return hops, nil
	}
	if _, ok := literal(hops[0].host); ok {
		return hops, nil
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return hops, nil
	}
	pol := t.sts.Policy(ctx, ascii)
	if pol == nil || pol.Mode == mtasts.None {
		return hops, nil
	}
	var kept, refused []string
	out := make([]hop, 0, len(hops))
	for _, h := range hops {
		if !pol.Match(h.host) {
			refused = append(refused, h.host)
			if pol.Mode == mtasts.Testing {
				t.log.Warn("mta-sts (testing): MX host not in the policy; delivering anyway", "id", m.ID, "domain", ascii, "mx", h.host, "policy", strings.Join(pol.MX, ","))
				h.verify = verifyLog
				out = append(out, h)
			}
			continue
		}
		kept = append(kept, h.host)
		h.stsMatched = true
		if pol.Mode == mtasts.Enforce {
			h.verify = verifyPKIX
		} else {
			h.verify = verifyLog
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		res := retry(fmt.Errorf("4.7.5 the MTA-STS policy of %s (enforce) allows none of its MX hosts (%s; policy: %s)",
			ascii, strings.Join(refused, ", "), strings.Join(pol.MX, ", ")))
		return nil, &res
	}
	if pol.Mode == mtasts.Enforce && len(refused) > 0 {
		t.log.Info("mta-sts: MX hosts outside the policy skipped", "id", m.ID, "domain", ascii, "skipped", strings.Join(refused, ","))
	}
	return out, nil
}

// tlsConfig is the client TLS configuration for a session. Opportunistic TLS (RFC 3207 as
// Courier does it by default) does not verify the certificate: encryption against passive
// eavesdroppers, with no promise about the peer. A policy (verifyPKIX) verifies it against
// RootCAs for the host name; verifyLog verifies it the same way but only logs a failure.
func (t *Transport) tlsConfig(p *dialParams) *tls.Config {
	var cfg *tls.Config
	if t.o.TLSConfig != nil {
		cfg = t.o.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // opportunistic TLS, see above
	}
	if cfg.ServerName == "" {
		if _, ok := literal(p.host); !ok {
			cfg.ServerName = p.host
		}
	}
	if t.o.RootCAs != nil {
		cfg.RootCAs = t.o.RootCAs
	}
	switch p.verify {
	case verifyDANE:
		recs, host := p.tlsa, strings.TrimSuffix(p.host, ".")
		cfg.InsecureSkipVerify = true // RFC 7672 section 3: the TLSA records decide, not the roots
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return checkDANE(cs, recs, host) }
	case verifyPKIX:
		cfg.InsecureSkipVerify = false
		cfg.ServerName = strings.TrimSuffix(p.host, ".")
	case verifyLog:
		roots, host, addr := cfg.RootCAs, strings.TrimSuffix(p.host, "."), p.addr.String()
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := verifyChain(cs, roots, host); err != nil {
				t.log.Warn("mta-sts (testing): certificate would be refused", "host", host, "addr", addr, "err", err)
			}
			return nil
		}
	}
	return cfg
}

// verifyChain checks a peer's certificate chain against roots (nil: the system's) and the
// host name.
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host})
	if err != nil {
		return fmt.Errorf("certificate of %s: %w", host, err)
	}
	return nil
}
