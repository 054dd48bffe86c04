package cli

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"

	"courier/internal/app"
	"courier/internal/smap"
	"courier/internal/store"
	"courier/internal/store/acl"
)

// runSMAP serves a pre-authenticated SMAP session on standard input and output.
func runSMAP(ctx context.Context, e *Env, st store.Store, maildir, user string, env map[string]string, log *slog.Logger) int {
	if v := e.Env("IMAP_ENHANCEDIDLE"); v != "" {
		env["IMAP_ENHANCEDIDLE"] = v
	}
	err := smap.Serve(ctx, bufio.NewReaderSize(e.Stdin, 16<<10), e.Stdout, st, smap.Config{
		User: user, ACL: acl.Open(maildir), Env: env, Log: log,
		// This process runs as the account (or is the account's own tunnel): the pickup
		// file's owner says who sent, so no onbehalf.
		Sendmail: app.SMAPSendmail(envConfigDir(e), ""),
	})
	if err != nil {
		fmt.Fprintf(e.Stderr, "imapd: smap: %v\n", err)
		return 1
	}
	return 0
}

// envConfigDir is the configuration directory of a tool run without -c: COURIER_CONFIG, else
// /etc/courier.
func envConfigDir(e *Env) string {
	if d := e.Env("COURIER_CONFIG"); d != "" {
		return d
	}
	return "/etc/courier"
}
