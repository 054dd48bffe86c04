package esmtp

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// conn is one SMTP session with a peer, between transactions.
type conn struct {
	c    *smtp.Client
	raw  net.Conn
	key  string // pool key
	host string // the name we connected to (MX host or relay)
	addr netip.AddrPort
	tls  bool
	// verified says the peer's certificate was authenticated (a policy's PKIX check, or
	// DANE with usable TLSA records), not merely encrypted: what REQUIRETLS needs.
	verified bool
	reused   bool
	timer    *time.Timer // closes it when idle too long (pooled only)
	release  func()      // gives the MAXHOST slot back; once
	once     sync.Once
}

func (cn *conn) peer() string { return fmt.Sprintf("%s [%s]", cn.host, cn.addr.Addr()) }

// close ends the session politely when it can, within a short time.
func (cn *conn) close() {
	_ = cn.raw.SetDeadline(time.Now().Add(10 * time.Second)) // Courier's esmtptimeoutquit
	if err := cn.c.Quit(); err != nil {
		cn.c.Close()
	}
	cn.done()
}

// abort ends the session at once (broken, or in an unknown state).
func (cn *conn) abort() {
	cn.c.Close()
	cn.done()
}

// done gives the connection's MAXHOST slot back.
func (cn *conn) done() {
	if cn.release != nil {
		cn.once.Do(cn.release)
	}
}

// greetConn replays a fake "220" greeting before the real stream: go-smtp's client wants a
// greeting, and after a STARTTLS we did ourselves (so that our first EHLO carries our own
// name) there is none.
type greetConn struct {
	net.Conn
	r io.Reader
}

func (g *greetConn) Read(p []byte) (int, error) { return g.r.Read(p) }

func withGreeting(c net.Conn, rest io.Reader) net.Conn {
	return &greetConn{Conn: c, r: io.MultiReader(strings.NewReader("220 continued\r\n"), rest)}
}

// replyError is a reply we read ourselves before go-smtp takes over.
func replyError(code int, msg string) *smtp.SMTPError {
	e := &smtp.SMTPError{Code: code, Message: msg}
	if f, rest, ok := strings.Cut(msg, " "); ok {
		var a, b, c int
		if n, _ := fmt.Sscanf(f, "%d.%d.%d", &a, &b, &c); n == 3 {
			e.EnhancedCode = smtp.EnhancedCode{a, b, c}
			e.Message = rest
		}
	}
	return e
}

// dialParams are what a connection needs besides the address.
type dialParams struct {
	host     string
	addr     netip.AddrPort
	security Security
	helo     string
	auth     *credentials
	timeouts timeouts
	verify   verifyMode
	tlsa     []TLSA // usable TLSA records (verify is verifyDANE)
	// requireTLS marks a session for a REQUIRETLS message (only for error messages: the
	// security and verify fields already say what it needs).
	requireTLS bool
}

// authenticates reports whether a TLS handshake with these parameters authenticates the
// peer (tlsConfig refuses a certificate that fails the check).
func (p *dialParams) authenticates() bool {
	return p.verify == verifyPKIX || (p.verify == verifyDANE && len(p.tlsa) > 0)
}

func (p *dialParams) key() string {
	k := fmt.Sprintf("%s|%d|%d|%s|%s", p.addr, p.security, p.verify, p.host, p.helo)
	if p.auth != nil {
		k += "|" + p.auth.user
	}
	return k
}

// errTLS marks a failed TLS handshake, after which an opportunistic attempt goes on in clear.
var errTLS = errors.New("TLS handshake failed")

// errNoTLS marks a peer that offers no STARTTLS, or refuses it, where TLS is required.
var errNoTLS = errors.New("no TLS")

