// Package delivery decides who gets mail and delivers it locally.
//
// Resolver answers, for an address given at RCPT time, whether this server takes mail for
// it and where it goes, from Courier's control files: me, locals, hosteddomains,
// esmtpacceptmailfor and esmtpacceptmailfor.dir, aliases (the text source; makealiases'
// compiled form comes later), the accounts of the auth chain, extension addresses
// (user-ext, when the account has a matching .courier-ext file) and aliasdir/ for local
// addresses that are no account. Local delivers one queued recipient into the account's
// Maildir or as its .courier file says (dotcourier.go).
//
// Invariants: the Resolver never accepts a domain that none of locals, hosteddomains and
// esmtpacceptmailfor lists unless the caller says the session may relay (no open relay);
// the control files are re-read when they change (checked at most once a second). Local
// puts the queue's delivery token into the Maildir file name, so that after a crash a
// delivery that finished is recognised and not repeated.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"courier/internal/auth"
	"courier/internal/config/courierfmt"
	"courier/internal/queue"
)

// Errors of Route. The SMTP server maps them to replies.
var (
	// ErrUnknownUser: the domain is ours but the address is not (550 5.1.1).
	ErrUnknownUser = errors.New("delivery: no such user here")
	// ErrRelayDenied: the domain is not ours and the session may not relay (550 5.7.1).
	ErrRelayDenied = errors.New("delivery: relaying denied")
	// ErrTempFail: the account database could not answer (451 4.3.0).
	ErrTempFail = errors.New("delivery: temporary failure looking up the address")
)

// ResolverOptions configure a Resolver.
type ResolverOptions struct {
	ConfigDir string      // where me, locals, hosteddomains, … live
	Auth      auth.Module // accounts (normally the auth chain); Lookup only
	Log       *slog.Logger
	Hostname  string // fallback for me when the file is missing
}

// Resolver maps recipient addresses to deliveries. Safe for concurrent use.
type Resolver struct {
	o ResolverOptions

	mu      sync.Mutex
	t       *tables
	checked time.Time
}

// NewResolver returns a resolver reading the control files of o.ConfigDir.
func NewResolver(o ResolverOptions) *Resolver {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	return &Resolver{o: o}
}

// domainList is a locals-style list: "domain", ".domain" (any subdomain), "!domain"
// (excluded; must come before a wildcard that would match it). First match wins.
type domainList []string

func (l domainList) match(d string) bool {
	for _, e := range l {
		neg := strings.HasPrefix(e, "!")
		e = strings.TrimPrefix(e, "!")
		if d == e || (strings.HasPrefix(e, ".") && strings.HasSuffix(d, e)) {
			return !neg
		}
	}
	return false
}

type tables struct {
	stamps      map[string]time.Time
	me          string
	locals      domainList
	haveLocals  bool
	hosted      domainList
	hostedAlias map[string]string // alias domain → hosted domain
	accept      domainList
	aliases     map[string][]string // "name@domain" → targets (addresses, "| cmd", "/path")
	virtual     map[string]string   // @domain: user
	instr       map[string]string   // program and mailbox aliases: key → "| cmd" or "/path"
}

var controlFiles = []string{"me", "locals", "hosteddomains", "hosteddomains.dat", "esmtpacceptmailfor",
	"esmtpacceptmailfor.dir", "esmtpacceptmailfor.dat", "aliases", "aliases.dat"}

func (r *Resolver) stamps() map[string]time.Time {
	out := map[string]time.Time{}
	for _, n := range controlFiles {
		p := filepath.Join(r.o.ConfigDir, n)
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
		if !b[k].Equal(v) {
			return false
		}
	}
	return true
}

// current returns the tables, re-reading the files when they changed.
func (r *Resolver) current() *tables {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.t != nil && time.Since(r.checked) < time.Second {
		return r.t
	}
	r.checked = time.Now()
	st := r.stamps()
	if r.t != nil && sameStamps(st, r.t.stamps) {
		return r.t
	}
	r.t = r.load(st)
	return r.t
}

func (r *Resolver) lines(name string) ([]courierfmt.Line, bool) {
	ls, warns, err := courierfmt.ReadControl(filepath.Join(r.o.ConfigDir, name))
	for _, w := range warns {
		r.o.Log.Warn("control file", "warning", w.String())
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.o.Log.Warn("control file unreadable", "file", name, "err", err)
		}
		return nil, false
	}
	return ls, true
}

// domainEntry normalises one line of locals, hosteddomains or esmtpacceptmailfor: lower
// case, and "*" or a leading "*." replaced by the system's host name (courier(8),
// "Hostname-dependent configuration").
func (r *Resolver) domainEntry(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	host := strings.ToLower(r.o.Hostname)
	neg := strings.HasPrefix(s, "!")
	s = strings.TrimPrefix(s, "!")
	switch {
	case s == "*":
		s = host
	case strings.HasPrefix(s, "*."):
		s = host + s[1:]
	}
	if neg {
		s = "!" + s
	}
	return s
}

