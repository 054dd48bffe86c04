// Package app is the composition root: it loads the configuration, builds the protocol
// servers, opens the listeners the configuration enables, and starts, reloads and stops them.
// It is the only package that knows the concrete implementations behind every interface.
//
// Reload rule: a new configuration is loaded completely before anything changes; if it fails,
// the running one stays in place. Listeners are matched by service and address: kept ones get
// the new limits and TLS settings in place (their sessions are never dropped), new ones are
// opened, vanished ones stop accepting while their sessions finish.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/authconfig"
	clog "courier/internal/log"
	"courier/internal/metrics"
	"courier/internal/netx"
	"courier/internal/web/httpd"
)

// Options configure an App.
type Options struct {
	ConfigDir string
	Version   string
	// Stdout receives one "listening SERVICE ADDR" line per listener opened.
	Stdout io.Writer
	// Stderr receives logs when Log is nil.
	Stderr io.Writer
	// Log, when set, is used instead of a logger built from the configuration.
	Log *slog.Logger
	// Getenv reads the process environment (LOGFORMAT); nil means os.Getenv.
	Getenv func(string) string
	// DrainTimeout bounds how long Shutdown waits for sessions; zero means 10 s.
	DrainTimeout time.Duration
	// Handlers, when set for a service, replace the built-in protocol server; tests use it.
	Handlers map[string]netx.Handler
}

// App is one running server.
type App struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics.Metrics
	ids     netx.IDSource
	started time.Time

	// authSetup is the chain authdaemonrc describes, shared by every protocol server;
	// throttle counts failed logins across all of them.
	authSetup *authconfig.Setup
	throttle  *auth.Throttle
	authStop  func()
	// sig holds the signals Wait acts on, from CatchSignals on (nil before)
	sig chan os.Signal

	mu       sync.Mutex
	cfg      *Config
	running  map[string]*running // by Listener.Key
	retired  []*running          // removed by a reload; their sessions may still run
	handlers map[string]netx.Handler
	missing  []string
}

type running struct {
	l   Listener
	srv *netx.Server
	err chan error
}

// New loads the configuration; it opens nothing yet.
func New(o Options) (*App, error) {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 10 * time.Second
	}
	cfg, err := LoadConfig(o.ConfigDir)
	if err != nil {
		return nil, err
	}
	a := &App{opts: o, cfg: cfg, metrics: metrics.New(), running: map[string]*running{}, handlers: map[string]netx.Handler{}}
	a.log = o.Log
	if a.log == nil {
		format, level := cfg.LogFormat, cfg.LogLevel
		if v := o.Getenv("LOGFORMAT"); v != "" {
			format = v
		}
		if v := o.Getenv("LOGLEVEL"); v != "" {
			level = v
		}
		a.log = clog.New(o.Stderr, format, level)
	}
	for _, w := range cfg.Warnings {
		a.log.Warn("configuration", "warning", w)
	}
	if a.authSetup, err = authconfig.Load(o.ConfigDir); err != nil {
		return nil, err
	}
	for _, w := range a.authSetup.Warnings {
		a.log.Warn("authentication", "warning", w)
	}
	a.throttle = auth.NewThrottle(a.authSetup.Throttle, time.Now)
	return a, nil
}

// AuthChain is the authentication chain every protocol server logs in through.
func (a *App) AuthChain() *auth.Chain { return a.authSetup.Chain }

// Throttle is the failed-login throttle shared by every protocol server.
func (a *App) Throttle() *auth.Throttle { return a.throttle }

// Log returns the app's logger.
func (a *App) Log() *slog.Logger { return a.log }

// handlerFor returns the protocol server of a service, built once and reused across reloads.
// A service with no server in this build returns nil.
func (a *App) handlerFor(service string) netx.Handler {
	if h, ok := a.handlers[service]; ok {
		return h
	}
	if h, ok := a.opts.Handlers[service]; ok {
		a.handlers[service] = h
		return h
	}
	var h netx.Handler
	switch service {
	case "http", "https":
		h = httpd.New(httpd.Options{
			Log:          a.log.With("service", service),
			Metrics:      a.metrics.Handler(),
			MetricsAllow: a.cfg.MetricsAllow,
			Status:       a.status,
		})
	case "pop3", "pop3s":
		h = a.pop3Handler(service)
	case "imap", "imaps":
		h = a.imapHandler(service)
	case "smtp", "submission", "smtps":
		h = a.newSMTPHandler(service)
		if h == nil {
			return nil
		}
	default:
		return nil
	}
	a.handlers[service] = h
	return h
}

