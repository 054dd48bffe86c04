package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"courier/internal/auth"
	"courier/internal/imap/server"
	"courier/internal/netx"
	"courier/internal/privsep"
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
	envs := &sessionEnvs{}
	return server.New(server.Config{
		Auth:     a.AuthChain(),
		Throttle: a.Throttle(),
		Open: func(_ context.Context, _ *auth.Account, path string) (store.Store, error) {
			return maildirstore.Open(path, &maildirstore.Options{CourierLocks: a.imapUseLocks()})
		},
		Settings: a.imapSettings(envs),
		SMAP:     a.smapHandler(),
		Outbox:   OutboxSender(a.cfg.Dir, true),
		Handoff:  &imapHandoff{a: a, envs: envs, sp: privsep.New(privsep.Options{KillAfter: a.opts.DrainTimeout})},
		Log:      a.log.With("service", service),
		Hostname: meHostname(a.cfg.Dir),
	})
}

// imapUseLocks reports the IMAP listeners' IMAP_USELOCKS: whether to take Courier-IMAP's
// dot-lock around UID assignment, so that a Courier imapd on the same Maildir never hands
// out a UID we hand out. On unless set to 0: Courier ships imapd with IMAP_USELOCKS=1.
func (a *App) imapUseLocks() bool {
	for _, l := range a.Config().Listeners {
		if l.Service != "imap" && l.Service != "imaps" {
			continue
		}
		if v, ok := l.Env["IMAP_USELOCKS"]; ok {
			return useLocks(v)
		}
	}
	return true
}

// useLocks reads IMAP_USELOCKS as Courier does: a number, on when not zero.
func useLocks(v string) bool {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return err == nil && n != 0
}

// imapHandoff runs the sessions of accounts with a uid of their own in `courier imapd`
// processes running as that uid, as Courier's imaplogin execs imapd (see internal/privsep
// for when and how). The process gets the account's environment (AUTHENTICATED, MAILDIR,
// …), the service's IMAP settings, IMAPLOGINTAG (or PROTOCOL=SMAP1 for an SMAP login) and
// IMAP_TLS=1 when the client's connection is encrypted.
type imapHandoff struct {
	a    *App
	envs *sessionEnvs
	sp   *privsep.Spawner
}

// Serve implements server.Handoff.
func (h *imapHandoff) Serve(ctx context.Context, s *server.HandoffSession) (bool, error) {
	env := privsep.AccountEnv(s.Account, s.User, s.Maildir, s.Remote)
	env = append(env, h.envs.get(h.a, s.Service, server.SessionSettings())...)
	if s.SMAP {
		env = append(env, "PROTOCOL=SMAP1")
	} else {
		env = append(env, privsep.Setting("IMAPLOGINTAG", s.Tag))
	}
	if s.TLS {
		env = append(env, "IMAP_TLS=1")
	}
	// The session finds the configuration (SMAP's send-and-save goes through its pickup
	// directory) where the server found it.
	env = append(env, privsep.Setting("COURIER_CONFIG", h.a.cfg.Dir))
	return h.sp.Serve(ctx, &privsep.Request{Account: s.Account, Args: []string{"imapd"}, Env: env,
		Conn: s.Conn, Buffered: s.Buffered, Log: s.Log, Started: func(p *privsep.Process) {
			if s.Started != nil {
				s.Started(p.Pid())
			}
		}})
}

// sessionEnvs keeps, per service, the settings of the configuration that the service's
// connections were last set up with, for the environment of handed-off sessions. It has a
// lock of its own because a login must never wait for the app's: Shutdown holds that one
// while it waits for the sessions to end.
type sessionEnvs struct {
	mu    sync.Mutex
	env   map[string]map[string]string
	level string
}

// set records a service's merged settings and the configured log level.
func (e *sessionEnvs) set(service string, env map[string]string, level string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.env == nil {
		e.env = map[string]map[string]string{}
	}
	e.env[service], e.level = env, level
}

// get returns NAME=value for the names the service sets, plus how the session process
// logs: JSON on standard error (the login stage relays it with the connection id), at the
// server's level.
func (e *sessionEnvs) get(a *App, service string, names []string) []string {
	e.mu.Lock()
	set, level := e.env[service], e.level
	e.mu.Unlock()
	var out []string
	for _, n := range names {
		if v := set[n]; v != "" {
			out = append(out, privsep.Setting(n, v))
		}
	}
	if v := a.opts.Getenv("LOGLEVEL"); v != "" {
		level = v
	}
	if level == "" {
		level = "info"
	}
	return append(out, "LOGFORMAT=json", privsep.Setting("LOGLEVEL", level))
}

// imapSettings returns the settings lookup for the IMAP server, parsed once per loaded
// configuration; envs receives the settings for handed-off sessions.
func (a *App) imapSettings(envs *sessionEnvs) func(service string) (*server.Settings, error) {
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
			envs.set(service, l.Env, cur.LogLevel)
			return s, nil
		}
		return nil, fmt.Errorf("%s: no listener in the configuration", service)
	}
}
