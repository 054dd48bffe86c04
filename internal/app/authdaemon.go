package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"courier/internal/auth/daemon"
)

// startAuthDaemon serves Courier's authdaemon socket (authdaemonvar/socket from
// authdaemonrc) with the app's chain, so Courier's own programs (authtest, maildrop,
// sqwebmail) and `courier authtest` authenticate against this server. It runs only when
// the configuration has an authdaemonrc; a socket already answered by another daemon (a
// real Courier authdaemond, say) is left alone with a warning.
func (a *App) startAuthDaemon() {
	if _, err := os.Stat(filepath.Join(a.opts.ConfigDir, "authdaemonrc")); err != nil {
		return
	}
	sock := a.authSetup.Socket
	l, err := daemon.Listen(sock)
	if err != nil {
		a.log.Warn("authdaemon socket not served", "socket", sock, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &daemon.Server{Auth: a.authSetup.Chain, Logger: a.log.With("service", "authdaemon"), Debug: a.authSetup.Debug, MaxConns: max(a.authSetup.Daemons*8, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, l); err != nil {
			a.log.Error("authdaemon stopped", "err", err)
		}
	}()
	a.authStop = func() {
		cancel()
		<-done
		_ = os.Remove(sock)
	}
	fmt.Fprintf(a.opts.Stdout, "listening authdaemon %s\n", sock)
}
