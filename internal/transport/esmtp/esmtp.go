// Package esmtp is outbound delivery: a queue.Deliverer that sends mail for remote
// recipients to other SMTP servers, as Courier's courieresmtp does.
//
// # Routing
//
// A recipient's domain is looked up in esmtproutes (courier(8): "domain: relay[,port]",
// ".domain" for subdomains, an empty domain for every domain, an empty relay for "use DNS",
// "/SECURITY=STARTTLS|REQUIRED|SMTPS|NONE"; first match wins; the file is re-read when it
// changes). Without a route the domain's MX records are used, in preference order (equal
// preferences in random order), falling back to its A/AAAA records when it has none
// (RFC 5321 section 5.1); a null MX (RFC 7505) fails at once with 5.1.10. A relay name is
// looked up the same way (MX, then A/AAAA), as Courier does; an address literal is used
// as it is.
//
// # Sessions
//
// Each attempt says EHLO with esmtphelo (else me), starts TLS when the peer offers
// STARTTLS (opportunistic, unverified, as Courier's default; a failed handshake is retried
// in clear unless the route requires TLS), logs in when esmtpauthclient has credentials for
// the relay, and passes SIZE, 8BITMIME, SMTPUTF8, REQUIRETLS and the DSN parameters (RET,
// ENVID, NOTIFY, ORCPT) when the peer offers the extension. Sessions are kept for reuse
// between messages for esmtptimeoutkeepalive (5 s by default). A peer without 8BITMIME gets
// an 8-bit message converted to 7 bits (content.go, package downgrade); one without
// SMTPUTF8 never gets UTF-8 addresses (5.6.7) or UTF-8 header fields (5.6.9).
//
// # Limits
//
// module.esmtp's MAXDELS (deliveries at once), MAXHOST (connections at once to one peer)
// and MAXRCPT (recipients per transaction) apply, as in Courier (limits.go).
//
// # REQUIRETLS and TLS-Required
//
// A message received with REQUIRETLS (RFC 8689) goes only over authenticated TLS to a host
// vouched for by DNSSEC or MTA-STS that offers REQUIRETLS, else it is returned with 5.7.30
// or 5.7.10; "TLS-Required: No" turns MTA-STS and DANE off for its message (requiretls.go).
//
// # Backscatter
//
// courierd's ESMTP_BLOCKBACKSCATTER discards notifications about mail from the listed SMTP
// sources instead of sending them (backscatter.go).
//
// # Transport security policies
//
// For mail that goes to a domain's MX hosts (not through an esmtproutes relay), two
// policies can make TLS mandatory and authenticated (policy.go, dane.go):
//
//   - DANE (RFC 7672): when the MX records and an MX host's addresses are DNSSEC-validated
//     (the AD bit of a resolver on loopback) and the host has TLSA records, TLS is
//     required and the certificate must match a DANE-EE or DANE-TA record.
//   - MTA-STS (RFC 8461, package mtasts): a domain's enforce policy keeps only the MX hosts
//     it names and requires TLS with a certificate valid for the MX name under RootCAs;
//     testing only logs. DANE comes first where both apply.
//
// A host that fails a policy is skipped; when none is left the delivery is deferred
// (Retry), never sent in clear.
//
// # Signing
//
// Options.Sign (package app's DKIM signer) is asked once per message and form (as stored,
// or converted to 7 bits), right before that form's first transmission, for header fields
// to put in front of it; they are kept with the message's state, so the other domains of a
// message and its retries send the same signature, and the queue file itself is never
// rewritten. Mail that never leaves (local recipients) is never signed.
//
// # Outcomes
//
// A 2xx reply to the final dot is Delivered; a 4xx reply, a refused or timed-out connection
// or a DNS failure is Retry; a 5xx reply is Failed with the peer's reply as the reason, its
// text beginning with the RFC 3463 status, so the queue's notification carries it.
//
// # Batching
//
// The queue calls Deliver once per recipient, in index order, from one worker per message.
// The first call for a domain sends the message once, in one transaction, to every
// recipient of that domain known to be pending, and keeps the other recipients' outcomes
// until their own Deliver calls come (the per-message cache). A recipient is known to be
// pending when this is the message's first pass through the queue in this process (every
// remote recipient is) or when its last outcome here was Retry. After a restart, nothing is
// known, and recipients are sent one by one on that first pass. Final outcomes are kept
// while the message is active, so a recipient asked again (when a notification could not be
// queued the queue asks again) is answered from the cache and never sent twice.
//
// # Duplicates
//
// A peer's queue cannot be searched, so AlreadyDelivered looks in a journal of the tokens
// (Message.Token) of recipients peers accepted, appended right after each accepting reply
// (Options.JournalPath). The token is also in the log line of each delivery. A duplicate
// remains possible only when the process dies between the peer's reply and the journal
// write (or, without Options.SyncJournal, when the machine loses power before the page
// cache reaches the disk), or when the connection breaks after the final dot but before
// the reply (RFC 1047's problem).
package esmtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/idna"

	"courier/internal/queue"
	"courier/internal/transport/mtasts"
)

