package server

import (
	"errors"
	"strings"

	"courier/internal/delivery"
	"courier/internal/smtp/wire"
)

// cmdRcpt adds a recipient (RFC 5321 section 4.1.1.3), checked now: unknown local users and
// relay attempts are refused here, never bounced later.
func (ss *session) cmdRcpt(arg string) {
	if ss.mail == nil {
		ss.replyf(503, "5.5.1", "Send MAIL first.")
		ss.badCommand()
		return
	}
	r, err := wire.ParseRcpt(arg)
	if err != nil {
		var rep *wire.Reply
		errors.As(err, &rep)
		ss.reply(rep)
		ss.badCommand()
		return
	}
	if !ss.mail.SMTPUTF8 && !r.To.ASCII() {
		ss.replyf(553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8.")
		return
	}
	if ss.rcptCount >= ss.st.MaxRcpts {
		// Courier's bofh maxrcpts: the first N are accepted, the rest deferred.
		ss.replyf(452, "4.5.3", "Too many recipients.")
		return
	}
	addr := r.To.String()
	if b := ss.blocked(); b != "" {
		ss.log.Info("blocked by the access file", "rcpt", addr, "block", b)
		ss.replyBlock(b)
		return
	}
	rs, err := ss.s.o.Router.Route(ss.ctx, addr, ss.relay)
	switch {
	case errors.Is(err, delivery.ErrRelayDenied):
		ss.log.Info("relay denied", "rcpt", addr, "from", ss.mail.From.String())
		ss.replyf(550, "5.7.1", "Relaying denied.")
		ss.badCommand()
		return
	case errors.Is(err, delivery.ErrUnknownUser):
		ss.replyf(550, "5.1.1", "<%s>: unknown user.", addr)
		ss.badCommand()
		return
	case err != nil:
		ss.log.Warn("recipient lookup failed", "rcpt", addr, "err", err)
		ss.replyf(451, "4.3.0", "<%s>: temporary failure looking up the address, try again later.", addr)
		return
	}
	rep, wantContent := ss.rcptFilter(addr, rs)
	if rep != nil {
		ss.reply(rep)
		return
	}
	notify := strings.Join(r.Notify, ",")
	for _, x := range rs {
		x.Notify, x.ORCPT = notify, r.ORCPT
		if len(rs) > 1 {
			// An alias with several addresses is a private list (makealiases(8), RFC 3461
			// §6.2.7.3): its members' failures are not reported to the sender.
			x.Notify = "NEVER"
		}
		if x.Addr != addr {
			x.Orig = addr
		}
		dup := false
		for _, y := range ss.rcpts {
			if y.SameDelivery(&x) {
				dup = true
				break
			}
		}
		if !dup {
			ss.rcpts = append(ss.rcpts, x)
			if wantContent {
				ss.contentRcpts = append(ss.contentRcpts, x)
			}
		}
	}
	ss.rcptCount++
	ss.replyf(250, "2.1.5", "Ok.")
}
