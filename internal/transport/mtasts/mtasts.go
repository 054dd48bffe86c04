// Package mtasts finds and caches the MTA-STS policies of mail domains (RFC 8461), for
// outbound delivery to decide which MX hosts it may use and whether it must verify their
// certificates.
//
// # Discovery
//
// A domain announces a policy with a TXT record at _mta-sts.DOMAIN ("v=STSv1; id=…",
// section 3.1); the policy itself is fetched over HTTPS from
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt (section 3.3): status 200, no redirects,
// media type text/plain, at most 64 KiB, with a certificate valid for mta-sts.DOMAIN under
// the HTTP client's roots. A fetched policy is cached for its max_age; it is fetched again
// when the TXT record's id changes. When the TXT record is missing or cannot be looked up,
// or the fetch fails, a cached policy that has not expired stays in force (section 5.1);
// without one the domain has no policy. More than one v=STSv1 record means no policy
// (section 3.1).
//
// The cache lives in memory: after a restart, policies are fetched again (section 5.1
// allows this; a sender that restarts seldom loses little).
//
// # Applying a policy
//
// Policy.Match tells whether an MX host name is allowed by the policy's mx patterns
// ("*.example.com" stands for exactly one more leftmost label, section 4.1). What a mode
// means for delivery is the transport's to carry out: enforce allows only matching MX hosts
// and only over TLS with a certificate valid for the MX name; testing only reports what
// enforce would refuse; none is no policy.
package mtasts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"
)

// Mode is a policy's mode.
type Mode string

// The modes of section 3.2.
const (
	Enforce Mode = "enforce"
	Testing Mode = "testing"
	None    Mode = "none"
)

// Policy is one domain's policy.
type Policy struct {
	Domain  string // the policy domain, lower-case A-label
	ID      string // the TXT record's id when it was fetched
	Mode    Mode
	MX      []string      // patterns, lower case
	MaxAge  time.Duration // how long it may be cached
	Fetched time.Time
}

// maxMaxAge is the largest max_age accepted (section 3.2: 31557600 s, about a year).
const maxMaxAge = 31557600

// Parse reads a policy file (section 3.2): "key: value" lines (LF or CRLF); version STSv1,
// mode, max_age and, unless the mode is none, at least one mx are required; unknown keys
// are ignored.
func Parse(b []byte) (*Policy, error) {
	p := &Policy{}
	seenVersion, seenAge := false, false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mta-sts policy: line %q has no ':'", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			if v != "STSv1" {
				return nil, fmt.Errorf("mta-sts policy: version %q (want STSv1)", v)
			}
			seenVersion = true
		case "mode":
			switch Mode(v) {
			case Enforce, Testing, None:
				p.Mode = Mode(v)
			default:
				return nil, fmt.Errorf("mta-sts policy: unknown mode %q", v)
			}
		case "mx":
			if v == "" || strings.ContainsAny(v, " \t") {
				return nil, fmt.Errorf("mta-sts policy: bad mx %q", v)
			}
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		case "max_age":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || len(v) > 10 {
				return nil, fmt.Errorf("mta-sts policy: bad max_age %q", v)
			}
			p.MaxAge = time.Duration(min(n, maxMaxAge)) * time.Second
			seenAge = true
		}
	}
	switch {
	case !seenVersion:
		return nil, errors.New("mta-sts policy: no version")
	case p.Mode == "":
		return nil, errors.New("mta-sts policy: no mode")
	case !seenAge:
		return nil, errors.New("mta-sts policy: no max_age")
	case len(p.MX) == 0 && p.Mode != None:
		return nil, errors.New("mta-sts policy: no mx")
	}
	return p, nil
}

// Match reports whether host (an MX host name) is allowed by the policy's mx patterns.
func (p *Policy) Match(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if a, err := idna.Lookup.ToASCII(h); err == nil {
		h = a
	}
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if i := strings.IndexByte(h, '.'); i > 0 && h[i+1:] == rest {
				return true
			}
		} else if pat == h {
			return true
		}
	}
	return false
}

