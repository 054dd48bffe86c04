package cli

import (
	"context"
	"fmt"
	"log/slog"

	"courier/internal/app"
	"courier/internal/netx"
	"courier/internal/queue"
	"courier/internal/smtp/server"
	"courier/internal/submit"
)

// sendmailBS is sendmail -bs: an ESMTP session on standard input and output, as Courier's
// sendmail gives one (mutt and other clients use it). Each accepted message becomes a
// pickup file, exactly as a plain sendmail run makes one: the server queues it with the
// invoking user as identity and checks the recipients then (one nobody receives mail for
// comes back to the sender as a notification), so this process needs no access to the
// queue. The session may send anywhere, as a local user may with sendmail.
func sendmailBS(e *Env, cfg string) int {
	dir, err := app.PickupDir(cfg)
	if err != nil {
		return fail(e, "sendmail", exTempFail, "%v", err)
	}
	host := mailDomain(cfg)
	limit := app.SizeLimit(cfg)
	srv := server.New(server.Options{
		Service: "sendmail-bs",
		Log:     slog.New(slog.DiscardHandler),
		Settings: func() server.Settings {
			return server.Settings{Hostname: host, MaxSize: limit, AddMessageID: true, AddDate: true}
		},
		Router: bsRouter{},
		Queue:  pickupSpool{dir: dir, limit: limit},
	})
	conn := &netx.Conn{Conn: netx.StdioConn(e.Stdin, e.Stdout), ID: "bs", Service: "sendmail-bs",
		Remote: "127.0.0.1", Log: slog.New(slog.DiscardHandler)}
	srv.ServeConn(context.Background(), conn)
	return exOK
}

// bsRouter accepts every well-formed address: the server decides when it queues the
// pickup file.
type bsRouter struct{}

func (bsRouter) Route(_ context.Context, addr string, _ bool) ([]queue.Recipient, error) {
	if err := submit.CheckAddr(addr); err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return []queue.Recipient{{Addr: addr}}, nil
}

// pickupSpool writes each message as a pickup file.
type pickupSpool struct {
	dir   string
	limit int64
}

func (p pickupSpool) Create(env *queue.Envelope) (server.MessageWriter, error) {
	se := &submit.Envelope{From: env.From, Ret: env.Ret, EnvID: env.EnvID, Time: env.Time}
	for _, r := range env.Rcpts {
		se.Rcpts = append(se.Rcpts, submit.Rcpt{Addr: r.Addr, Notify: r.Notify})
	}
	if err := se.Validate(); err != nil {
		return nil, err
	}
	d, err := submit.NewDrop(p.dir, se, p.limit)
	if err != nil {
		return nil, err
	}
	return dropWriter{d}, nil
}

type dropWriter struct{ *submit.Drop }

// ID is the pickup file's name (unique), for the Received: line and a Message-ID.
func (d dropWriter) ID() string { return d.Name() }
