package server

import (
	"bytes"

	"courier/internal/queue"
	"courier/internal/smtp/wire"
)

// Modes of a transaction under local mail filtering: Courier keeps whitelisted recipients
// (rcptfilter exit 0) and filtered ones (exit 99) out of the same message, because the
// content filter's verdict applies to the whole message.
const (
	filterNone = iota
	filterWhite
	filterContent
)

// Courier's replies when a recipient does not fit the transaction's mode (submit.C).
var (
	errWhitelisted    = wire.R(412, "4.7.1", "You are whitelisted by this recipient, please try again later.")
	errNotWhitelisted = wire.R(412, "4.7.1", "You are not whitelisted by this recipient, please try again later.")
)

// filterEnv describes the session to the filters.
func (ss *session) filterEnv() *FilterEnv {
	host := ss.c.Env["TCPREMOTEHOST"]
	return &FilterEnv{Sender: ss.mail.From.String(), RemoteIP: ss.c.Remote, RemoteHost: host, Access: ss.c.Env}
}

// rcptFilter runs the recipient filter for an accepted address (rs is what the Router made
// of it). It returns the reply refusing the address, or nil and whether the recipient wants
// the content filter. An alias with several members is whitelisted, as Courier runs no
// member's filter for it.
func (ss *session) rcptFilter(addr string, rs []queue.Recipient) (*wire.Reply, bool) {
	lf := ss.s.o.LocalFilter
	if lf == nil || !lf.Enabled() {
		return nil, false
	}
	res := FilterResult{Exit: FilterAccept}
	if len(rs) == 1 {
		var err error
		res, err = lf.Rcpt(ss.ctx, ss.filterEnv(), &rs[0])
		if err != nil {
			ss.log.Warn("recipient filter failed", "rcpt", addr, "err", err)
			return wire.Rf(451, "4.3.0", "<%s>: temporary failure running the mail filter, try again later.", addr), false
		}
	}
	switch res.Exit {
	case FilterAccept:
		if ss.filterMode == filterContent {
			return errWhitelisted, false
		}
		ss.filterMode = filterWhite
		return nil, false
	case FilterContent:
		if ss.filterMode == filterWhite {
			return errNotWhitelisted, false
		}
		ss.filterMode = filterContent
		return nil, true
	}
	rep := filterReply(res.Output, true)
	ss.log.Info("recipient refused by its mail filter", "rcpt", addr, "from", ss.mail.From.String(), "exit", res.Exit, "reply", rep.Error())
	return rep, false
}

// contentFilter runs the content filters of the recipients that asked for them, on the
// message as queued; it returns the reply refusing the message, or nil.
func (ss *session) contentFilter(msg []byte) *wire.Reply {
	lf := ss.s.o.LocalFilter
	if lf == nil || len(ss.contentRcpts) == 0 {
		return nil
	}
	env := ss.filterEnv()
	for i := range ss.contentRcpts {
		r := &ss.contentRcpts[i]
		res, err := lf.Content(ss.ctx, env, r, msg)
		if err != nil {
			ss.log.Warn("content filter failed", "rcpt", r.Addr, "err", err)
			return wire.R(451, "4.3.0", "Temporary failure running the mail filter, try again later.")
		}
		if res.Exit != 0 {
			rep := filterReply(res.Output, false)
			ss.log.Info("message refused by a recipient's mail filter", "rcpt", r.Addr, "from", ss.mail.From.String(), "exit", res.Exit, "reply", rep.Error())
			return rep
		}
	}
	return nil
}

// teeBuffer returns where the builder copies the message for the content filters; nil when
// no recipient asked for them.
func (ss *session) teeBuffer() *bytes.Buffer {
	if len(ss.contentRcpts) == 0 {
		return nil
	}
	return &bytes.Buffer{}
}
