package app

// Delivery status notifications: the queue's Notifier. A notification is a new message
// from the null sender <> to the original's envelope sender, written by package dsn and
// queued like any other mail (so it is durable before the queue records the failure it
// reports, and a remote sender's waits for outbound delivery like any other remote mail).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"courier/internal/config"
	"courier/internal/config/courierfmt"
	"courier/internal/delivery"
	"courier/internal/dsn"
	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// dsnNotifier implements queue.Notifier for one App's queue.
type dsnNotifier struct {
	configDir string
	core      *smtpCore
	log       *slog.Logger
	// ready is closed once core.queue is set: queue.Open starts its workers, which may
	// already need to notify about recovered messages, before it returns the queue.
	ready chan struct{}
}

// statusRe finds the RFC 3463 code a delivery error begins with.
var statusRe = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})\s*`)

// Notify queues one notification for the notices about m.
func (n *dsnNotifier) Notify(ctx context.Context, m *queue.Message, notices []queue.Notice) error {
	select {
	case <-n.ready:
	case <-ctx.Done():
		return fmt.Errorf("dsn: %w", ctx.Err())
	}
	c := n.core
	me := n.hostname()
	tmpl, err := dsn.LoadTemplates(n.configDir)
	if err != nil {
		return err
	}
	rep := &dsn.Report{MTA: me, To: m.Env.From, EnvID: m.Env.EnvID, Arrival: m.Env.Time,
		ReceivedFrom: receivedFrom(m.Env), Templates: tmpl, Limit: n.limit()}
	if from, err := courierfmt.ReadFirstLine(filepath.Join(n.configDir, "dsnfrom")); err == nil && from != "" {
		rep.From = from
	}
	anyFailed := false
	for _, no := range notices {
		r := m.Env.Rcpts[no.Rcpt]
		final := r.Addr
		if r.Orig != "" {
			final = r.Orig // the sender knows the address it wrote, not what an alias made of it
		}
		d := dsn.Recipient{Final: final, Original: r.ORCPT, LastTry: no.At}
		switch no.Kind {
		case queue.NoticeFailed:
			d.Action, d.Status = dsn.Failed, "5.0.0"
			anyFailed = true
		case queue.NoticeDelayed:
			d.Action, d.Status = dsn.Delayed, "4.0.0"
			d.RetryUntil = m.Env.Time.Add(n.queueTime())
		case queue.NoticeDelivered:
			d.Action, d.Status = dsn.Delivered, "2.0.0"
		case queue.NoticeRelayed:
			d.Action, d.Status = dsn.Relayed, "2.0.0"
		}
		var pe *esmtp.PeerError
		if errors.As(no.Err, &pe) {
			d.RemoteMTA, d.SMTPReply = pe.Host, pe.Reply
		}
		if no.Err != nil {
			why := no.Err.Error()
			if s := statusRe.FindStringSubmatch(why); s != nil {
				// The class must agree with the action: a 4.x.x failure is final now
				// (queuetime), and stays 4.4.7 as RFC 3463 asks.
				if (d.Action == dsn.Failed && s[1] != "2") || (d.Action == dsn.Delayed && s[1] == "4") {
					d.Status = s[1] + "." + s[2] + "." + s[3]
				}
				why = why[len(s[0]):]
			}
			d.Diagnostic = why
		}
		rep.Rcpts = append(rep.Rcpts, d)
	}
	// RET=FULL asks for the whole original everywhere; without RET, failures get it
	// whole (Courier), delays and receipts its header; RET=HDRS always the header.
	rep.Full = strings.EqualFold(m.Env.Ret, "FULL") || (m.Env.Ret == "" && anyFailed)

	rcpts, err := c.resolver.Route(ctx, m.Env.From, true)
	if errors.Is(err, delivery.ErrUnknownUser) || errors.Is(err, delivery.ErrRelayDenied) {
		// Nobody to tell (a local sender that no longer exists): Courier drops such a
		// double bounce too; the log keeps the news.
		n.log.Warn("dsn: the sender cannot receive the notification; dropped", "id", m.ID, "sender", m.Env.From, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("dsn: routing to the sender <%s>: %w", m.Env.From, err)
	}
	// RFC 8689 section 5: a notification about a REQUIRETLS message carries the
	// original's header (or all of it), so it travels under REQUIRETLS too. DSNSource
	// lets the ESMTP transport drop backscatter (ESMTP_BLOCKBACKSCATTER).
	env := &queue.Envelope{From: "", Rcpts: rcpts, Protocol: "dsn", Time: time.Now(), SMTPUTF8: !asciiString(m.Env.From),
		RequireTLS: m.Env.RequireTLS, DSNSource: messageSource(m.Env)}
	w, err := c.queue.Create(env)
	if err != nil {
		return fmt.Errorf("dsn: %w", err)
	}
	content, err := m.Open()
	if err != nil {
		w.Abort()
		return fmt.Errorf("dsn: %w", err)
	}
	defer content.Close()
	if err := dsn.Write(w, rep, content, m.Size()); err != nil {
		w.Abort()
		return err
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("dsn: %w", err)
	}
	n.log.Info("dsn: queued", "id", w.ID(), "about", m.ID, "to", m.Env.From, "recipients", len(notices))
	return nil
}

func (n *dsnNotifier) hostname() string {
	if me, err := courierfmt.ReadFirstLine(filepath.Join(n.configDir, "me")); err == nil && me != "" {
		return me
	}
	h, _ := os.Hostname()
	return h
}

// limit is dsnlimit (octets; Courier's default 32 KB).
func (n *dsnNotifier) limit() int64 {
	if v, err := courierfmt.ReadFirstLine(filepath.Join(n.configDir, "dsnlimit")); err == nil {
		if l, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && l > 0 {
			return l
		}
	}
	return dsn.DefaultLimit
}

func (n *dsnNotifier) queueTime() time.Duration {
	return controlDuration(n.configDir, "queuetime", 7*24*time.Hour)
}

// controlDuration reads a Courier interval control file (queuetime, warntime: "1w2d").
func controlDuration(dir, name string, def time.Duration) time.Duration {
	v, err := courierfmt.ReadFirstLine(filepath.Join(dir, name))
	if err != nil || strings.TrimSpace(v) == "" {
		return def
	}
	d, err := config.ParseDuration(v)
	if err != nil || d <= 0 {
		return def
	}
	return d
}

// receivedFrom says where a message came from, for the notification's text.
func receivedFrom(env *queue.Envelope) string {
	switch {
	case env.RemoteIP != "" && env.Helo != "":
		return env.Helo + " (" + env.RemoteIP + ")"
	case env.RemoteIP != "":
		return env.RemoteIP
	case env.AuthUser != "":
		return "local user " + env.AuthUser
	}
	return "localhost"
}

func asciiString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
