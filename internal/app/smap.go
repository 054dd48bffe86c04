package app

import (
	"bufio"
	"context"
	"io"

	"courier/internal/imap/server"
	"courier/internal/smap"
	"courier/internal/store"
	"courier/internal/store/acl"
)

// smapHandler returns the SMAP session runner the IMAP server hands a connection to after an
// SMAP login (SMAP_CAPABILITY=SMAP1 in imapd).
func (a *App) smapHandler() server.SMAPHandler {
	return func(ctx context.Context, in *bufio.Reader, out io.Writer, st store.Store, s server.SMAPSession) error {
		return smap.Serve(ctx, in, out, st, smap.Config{
			User: s.User, Groups: s.Groups, ACL: acl.Open(s.Maildir), Env: s.Env,
			Log: a.log.With("service", "smap"),
		})
	}
}
