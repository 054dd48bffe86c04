package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"courier/internal/netx"
	"courier/internal/pop3"
	"courier/internal/pop3/pop3maildir"
)

// pop3Handler returns the POP3 server for the pop3 and pop3s services. One server serves
// both (it tells them apart by netx.Conn.Service); logins go through the app's auth chain
// and its failed-login throttle, shared with the other protocols.
// It is built once; its settings (POP3AUTH, POP3_STARTTLS, PLAINTEXT_LOGIN_FROM, the TLS
// certificate, …) are looked up for every connection in the configuration in force, so a
// reload applies to the next connection. Called with a.mu held.
func (a *App) pop3Handler(service string) netx.Handler {
	for _, s := range []string{"pop3", "pop3s"} {
		if h, ok := a.handlers[s].(*pop3.Server); ok {
			return h
		}
	}
	return pop3.New(pop3.Config{
		Auth:     a.AuthChain(),
		Throttle: a.Throttle(),
		Opener:   pop3maildir.Opener(nil),
		Settings: a.pop3Settings(),
		Log:      a.log.With("service", service),
		Hostname: meHostname(a.cfg.Dir),
	})
}

// pop3Settings returns the settings lookup for the POP3 server: the service's merged
// pop3d/pop3d-ssl settings and TLS configuration from the configuration in force, parsed
// once per loaded configuration.
func (a *App) pop3Settings() func(service string) (*pop3.Settings, error) {
	var (
		mu    sync.Mutex
		cfg   *Config
		cache = map[string]*pop3.Settings{}
	)
	return func(service string) (*pop3.Settings, error) {
		cur := a.Config()
		mu.Lock()
		defer mu.Unlock()
		if cur != cfg {
			cfg, cache = cur, map[string]*pop3.Settings{}
		}
		if s, ok := cache[service]; ok {
			return s, nil
		}
		for _, l := range cur.Listeners {
			if l.Service != service {
				continue
			}
			s, err := pop3.SettingsFromEnv(l.Env, l.TLS)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", service, err)
			}
			cache[service] = s
			return s, nil
		}
		return nil, fmt.Errorf("%s: no listener in the configuration", service)
	}
}

// meHostname is the first line of CONFIG/me (Courier's own host name), else the system's.
func meHostname(dir string) string {
	if b, err := os.ReadFile(filepath.Join(dir, "me")); err == nil {
		if l, _, _ := strings.Cut(string(b), "\n"); strings.TrimSpace(l) != "" {
			return strings.TrimSpace(l)
		}
	}
	h, _ := os.Hostname()
	return h
}
