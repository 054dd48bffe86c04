package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"courier/internal/config"
	"courier/internal/config/courierfmt"
	"courier/internal/netx"
	"courier/internal/netx/access"
)

// serviceDef says where a service's settings live in Courier's files. Files are read in
// order, each seeing the earlier ones' names, as Courier's start scripts source them: the
// SSL variant of a service reads the plain file first and its own file second.
type serviceDef struct {
	Name        string
	Files       []string // first one must exist; later ones are optional overlays
	StartVar    string   // the service runs when this is YES
	AddrVar     string
	PortVar     string
	DefaultPort int
	ImplicitTLS bool
}

var serviceDefs = []serviceDef{
	{"smtp", []string{"esmtpd"}, "ESMTPDSTART", "ADDRESS", "PORT", 25, false},
	{"submission", []string{"esmtpd", "esmtpd-msa"}, "ESMTPDSTART", "ADDRESS", "PORT", 587, false},
	{"smtps", []string{"esmtpd", "esmtpd-ssl"}, "ESMTPDSSLSTART", "SSLADDRESS", "SSLPORT", 465, true},
	{"imap", []string{"imapd-ssl", "imapd"}, "IMAPDSTART", "ADDRESS", "PORT", 143, false},
	{"imaps", []string{"imapd", "imapd-ssl"}, "IMAPDSSLSTART", "SSLADDRESS", "SSLPORT", 993, true},
	{"pop3", []string{"pop3d-ssl", "pop3d"}, "POP3DSTART", "ADDRESS", "PORT", 110, false},
	{"pop3s", []string{"pop3d", "pop3d-ssl"}, "POP3DSSLSTART", "SSLADDRESS", "SSLPORT", 995, true},
	{"http", []string{"webmaild"}, "HTTPDSTART", "HTTP_ADDRESS", "HTTP_PORT", 80, false},
	{"https", []string{"webmaild"}, "HTTPSDSTART", "HTTPS_ADDRESS", "HTTPS_PORT", 443, true},
}

// ServiceNames lists every service the configuration can enable, in start order.
func ServiceNames() []string {
	out := make([]string, len(serviceDefs))
	for i, d := range serviceDefs {
		out[i] = d.Name
	}
	return out
}

// Listener is one enabled listening socket of a service.
type Listener struct {
	Service string
	Addr    string // host:port to bind
	Limits  netx.Limits
	// TLS is the server TLS config: used for the handshake on implicit-TLS services and
	// for STARTTLS on the others. Nil when no certificate is configured.
	TLS         *tls.Config
	ImplicitTLS bool
	Env         map[string]string // every setting of the service's files, merged
}

// Key identifies a listener across reloads.
func (l Listener) Key() string { return l.Service + " " + l.Addr }

// Config is one loaded configuration directory.
type Config struct {
	Dir          string
	Listeners    []Listener
	Disabled     []string // services whose files exist but which are not started (NO)
	Warnings     []string
	LogFormat    string
	LogLevel     string
	MetricsAllow []netip.Prefix
	Files        map[string]*courierfmt.EnvFile
}