// Options configure a Transport.
type Options struct {
	ConfigDir string // esmtproutes, esmtpauthclient, esmtphelo, me, esmtptimeout*
	Log       *slog.Logger
	// Resolver answers MX and address lookups; default NewDNSResolver() (resolv.conf).
	Resolver Resolver
	// Port is the port of MX hosts and of routes that name none; default 25.
	Port int
	// Hostname is the EHLO name when neither esmtphelo nor me exists.
	Hostname string
	// TLSConfig, when set, is the client TLS configuration (to verify peers, say);
	// default: no verification (opportunistic TLS).
	TLSConfig *tls.Config
	// JournalPath is the file of delivered tokens (see the package comment); "" keeps none,
	// and AlreadyDelivered then always answers false.
	JournalPath string
	// SyncJournal fdatasyncs each journal write.
	SyncJournal bool
	// MaxRcpts bounds the recipients of one transaction; default MAXRCPT of module.esmtp,
	// else 100 (RFC 5321 4.5.3.1.8).
	MaxRcpts int
	// MaxDels bounds the deliveries (transactions with their connection) in progress at
	// once; default MAXDELS of module.esmtp, else 40 (limits.go).
	MaxDels int
	// MaxHost bounds the connections open at once to one peer address, idle kept ones
	// included; default MAXHOST of module.esmtp, else 4 (limits.go).
	MaxHost int
	// MaxIdle bounds the idle sessions kept per peer address; default 16.
	MaxIdle int
	// MaxAddrs bounds the addresses tried per attempt; default 10.
	MaxAddrs int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Sign, when set, returns header fields (each ending in CRLF) to put before the message
	// when it is sent: its DKIM signatures, or "" to send it as it is. content is the form
	// of the message that is sent (as stored, or converted to 7 bits for a peer without
	// 8BITMIME, content.go), LF line endings. It is called once per message and form (the
	// first time that form is sent; the result is kept for the other domains and for
	// retries while the process runs); an error defers the delivery.
	Sign func(ctx context.Context, m *queue.Message, content io.Reader) (string, error)
	// NoMTASTS turns MTA-STS (RFC 8461) off; by default the policies of domains whose mail
	// goes to their MX hosts are looked up (through the Resolver, when it is a TXTResolver)
	// and applied.
	NoMTASTS bool
	// HTTPClient fetches MTA-STS policies; default: 30 s timeout, the system's roots.
	HTTPClient *http.Client
	// NoDANE turns DANE (RFC 7672) off; by default it applies where the Resolver is a
	// DANEResolver reporting DNSSEC-validated MX, address and TLSA records (dane.go).
	NoDANE bool
	// RootCAs verify MX certificates where a policy asks for verification (MTA-STS
	// enforce); nil means the system's roots (or TLSConfig's RootCAs when set).
	RootCAs *x509.CertPool
}

// Transport delivers remote recipients over SMTP. Safe for concurrent use.
type Transport struct {
	o       Options
	log     *slog.Logger
	cfg     *configReader
	journal *journal
	pool    *pool
	sts     *mtasts.Cache // nil: MTA-STS off
	slots   *hostSlots    // MAXHOST
	dels    delSlots      // MAXDELS

	mu        sync.Mutex
	msgs      map[string]*msgState
	swept     time.Time
	hooked    bool
	tlsFailed map[netip.AddrPort]time.Time // peers whose TLS handshake failed: clear until then
}

// freshWindow: a message first seen by Deliver within this time of its arrival, with no
// AlreadyDelivered check before, is on its first pass. States idle for twice as long are
// dropped, so a dropped state is never mistaken for a first pass.
const freshWindow = 6 * time.Hour

