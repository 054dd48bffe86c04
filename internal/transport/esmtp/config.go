package esmtp

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"courier/internal/config"
	"courier/internal/config/courierfmt"
)

// Security is a route's /SECURITY= setting.
type Security int

// Security levels.
const (
	// SecurityDefault is opportunistic STARTTLS: used when the peer offers it, without
	// verifying the certificate; a failed handshake is retried in clear.
	SecurityDefault Security = iota
	// SecurityNone never starts TLS (our addition: /SECURITY=NONE).
	SecurityNone
	// SecurityRequired needs STARTTLS: a peer without it, or a failed handshake, is a
	// temporary failure. Courier's /SECURITY=STARTTLS (its private SECURITY extension) is
	// taken to mean the same.
	SecurityRequired
	// SecuritySMTPS speaks TLS from the start (port 465).
	SecuritySMTPS
)

// Route is one line of esmtproutes.
type Route struct {
	Domain   string // "example.com", ".example.com" (subdomains) or "" (every domain)
	Relay    string // host name or address; "" means the domain's own MX records
	Port     int    // 0: the default port
	Security Security
	Pos      string // file:line
}

// parseRoute reads "domain: relay[,port] [/SECURITY=…]" (courier(8), esmtproutes).
func parseRoute(text, pos string) (Route, error) {
	dom, rest, ok := strings.Cut(text, ":")
	if !ok {
		return Route{}, fmt.Errorf("%s: no ':' (want \"domain: relay[,port]\")", pos)
	}
	r := Route{Domain: strings.ToLower(strings.TrimSpace(dom)), Pos: pos}
	rest = strings.TrimSpace(rest)
	// flags: "/SECURITY=X", possibly several, possibly glued to the relay
	if i := strings.Index(rest, "/"); i >= 0 {
		flags := rest[i:]
		rest = strings.TrimSpace(rest[:i])
		for _, f := range strings.Split(flags, "/") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			name, val, _ := strings.Cut(f, "=")
			if !strings.EqualFold(name, "SECURITY") {
				return Route{}, fmt.Errorf("%s: unknown flag /%s", pos, f)
			}
			switch strings.ToUpper(val) {
			case "NONE":
				r.Security = SecurityNone
			case "STARTTLS", "REQUIRED":
				r.Security = SecurityRequired
			case "SMTPS":
				r.Security = SecuritySMTPS
			default:
				return Route{}, fmt.Errorf("%s: unknown /SECURITY=%s (want STARTTLS, REQUIRED, SMTPS or NONE)", pos, val)
			}
		}
	}
	if rest == "" {
		return r, nil
	}
	host, port, hasPort := strings.Cut(rest, ",")
	r.Relay = strings.TrimSpace(host)
	if hasPort {
		n, err := strconv.Atoi(strings.TrimSpace(port))
		if err != nil || n <= 0 || n > 65535 {
			return Route{}, fmt.Errorf("%s: bad port %q", pos, port)
		}
		r.Port = n
	}
	if strings.ContainsAny(r.Relay, " \t") {
		return Route{}, fmt.Errorf("%s: bad relay %q", pos, r.Relay)
	}
	return r, nil
}

// match reports whether the route applies to domain (lower case).
func (r *Route) match(domain string) bool {
	switch {
	case r.Domain == "":
		return true
	case strings.HasPrefix(r.Domain, "."):
		return strings.HasSuffix(domain, r.Domain)
	default:
		return domain == r.Domain
	}
}

// literal returns the address of a relay written as an address ("[192.0.2.1]", "192.0.2.1",
// "[IPv6:2001:db8::1]").
func literal(host string) (netip.Addr, bool) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if len(h) > 5 && strings.EqualFold(h[:5], "IPv6:") {
		h = h[5:]
	}
	a, err := netip.ParseAddr(h)
	return a, err == nil
}

// credentials are one line of esmtpauthclient.
type credentials struct {
	user, password string
}

// settings are the control files the transport reads, as of one moment.
type settings struct {
	stamps   map[string]time.Time
	routes   []Route
	auth     map[string]credentials // by relay name, lower case, brackets removed
	helo     string
	timeouts timeouts
	// blockBackscatter holds the message sources of ESMTP_BLOCKBACKSCATTER (courierd)
	// whose notifications are discarded (backscatter.go).
	blockBackscatter map[string]bool
}

type timeouts struct {
	connect, helo, command, data, keepalive time.Duration
}

// defaultTimeouts are Courier's (courier(8)), except keepalive: Courier keeps an idle
// connection 60 s; we keep it 5 s, enough for a burst, without holding sessions on the
// peer (set esmtptimeoutkeepalive to change it).
var defaultTimeouts = timeouts{connect: time.Minute, helo: 5 * time.Minute, command: 10 * time.Minute, data: 5 * time.Minute, keepalive: 5 * time.Second}