func (a *App) status() httpd.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := httpd.Status{Version: a.opts.Version, Started: a.started, Missing: slices.Clone(a.missing)}
	for _, r := range a.sortedRunning() {
		if ad := r.srv.Addr(); ad != nil {
			st.Listeners = append(st.Listeners, r.l.Service+" "+ad.String())
		}
	}
	return st
}

func (a *App) sortedRunning() []*running {
	out := make([]*running, 0, len(a.running))
	for _, r := range a.running {
		out = append(out, r)
	}
	order := ServiceNames()
	slices.SortFunc(out, func(x, y *running) int {
		if d := slices.Index(order, x.l.Service) - slices.Index(order, y.l.Service); d != 0 {
			return d
		}
		if x.l.Addr < y.l.Addr {
			return -1
		}
		return 1
	})
	return out
}

// Start opens every listener the configuration enables and prints a line for each.
func (a *App) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.started = time.Now()
	if err := a.apply(a.cfg); err != nil {
		a.stopAllLocked(context.Background())
		return err
	}
	a.startAuthDaemon()
	return nil
}

// apply brings the running listeners in line with cfg. Called with mu held.
func (a *App) apply(cfg *Config) error {
	want := map[string]Listener{}
	a.missing = nil
	for _, l := range cfg.Listeners {
		if a.handlerFor(l.Service) == nil {
			if !slices.Contains(a.missing, l.Service) {
				a.missing = append(a.missing, l.Service)
				a.log.Warn("service enabled in the configuration but not available in this build; not listening", "service", l.Service)
			}
			continue
		}
		want[l.Key()] = l
	}
	// Open the new ones first, so a bind failure leaves the old set untouched.
	var opened []*running
	for _, l := range cfg.Listeners {
		if _, ok := want[l.Key()]; !ok {
			continue
		}
		if _, ok := a.running[l.Key()]; ok {
			continue
		}
		ln, err := netx.Listen(l.Addr)
		if err != nil {
			for _, r := range opened {
				r.srv.Shutdown(context.Background())
			}
			return fmt.Errorf("%s: %w", l.Service, err)
		}
		srv := netx.NewServer(l.Service, a.log, &a.ids, a.metrics)
		srv.Configure(a.handlerFor(l.Service), l.Limits, implicit(l))
		r := &running{l: l, srv: srv, err: make(chan error, 1)}
		go func() { r.err <- srv.Serve(ln) }()
		for srv.Addr() == nil {
			time.Sleep(time.Millisecond)
		}
		opened = append(opened, r)
	}
	for key, r := range a.running {
		if l, ok := want[key]; ok {
			r.srv.Configure(a.handlerFor(l.Service), l.Limits, implicit(l))
			r.l = l
			continue
		}
		a.log.Info("listener removed by configuration", "service", r.l.Service, "addr", r.l.Addr)
		delete(a.running, key)
		a.metrics.Listeners.WithLabelValues(r.l.Service).Dec()
		r.srv.StopAccepting()
		a.retired = append(a.retired, r)
	}
	for _, r := range opened {
		a.running[r.l.Key()] = r
		a.metrics.Listeners.WithLabelValues(r.l.Service).Inc()
		fmt.Fprintf(a.opts.Stdout, "listening %s %s\n", r.l.Service, r.srv.Addr())
		a.log.Info("listening", "service", r.l.Service, "addr", r.srv.Addr().String())
	}
	a.cfg = cfg
	return nil
}

// implicit is the TLS config for the handshake netx does on accept: only implicit-TLS
// services get one; the others use l.TLS for STARTTLS themselves.
func implicit(l Listener) *tls.Config {
	if l.ImplicitTLS {
		return l.TLS
	}
	return nil
}