// New returns a transport.
func New(o Options) (*Transport, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Resolver == nil {
		o.Resolver = NewDNSResolver()
	}
	if o.Port <= 0 {
		o.Port = 25
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	ml := readModule(o.ConfigDir, o.Log)
	for _, l := range []struct {
		opt      *int
		file, df int
	}{{&o.MaxRcpts, ml.maxRcpt, defaultMaxRcpt}, {&o.MaxDels, ml.maxDels, defaultMaxDels}, {&o.MaxHost, ml.maxHost, defaultMaxHost}} {
		switch {
		case *l.opt > 0:
		case l.file > 0:
			*l.opt = l.file
		default:
			*l.opt = l.df
		}
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 16
	}
	if o.MaxAddrs <= 0 {
		o.MaxAddrs = 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Transport{o: o, log: o.Log, msgs: map[string]*msgState{}, tlsFailed: map[netip.AddrPort]time.Time{},
		slots: newHostSlots(o.MaxHost), dels: make(delSlots, o.MaxDels)}
	t.pool = &pool{idle: map[string][]*conn{}, max: o.MaxIdle, slots: t.slots}
	t.cfg = &configReader{dir: o.ConfigDir, hostname: o.Hostname, log: o.Log, now: o.Now}
	if !o.NoMTASTS {
		mo := mtasts.Options{HTTP: o.HTTPClient, Log: o.Log, Now: o.Now}
		if tr, ok := o.Resolver.(TXTResolver); ok {
			mo.LookupTXT = func(ctx context.Context, name string) ([]string, error) {
				txt, err := tr.LookupTXT(ctx, name)
				if errors.Is(err, ErrNoSuchDomain) {
					return nil, nil
				}
				return txt, err
			}
		}
		t.sts = mtasts.New(mo)
	}
	if o.JournalPath != "" {
		j, err := openJournal(o.JournalPath, 4<<20, o.SyncJournal)
		if err != nil {
			return nil, err
		}
		t.journal = j
	}
	return t, nil
}

// Close ends the idle sessions and the journal. Deliveries must have finished.
func (t *Transport) Close() error {
	t.pool.closeAll(true)
	t.journal.close()
	return nil
}

// CloseIdle ends the idle sessions.
func (t *Transport) CloseIdle() { t.pool.closeAll(false) }

var _ queue.Deliverer = (*Transport)(nil)

// rcptState is what the transport knows of one recipient of a message.
type rcptState struct {
	pending bool         // its last outcome here was Retry: it is still to be delivered
	has     bool         // res holds an outcome not yet asked for, or a final one
	res     queue.Result //
}

// msgState is the per-message cache.
type msgState struct {
	mu      sync.Mutex
	fresh   bool // first pass: every remote recipient is pending
	last    int  // index of the last Deliver call; a lower or equal one starts a new pass
	rc      []rcptState
	touched time.Time
	content msgContent // what was read of the message (content.go)
}

// state returns the cache entry of m, made on first use; recovered says the entry is made
// by AlreadyDelivered (a message found at start-up: nothing is known of it).
func (t *Transport) state(ctx context.Context, m *queue.Message, recovered bool) *msgState {
	now := t.o.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.hooked && ctx.Done() != nil {
		// The queue cancels its context when it closes: end the idle sessions then.
		t.hooked = true
		context.AfterFunc(ctx, t.CloseIdle)
	}
	if now.Sub(t.swept) > time.Minute {
		t.swept = now
		for id, st := range t.msgs {
			if st.mu.TryLock() {
				if now.Sub(st.touched) > 2*freshWindow {
					delete(t.msgs, id)
				}
				st.mu.Unlock()
			}
		}
	}
	st, ok := t.msgs[m.ID]
	if !ok {
		age := now.Sub(m.Env.Time)
		st = &msgState{fresh: !recovered && age < freshWindow, last: -1, rc: make([]rcptState, len(m.Env.Rcpts))}
		t.msgs[m.ID] = st
	}
	st.touched = now
	return st
}

// Deliver implements queue.Deliverer.
func (t *Transport) Deliver(ctx context.Context, m *queue.Message, i int) queue.Result {
	if m.Env.Rcpts[i].Local {
		return queue.Result{Outcome: queue.Retry, Err: errors.New("4.3.0 esmtp: a local recipient was routed to outbound delivery")}
	}
	if t.backscatter(m, i) {
		return queue.Result{Outcome: queue.Delivered}
	}
	st := t.state(ctx, m, false)
	st.mu.Lock()
	defer st.mu.Unlock()
	if i <= st.last {
		st.fresh = false // a new pass
	}
	st.last = i
	if r := &st.rc[i]; r.has {
		res := r.res
		if res.Outcome == queue.Retry {
			r.has, r.pending = false, true
		}
		return res
	}
	domain := domainOf(m.Env.Rcpts[i].Addr)
	batch := []int{i}
	for j := i + 1; j < len(m.Env.Rcpts) && len(batch) < t.o.MaxRcpts; j++ {
		rc := m.Env.Rcpts[j]
		if rc.Local || rc.Refused != "" || st.rc[j].has || domainOf(rc.Addr) != domain {
			continue
		}
		if st.fresh || st.rc[j].pending {
			batch = append(batch, j)
		}
	}
	results := t.deliverBatch(ctx, m, domain, batch, st)
	for k, j := range batch {
		st.rc[j].res, st.rc[j].has = results[k], true
	}
	r := &st.rc[i]
	res := r.res
	if res.Outcome == queue.Retry {
		r.has, r.pending = false, true
	} else {
		r.pending = false
	}
	return res
}

// AlreadyDelivered implements queue.Deliverer: it looks for the token in the journal.
func (t *Transport) AlreadyDelivered(ctx context.Context, m *queue.Message, i int) (bool, error) {
	st := t.state(ctx, m, true)
	st.mu.Lock()
	st.fresh = false
	st.rc[i].pending = true
	st.mu.Unlock()
	ok, err := t.journal.has(m.Token(i))
	if err != nil {
		return false, err
	}
	if ok {
		st.mu.Lock()
		st.rc[i].pending = false
		st.mu.Unlock()
	}
	return ok, nil
}

// domainOf returns the lower-case domain of an address.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

// all returns n copies of a result.
func all(n int, res queue.Result) []queue.Result {
	out := make([]queue.Result, n)
	for i := range out {
		out[i] = res
	}
	return out
}

func retry(err error) queue.Result  { return queue.Result{Outcome: queue.Retry, Err: err} }
func failed(err error) queue.Result { return queue.Result{Outcome: queue.Failed, Err: err} }

// hop is one host to try, before its addresses are known.
type hop struct {
	host   string // name, or address literal
	port   int
	relay  string // the route's relay (esmtpauthclient key); "" for MX delivery
	verify verifyMode
	// mxSecure and addrSecure say the MX and the address records were DNSSEC-validated
	// (DANE applies only then).
	mxSecure, addrSecure bool
	// implicit says the domain has no MX records and the host is the domain itself;
	// stsMatched that the domain's MTA-STS policy names the host (REQUIRETLS accepts an
	// MX host vouched for by either, or by DNSSEC, RFC 8689 section 4.2.1).
	implicit, stsMatched bool
}

// hops works out where mail for domain goes. A permanent problem (no such domain, null
// MX, a loop) comes back as a Failed result, a temporary one as Retry.
func (t *Transport) hops(ctx context.Context, domain string, set *settings) ([]hop, Security, *queue.Result) {
	sec := SecurityDefault
	name, port, relay := domain, t.o.Port, ""
	if r := set.route(domain); r != nil {
		sec = r.Security
		if r.Relay != "" {
			name, relay = r.Relay, r.Relay
			if r.Port > 0 {
				port = r.Port
			}
		}
	}
	if _, ok := literal(name); ok && (relay != "" || strings.HasPrefix(name, "[")) {
		return []hop{{host: name, port: port, relay: relay}}, sec, nil
	}
	ascii, err := idna.Lookup.ToASCII(name)
	if err != nil {
		res := failed(fmt.Errorf("5.1.2 bad domain name %q: %w", name, err))
		return nil, sec, &res
	}
	var mxs []MX
	secure := false
	if dr, ok := t.o.Resolver.(DANEResolver); ok && !t.o.NoDANE {
		mxs, secure, err = dr.LookupMXSecure(ctx, ascii)
	} else {
		mxs, err = t.o.Resolver.LookupMX(ctx, ascii)
	}
	if errors.Is(err, ErrNoSuchDomain) {
		res := failed(fmt.Errorf("5.1.2 domain %s does not exist: %w", name, err))
		return nil, sec, &res
	}
	if err != nil {
		res := retry(fmt.Errorf("4.4.3 looking up the mail servers of %s: %w", name, err))
		return nil, sec, &res
	}
	if len(mxs) == 0 {
		// RFC 5321 section 5.1: the domain itself is the implicit MX
		return []hop{{host: ascii, port: port, relay: relay, mxSecure: secure, implicit: true}}, sec, nil
	}
	var real []MX
	for _, mx := range mxs {
		if mx.Host != "" && mx.Host != "." {
			real = append(real, mx)
		}
	}
	if len(real) == 0 {
		res := failed(fmt.Errorf("5.1.10 %s does not accept mail (null MX, RFC 7505)", name))
		return nil, sec, &res
	}
	rand.Shuffle(len(real), func(i, j int) { real[i], real[j] = real[j], real[i] })
	sortMX(real)
	// RFC 5321 section 5.1: when we are one of the MX hosts, only more preferred ones
	// may be tried.
	for k, mx := range real {
		if strings.EqualFold(mx.Host, set.helo) {
			real = real[:k]
			for k > 0 && real[k-1].Pref >= mx.Pref {
				k--
				real = real[:k]
			}
			if len(real) == 0 {
				res := failed(fmt.Errorf("5.4.6 mail for %s loops back to myself (%s is its best MX)", name, mx.Host))
				return nil, sec, &res
			}
			break
		}
	}
	out := make([]hop, 0, len(real))
	for _, mx := range real {
		out = append(out, hop{host: mx.Host, port: port, relay: relay, mxSecure: secure})
	}
	return out, sec, nil
}

// addrsOf resolves a hop, noting in it whether the answer was validated.
func (t *Transport) addrsOf(ctx context.Context, h *hop) ([]netip.AddrPort, error) {
	if a, ok := literal(h.host); ok {
		return []netip.AddrPort{netip.AddrPortFrom(a, uint16(h.port))}, nil
	}
	var ips []netip.Addr
	var err error
	if dr, ok := t.o.Resolver.(DANEResolver); ok && h.mxSecure && !t.o.NoDANE {
		ips, h.addrSecure, err = dr.LookupIPSecure(ctx, h.host)
	} else {
		ips, err = t.o.Resolver.LookupIP(ctx, h.host)
	}
	if err != nil {
		if errors.Is(err, ErrNoSuchDomain) {
			return nil, fmt.Errorf("5.1.2 %s has no address: %w", h.host, err)
		}
		return nil, fmt.Errorf("4.4.3 looking up %s: %w", h.host, err)
	}
	out := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(h.port)))
	}
	return out, nil
}

