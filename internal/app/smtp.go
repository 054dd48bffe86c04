package app

// The SMTP services (smtp, submission, smtps) and what they need: an auth chain, the
// recipient resolver, the mail queue and local delivery.
//
// The auth chain is the App's (authdaemonrc's); the queue is built here, once: the three SMTP
// handlers share one smtpCore: the first one built makes it, the others find it among
// a.handlers. The core also ingests sendmail's pickup directory (pickup.go) into the queue,
// resolving recipients with the same resolver; it stops before the queue closes.

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"courier/internal/auth"
	"courier/internal/config/courierfmt"
	"courier/internal/delivery"
	"courier/internal/netx"
	"courier/internal/queue"
	"courier/internal/smtp/server"
	"courier/internal/submit"
	"courier/internal/transport/esmtp"
)

// smtpCore is shared by the SMTP services of one App.
type smtpCore struct {
	chain    *auth.Chain
	resolver *delivery.Resolver
	filters  *server.Filters // localmailfilter(7): off while maildropfilter is absent
	queue    *queue.Queue
	pickup   *submit.Ingester // nil when the pickup directory could not be set up
	control  net.Listener     // the control socket (control.go); nil when it could not be set up

	mu    sync.Mutex
	users int
}

// smtpHandler is the protocol server of one SMTP service plus the shared core.
type smtpHandler struct {
	*server.Server
	core *smtpCore
}

// release is called by each handler's Shutdown; the last one closes the queue.
func (c *smtpCore) release(ctx context.Context) {
	c.mu.Lock()
	c.users--
	last := c.users == 0
	c.mu.Unlock()
	if last {
		if c.control != nil {
			c.control.Close()
		}
		if c.pickup != nil {
			c.pickup.Stop() // it writes into the queue: stop it first
		}
		_ = c.queue.Close(ctx)
	}
}

// queueDir returns the directory of the mail queue. It is the QUEUEDIR setting of the
// courierd file (ours: "QUEUEDIR=/var/spool/courier/msgs", the directory holding one file
// per queued message); without it, a quickstart installation (etc/ beside spool/) uses
// DIR/spool/msgs, and anything else /var/spool/courier/msgs.
func queueDir(configDir string) (string, error) {
	f, err := courierfmt.LoadEnv(filepath.Join(configDir, "courierd"), nil)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if f != nil {
		if v, ok := f.Lookup("QUEUEDIR"); ok && strings.TrimSpace(v.Value) != "" {
			return strings.TrimSpace(v.Value), nil
		}
	}
	spool := filepath.Join(filepath.Dir(filepath.Clean(configDir)), "spool")
	if st, err := os.Stat(spool); err == nil && st.IsDir() {
		return filepath.Join(spool, "msgs"), nil
	}
	return "/var/spool/courier/msgs", nil
}

// smtpCoreFor returns the shared core, building it on first use.
func (a *App) smtpCoreFor() (*smtpCore, error) {
	for _, h := range a.handlers {
		if sh, ok := h.(*smtpHandler); ok {
			return sh.core, nil
		}
	}
	dir, err := queueDir(a.cfg.Dir)
	if err != nil {
		return nil, err
	}
	hostname, _ := os.Hostname()
	chain := a.AuthChain()
	c := &smtpCore{chain: chain}
	c.resolver = delivery.NewResolver(delivery.ResolverOptions{ConfigDir: a.cfg.Dir, Auth: chain, Log: a.log, Hostname: hostname})
	c.filters = server.NewFilters(server.FilterOptions{ConfigDir: a.cfg.Dir, Auth: chain, Log: a.log.With("service", "localfilter")})
	local := delivery.NewLocal(delivery.LocalOptions{Auth: chain, Log: a.log, ConfigDir: a.cfg.Dir,
		DefaultDelivery: defaultDelivery(a.cfg.Dir), Forward: c.forward,
		ProgramTimeout: controlDuration(a.cfg.Dir, "localtimeout", 0)})
	notifier := &dsnNotifier{configDir: a.cfg.Dir, core: c, log: a.log.With("service", "dsn"), ready: make(chan struct{})}
	// Local deliveries keep the 16 workers they always had; remote ones may add up to
	// module.esmtp's MAXDELS, which the transport enforces itself.
	workers := 16 + esmtp.ModuleMaxDels(a.cfg.Dir, a.log)
	q, err := queue.Open(queue.Options{Dir: dir, Log: a.log.With("service", "queue"), Deliverer: a.newOutbound(local, dir), Notifier: notifier, Workers: workers,
		QueueTime: controlDuration(a.cfg.Dir, "queuetime", 0), WarnTime: controlDuration(a.cfg.Dir, "warntime", 0)})
	if err != nil {
		return nil, err
	}
	c.queue = q
	close(notifier.ready)
	a.startPickup(c)
	a.startControl(c)
	return c, nil
}