var settingFiles = []string{"esmtproutes", "esmtpauthclient", "esmtphelo", "me", "courierd",
	"esmtptimeout", "esmtptimeoutconnect", "esmtptimeouthelo", "esmtptimeoutdata", "esmtptimeoutkeepalive"}

// configReader re-reads the control files when they change (checked at most once a second),
// so an edited esmtproutes applies to the next delivery without a restart.
type configReader struct {
	dir      string
	hostname string
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	cur     *settings
	checked time.Time
}

func (c *configReader) stamps() map[string]time.Time {
	out := map[string]time.Time{}
	for _, n := range settingFiles {
		p := filepath.Join(c.dir, n)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		out[n] = st.ModTime()
		if st.IsDir() {
			ents, _ := os.ReadDir(p)
			for _, e := range ents {
				if info, err := e.Info(); err == nil {
					out[n+"/"+e.Name()] = info.ModTime()
				}
			}
		}
	}
	return out
}

func sameStamps(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

// get returns the settings in force.
func (c *configReader) get() *settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.cur != nil && now.Sub(c.checked) < time.Second {
		return c.cur
	}
	c.checked = now
	st := c.stamps()
	if c.cur != nil && sameStamps(st, c.cur.stamps) {
		return c.cur
	}
	c.cur = c.load(st)
	return c.cur
}

func (c *configReader) lines(name string) []courierfmt.Line {
	ls, warns, err := courierfmt.ReadControl(filepath.Join(c.dir, name))
	for _, w := range warns {
		c.log.Warn("control file", "warning", w.String())
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("control file unreadable", "file", name, "err", err)
	}
	return ls
}

func (c *configReader) first(name string) string {
	v, err := courierfmt.ReadFirstLine(filepath.Join(c.dir, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("control file unreadable", "file", name, "err", err)
	}
	return strings.TrimSpace(v)
}

func (c *configReader) load(st map[string]time.Time) *settings {
	s := &settings{stamps: st, auth: map[string]credentials{}, timeouts: defaultTimeouts}
	for _, l := range c.lines("esmtproutes") {
		r, err := parseRoute(l.Text, l.Pos())
		if err != nil {
			c.log.Warn("esmtproutes: line ignored", "err", err)
			continue
		}
		s.routes = append(s.routes, r)
	}
	for _, l := range c.lines("esmtpauthclient") {
		f := strings.Fields(l.Text)
		if len(f) != 3 {
			c.log.Warn("esmtpauthclient: line ignored (want \"relay userid password\")", "at", l.Pos())
			continue
		}
		s.auth[relayKey(f[0])] = credentials{user: f[1], password: f[2]}
	}
	s.helo = c.first("esmtphelo")
	if s.helo == "" || s.helo == "*" {
		// "*" asks for the reverse DNS name of the local address; we use me instead.
		s.helo = c.first("me")
	}
	if s.helo == "" {
		s.helo = c.hostname
	}
	for _, t := range []struct {
		name string
		d    *time.Duration
	}{{"esmtptimeout", &s.timeouts.command}, {"esmtptimeoutconnect", &s.timeouts.connect},
		{"esmtptimeouthelo", &s.timeouts.helo}, {"esmtptimeoutdata", &s.timeouts.data},
		{"esmtptimeoutkeepalive", &s.timeouts.keepalive}} {
		v := c.first(t.name)
		if v == "" {
			continue
		}
		d, err := config.ParseDuration(v)
		if err != nil {
			c.log.Warn("control file ignored", "file", t.name, "err", err)
			continue
		}
		*t.d = d // esmtptimeoutconnect 0: the system's own connect timeout
	}
	if f, err := courierfmt.LoadEnv(filepath.Join(c.dir, "courierd"), nil); err == nil {
		if v, ok := f.Lookup("ESMTP_BLOCKBACKSCATTER"); ok {
			var bad []string
			s.blockBackscatter, bad = backscatterSources(v.Value)
			if len(bad) > 0 {
				c.log.Warn("ESMTP_BLOCKBACKSCATTER: items ignored (want smtp/dsn or authsmtp/dsn)", "at", v.Pos(), "items", strings.Join(bad, ","))
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("courierd unreadable; ESMTP_BLOCKBACKSCATTER not applied", "err", err)
	}
	return s
}

// relayKey normalises a relay name for esmtpauthclient: lower case, no brackets.
func relayKey(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]"))
}

// route returns the first route matching domain, or nil.
func (s *settings) route(domain string) *Route {
	for i := range s.routes {
		if s.routes[i].match(domain) {
			return &s.routes[i]
		}
	}
	return nil
}