// deliverBatch sends m to the recipients idx (one domain) and returns their outcomes. st is
// the message's state (its content forms and signatures), locked by the caller.
func (t *Transport) deliverBatch(ctx context.Context, m *queue.Message, domain string, idx []int, st *msgState) []queue.Result {
	if !t.dels.acquire(ctx) {
		return all(len(idx), retry(fmt.Errorf("4.4.2 delivery interrupted while waiting for a delivery slot (MAXDELS %d): %w", t.o.MaxDels, ctx.Err())))
	}
	defer t.dels.release()
	set := t.cfg.get()
	reqTLS := m.Env.RequireTLS
	// RFC 8689 section 3: "TLS-Required: No" asks that MTA-STS and DANE failures be
	// ignored; REQUIRETLS on MAIL FROM overrides the field (section 4.1).
	tlsNo := !reqTLS && t.tlsRequiredNo(m, st)
	hops, sec, res := t.hops(ctx, domain, set)
	if res != nil {
		return all(len(idx), *res)
	}
	if !tlsNo {
		if hops, res = t.applySTS(ctx, m, domain, hops); res != nil {
			return all(len(idx), *res)
		}
	} else {
		t.log.Info("esmtp: TLS-Required: No; MTA-STS and DANE not applied", "id", m.ID, "domain", domain)
	}
	var lastErr error
	permanentOnly := true // every hop failed with "no such host": nothing to retry
	tried := 0
	// For a REQUIRETLS message: the last refusal by its rules, and whether anything else
	// (a temporary failure) happened, after which trying again later may still succeed.
	var policyErr error
	otherTemp := false
	for _, h := range hops {
		if reqTLS {
			if err := requireTLSHop(h, domain); err != nil {
				policyErr = err
				t.log.Info("esmtp: host skipped for a REQUIRETLS message", "id", m.ID, "domain", domain, "host", h.host, "err", err)
				continue
			}
		}
		addrs, err := t.addrsOf(ctx, &h)
		if err != nil {
			lastErr = err
			if !strings.HasPrefix(err.Error(), "5.") {
				permanentOnly, otherTemp = false, true
			}
			continue
		}
		var tlsa []TLSA
		dane := false
		if !tlsNo {
			tlsa, dane, err = t.daneFor(ctx, h, h.port)
			if err != nil {
				lastErr, permanentOnly, otherTemp = err, false, true
				t.log.Info("esmtp: host skipped", "id", m.ID, "domain", domain, "host", h.host, "err", err)
				continue
			}
		}
		for _, a := range addrs {
			if tried >= t.o.MaxAddrs || ctx.Err() != nil {
				break
			}
			tried++
			permanentOnly = false
			p := &dialParams{host: h.host, addr: a, security: sec, helo: set.helo, timeouts: set.timeouts, verify: h.verify}
			if h.verify == verifyPKIX && sec != SecuritySMTPS {
				p.security = SecurityRequired // MTA-STS enforce: never in clear
			}
			if dane {
				// RFC 7672 section 2.2: TLS is required; usable records authenticate it
				p.tlsa, p.verify = tlsa, verifyNone
				if len(tlsa) > 0 {
					p.verify = verifyDANE
				}
				if sec != SecuritySMTPS {
					p.security = SecurityRequired
				}
			}
			if reqTLS {
				// RFC 8689 section 4.2.1: TLS, with the certificate authenticated by DANE
				// or else by the roots for the host name
				p.requireTLS = true
				if sec != SecuritySMTPS {
					p.security = SecurityRequired
				}
				if p.verify != verifyDANE {
					p.verify, p.tlsa = verifyPKIX, nil
				}
			}
			if h.relay != "" {
				if c, ok := set.auth[relayKey(h.relay)]; ok {
					p.auth = &c
				}
			}
			if c, ok := set.auth[relayKey(h.host)]; ok && p.auth == nil {
				p.auth = &c
			}
			results, err := t.attempt(ctx, m, idx, p, st)
			if err == nil {
				return results
			}
			lastErr = err
			if pe := requireTLSFailure(err); reqTLS && pe != nil {
				policyErr = pe
			} else {
				otherTemp = true
			}
			t.log.Info("esmtp: attempt failed", "id", m.ID, "domain", domain, "host", h.host, "addr", a.String(), "err", err)
		}
	}
	if reqTLS && policyErr != nil && !otherTemp && ctx.Err() == nil {
		// RFC 8689 section 4.2.1: no path meets the sender's requirements; the message
		// is returned (section 5 governs the notification, package app)
		return all(len(idx), failed(policyErr))
	}
	if lastErr == nil {
		lastErr = policyErr
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("4.4.4 no mail server to try for %s", domain)
	}
	if permanentOnly && !otherTemp {
		return all(len(idx), failed(lastErr))
	}
	if ctx.Err() != nil {
		lastErr = fmt.Errorf("4.4.2 delivery interrupted: %w", lastErr)
	}
	if !strings.HasPrefix(lastErr.Error(), "4.") {
		lastErr = fmt.Errorf("4.4.1 %w", lastErr)
	}
	return all(len(idx), retry(lastErr))
}

