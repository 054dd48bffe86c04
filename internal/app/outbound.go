package app

// Outbound delivery: the queue's Deliverer is a composite that hands local recipients to
// package delivery's Local and every other recipient to the ESMTP transport
// (internal/transport/esmtp), which routes by esmtproutes and DNS and DKIM-signs what our
// users and programs send (dkim.go).

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"courier/internal/dkim"
	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// outbound sends each recipient to the deliverer that serves it.
type outbound struct {
	local  queue.Deliverer
	remote queue.Deliverer
}

var _ queue.Deliverer = (*outbound)(nil)

// Deliver implements queue.Deliverer.
func (o *outbound) Deliver(ctx context.Context, m *queue.Message, i int) queue.Result {
	if m.Env.Rcpts[i].Local {
		return o.local.Deliver(ctx, m, i)
	}
	return o.remote.Deliver(ctx, m, i)
}

// AlreadyDelivered implements queue.Deliverer.
func (o *outbound) AlreadyDelivered(ctx context.Context, m *queue.Message, i int) (bool, error) {
	if m.Env.Rcpts[i].Local {
		return o.local.AlreadyDelivered(ctx, m, i)
	}
	return o.remote.AlreadyDelivered(ctx, m, i)
}

// messageSource names where a message came from, as Courier's ESMTP_BLOCKBACKSCATTER
// does: "authsmtp" for SMTP from a client with relaying privileges (AUTH or RELAYCLIENT),
// "smtp" for any other SMTP client, "" for mail made here (sendmail, notifications,
// forwards), whose notifications are never dropped.
func messageSource(env *queue.Envelope) string {
	p := strings.ToUpper(env.Protocol)
	if !strings.Contains(p, "SMTP") {
		return ""
	}
	if env.RelayClient || env.AuthUser != "" {
		return "authsmtp"
	}
	return "smtp"
}

// newOutbound wraps the local deliverer of the queue in queueDir with the ESMTP transport.
// The transport's journal of delivered tokens lives beside the queue directory (never in
// it: every file there is taken for a message). Its idle sessions end when the queue
// closes (the transport watches the queue's context).
func (a *App) newOutbound(local queue.Deliverer, queueDir string) queue.Deliverer {
	signer := &dkimSigner{keys: dkim.NewKeyring(a.cfg.Dir, a.log.With("service", "dkim"))}
	return newOutboundWith(local, esmtp.Options{
		ConfigDir:   a.cfg.Dir,
		Log:         a.log.With("service", "esmtp"),
		JournalPath: filepath.Join(filepath.Dir(filepath.Clean(queueDir)), "esmtp-delivered"),
		Sign:        signer.Sign,
	}, a.log)
}

// newOutboundWith builds the composite with explicit transport options (tests).
func newOutboundWith(local queue.Deliverer, o esmtp.Options, log *slog.Logger) queue.Deliverer {
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	t, err := esmtp.New(o)
	if err != nil {
		// Without its journal the transport still delivers; AlreadyDelivered then
		// answers false for remote recipients (a crash may repeat a delivery).
		log.Error("esmtp: journal unavailable; delivering without it", "err", err)
		o.JournalPath = ""
		t, _ = esmtp.New(o)
	}
	return &outbound{local: local, remote: t}
}
