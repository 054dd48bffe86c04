package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"courier/internal/auth/authconfig"
	"courier/internal/auth/daemon"
)

func init() {
	register(&Command{
		Name:  "authdaemond",
		Usage: "[-c DIR] [start]",
		Short: "serve the authdaemon socket (authmodulelist from CONFIG/authdaemonrc) in the foreground",
		Link:  true,
		Run:   runAuthdaemond,
	})
}

func runAuthdaemond(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	if len(args) > 1 || (len(args) == 1 && args[0] != "start") {
		return fail(e, "authdaemond", 2, "usage: authdaemond [-c DIR] [start]")
	}
	setup, err := authconfig.Load(dir)
	if err != nil {
		return fail(e, "authdaemond", 1, "%v", err)
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, nil))
	for _, w := range setup.Warnings {
		log.Warn("authdaemond: " + w)
	}
	chain, debug, daemons, sock := setup.Chain, setup.Debug, setup.Daemons, setup.Socket
	l, err := daemon.Listen(sock)
	if err != nil {
		return fail(e, "authdaemond", 1, "%v", err)
	}
	defer l.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(e.Stdout, "listening authdaemon %s\n", sock)
	srv := &daemon.Server{Auth: chain, Logger: log, Debug: debug, MaxConns: max(daemons*8, 16)}
	if err := srv.Serve(ctx, l); err != nil {
		return fail(e, "authdaemond", 1, "%v", err)
	}
	return 0
}