// session returns a session with a peer: a kept one, or a new one once the peer has a free
// MAXHOST slot (limits.go).
func (t *Transport) session(ctx context.Context, p *dialParams) (*conn, error) {
	for {
		if cn := t.pool.take(p.key()); cn != nil {
			return cn, nil
		}
		ok, wait := t.slots.tryAcquire(p.addr)
		if ok {
			break
		}
		if cn := t.pool.evict(p.addr); cn != nil {
			cn.close() // an idle session with other settings makes room
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("4.4.2 %s [%s]: waiting for a connection (MAXHOST %d): %w", p.host, p.addr, t.o.MaxHost, ctx.Err())
		}
	}
	release := func() { t.slots.release(p.addr) }
	t.mu.Lock()
	noTLS := p.security == SecurityDefault && t.o.Now().Before(t.tlsFailed[p.addr])
	t.mu.Unlock()
	cn, err := t.connect(ctx, p, noTLS)
	if err != nil && errors.Is(err, errTLS) && p.security == SecurityDefault {
		// Opportunistic TLS failed: remember it for an hour (Courier's "penalty box")
		// and go on in clear.
		t.mu.Lock()
		now := t.o.Now()
		for a, until := range t.tlsFailed {
			if now.After(until) {
				delete(t.tlsFailed, a)
			}
		}
		t.tlsFailed[p.addr] = now.Add(time.Hour)
		t.mu.Unlock()
		t.log.Warn("esmtp: TLS handshake failed; sending in clear", "addr", p.addr.String(), "err", err)
		cn, err = t.connect(ctx, p, true)
	}
	if err != nil {
		release()
		return nil, err
	}
	cn.release = release
	return cn, nil
}