// LoadConfig reads the configuration directory. Every error names file:line.
func LoadConfig(dir string) (*Config, error) {
	c := &Config{Dir: dir, Files: map[string]*courierfmt.EnvFile{}}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("configuration directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("configuration directory %s: not a directory", dir)
	}
	// courierd holds process-wide settings (logging); optional.
	if f, err := c.envFile("courierd", nil); err == nil {
		m := f.Map()
		c.LogFormat, c.LogLevel = m["LOGFORMAT"], m["LOGLEVEL"]
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, d := range serviceDefs {
		ls, on, err := c.loadService(d)
		if err != nil {
			return nil, err
		}
		if !on {
			continue
		}
		c.Listeners = append(c.Listeners, ls...)
	}
	if f, ok := c.Files["webmaild"]; ok {
		if v, ok := f.Lookup("METRICS_ALLOW"); ok && strings.TrimSpace(v.Value) != "" {
			for _, s := range strings.FieldsFunc(v.Value, func(r rune) bool { return r == ',' || r == ' ' }) {
				p, err := parsePrefix(s)
				if err != nil {
					return nil, fmt.Errorf("%s: METRICS_ALLOW: %v", v.Pos(), err)
				}
				c.MetricsAllow = append(c.MetricsAllow, p)
			}
		}
	}
	return c, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// envFile parses one file once per load; base supplies names defined by earlier files.
func (c *Config) envFile(name string, base map[string]string) (*courierfmt.EnvFile, error) {
	lookup := func(n string) (string, bool) {
		v, ok := base[n]
		if !ok && n == "sysconfdir" {
			// Courier's files name their directory ${sysconfdir} (ACCESSFILE=${sysconfdir}/smtpaccess).
			return c.Dir, true
		}
		return v, ok
	}
	f, err := courierfmt.LoadEnv(filepath.Join(c.Dir, name), lookup)
	if err != nil {
		return nil, err
	}
	// The schema check turns bad numbers into file:line errors and unknown names into
	// warnings; the values themselves are read from the merged map below.
	_, warns, err := config.New(f, serviceSchema)
	for _, w := range warns {
		// Several services read the same file; say each thing once.
		if ws := w.String(); !slices.Contains(c.Warnings, ws) {
			c.Warnings = append(c.Warnings, ws)
		}
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (c *Config) loadService(d serviceDef) ([]Listener, bool, error) {
	env := map[string]string{}
	pos := map[string]string{} // name → file:line of its final assignment
	found := false
	for _, name := range d.Files {
		f, err := c.envFile(name, env)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		c.Files[name] = f
		found = true
		for _, v := range f.Vars {
			env[v.Name] = v.Value
			pos[v.Name] = v.Pos()
		}
	}
	if !found {
		return nil, false, nil
	}
	where := func(n string) string {
		if p, ok := pos[n]; ok {
			return p
		}
		return filepath.Join(c.Dir, d.Files[len(d.Files)-1])
	}
	if !strings.EqualFold(strings.TrimSpace(env[d.StartVar]), "YES") {
		if _, set := env[d.StartVar]; set {
			c.Disabled = append(c.Disabled, d.Name)
		}
		return nil, false, nil
	}
	lim := netx.Limits{}
	var err error
	if lim.MaxConns, err = intVar(env, "MAXDAEMONS", 40, where); err != nil {
		return nil, false, err
	}
	if lim.MaxPerIP, err = intVar(env, "MAXPERIP", 20, where); err != nil {
		return nil, false, err
	}
	// couriertcpd's -access: ACCESSFILE for the SMTP services, IMAPACCESSFILE for IMAP.
	accessVar := "ACCESSFILE"
	if strings.HasPrefix(d.Name, "imap") {
		accessVar = "IMAPACCESSFILE"
	}
	if p := strings.TrimSpace(env[accessVar]); p != "" && (strings.HasPrefix(d.Name, "smtp") || d.Name == "submission" || strings.HasPrefix(d.Name, "imap")) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.Dir, p)
		}
		lim.Access = access.NewFile(p)
	}
	addrs, err := listenAddrs(env[d.AddrVar], env[d.PortVar], d.DefaultPort)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %s/%s: %v", where(d.PortVar), d.AddrVar, d.PortVar, err)
	}
	var tlsCfg *tls.Config
	if cert := env["TLS_CERTFILE"]; cert != "" {
		tlsCfg, err = netx.LoadTLS(netx.TLSFiles{
			CertFile: cert, KeyFile: env["TLS_PRIVATE_KEYFILE"], TrustCerts: env["TLS_TRUSTCERTS"],
			VerifyPeer: env["TLS_VERIFYPEER"], MinVersionS: env["TLS_PROTOCOL"],
		})
		if err != nil {
			return nil, false, fmt.Errorf("%s: %v", where("TLS_CERTFILE"), err)
		}
	} else if d.ImplicitTLS {
		return nil, false, fmt.Errorf("%s: %s=YES needs TLS_CERTFILE", where(d.StartVar), d.StartVar)
	}
	var out []Listener
	for _, a := range addrs {
		out = append(out, Listener{Service: d.Name, Addr: a, Limits: lim, TLS: tlsCfg, ImplicitTLS: d.ImplicitTLS, Env: env})
	}
	return out, true, nil
}

func intVar(env map[string]string, name string, def int, where func(string) string) (int, error) {
	s, ok := env[name]
	if !ok || strings.TrimSpace(s) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %s: %q is not a number", where(name), name, s)
	}
	return n, nil
}

// listenAddrs turns Courier's ADDRESS and PORT into host:port pairs. PORT is a comma-separated
// list of ports or service names, each optionally "address.port" (couriertcpd's multiple port
// list); ADDRESS=0 or empty means every address.
func listenAddrs(address, ports string, def int) ([]string, error) {
	address = strings.TrimSpace(address)
	if address == "0" {
		address = ""
	}
	ports = strings.TrimSpace(ports)
	if ports == "" {
		ports = strconv.Itoa(def)
	}
	var out []string
	for _, p := range strings.Split(ports, ",") {
		p = strings.TrimSpace(p)
		host := address
		if i := strings.LastIndexByte(p, '.'); i >= 0 {
			host, p = p[:i], p[i+1:]
			if host == "0" {
				host = ""
			}
		}
		n, err := portNumber(p)
		if err != nil {
			return nil, err
		}
		for _, h := range splitHosts(host) {
			out = append(out, net.JoinHostPort(h, strconv.Itoa(n)))
		}
	}
	return out, nil
}

func splitHosts(h string) []string {
	if h == "" {
		return []string{""}
	}
	return strings.FieldsFunc(h, func(r rune) bool { return r == ' ' })
}

var wellKnownPorts = map[string]int{
	"smtp": 25, "submission": 587, "smtps": 465, "imap": 143, "imap2": 143, "imaps": 993,
	"pop3": 110, "pop3s": 995, "http": 80, "https": 443,
}

func portNumber(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 65535 {
			return 0, fmt.Errorf("port %d out of range", n)
		}
		return n, nil
	}
	if n, ok := wellKnownPorts[s]; ok {
		return n, nil
	}
	n, err := net.LookupPort("tcp", s)
	if err != nil {
		return 0, fmt.Errorf("unknown port %q", s)
	}
	return n, nil
}
