package esmtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// MX is one mail exchanger of a domain.
type MX struct {
	Host string // without the trailing dot
	Pref uint16
}

// Resolver answers the DNS questions of outbound delivery. Its errors tell a name that does
// not exist (ErrNoSuchDomain, a permanent failure) from one that could not be looked up now
// (anything else: try again later).
type Resolver interface {
	// LookupMX returns the MX records of domain, unsorted. A domain that exists but has no
	// MX records gives none and no error (the caller falls back to its address records,
	// RFC 5321 section 5.1). A null MX (RFC 7505) is returned as it is: Host "".
	LookupMX(ctx context.Context, domain string) ([]MX, error)
	// LookupIP returns the IPv4 and IPv6 addresses of host, IPv4 first.
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
}

// ErrNoSuchDomain is wrapped by Resolver errors for names that do not exist (NXDOMAIN) or
// have no records of the kind asked for.
var ErrNoSuchDomain = errors.New("no such domain")

// DNSResolver is a Resolver that asks DNS servers directly (github.com/miekg/dns), so that
// NXDOMAIN, no data and server failures can be told apart, which the standard library's
// resolver does not always do. Safe for concurrent use.
type DNSResolver struct {
	// Servers are "host:port" addresses asked in turn; empty means those of
	// /etc/resolv.conf (or 127.0.0.1:53 without one).
	Servers []string
	// Timeout bounds one query to one server; default 5 s.
	Timeout time.Duration
}

// NewDNSResolver returns a resolver asking servers, or the system's when none are given.
func NewDNSResolver(servers ...string) *DNSResolver {
	r := &DNSResolver{Servers: servers, Timeout: 5 * time.Second}
	if len(r.Servers) == 0 {
		if cc, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cc.Servers) > 0 {
			for _, s := range cc.Servers {
				r.Servers = append(r.Servers, net.JoinHostPort(s, cc.Port))
			}
		} else {
			r.Servers = []string{"127.0.0.1:53"}
		}
	}
	return r
}

// query asks one question, trying each server until one answers (with any rcode).
func (r *DNSResolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var lastErr error
	for _, srv := range r.Servers {
		c := &dns.Client{Net: "udp", Timeout: timeout}
		in, _, err := c.ExchangeContext(ctx, m, srv)
		if err == nil && in.Truncated {
			c.Net = "tcp"
			in, _, err = c.ExchangeContext(ctx, m, srv)
		}
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return in, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no DNS server configured")
	}
	return nil, fmt.Errorf("dns: %s %s: %w", dns.TypeToString[qtype], name, lastErr)
}

// LookupMX implements Resolver.
func (r *DNSResolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	in, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, fmt.Errorf("dns: MX %s: %w", domain, ErrNoSuchDomain)
	default:
		return nil, fmt.Errorf("dns: MX %s: server answered %s", domain, dns.RcodeToString[in.Rcode])
	}
	var out []MX
	for _, rr := range in.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, MX{Host: strings.TrimSuffix(mx.Mx, "."), Pref: mx.Preference})
		}
	}
	return out, nil
}

// LookupIP implements Resolver.
func (r *DNSResolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	var errs []error
	missing := 0
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		in, err := r.query(ctx, host, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			missing++
			continue
		default:
			errs = append(errs, fmt.Errorf("dns: %s %s: server answered %s", dns.TypeToString[qt], host, dns.RcodeToString[in.Rcode]))
			continue
		}
		n := len(out)
		for _, rr := range in.Answer {
			switch a := rr.(type) {
			case *dns.A:
				if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
					out = append(out, ip)
				}
			case *dns.AAAA:
				if ip, ok := netip.AddrFromSlice(a.AAAA); ok {
					out = append(out, ip)
				}
			}
		}
		if len(out) == n {
			missing++
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if missing == 2 {
		return nil, fmt.Errorf("dns: %s has no address: %w", host, ErrNoSuchDomain)
	}
	return nil, errors.Join(errs...)
}

// sortMX orders MX records by preference, keeping the given order among equals (the caller
// shuffles those first when it wants RFC 5321's random choice).
func sortMX(mx []MX) {
	sort.SliceStable(mx, func(i, j int) bool { return mx[i].Pref < mx[j].Pref })
}