// connect opens a session: greeting, EHLO, STARTTLS when offered (or required), EHLO again,
// AUTH when esmtpauthclient has credentials for the relay.
func (t *Transport) connect(ctx context.Context, p *dialParams, noTLS bool) (*conn, error) {
	d := net.Dialer{Timeout: p.timeouts.connect}
	raw, err := d.DialContext(ctx, "tcp", p.addr.String())
	if err != nil {
		return nil, fmt.Errorf("4.4.1 cannot connect to %s [%s]: %w", p.host, p.addr, err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	cn := &conn{raw: raw, host: p.host, addr: p.addr, key: p.key()}
	fail := func(err error) (*conn, error) {
		raw.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("4.4.2 %s: %w", cn.peer(), ctx.Err())
		}
		return nil, err
	}
	tlsCfg := t.tlsConfig(p)
	var c *smtp.Client
	switch {
	case p.security == SecuritySMTPS:
		tc := tls.Client(raw, tlsCfg)
		_ = raw.SetDeadline(time.Now().Add(p.timeouts.helo))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(fmt.Errorf("4.7.5 %s: %w: %v", cn.peer(), errTLS, err))
		}
		_ = raw.SetDeadline(time.Time{})
		cn.raw, cn.tls, cn.verified = tc, true, p.authenticates()
		c = smtp.NewClient(tc)
	default:
		// greeting and the first EHLO ourselves, so that STARTTLS follows our own EHLO
		_ = raw.SetDeadline(time.Now().Add(p.timeouts.helo))
		br := bufio.NewReader(raw)
		tp := textproto.NewReader(br)
		code, msg, err := tp.ReadResponse(220)
		if err != nil {
			if code != 0 {
				return fail(fmt.Errorf("%s greeted %w", cn.peer(), replyError(code, msg)))
			}
			return fail(fmt.Errorf("4.4.2 %s: reading the greeting: %w", cn.peer(), err))
		}
		if _, err := fmt.Fprintf(raw, "EHLO %s\r\n", p.helo); err != nil {
			return fail(fmt.Errorf("4.4.2 %s: %w", cn.peer(), err))
		}
		code, msg, err = tp.ReadResponse(250)
		offersTLS := false
		if err == nil {
			for _, l := range strings.Split(msg, "\n")[1:] {
				if strings.EqualFold(strings.TrimSpace(l), "STARTTLS") {
					offersTLS = true
				}
			}
		} else if code == 0 {
			return fail(fmt.Errorf("4.4.2 %s: reading the EHLO reply: %w", cn.peer(), err))
		}
		if p.security == SecurityRequired && !offersTLS {
			why := "the route requires"
			switch {
			case p.requireTLS:
				why = "the message's REQUIRETLS requires"
			case p.verify == verifyPKIX:
				why = "the domain's MTA-STS policy requires"
			case p.tlsa != nil || p.verify == verifyDANE:
				why = "its DANE TLSA records require"
			}
			return fail(fmt.Errorf("4.7.4 %s does not offer STARTTLS, which %s: %w", cn.peer(), why, errNoTLS))
		}
		if p.verify == verifyLog && !offersTLS {
			t.log.Warn("mta-sts (testing): peer offers no STARTTLS; enforce would refuse it", "peer", cn.peer())
		}
		if offersTLS && !noTLS && p.security != SecurityNone {
			if _, err := io.WriteString(raw, "STARTTLS\r\n"); err != nil {
				return fail(fmt.Errorf("4.4.2 %s: %w", cn.peer(), err))
			}
			code, msg, err := tp.ReadResponse(220)
			switch {
			case err == nil:
				tc := tls.Client(raw, tlsCfg)
				if err := tc.HandshakeContext(ctx); err != nil {
					return fail(fmt.Errorf("4.7.5 %s: %w: %v", cn.peer(), errTLS, err))
				}
				cn.raw, cn.tls, cn.verified = tc, true, p.authenticates()
				c = smtp.NewClient(withGreeting(tc, tc))
			case code != 0 && p.security != SecurityRequired:
				// refused: go on in clear on this connection
				c = smtp.NewClient(withGreeting(raw, br))
			case code != 0:
				return fail(fmt.Errorf("4.7.5 %s: STARTTLS: %w (%w)", cn.peer(), replyError(code, msg), errNoTLS))
			default:
				return fail(fmt.Errorf("4.4.2 %s: STARTTLS: %w", cn.peer(), err))
			}
		} else {
			c = smtp.NewClient(withGreeting(raw, br))
		}
		_ = raw.SetDeadline(time.Time{})
	}
	c.CommandTimeout = p.timeouts.helo
	if err := c.Hello(p.helo); err != nil {
		return fail(fmt.Errorf("%s: EHLO: %w", cn.peer(), err))
	}
	cn.c = c
	if p.auth != nil {
		if ok, _ := c.Extension("AUTH"); ok {
			if err := t.authenticate(cn, p); err != nil {
				return fail(err)
			}
		}
	}
	c.CommandTimeout = p.timeouts.command
	c.SubmissionTimeout = p.timeouts.data
	return cn, nil
}