// attempt runs one transaction with one peer address. A nil error means the peer answered
// the transaction (results hold its verdicts); an error means the next address should be
// tried.
func (t *Transport) attempt(ctx context.Context, m *queue.Message, idx []int, p *dialParams, st *msgState) ([]queue.Result, error) {
	for {
		cn, err := t.session(ctx, p)
		if err != nil {
			return nil, err
		}
		if p.requireTLS {
			if err := checkRequireTLS(cn); err != nil {
				t.pool.put(cn, t.cfg.get().timeouts.keepalive) // good for other mail
				return nil, err
			}
		}
		results, reusable, stale := t.transact(ctx, cn, m, idx, st)
		if stale {
			// a kept session the peer had closed meanwhile: open a new one
			cn.abort()
			continue
		}
		if reusable {
			t.pool.put(cn, t.cfg.get().timeouts.keepalive)
		} else {
			cn.abort()
		}
		return results, nil
	}
}

// statusOf makes the RFC 3463 status that begins a reason from a peer's reply.
func statusOf(e *smtp.SMTPError) string {
	class := e.Code / 100
	ec := e.EnhancedCode
	if ec[0] == class && ec[1] >= 0 && ec[2] >= 0 && (class == 4 || class == 5) {
		return fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
	}
	if class == 5 {
		return "5.0.0"
	}
	return "4.0.0"
}

