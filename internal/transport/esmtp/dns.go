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
	in, _, err := r.queryFrom(ctx, name, qtype)
	return in, err
}

// queryFrom is query that also says whether the answer is DNSSEC-validated: the server set
// the AD bit (asked for with AD in the query, RFC 6840 section 5.7) and is on loopback. A
// resolver elsewhere could be lied to on the way, so its AD bit is not trusted (Postfix's
// rule too: DANE needs a validating resolver on the machine).
func (r *DNSResolver) queryFrom(ctx context.Context, name string, qtype uint16) (*dns.Msg, bool, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true
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
		return in, in.AuthenticatedData && loopback(srv), nil
	}
	if lastErr == nil {
		lastErr = errors.New("no DNS server configured")
	}
	return nil, false, fmt.Errorf("dns: %s %s: %w", dns.TypeToString[qtype], name, lastErr)
}

// loopback reports whether a "host:port" server address is on this machine.
func loopback(server string) bool {
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		host = server
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// LookupMX implements Resolver.
func (r *DNSResolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	mx, _, err := r.LookupMXSecure(ctx, domain)
	return mx, err
}

// LookupMXSecure implements DANEResolver.
func (r *DNSResolver) LookupMXSecure(ctx context.Context, domain string) ([]MX, bool, error) {
	in, secure, err := r.queryFrom(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, false, err
	}
	mx, err := mxOf(in, domain)
	return mx, secure, err
}

func mxOf(in *dns.Msg, domain string) ([]MX, error) {
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
	ips, _, err := r.LookupIPSecure(ctx, host)
	return ips, err
}

// LookupIPSecure implements DANEResolver: secure when every answer used was validated.
func (r *DNSResolver) LookupIPSecure(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	var out []netip.Addr
	var errs []error
	missing := 0
	allSecure := true
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		in, secure, err := r.queryFrom(ctx, host, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		allSecure = allSecure && secure
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
		return out, allSecure && len(errs) == 0, nil
	}
	if missing == 2 {
		return nil, false, fmt.Errorf("dns: %s has no address: %w", host, ErrNoSuchDomain)
	}
	return nil, false, errors.Join(errs...)
}

// sortMX orders MX records by preference, keeping the given order among equals (the caller
// shuffles those first when it wants RFC 5321's random choice).
func sortMX(mx []MX) {
	sort.SliceStable(mx, func(i, j int) bool { return mx[i].Pref < mx[j].Pref })
}

// TXTResolver is a Resolver that also answers TXT questions (MTA-STS discovery).
type TXTResolver interface {
	// LookupTXT returns the TXT records of name, each record's strings joined; a name
	// with none gives an error wrapping ErrNoSuchDomain.
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// LookupTXT implements TXTResolver.
func (r *DNSResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	in, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, fmt.Errorf("dns: TXT %s: %w", name, ErrNoSuchDomain)
	default:
		return nil, fmt.Errorf("dns: TXT %s: server answered %s", name, dns.RcodeToString[in.Rcode])
	}
	var out []string
	for _, rr := range in.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dns: TXT %s: %w", name, ErrNoSuchDomain)
	}
	return out, nil
}
