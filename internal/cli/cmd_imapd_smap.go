package cli

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"

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
	})
	if err != nil {
		fmt.Fprintf(e.Stderr, "imapd: smap: %v\n", err)
		return 1
	}
	return 0
}