// PeerError is a peer's negative reply to a command. Its text begins with the RFC 3463
// status (the peer's enhanced code when it gave one of the right class, else X.0.0), so a
// notification finds it there; a notifier may also use errors.As to write Remote-MTA and an
// "smtp;" Diagnostic-Code (RFC 3464 section 2.3).
type PeerError struct {
	Status string // RFC 3463 status, "5.1.1"
	Host   string // the peer's name (MX host or relay)
	Addr   string // its address
	Stage  string // the command answered: "MAIL FROM", "RCPT TO:<x@y>", "DATA", "the message"
	Code   int    // the reply code
	Reply  string // the reply as sent: "550 5.1.1 <x@y>: unknown user", lines joined by spaces
}

// Error implements error: "STATUS host [addr] said after STAGE: REPLY".
func (e *PeerError) Error() string {
	return fmt.Sprintf("%s %s [%s] said after %s: %s", e.Status, e.Host, e.Addr, e.Stage, e.Reply)
}

// peerReply makes the reason of a peer's reply.
func peerReply(cn *conn, stage string, e *smtp.SMTPError) error {
	reply := fmt.Sprintf("%d", e.Code)
	if ec := e.EnhancedCode; ec[0] > 0 {
		reply += fmt.Sprintf(" %d.%d.%d", ec[0], ec[1], ec[2])
	}
	reply += " " + strings.ReplaceAll(e.Message, "\n", " ")
	return &PeerError{Status: statusOf(e), Host: cn.host, Addr: cn.addr.Addr().String(), Stage: stage, Code: e.Code, Reply: reply}
}

