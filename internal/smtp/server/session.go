package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"courier/internal/netx"
	"courier/internal/queue"
	"courier/internal/smtp/wire"
)

// session is one SMTP connection.
type session struct {
	ctx    context.Context
	s      *Server
	c      *netx.Conn
	st     Settings
	log    *slog.Logger
	br     *bufio.Reader
	bw     *bufio.Writer
	remote netip.Addr
	buf    []byte

	helo     string
	esmtp    bool
	authUser string
	authMech string
	relay    bool // may relay: RELAYCLIENT_FROM or authenticated
	errors   int

	// transaction
	mail      *wire.Mail
	rcpts     []queue.Recipient
	rcptCount int
	bdat      *bdatState
	// local mail filtering (localfilter.go): whether the recipients so far were all
	// whitelisted (filterWhite) or all asked for the content filter (filterContent), and
	// those that did
	filterMode   int
	contentRcpts []queue.Recipient

	idle     atomic.Bool // waiting for a command (shutdown may interrupt)
	stopping atomic.Bool
	quit     bool
}

func newSession(ctx context.Context, s *Server, c *netx.Conn, st Settings) *session {
	ss := &session{ctx: ctx, s: s, c: c, st: st, log: c.Log}
	if ss.log == nil {
		ss.log = s.o.Log
	}
	ss.br, ss.bw = newBuffers(c)
	if ap, err := netip.ParseAddr(c.Remote); err == nil {
		ss.remote = ap.Unmap()
	}
	// The access file's variables for this address (smtpaccess: RELAYCLIENT, BLOCK,
	// SIZELIMIT, BOFHNOVRFY, BOFHNOEXPN) override the service's settings.
	if v, ok := c.Env["SIZELIMIT"]; ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			ss.st.MaxSize = n
		}
	}
	if v, ok := c.Env["BOFHNOVRFY"]; ok {
		ss.st.NoVRFY = v != "" && v != "0"
	}
	if v, ok := c.Env["BOFHNOEXPN"]; ok {
		ss.st.NoEXPN = v != "" && v != "0"
	}
	ss.relay = ss.relayClient()
	return ss
}

// relayClient reports whether the connection may relay without AUTH: RELAYCLIENT_FROM, or
// RELAYCLIENT set by the access file.
func (ss *session) relayClient() bool {
	_, access := ss.c.Env["RELAYCLIENT"]
	return access || inPrefixes(ss.remote, ss.st.RelayFrom)
}

// blocked is the reply for every recipient when the access file sets BLOCK (Courier's
// submit refuses all mail of such a connection, with BLOCK's text as the reply); "" when
// mail is accepted. An authenticated client is not blocked.
func (ss *session) blocked() string {
	b := strings.TrimSpace(ss.c.Env["BLOCK"])
	if b == "" || ss.authUser != "" {
		return ""
	}
	return b
}

