package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"courier/internal/netx"
	"courier/internal/pop3"
	"courier/internal/pop3/pop3maildir"
	"courier/internal/privsep"
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
	envs := &sessionEnvs{}
	return pop3.New(pop3.Config{
		Auth:     a.AuthChain(),
		Throttle: a.Throttle(),
		Opener:   pop3maildir.Opener(nil),
		Settings: a.pop3Settings(envs),
		Handoff:  &pop3Handoff{a: a, envs: envs, sp: privsep.New(privsep.Options{KillAfter: a.opts.DrainTimeout})},
		Log:      a.log.With("service", service),
		Hostname: meHostname(a.cfg.Dir),
	})
}

// pop3Handoff runs the sessions of accounts with a uid of their own in `courier pop3d`
// processes running as that uid, as Courier's pop3login execs courierpop3d (see
// internal/privsep for when and how). The process gets the account's environment
// (AUTHENTICATED, MAILDIR, TCPREMOTEIP, …), the service's POP3 settings and POP3_TLS=1 when
// the client's connection is encrypted.
type pop3Handoff struct {
	a    *App
	envs *sessionEnvs
	sp   *privsep.Spawner
}

// Serve implements pop3.Handoff.
func (h *pop3Handoff) Serve(ctx context.Context, s *pop3.HandoffSession) (bool, error) {
	env := privsep.AccountEnv(s.Account, s.User, s.Maildir, s.Remote)
	env = append(env, h.envs.get(h.a, s.Service, pop3.SessionSettings())...)
	if s.TLS {
		env = append(env, "POP3_TLS=1")
	}
	return h.sp.Serve(ctx, &privsep.Request{Account: s.Account, Args: []string{"pop3d"}, Env: env,
		Conn: s.Conn, Buffered: s.Buffered, Log: s.Log, Started: func(p *privsep.Process) {
			if s.Started != nil {
				s.Started(p.Pid())
			}
		}})
}

// pop3Settings returns the settings lookup for the POP3 server: the service's merged
// pop3d/pop3d-ssl settings and TLS configuration from the configuration in force, parsed
// once per loaded configuration; envs receives the settings for handed-off sessions.
func (a *App) pop3Settings(envs *sessionEnvs) func(service string) (*pop3.Settings, error) {
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
			envs.set(service, l.Env, cur.LogLevel)
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
