package app

// Forwarding for .courier files: a forwarded copy is a new queued message with the same
// envelope sender (Courier keeps it; dot-courier(5)) and a Delivered-To: line naming the
// forwarding address, so that a forwarding loop is caught by local delivery's loop check.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"courier/internal/config/courierfmt"
	"courier/internal/delivery"
	"courier/internal/queue"
)

// forward queues recipient i's copy of m for addrs. An address nobody here receives mail
// for is queued as refused, so the sender hears of it through a notification.
func (c *smtpCore) forward(ctx context.Context, m *queue.Message, i int, addrs []string) error {
	if c.queue == nil {
		return errors.New("the queue is not open")
	}
	from := m.Env.Rcpts[i]
	env := &queue.Envelope{From: m.Env.From, Ret: m.Env.Ret, EnvID: m.Env.EnvID, AuthUser: m.Env.AuthUser,
		Protocol: "forward", Time: time.Now(), Body: m.Env.Body, SMTPUTF8: m.Env.SMTPUTF8,
		// the sender's REQUIRETLS follows the message wherever it is forwarded (RFC 8689 section 4)
		RequireTLS: m.Env.RequireTLS}
	for _, a := range addrs {
		rs, err := c.resolver.Route(ctx, a, true)
		switch {
		case errors.Is(err, delivery.ErrUnknownUser), errors.Is(err, delivery.ErrRelayDenied):
			env.Rcpts = append(env.Rcpts, queue.Recipient{Addr: a, Notify: from.Notify,
				Refused: "5.1.1 " + strings.TrimPrefix(err.Error(), "delivery: ")})
			continue
		case err != nil:
			return fmt.Errorf("forward to <%s>: %w", a, err)
		}
		for _, x := range rs {
			x.Notify = from.Notify
			if x.Addr != a {
				x.Orig = a
			}
			env.Rcpts = append(env.Rcpts, x)
		}
	}
	if len(env.Rcpts) == 0 {
		return nil
	}
	w, err := c.queue.Create(env)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	content, err := m.Open()
	if err != nil {
		w.Abort()
		return fmt.Errorf("forward: %w", err)
	}
	defer content.Close()
	if _, err := io.WriteString(w, "Delivered-To: "+from.Addr+"\n"); err == nil {
		_, err = io.Copy(w, content)
	}
	if err != nil {
		w.Abort()
		return fmt.Errorf("forward: %w", err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	return nil
}

// defaultDelivery is courierd's DEFAULTDELIVERY ("" when unset).
func defaultDelivery(configDir string) string {
	f, err := courierfmt.LoadEnv(filepath.Join(configDir, "courierd"), nil)
	if err != nil || f == nil {
		return ""
	}
	if v, ok := f.Lookup("DEFAULTDELIVERY"); ok {
		return strings.TrimSpace(v.Value)
	}
	return ""
}
