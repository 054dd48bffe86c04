package esmtp

// DANE for SMTP (RFC 7672): when a domain's MX records and an MX host's address records
// are DNSSEC-validated, the host's TLSA records (_PORT._tcp.HOST) say which certificate it
// must present. Validation is the resolver's: DNSResolver trusts the AD bit of a resolver
// on loopback only (see queryFrom), as Postfix does with smtp_dns_support_level=dnssec.
//
// Usable records are DANE-EE (usage 3: the server's own certificate or public key, name and
// dates not checked, section 3.1.1) and DANE-TA (usage 2: a trust anchor the server's chain
// includes; the chain must lead to it and name the MX host, section 3.1.2), with selector 0
// (whole certificate) or 1 (public key) and matching type 0 (exact), 1 (SHA-256) or 2
// (SHA-512). PKIX-TA and PKIX-EE (0 and 1) are unusable for SMTP (section 3.1.3). With
// usable records, TLS is required and a certificate none of them matches is refused: the
// host is skipped and the delivery eventually deferred, never sent in clear. TLSA records
// that exist but none usable still require TLS, unauthenticated (section 2.2). A TLSA
// lookup that fails (not "no such records") makes the host unusable now (section 2.2).
// DANE comes before MTA-STS: a host with usable TLSA records is verified by them.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// TLSA is one TLSA record (RFC 6698 section 2.1).
type TLSA struct {
	Usage, Selector, MatchingType uint8
	Data                          []byte
}

// String gives the record's presentation form: "3 1 1 ABCD…".
func (r TLSA) String() string {
	return fmt.Sprintf("%d %d %d %s", r.Usage, r.Selector, r.MatchingType, strings.ToUpper(hex.EncodeToString(r.Data)))
}

// usable reports whether DANE for SMTP uses the record (RFC 7672 section 3.1).
func (r TLSA) usable() bool {
	return (r.Usage == 2 || r.Usage == 3) && r.Selector <= 1 && r.MatchingType <= 2
}

// DANEResolver is a Resolver that tells DNSSEC-validated answers from others and answers
// TLSA questions. DNSResolver is one.
type DANEResolver interface {
	// LookupMXSecure is LookupMX that also reports whether the answer was validated.
	LookupMXSecure(ctx context.Context, domain string) ([]MX, bool, error)
	// LookupIPSecure is LookupIP that also reports whether every answer was validated.
	LookupIPSecure(ctx context.Context, host string) ([]netip.Addr, bool, error)
	// LookupTLSA returns the TLSA records of _PORT._tcp.HOST and whether the answer was
	// validated; none and no error when there are none.
	LookupTLSA(ctx context.Context, port int, host string) ([]TLSA, bool, error)
}

// LookupTLSA implements DANEResolver.
func (r *DNSResolver) LookupTLSA(ctx context.Context, port int, host string) ([]TLSA, bool, error) {
	name := fmt.Sprintf("_%d._tcp.%s", port, host)
	in, secure, err := r.queryFrom(ctx, name, dns.TypeTLSA)
	if err != nil {
		return nil, false, err
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, false, fmt.Errorf("dns: TLSA %s: server answered %s", name, dns.RcodeToString[in.Rcode])
	}
	var out []TLSA
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TLSA); ok {
			data, err := hex.DecodeString(t.Certificate)
			if err != nil {
				continue
			}
			out = append(out, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
		}
	}
	return out, secure, nil
}

// daneFor looks up the TLSA records of a hop's address when DANE applies to it (secure MX
// and address records): nil records and nil error when it does not apply; records (maybe
// none usable) when it does; an error when the host cannot be used now.
func (t *Transport) daneFor(ctx context.Context, h hop, port int) (recs []TLSA, applies bool, err error) {
	dr, ok := t.o.Resolver.(DANEResolver)
	if !ok || t.o.NoDANE || !h.mxSecure || !h.addrSecure || h.relay != "" {
		return nil, false, nil
	}
	all, secure, err := dr.LookupTLSA(ctx, port, h.host)
	if err != nil {
		return nil, false, fmt.Errorf("4.7.5 DANE: looking up the TLSA records of %s: %w", h.host, err)
	}
	if !secure || len(all) == 0 {
		return nil, false, nil
	}
	for _, r := range all {
		if r.usable() {
			recs = append(recs, r)
		}
	}
	return recs, true, nil
}

// digest applies a TLSA matching type to data.
func digest(mt uint8, data []byte) []byte {
	switch mt {
	case 1:
		s := sha256.Sum256(data)
		return s[:]
	case 2:
		s := sha512.Sum512(data)
		return s[:]
	default:
		return data
	}
}

// matches reports whether a certificate matches a record's selector and data.
func (r TLSA) matches(c *x509.Certificate) bool {
	data := c.Raw
	if r.Selector == 1 {
		data = c.RawSubjectPublicKeyInfo
	}
	return bytes.Equal(digest(r.MatchingType, data), r.Data)
}

// errDANE marks a certificate that no TLSA record vouches for.
var errDANE = errors.New("DANE: no TLSA record matches the certificate")

// checkDANE checks a peer's chain against usable TLSA records (RFC 7672 section 3).
func checkDANE(cs tls.ConnectionState, recs []TLSA, host string) error {
	chain := cs.PeerCertificates
	if len(chain) == 0 {
		return errors.New("DANE: the server sent no certificate")
	}
	var taErr error
	for _, r := range recs {
		switch r.Usage {
		case 3:
			if r.matches(chain[0]) {
				return nil
			}
		case 2:
			for i, c := range chain {
				if !r.matches(c) {
					continue
				}
				roots := x509.NewCertPool()
				roots.AddCert(c)
				inter := x509.NewCertPool()
				for _, ic := range chain[1:i] {
					inter.AddCert(ic)
				}
				if i == 0 {
					// the trust anchor is the leaf itself: its name must still fit
					if err := chain[0].VerifyHostname(host); err != nil {
						taErr = err
						continue
					}
					return nil
				}
				if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host}); err != nil {
					taErr = err
					continue
				}
				return nil
			}
		}
	}
	if taErr != nil {
		return fmt.Errorf("%w (%s): %v", errDANE, host, taErr)
	}
	return fmt.Errorf("%w (%s)", errDANE, host)
}