func inPrefixes(a netip.Addr, list []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// tls reports whether the session is encrypted.
func (ss *session) tls() bool { return ss.c.TLS != nil }

// reply queues a reply; it goes out at the next flush.
func (ss *session) reply(r *wire.Reply) {
	_ = r.WriteTo(ss.bw, true)
}

func (ss *session) replyf(code int, enh, format string, args ...any) {
	ss.reply(wire.Rf(code, enh, format, args...))
}

func (ss *session) flush() error {
	if ss.bw.Buffered() == 0 {
		return nil
	}
	_ = ss.c.SetWriteDeadline(time.Now().Add(ss.st.Timeout))
	if err := ss.bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// run is the command loop.
func (ss *session) run() {
	ss.log.Info("smtp session", "tls", ss.tls())
	defer ss.resetTransaction()
	stop := context.AfterFunc(ss.ctx, func() {
		ss.stopping.Store(true)
		if ss.idle.Load() {
			_ = ss.c.SetReadDeadline(time.Now())
		}
	})
	defer stop()
	if ss.st.Hostname == "" {
		ss.st.Hostname, _ = os.Hostname()
	}
	ss.reply(&wire.Reply{Code: 220, Lines: []string{ss.st.Hostname + " ESMTP"}})
	for !ss.quit {
		if ss.stopping.Load() {
			ss.replyf(421, "4.3.2", "%s Service shutting down, try again later.", ss.st.Hostname)
			_ = ss.flush()
			return
		}
		if ss.br.Buffered() == 0 {
			if err := ss.flush(); err != nil {
				ss.log.Info("smtp session ended", "err", err)
				return
			}
		}
		_ = ss.c.SetReadDeadline(time.Now().Add(ss.st.Timeout))
		ss.idle.Store(true)
		if ss.stopping.Load() {
			_ = ss.c.SetReadDeadline(time.Now())
		}
		line, err := wire.ReadCommandLine(ss.br, wire.MaxCommandLine, ss.buf)
		ss.idle.Store(false)
		if err != nil {
			var r *wire.Reply
			if errors.As(err, &r) {
				ss.reply(r)
				if ss.badCommand() {
					return
				}
				continue
			}
			if ss.stopping.Load() {
				continue // the loop says goodbye
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				ss.replyf(421, "4.4.2", "%s Timeout, closing connection.", ss.st.Hostname)
				_ = ss.flush()
			}
			ss.log.Info("smtp session ended", "err", err)
			return
		}
		ss.buf = line[:0]
		if !ss.dispatch(line) {
			_ = ss.flush()
			return
		}
	}
	_ = ss.flush()
}

// badCommand counts an error and reports whether the session must end.
func (ss *session) badCommand() bool {
	ss.errors++
	if ss.errors >= ss.st.MaxErrors {
		ss.replyf(421, "4.7.0", "%s Too many errors, closing connection.", ss.st.Hostname)
		_ = ss.flush()
		return true
	}
	return false
}

// dispatch runs one command line; false ends the session.
func (ss *session) dispatch(line []byte) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ss.log.Error("smtp command panicked", "panic", p, "stack", string(debug.Stack()))
			ss.replyf(451, "4.3.0", "Internal error.")
			ok = false
		}
	}()
	cmd, err := wire.ParseCommand(line)
	if err != nil {
		var r *wire.Reply
		errors.As(err, &r)
		ss.reply(r)
		return !ss.badCommand()
	}
	ss.log.Debug("smtp command", "verb", cmd.Verb)
	if ss.bdat != nil && cmd.Verb != "BDAT" && cmd.Verb != "RSET" && cmd.Verb != "QUIT" && cmd.Verb != "NOOP" {
		// RFC 3030 section 2: only BDAT (or RSET/QUIT) may follow a BDAT that was not LAST
		ss.resetTransaction()
		ss.replyf(503, "5.5.1", "Expected BDAT.")
		return !ss.badCommand()
	}
	if ss.st.TLSRequired && !ss.tls() {
		switch cmd.Verb {
		case "EHLO", "HELO", "STARTTLS", "NOOP", "RSET", "QUIT":
		default:
			ss.replyf(530, "5.7.0", "Must issue a STARTTLS command first.")
			return !ss.badCommand()
		}
	}
	if ss.st.AuthRequired && ss.authUser == "" {
		switch cmd.Verb {
		case "EHLO", "HELO", "STARTTLS", "AUTH", "NOOP", "RSET", "QUIT":
		default:
			// RFC 4954 section 6; Courier says "535 Authentication required".
			ss.replyf(530, "5.7.0", "Authentication required.")
			if cmd.Verb == "BDAT" {
				ss.discardChunk(cmd.Arg)
			}
			return !ss.badCommand()
		}
	}
	switch cmd.Verb {
	case "EHLO":
		ss.cmdHelo(cmd.Arg, true)
	case "HELO":
		ss.cmdHelo(cmd.Arg, false)
	case "MAIL":
		ss.cmdMail(cmd.Arg)
	case "RCPT":
		ss.cmdRcpt(cmd.Arg)
	case "DATA":
		return ss.cmdData(cmd.Arg)
	case "BDAT":
		return ss.cmdBdat(cmd.Arg)
	case "RSET":
		ss.resetTransaction()
		ss.replyf(250, "2.0.0", "Ok.")
	case "NOOP":
		ss.replyf(250, "2.0.0", "Ok.")
	case "QUIT":
		ss.replyf(221, "2.0.0", "%s Bye.", ss.st.Hostname)
		ss.quit = true
	case "VRFY":
		// Courier: BOFHNOVRFY gives 252; we never disclose accounts either way.
		ss.replyf(252, "2.5.2", "VRFY disabled, send some mail and see what happens.")
	case "EXPN":
		ss.replyf(502, "5.5.1", "EXPN disabled.")
	case "HELP":
		ss.replyf(214, "2.0.0", "See RFC 5321.")
	case "STARTTLS":
		return ss.cmdStartTLS(cmd.Arg)
	case "AUTH":
		return ss.cmdAuth(cmd.Arg)
	default:
		ss.replyf(502, "5.5.2", "Command not recognised.")
		return !ss.badCommand()
	}
	return true
}