func (r *Resolver) load(st map[string]time.Time) *tables {
	t := &tables{stamps: st, hostedAlias: map[string]string{}, aliases: map[string][]string{}, virtual: map[string]string{}, instr: map[string]string{}}
	t.me = strings.ToLower(r.o.Hostname)
	if me, err := courierfmt.ReadFirstLine(filepath.Join(r.o.ConfigDir, "me")); err == nil && me != "" {
		t.me = strings.ToLower(me)
	}
	if ls, ok := r.lines("locals"); ok {
		t.haveLocals = true
		for _, l := range ls {
			t.locals = append(t.locals, r.domainEntry(l.Text))
		}
	}
	if !t.haveLocals {
		t.locals = domainList{t.me}
	}
	// makehosteddomains' and makeacceptmailfor's compiled lists, when ours, rule over their
	// sources (compiled.go).
	hosted, accept := "hosteddomains", "esmtpacceptmailfor.dir"
	if isCompiledList(filepath.Join(r.o.ConfigDir, "hosteddomains.dat")) {
		hosted = "hosteddomains.dat"
	}
	if isCompiledList(filepath.Join(r.o.ConfigDir, "esmtpacceptmailfor.dat")) {
		accept = "esmtpacceptmailfor.dat"
	}
	if ls, ok := r.lines(hosted); ok {
		for _, l := range ls {
			f := strings.Fields(l.Text)
			switch len(f) {
			case 1:
				t.hosted = append(t.hosted, r.domainEntry(f[0]))
			case 2:
				t.hostedAlias[r.domainEntry(f[0])] = r.domainEntry(f[1])
			default:
				r.o.Log.Warn("hosteddomains: bad line", "at", l.Pos())
			}
		}
	}
	for _, n := range []string{"esmtpacceptmailfor", accept} {
		ls, _ := r.lines(n)
		for _, l := range ls {
			t.accept = append(t.accept, r.domainEntry(l.Text))
		}
	}
	r.loadAliases(t)
	return t
}

// loadAliases reads the alias table: aliases.dat when makealiases wrote it (ours), else the
// text source aliases (file or directory). A Courier-made aliases.dat (GDBM) is not read;
// its source is.
func (r *Resolver) loadAliases(t *tables) {
	var at *Aliases
	var err error
	if dat := filepath.Join(r.o.ConfigDir, "aliases.dat"); IsCompiledAliases(dat) {
		at, err = LoadCompiledAliases(dat, t.me)
	} else {
		var ls []courierfmt.Line
		ls, _ = r.lines("aliases")
		at = ParseAliases(ls, t.me, r.o.Log)
	}
	if err != nil {
		r.o.Log.Warn("aliases.dat unreadable; no aliases", "err", err)
		at = &Aliases{Targets: map[string][]string{}, Virtual: map[string]string{}, Instr: map[string]string{}}
	}
	t.aliases, t.virtual, t.instr = at.Targets, at.Virtual, at.Instr
}

// splitAddr splits at the last "@" and lowercases the domain.
func splitAddr(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], strings.ToLower(addr[i+1:])
}

// Route says where mail for addr goes. relay tells whether the session may relay
// (authenticated, or a RELAYCLIENT network). The result may hold several recipients (an
// alias); each Local one names the account to deliver to.
func (r *Resolver) Route(ctx context.Context, addr string, relay bool) ([]queue.Recipient, error) {
	t := r.current()
	local, domain := splitAddr(addr)
	bare := domain == "" // <postmaster>: an address without @domain is local (courier(8))
	if bare {
		domain = t.me
	}
	if d, ok := t.hostedAlias[domain]; ok {
		domain = d
	}
	if user, ok := t.virtual[domain]; ok && !bare {
		// "@domain: user": foo@domain is user-foo@me, delivered by user's .courier-foo
		// (makealiases(8)); not recursive.
		return r.routeIn(ctx, t, user+"-"+local, t.me, false, relay)
	}
	return r.routeIn(ctx, t, local, domain, bare, relay)
}

// routeIn routes local@domain once virtual domains are resolved.
func (r *Resolver) routeIn(ctx context.Context, t *tables, local, domain string, bare, relay bool) ([]queue.Recipient, error) {
	isLocal := bare || t.locals.match(domain)
	isHosted := !isLocal && t.hosted.match(domain)
	if !isLocal && !isHosted {
		if t.accept.match(domain) || relay {
			// a domain we relay for (backup MX) or an authorised relay: held for outbound
			return []queue.Recipient{{Addr: local + "@" + domain}}, nil
		}
		return nil, ErrRelayDenied
	}
	var out []queue.Recipient
	seen := map[string]bool{}
	if err := r.expand(ctx, t, local, domain, isLocal, 0, seen, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ErrUnknownUser
	}
	return out, nil
}

const maxAliasDepth = 10