// authenticate logs in to a relay (esmtpauthclient). CRAM-MD5 is preferred, then PLAIN,
// then LOGIN, as Courier does; PLAIN and LOGIN are sent in clear only to a loopback peer.
func (t *Transport) authenticate(cn *conn, p *dialParams) error {
	var mech sasl.Client
	clearOK := cn.tls || p.addr.Addr().IsLoopback()
	switch {
	case cn.c.SupportsAuth("CRAM-MD5"):
		mech = &cramMD5{user: p.auth.user, password: p.auth.password}
	case cn.c.SupportsAuth("PLAIN") && clearOK:
		mech = sasl.NewPlainClient("", p.auth.user, p.auth.password)
	case cn.c.SupportsAuth("LOGIN") && clearOK:
		mech = sasl.NewLoginClient(p.auth.user, p.auth.password)
	default:
		return fmt.Errorf("4.7.0 %s: no AUTH mechanism to log in with (without TLS only CRAM-MD5 is used)", cn.peer())
	}
	if err := cn.c.Auth(mech); err != nil {
		return fmt.Errorf("4.7.0 %s: AUTH as %s: %w", cn.peer(), p.auth.user, err)
	}
	return nil
}

// cramMD5 is the client side of CRAM-MD5 (RFC 2195).
type cramMD5 struct{ user, password string }

func (c *cramMD5) Start() (string, []byte, error) { return "CRAM-MD5", nil, nil }

func (c *cramMD5) Next(challenge []byte) ([]byte, error) {
	h := hmac.New(md5.New, []byte(c.password))
	h.Write(challenge)
	return []byte(c.user + " " + hex.EncodeToString(h.Sum(nil))), nil
}

// pool keeps sessions between transactions, so a burst of messages to one peer does not
// pay a connection and a TLS handshake each. An idle session is closed after the keepalive
// time (esmtptimeoutkeepalive).
type pool struct {
	mu      sync.Mutex
	idle    map[string][]*conn
	max     int
	stopped bool
	slots   *hostSlots // told when a session goes idle, so a waiting delivery may take it
}

func (p *pool) take(key string) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.idle[key]
	if len(l) == 0 {
		return nil
	}
	cn := l[len(l)-1]
	p.idle[key] = l[:len(l)-1]
	if cn.timer != nil {
		cn.timer.Stop()
	}
	cn.reused = true
	return cn
}

func (p *pool) put(cn *conn, keep time.Duration) {
	p.mu.Lock()
	if p.stopped || keep <= 0 || len(p.idle[cn.key]) >= p.max {
		p.mu.Unlock()
		cn.close()
		return
	}
	p.idle[cn.key] = append(p.idle[cn.key], cn)
	cn.timer = time.AfterFunc(keep, func() {
		if p.remove(cn) {
			cn.close()
		}
	})
	p.mu.Unlock()
	if p.slots != nil {
		p.slots.signal(cn.addr)
	}
}

// evict takes out of the pool an idle session to a (of any settings), or returns nil.
func (p *pool) evict(a netip.AddrPort) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range p.idle {
		for i, cn := range l {
			if cn.addr != a {
				continue
			}
			p.idle[k] = append(l[:i:i], l[i+1:]...)
			if cn.timer != nil {
				cn.timer.Stop()
			}
			return cn
		}
	}
	return nil
}

// remove takes cn out of the pool; false if it was no longer there.
func (p *pool) remove(cn *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.idle[cn.key]
	for i, x := range l {
		if x == cn {
			p.idle[cn.key] = append(l[:i:i], l[i+1:]...)
			return true
		}
	}
	return false
}

// closeAll ends every idle session; with stop, later ones are not kept either.
func (p *pool) closeAll(stop bool) {
	p.mu.Lock()
	var all []*conn
	for k, l := range p.idle {
		all = append(all, l...)
		delete(p.idle, k)
	}
	if stop {
		p.stopped = true
	}
	p.mu.Unlock()
	for _, cn := range all {
		if cn.timer != nil {
			cn.timer.Stop()
		}
		cn.close()
	}
}