// resetTransaction forgets MAIL, RCPTs and any BDAT in progress.
func (ss *session) resetTransaction() {
	ss.mail = nil
	ss.rcpts = nil
	ss.rcptCount = 0
	ss.filterMode = filterNone
	ss.contentRcpts = nil
	if ss.bdat != nil {
		ss.bdat.abort()
		ss.bdat = nil
	}
}

// refreshDeadline pushes the read deadline out while a message is being read.
type deadline struct {
	c    net.Conn
	d    time.Duration
	last time.Time
}

func (dl *deadline) touch() {
	now := time.Now()
	if now.Sub(dl.last) > time.Second {
		dl.last = now
		_ = dl.c.SetReadDeadline(now.Add(dl.d))
	}
}

// discardN reads and drops n octets.
func (ss *session) discardN(n int64) error {
	dl := &deadline{c: ss.c, d: ss.st.Timeout}
	for n > 0 {
		dl.touch()
		k := min(n, 64<<10)
		m, err := io.CopyN(io.Discard, ss.br, k)
		n -= m
		if err != nil {
			return err
		}
	}
	return nil
}

// protocol is the Received: "with" keyword (RFC 3848, RFC 6531).
func (ss *session) protocol() string {
	p := "SMTP"
	if ss.esmtp {
		p = "ESMTP"
	}
	if ss.tls() {
		p += "S"
	}
	if ss.authUser != "" {
		p += "A"
	}
	if ss.mail != nil && ss.mail.SMTPUTF8 {
		p = "UTF8" + p
	}
	return p
}

// clean makes a client-supplied string safe for a header comment.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '(' || r == ')' || r == '\\' {
			return '?'
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// replyBlock answers with an access file's BLOCK text ("550 Shoo! Go away!"): its own code
// when it begins with a 4xx or 5xx one, else 550.
func (ss *session) replyBlock(b string) {
	code, text := 550, b
	if len(b) >= 4 && (b[0] == '4' || b[0] == '5') && b[1] >= '0' && b[1] <= '9' && b[2] >= '0' && b[2] <= '9' && (b[3] == ' ' || b[3] == '-') {
		code, _ = strconv.Atoi(b[:3])
		text = strings.TrimSpace(b[4:])
	}
	enh := fmt.Sprintf("%d.7.1", code/100)
	if f := strings.Fields(text); len(f) > 0 && len(f[0]) >= 5 && (f[0][0] == '4' || f[0][0] == '5') && strings.Count(f[0], ".") == 2 {
		enh, text = f[0], strings.TrimSpace(strings.TrimPrefix(text, f[0]))
	}
	text = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	if text == "" {
		text = "Access denied."
	}
	ss.replyf(code, enh, "%s", text)
}