// expand resolves local@domain (a domain of ours) through the aliases to accounts.
func (r *Resolver) expand(ctx context.Context, t *tables, local, domain string, isLocal bool, depth int, seen map[string]bool, out *[]queue.Recipient) error {
	full := strings.ToLower(local) + "@" + domain
	if seen[full] {
		return nil
	}
	seen[full] = true
	keys := []string{full}
	if (isLocal || strings.EqualFold(local, "postmaster")) && domain != t.me {
		// a local name is the same mailbox in every local domain; and postmaster of any
		// domain of ours reaches the postmaster alias (RFC 5321 section 4.5.1)
		keys = append(keys, strings.ToLower(local)+"@"+t.me)
	}
	for _, k := range keys {
		if in, ok := t.instr[k]; ok {
			// a program or mailbox alias: delivered by that instruction, as the mail
			// system's user (makealiases(8))
			*out = append(*out, queue.Recipient{Addr: local + "@" + domain, Local: true, Instr: in})
			return nil
		}
		targets, ok := t.aliases[k]
		if !ok {
			continue
		}
		if depth >= maxAliasDepth {
			return fmt.Errorf("alias %s nests too deeply: %w", full, ErrUnknownUser)
		}
		for _, tg := range targets {
			tl, td := splitAddr(tg)
			tBare := td == ""
			if tBare {
				td = t.me
			}
			if d, ok := t.hostedAlias[td]; ok {
				td = d
			}
			tLocal := tBare || t.locals.match(td)
			if strings.EqualFold(tl, local) && (td == domain || (tLocal && isLocal)) {
				// "larry: larry, moe": the alias names itself, which is the account
				if err := r.expandAccount(ctx, t, local, domain, isLocal, out); err != nil {
					return err
				}
				continue
			}
			if !tLocal && !t.hosted.match(td) {
				// forwarding to another domain: held for outbound delivery
				a := tl + "@" + td
				if !seen[a] {
					seen[a] = true
					*out = append(*out, queue.Recipient{Addr: a})
				}
				continue
			}
			if err := r.expand(ctx, t, tl, td, tLocal, depth+1, seen, out); err != nil {
				return err
			}
		}
		return nil
	}
	return r.expandAccount(ctx, t, local, domain, isLocal, out)
}

// expandAccount resolves local@domain (a domain of ours, no alias) to an account, an
// extension address, an aliasdir entry or postmaster.
func (r *Resolver) expandAccount(ctx context.Context, t *tables, local, domain string, isLocal bool, out *[]queue.Recipient) error {
	// an account
	names := []string{local + "@" + domain}
	if isLocal {
		names = []string{local}
	}
	if l := strings.ToLower(names[0]); l != names[0] {
		names = append(names, l)
	}
	for _, n := range names {
		a, err := r.o.Auth.Lookup(ctx, "esmtp", n)
		if err == nil {
			*out = append(*out, queue.Recipient{Addr: local + "@" + domain, Local: true, Account: a.Address})
			return nil
		}
		if !auth.IsReject(err) {
			return fmt.Errorf("%w: %v", ErrTempFail, err)
		}
	}
	// user-ext@domain: the account user, as its .courier-ext (or a -default file) says
	// (dot-courier(5)); the longest account name wins.
	for j := strings.LastIndexByte(local, '-'); j > 0; j = strings.LastIndexByte(local[:j], '-') {
		base, ext := local[:j], local[j+1:]
		if ext == "" {
			continue
		}
		n := base
		if !isLocal {
			n = base + "@" + domain
		}
		a, err := r.o.Auth.Lookup(ctx, "esmtp", n)
		if err != nil && auth.IsReject(err) && strings.ToLower(n) != n {
			a, err = r.o.Auth.Lookup(ctx, "esmtp", strings.ToLower(n))
		}
		if err != nil {
			if !auth.IsReject(err) {
				return fmt.Errorf("%w: %v", ErrTempFail, err)
			}
			continue
		}
		if a.Home == "" {
			return nil // no home, no .courier-ext: no such address
		}
		if _, _, err := findExtFile(a.Home, ext); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		// A file that exists, or a home we cannot read (Courier then accepts and lets
		// the delivery decide).
		*out = append(*out, queue.Recipient{Addr: local + "@" + domain, Local: true, Account: a.Address, Ext: ext})
		return nil
	}
	// A local address that is no account: the configuration's aliasdir/.courier-NAME
	// (with the -default fallbacks), the catch-all of dot-courier(5).
	if isLocal && r.o.ConfigDir != "" && !strings.HasPrefix(local, ".") {
		if _, _, err := findExtFile(filepath.Join(r.o.ConfigDir, "aliasdir"), local); err == nil {
			*out = append(*out, queue.Recipient{Addr: local + "@" + domain, Local: true, Ext: local, AliasDir: true})
			return nil
		}
	}
	if strings.EqualFold(local, "postmaster") {
		// RFC 5321 section 4.5.1: postmaster is always accepted. Without an alias or an
		// account the delivery fails later and the log says so.
		*out = append(*out, queue.Recipient{Addr: "postmaster@" + domain, Local: true, Account: "postmaster"})
	}
	return nil
}
