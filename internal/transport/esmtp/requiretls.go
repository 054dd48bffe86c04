package esmtp

// REQUIRETLS (RFC 8689). A message whose sender gave REQUIRETLS on MAIL FROM
// (queue.Envelope.RequireTLS) goes only to a peer that meets section 4.2.1:
//
//  1. the host is vouched for: its MX records are DNSSEC-validated, or the domain's MTA-STS
//     policy names it (or, without MX records, it is the domain itself; or it is the
//     esmtproutes relay the administrator chose);
//  2. TLS is negotiated and the certificate authenticated, by DANE where the host has
//     usable TLSA records, else by the roots (Options.RootCAs) for the host name;
//  3. the EHLO after TLS offers REQUIRETLS; REQUIRETLS is then passed on MAIL FROM.
//
// A host that fails is skipped and the next one tried. When none is left and every failure
// was of these rules (no temporary trouble such as a refused connection, after which a
// later attempt may find a good path), the message is returned to its sender: 5.7.30
// "REQUIRETLS support required" when a host is not vouched for or does not offer
// REQUIRETLS, 5.7.10 "Encryption needed" when no authenticated TLS session could be made.
// The notification itself carries REQUIRETLS (section 5; package app).
//
// "TLS-Required: No" in the header (section 3) turns MTA-STS and DANE off for the message
// (deliverBatch): opportunistic TLS as for any other domain. REQUIRETLS wins over it.

import (
	"errors"
	"fmt"
)

// errRequireTLS marks a refusal under REQUIRETLS's rules.
var errRequireTLS = errors.New("REQUIRETLS")

// requireTLSHop checks rule 1 for a hop.
func requireTLSHop(h hop, domain string) error {
	if h.relay != "" || h.implicit || h.mxSecure || h.stsMatched {
		return nil
	}
	return fmt.Errorf("5.7.30 REQUIRETLS support required: the MX host %s of %s is vouched for by neither DNSSEC nor an MTA-STS policy (RFC 8689 section 4.2.1): %w",
		h.host, domain, errRequireTLS)
}

// checkRequireTLS checks rules 2 and 3 on a session.
func checkRequireTLS(cn *conn) error {
	if !cn.tls || !cn.verified {
		return fmt.Errorf("5.7.10 %s: no authenticated TLS session, which REQUIRETLS needs: %w", cn.peer(), errRequireTLS)
	}
	if ok, _ := cn.c.Extension("REQUIRETLS"); !ok {
		return fmt.Errorf("5.7.30 REQUIRETLS support required: %s does not offer REQUIRETLS: %w", cn.peer(), errRequireTLS)
	}
	return nil
}

// requireTLSFailure turns an attempt's error into a refusal under REQUIRETLS's rules, or
// returns nil when it is another kind of failure (a refused connection, a timeout).
func requireTLSFailure(err error) error {
	switch {
	case errors.Is(err, errRequireTLS):
		return err
	case errors.Is(err, errTLS), errors.Is(err, errNoTLS):
		return fmt.Errorf("5.7.10 no authenticated TLS session, which REQUIRETLS needs: %w", err)
	}
	return nil
}
