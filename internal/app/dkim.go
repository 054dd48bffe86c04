package app

// DKIM signing of outgoing mail (package dkim holds the keys: DIR/dkimkeys and DIR/dkim/).
//
// Which mail is signed: mail from an authenticated sender (the envelope's AuthUser: a
// submission, SMTP AUTH or webmail session) and mail made here (Protocol "local" for
// sendmail, "dsn" for our notifications, "forward" for .courier forwards). Mail relayed for
// others (an unauthenticated ESMTP client, even a RELAYCLIENT one) is not: we vouch only for
// what our own users and programs wrote.
//
// When: right before the first transmission, in the ESMTP transport (esmtp.Options.Sign),
// not when the message is queued. Signing at queue time would sign the stored bytes once and
// keep that signature across restarts, but it would sign every local-only message too, hold
// the whole message in memory (the signature goes before the content, the body hash is known
// only at its end) and make the SMTP server's and the pickup's spool writers depend on the
// keys. Signing at send time costs one extra read of the queue file per message and process
// (the signature is kept for the message's other domains and retries), covers the exact
// bytes sent (LF made CRLF as the SMTP client does), and a key added or replaced applies to
// mail already queued.

import (
	"context"
	"fmt"
	"io"
	"strings"

	"courier/internal/dkim"
	"courier/internal/queue"
)

// dkimSigner implements esmtp.Options.Sign.
type dkimSigner struct {
	keys *dkim.Keyring
}

// signs reports whether mail with this envelope is signed (see the file comment).
func signs(env *queue.Envelope) bool {
	if env.AuthUser != "" {
		return true
	}
	switch strings.ToLower(env.Protocol) {
	case "local", "dsn", "forward":
		return true
	}
	return false
}

// Sign returns the DKIM-Signature fields for m, or "". content is the message as it is
// sent (the transport converts it to 7 bits for a peer without 8BITMIME, and signs that
// form, so that the receiver can verify what it got).
func (s *dkimSigner) Sign(ctx context.Context, m *queue.Message, content io.Reader) (string, error) {
	if !signs(m.Env) {
		return "", nil
	}
	from := ""
	if i := strings.LastIndexByte(m.Env.From, '@'); i >= 0 {
		from = m.Env.From[i+1:]
	}
	sig, err := s.keys.Sign(content, from)
	if err != nil {
		return "", fmt.Errorf("message %s: %w", m.ID, err)
	}
	return sig, nil
}
