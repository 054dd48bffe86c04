package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"courier/internal/imap/server"
	"courier/internal/smap"
	"courier/internal/store"
	"courier/internal/store/acl"
	"courier/internal/submit"
)

// smapHandler returns the SMAP session runner the IMAP server hands a connection to after an
// SMAP login (SMAP_CAPABILITY=SMAP1 in imapd).
func (a *App) smapHandler() server.SMAPHandler {
	return func(ctx context.Context, in *bufio.Reader, out io.Writer, st store.Store, s server.SMAPSession) error {
		return smap.Serve(ctx, in, out, st, smap.Config{
			User: s.User, Groups: s.Groups, ACL: acl.Open(s.Maildir), Env: s.Env,
			Log:      a.log.With("service", "smap"),
			Sendmail: SMAPSendmail(a.cfg.Dir, s.User),
		})
	}
}

// SMAPSendmail is SMAP's send-and-save (ADD with MAILFROM/RCPTTO): the message goes through
// the pickup directory of the configuration in configDir, as `courier sendmail` sends it,
// and the server queues it. onBehalf names the account when the session runs inside the
// server (its files are owned by the server's uid, which would otherwise be the sender's
// identity); a session in a process of the account's own leaves it empty and is known by
// its uid.
func SMAPSendmail(configDir, onBehalf string) func(ctx context.Context, from string, rcpts []string, notify string, msg io.Reader) error {
	return func(_ context.Context, from string, rcpts []string, notify string, msg io.Reader) error {
		dir, err := PickupDir(configDir)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		n, err := submit.ParseNotify(notify)
		if err != nil {
			return fmt.Errorf("send: NOTIFY: %w", err)
		}
		env := &submit.Envelope{From: from, OnBehalf: onBehalf}
		for _, r := range rcpts {
			env.Rcpts = append(env.Rcpts, submit.Rcpt{Addr: r, Notify: n})
		}
		if err := submit.Send(dir, env, msg, 0); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		return nil
	}
}

// OutboxSender sends a message appended or copied to the Outbox folder (OUTBOX, Courier's
// XCOURIEROUTBOX) as Courier's `sendmail -oi -t` would: recipients from To:, Cc: and Bcc:,
// Bcc: removed, the account as envelope sender; through the pickup directory of
// configDir. inServer says the session runs inside the server, which then names the
// account in the pickup file (see SMAPSendmail).
func OutboxSender(configDir string, inServer bool) func(ctx context.Context, user string, msg io.Reader) error {
	return func(_ context.Context, user string, msg io.Reader) error {
		raw, err := io.ReadAll(io.LimitReader(msg, 256<<20))
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		head, body := raw, []byte(nil)
		if bytes.HasPrefix(raw, []byte("\n")) {
			head, body = nil, raw[1:]
		} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
			head, body = raw[:i+1], raw[i+2:]
		}
		local, domain, _ := strings.Cut(user, "@")
		block, rcpts, _ := submit.RewriteHeader(submit.SplitFields(head), submit.HeaderOptions{Rcpts: true, User: local, Host: domain})
		if len(rcpts) == 0 {
			return errors.New("outbox: the message names no recipient in To:, Cc: or Bcc:")
		}
		dir, err := PickupDir(configDir)
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		env := &submit.Envelope{From: user}
		if inServer {
			env.OnBehalf = user
		}
		for _, r := range rcpts {
			env.Rcpts = append(env.Rcpts, submit.Rcpt{Addr: r})
		}
		content := append(append(block, '\n'), body...)
		if err := submit.Send(dir, env, bytes.NewReader(content), 0); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		return nil
	}
}