// Addr returns the bound address of the first listener of a service ("" if none).
func (a *App) Addr(service string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.sortedRunning() {
		if r.l.Service == service {
			if ad := r.srv.Addr(); ad != nil {
				return ad.String()
			}
		}
	}
	return ""
}

// Missing lists the services the configuration enables that this build cannot serve.
func (a *App) Missing() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.missing)
}

// Config returns the configuration in force.
func (a *App) Config() *Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// Reload re-reads the configuration directory and applies it. On error the running
// configuration stays in force and the error says file:line.
func (a *App) Reload() error {
	cfg, err := LoadConfig(a.opts.ConfigDir)
	if err != nil {
		a.metrics.Reloads.WithLabelValues("failed").Inc()
		a.log.Error("reload failed; keeping the running configuration", "err", err)
		return err
	}
	for _, w := range cfg.Warnings {
		a.log.Warn("configuration", "warning", w)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.apply(cfg); err != nil {
		a.metrics.Reloads.WithLabelValues("failed").Inc()
		a.log.Error("reload failed; keeping the running configuration", "err", err)
		return err
	}
	a.metrics.Reloads.WithLabelValues("ok").Inc()
	a.metrics.LastReload.SetToCurrentTime()
	a.log.Info("configuration reloaded", "listeners", len(a.running))
	return nil
}

// Shutdown stops accepting everywhere and drains sessions until ctx ends.
func (a *App) Shutdown(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopAllLocked(ctx)
}

func (a *App) stopAllLocked(ctx context.Context) {
	var wg sync.WaitGroup
	for key, r := range a.running {
		delete(a.running, key)
		a.metrics.Listeners.WithLabelValues(r.l.Service).Dec()
		wg.Add(1)
		go func() { defer wg.Done(); r.srv.Shutdown(ctx) }()
	}
	for _, r := range a.retired {
		wg.Add(1)
		go func() { defer wg.Done(); r.srv.Shutdown(ctx) }()
	}
	a.retired = nil
	// Handlers that pool connections themselves (HTTP keep-alive) close their idle ones
	// now, while the servers above wait for sessions to end.
	for _, h := range a.handlers {
		if s, ok := h.(interface{ Shutdown(context.Context) error }); ok {
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.Shutdown(ctx) }()
		}
	}
	wg.Wait()
	if a.authStop != nil {
		a.authStop()
		a.authStop = nil
	}
}

// Run starts the app and serves until ctx is cancelled or SIGINT/SIGTERM arrives; SIGHUP
// reloads the configuration.
func (a *App) Run(ctx context.Context) error {
	a.CatchSignals()
	if err := a.Start(); err != nil {
		a.releaseSignals()
		return err
	}
	return a.Wait(ctx)
}

// CatchSignals starts holding SIGHUP, SIGINT and SIGTERM for Wait. Called before Start, it
// closes the window in which a signal sent as soon as the listeners answer would kill the
// process instead of draining it (Wait otherwise subscribes only when it is entered).
func (a *App) CatchSignals() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sig == nil {
		a.sig = make(chan os.Signal, 4)
		signal.Notify(a.sig, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	}
}

// releaseSignals undoes CatchSignals.
func (a *App) releaseSignals() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sig != nil {
		signal.Stop(a.sig)
		a.sig = nil
	}
}

// Wait serves an app already started until ctx is cancelled or SIGINT/SIGTERM arrives;
// SIGHUP reloads the configuration. It drains before returning.
func (a *App) Wait(ctx context.Context) error {
	a.CatchSignals()
	a.mu.Lock()
	sig := a.sig
	a.mu.Unlock()
	defer a.releaseSignals()
	for {
		select {
		case <-ctx.Done():
			return a.drain()
		case s := <-sig:
			if s == syscall.SIGHUP {
				_ = a.Reload()
				continue
			}
			a.log.Info("stopping", "signal", s.String())
			return a.drain()
		}
	}
}

func (a *App) drain() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.DrainTimeout)
	defer cancel()
	a.Shutdown(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		a.log.Warn("drain deadline reached")
	}
	a.log.Info("stopped")
	return nil
}