// newSMTPHandler builds the protocol server of smtp, submission or smtps.
func (a *App) newSMTPHandler(service string) netx.Handler {
	core, err := a.smtpCoreFor()
	if err != nil {
		a.log.Error("smtp: cannot start", "service", service, "err", err)
		return nil
	}
	core.mu.Lock()
	core.users++
	core.mu.Unlock()
	srv := server.New(server.Options{
		Service:  service,
		Log:      a.log.With("service", service),
		Settings: func() server.Settings { return a.smtpSettings(service) },
		Auth:     core.chain,
		Throttle: a.Throttle(),
		Router:   core.resolver,
		// LocalFilter is set for every service, as Courier's submit runs the filters for
		// any ESMTP message (enablefiltering lists esmtp by default).
		LocalFilter: core.filters,
		Queue:       server.QueueSpool{Q: core.queue},
		OnShutdown:  core.release,
	})
	return &smtpHandler{Server: srv, core: core}
}

// smtpSettings reads the settings of a service from its listener's merged files and the
// control files; called at the start of every session, so a reload applies to new ones.
func (a *App) smtpSettings(service string) server.Settings {
	cfg := a.Config()
	var l *Listener
	for i := range cfg.Listeners {
		if cfg.Listeners[i].Service == service {
			l = &cfg.Listeners[i]
			break
		}
	}
	// No line-length limit of our own (MaxLine 0): RFC 5321 §4.5.3.1 asks implementations to
	// avoid such limits where they can, Courier and Postfix accept long lines, and refusing
	// them would refuse real mail (HTML with long lines). The message size limit bounds them.
	st := server.Settings{MaxLine: 0, MaxSize: 10485760}
	if me, err := courierfmt.ReadFirstLine(filepath.Join(cfg.Dir, "me")); err == nil && me != "" {
		st.Hostname = me
	} else {
		st.Hostname, _ = os.Hostname()
	}
	if v, err := courierfmt.ReadFirstLine(filepath.Join(cfg.Dir, "sizelimit")); err == nil {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			st.MaxSize = n
		}
	}
	a.bofhSettings(cfg.Dir, &st)
	if l == nil {
		return st
	}
	env := l.Env
	yes := func(n string) bool { v := strings.TrimSpace(env[n]); return v != "" && v != "0" }
	st.AuthRequired = yes("AUTH_REQUIRED")
	st.AuthMechs = strings.Fields(env["ESMTPAUTH"])
	st.AuthMechsTLS = strings.Fields(env["ESMTPAUTH_TLS"])
	if !l.ImplicitTLS {
		st.TLS = l.TLS
	}
	st.TLSRequired = yes("ESMTP_TLS_REQUIRED")
	st.NoVRFY, st.NoEXPN = yes("BOFHNOVRFY"), yes("BOFHNOEXPN")
	st.AddMessageID, st.AddDate = !yes("NOADDMSGID"), !yes("NOADDDATE")
	st.RelayFrom = prefixes(env["RELAYCLIENT_FROM"])
	st.PlaintextFrom = prefixes(env["PLAINTEXT_LOGIN_FROM"])
	if v := strings.TrimSpace(env["SIZELIMIT"]); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			st.MaxSize = n
		}
	}
	if v := strings.TrimSpace(env["TLS_TIMEOUT"]); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			st.TLSTimeout = time.Duration(n) * time.Second
		}
	}
	return st
}

// bofhSettings reads "maxrcpts N" and "opt BOFHHEADERLIMIT=N" from the bofh file.
func (a *App) bofhSettings(dir string, st *server.Settings) {
	lines, _, err := courierfmt.ReadControl(filepath.Join(dir, "bofh"))
	if err != nil {
		return
	}
	for _, l := range lines {
		f := strings.Fields(l.Text)
		switch {
		case len(f) >= 2 && f[0] == "maxrcpts":
			if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
				st.MaxRcpts = n
			}
		case len(f) == 2 && f[0] == "opt" && strings.HasPrefix(f[1], "BOFHHEADERLIMIT="):
			if n, err := strconv.Atoi(strings.TrimPrefix(f[1], "BOFHHEADERLIMIT=")); err == nil && n > 0 {
				st.MaxHeader = n
			}
		}
	}
}

// prefixes parses a list of addresses and networks; bad entries are skipped (the schema
// check reports them).
func prefixes(s string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if p, err := parsePrefix(f); err == nil {
			out = append(out, p)
		}
	}
	return out
}
