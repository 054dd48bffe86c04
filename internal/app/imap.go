package app

import (
	"context"
	"fmt"
	"sync"

	"courier/internal/auth"
	"courier/internal/imap/server"
	"courier/internal/netx"
	"courier/internal/store"
	"courier/internal/store/maildirstore"
)

// imapHandler returns the IMAP server for the imap and imaps services (one server for both;
// it tells them apart by netx.Conn.Service). Logins go through the app's auth chain and
// failed-login throttle. Settings (IMAP_CAPABILITY, IMAPDSTARTTLS, PLAINTEXT_LOGIN_FROM, the
// TLS certificate, …) are looked up per connection in the configuration in force. Called
// with a.mu held.
func (a *App) imapHandler(service string) netx.Handler {
	for _, s := range []string{"imap", "imaps"} {
		if h, ok := a.handlers[s].(*server.Server); ok {
			return h
		}
	}
	return server.New(server.Config{
		Auth:     a.AuthChain(),
		Throttle: a.Throttle(),
		Open: func(_ context.Context, _ *auth.Account, path string) (store.Store, error) {
			return maildirstore.Open(path, nil)
		},
		Settings: a.imapSettings(),
		SMAP:     a.smapHandler(),
		Log:      a.log.With("service", service),
		Hostname: meHostname(a.cfg.Dir),
	})
}

// imapSettings returns the settings lookup for the IMAP server, parsed once per loaded
// configuration.
func (a *App) imapSettings() func(service string) (*server.Settings, error) {
	var (
		mu    sync.Mutex
		cfg   *Config
		cache = map[string]*server.Settings{}
	)
	return func(service string) (*server.Settings, error) {
		cur := a.Config()
		mu.Lock()
		defer mu.Unlock()
		if cur != cfg {
			cfg, cache = cur, map[string]*server.Settings{}
		}
		if s, ok := cache[service]; ok {
			return s, nil
		}
		for _, l := range cur.Listeners {
			if l.Service != service {
				continue
			}
			s, err := server.SettingsFromEnv(l.Env, l.TLS)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", service, err)
			}
			cache[service] = s
			return s, nil
		}
		return nil, fmt.Errorf("%s: no listener in the configuration", service)
	}
}