// Options configure a Cache.
type Options struct {
	// LookupTXT returns the TXT records of name (each record's strings joined); no records
	// and no error when it has none (NXDOMAIN or no TXT records); an error when it cannot
	// be looked up now.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	// HTTP fetches policies; default: a client with a 30 s timeout, the system's roots and
	// no redirects. A test gives one whose transport trusts its own roots and dials its
	// own server.
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Cache finds policies and keeps them. Safe for concurrent use.
type Cache struct {
	o  Options
	mu sync.Mutex
	m  map[string]*Policy
	// fetching serialises the lookups of one domain, so a burst of messages to it
	// fetches its policy once; an entry lives while someone uses it.
	fetching map[string]*flight
}

type flight struct {
	mu    sync.Mutex
	users int
}

// New returns an empty cache.
func New(o Options) *Cache {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{o: o, m: map[string]*Policy{}, fetching: map[string]*flight{}}
}

// cached returns the unexpired cached policy of domain, or nil.
func (c *Cache) cached(domain string) *Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m[domain]
	if p != nil && c.o.Now().Sub(p.Fetched) >= p.MaxAge {
		delete(c.m, domain)
		return nil
	}
	return p
}

// Policy returns the policy in force for domain, or nil when it has none. It does not
// fail: what cannot be found now is no policy, unless a cached one still holds.
func (c *Cache) Policy(ctx context.Context, domain string) *Policy {
	d, err := idna.Lookup.ToASCII(strings.ToLower(strings.TrimSuffix(domain, ".")))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	f := c.fetching[d]
	if f == nil {
		f = &flight{}
		c.fetching[d] = f
	}
	f.users++
	c.mu.Unlock()
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		c.mu.Lock()
		if f.users--; f.users == 0 {
			delete(c.fetching, d)
		}
		c.mu.Unlock()
	}()

	old := c.cached(d)
	id, err := c.announced(ctx, d)
	if err != nil {
		c.o.Log.Info("mta-sts: TXT lookup failed", "domain", d, "err", err, "cached", old != nil)
		return old
	}
	if id == "" {
		return old
	}
	if old != nil && old.ID == id {
		return old
	}
	p, err := c.fetch(ctx, d)
	if err != nil {
		c.o.Log.Warn("mta-sts: policy fetch failed", "domain", d, "err", err, "cached", old != nil)
		return old
	}
	p.Domain, p.ID, p.Fetched = d, id, c.o.Now()
	c.mu.Lock()
	if len(c.m) >= 10000 {
		// bound the cache: drop what has expired
		for k, q := range c.m {
			if p.Fetched.Sub(q.Fetched) >= q.MaxAge {
				delete(c.m, k)
			}
		}
	}
	c.m[d] = p
	c.mu.Unlock()
	c.o.Log.Info("mta-sts: policy fetched", "domain", d, "id", id, "mode", string(p.Mode), "mx", strings.Join(p.MX, ","), "max_age", p.MaxAge.String())
	return p
}

// announced returns the id of the domain's v=STSv1 TXT record, or "" when there is none
// (or more than one, section 3.1).
func (c *Cache) announced(ctx context.Context, domain string) (string, error) {
	if c.o.LookupTXT == nil {
		return "", nil
	}
	txts, err := c.o.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", fmt.Errorf("mta-sts: TXT _mta-sts.%s: %w", domain, err)
	}
	var ids []string
	for _, t := range txts {
		fields := strings.Split(t, ";")
		if strings.TrimSpace(fields[0]) != "v=STSv1" {
			continue
		}
		id := ""
		for _, f := range fields[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok && strings.TrimSpace(k) == "id" {
				id = strings.TrimSpace(v)
			}
		}
		ids = append(ids, id)
	}
	if len(ids) != 1 || !validID(ids[0]) {
		return "", nil
	}
	return ids[0], nil
}

// validID: 1 to 32 letters and digits (section 3.1).
func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// maxPolicy bounds the policy file (section 3.3 suggests 64 KiB).
const maxPolicy = 64 << 10

// fetch gets and parses the policy file of domain.
func (c *Cache) fetch(ctx context.Context, domain string) (*Policy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("mta-sts: %w", err)
	}
	client := *c.o.HTTP
	// section 3.3: redirects are not followed
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mta-sts: fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mta-sts: %s answered %s", url, resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("mta-sts: %s is %q, not text/plain", url, resp.Header.Get("Content-Type"))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicy+1))
	if err != nil {
		return nil, fmt.Errorf("mta-sts: reading %s: %w", url, err)
	}
	if len(b) > maxPolicy {
		return nil, fmt.Errorf("mta-sts: %s is larger than %d octets", url, maxPolicy)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return p, nil
}