// outcome turns an error of a command into a result. ioErr reports that the session is
// broken (not an SMTP reply).
func outcome(cn *conn, stage string, err error) (res queue.Result, ioErr bool) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		why := peerReply(cn, stage, se)
		if se.Code/100 == 5 {
			return failed(why), false
		}
		return retry(why), false
	}
	return retry(fmt.Errorf("4.4.2 %s: connection lost after %s: %w", cn.peer(), stage, err)), true
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// transact sends one message to recipients idx over cn, in the form the peer can take
// (content.go), preceded by that form's signature. stale reports a reused session that
// turned out dead before anything was accepted (the caller opens a new one).
func (t *Transport) transact(ctx context.Context, cn *conn, m *queue.Message, idx []int, st *msgState) (results []queue.Result, reusable, stale bool) {
	stop := context.AfterFunc(ctx, func() { cn.raw.Close() })
	defer stop()
	env := m.Env
	c := cn.c
	results = make([]queue.Result, len(idx))
	needUTF8 := !ascii(env.From)
	for _, i := range idx {
		needUTF8 = needUTF8 || !ascii(env.Rcpts[i].Addr)
	}
	peerUTF8, _ := c.Extension("SMTPUTF8")
	if needUTF8 && !peerUTF8 {
		// RFC 6531 section 3.2: such an address cannot be sent to a peer without SMTPUTF8.
		err := fmt.Errorf("5.6.7 %s does not support SMTPUTF8, which the addresses need", cn.peer())
		return all(len(idx), failed(err)), true, false
	}
	f, res := t.formFor(cn, m, st, peerUTF8)
	if res != nil {
		return all(len(idx), *res), true, false
	}
	sig, err := t.signature(ctx, m, st, f)
	if err != nil {
		t.log.Error("esmtp: signing failed; delivery deferred", "id", m.ID, "err", err)
		return all(len(idx), retry(fmt.Errorf("4.7.0 signing the message: %w", err))), true, false
	}
	size, err := t.formSize(m, st, f)
	if err != nil {
		return all(len(idx), retry(fmt.Errorf("4.3.0 %w", err))), true, false
	}
	size += int64(len(sig))
	if max, ok := c.MaxMessageSize(); ok && max > 0 && size > int64(max) {
		err := fmt.Errorf("5.3.4 message of %d octets is larger than %s accepts (%d)", size, cn.peer(), max)
		return all(len(idx), failed(err)), true, false
	}
	// open the content before MAIL: a failure later would leave DATA with no way back
	// but the final dot, which sends what was written
	content, err := m.Open()
	if err != nil {
		return all(len(idx), retry(fmt.Errorf("4.3.0 %w", err))), true, false
	}
	defer content.Close()
	opts := &smtp.MailOptions{Size: size, EnvelopeID: env.EnvID, RequireTLS: env.RequireTLS}
	switch strings.ToUpper(env.Ret) {
	case "FULL":
		opts.Return = smtp.DSNReturnFull
	case "HDRS":
		opts.Return = smtp.DSNReturnHeaders
	}
	opts.UTF8 = peerUTF8 && (env.SMTPUTF8 || needUTF8)
	if err := c.Mail(env.From, opts); err != nil {
		res, ioErr := outcome(cn, "MAIL FROM", err)
		if ioErr && cn.reused {
			return nil, false, true
		}
		return all(len(idx), res), !ioErr && t.reset(cn), false
	}
	var accepted []int // positions in idx
	for k, i := range idx {
		rc := env.Rcpts[i]
		ro := &smtp.RcptOptions{}
		for _, n := range strings.Split(rc.Notify, ",") {
			if n = strings.ToUpper(strings.TrimSpace(n)); n != "" {
				ro.Notify = append(ro.Notify, smtp.DSNNotify(n))
			}
		}
		if typ, addr, ok := strings.Cut(rc.ORCPT, ";"); ok {
			switch strings.ToUpper(typ) {
			case "RFC822":
				ro.OriginalRecipientType, ro.OriginalRecipient = smtp.DSNAddressTypeRFC822, addr
			case "UTF-8":
				ro.OriginalRecipientType, ro.OriginalRecipient = smtp.DSNAddressTypeUTF8, addr
			}
		} else if orig := rc.Orig; orig != "" && ascii(orig) {
			// RFC 3461 section 4.2: the address the sender wrote, when an alias changed it
			ro.OriginalRecipientType, ro.OriginalRecipient = smtp.DSNAddressTypeRFC822, orig
		}
		if ro.OriginalRecipientType == smtp.DSNAddressTypeRFC822 && !ascii(ro.OriginalRecipient) {
			ro.OriginalRecipientType = smtp.DSNAddressTypeUTF8
		}
		if err := c.Rcpt(rc.Addr, ro); err != nil {
			res, ioErr := outcome(cn, "RCPT TO:<"+rc.Addr+">", err)
			results[k] = res
			if ioErr {
				for k2 := k + 1; k2 < len(idx); k2++ {
					results[k2] = res
				}
				return results, false, false
			}
			continue
		}
		accepted = append(accepted, k)
	}
	if len(accepted) == 0 {
		return results, t.reset(cn), false
	}
	w, err := c.Data()
	if err != nil {
		res, ioErr := outcome(cn, "DATA", err)
		for _, k := range accepted {
			results[k] = res
		}
		if !ioErr {
			return results, t.reset(cn), false
		}
		return results, false, false
	}
	_ = cn.raw.SetDeadline(time.Now().Add(t.cfg.get().timeouts.data))
	_, copyErr := io.WriteString(w, sig)
	if copyErr == nil {
		copyErr = t.writeForm(w, content, st, f)
	}
	_ = cn.raw.SetDeadline(time.Time{})
	var resp *smtp.DataResponse
	if copyErr == nil {
		resp, err = w.CloseWithResponse()
	} else {
		// never the final dot after a short copy: that would deliver a truncated message
		err = copyErr
		cn.raw.Close()
	}
	if err != nil {
		res, ioErr := outcome(cn, "the message", err)
		for _, k := range accepted {
			results[k] = res
		}
		return results, !ioErr && copyErr == nil, false
	}
	tokens := make([]string, 0, len(accepted))
	rcpts := make([]string, 0, len(accepted))
	peerDSN, _ := c.Extension("DSN")
	for _, k := range accepted {
		results[k] = queue.Result{Outcome: queue.Delivered, Relayed: true, PeerDSN: peerDSN}
		tokens = append(tokens, m.Token(idx[k]))
		rcpts = append(rcpts, env.Rcpts[idx[k]].Addr)
	}
	if err := t.journal.record(tokens); err != nil {
		t.log.Error("esmtp: recording deliveries", "id", m.ID, "err", err)
	}
	t.log.Info("esmtp: delivered", "id", m.ID, "rcpts", strings.Join(rcpts, ","), "tokens", strings.Join(tokens, ","),
		"peer", cn.peer(), "tls", cn.tls, "verified", cn.verified, "requiretls", env.RequireTLS, "7bit", f == form7bit,
		"reply", strings.ReplaceAll(resp.StatusText, "\n", " "))
	return results, true, false
}

// reset ends a transaction that sent nothing; false when the session is no longer usable.
func (t *Transport) reset(cn *conn) bool {
	return cn.c.Reset() == nil
}
