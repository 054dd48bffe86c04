package esmtp

// ESMTP_BLOCKBACKSCATTER (courierd; Courier's install.html "Backscatter suppression"): the
// ESMTP client quietly discards delivery status notifications about messages that came by
// SMTP from the listed message sources, since their return addresses may be forged:
// "smtp/dsn" (a client without relaying privileges: Courier's default) and
// "authsmtp/dsn" (an authenticated or RELAYCLIENT client). Without the setting nothing is
// discarded. Notifications delivered here are never affected (local delivery does not come
// through this transport), nor are those about mail made here (sendmail, forwards).
//
// A notification carries the source of the message it reports on in its envelope
// (queue.Envelope.DSNSource, set by package app's notifier).

import (
	"strings"

	"courier/internal/queue"
)

// backscatterSources parses ESMTP_BLOCKBACKSCATTER ("smtp/dsn,authsmtp/dsn") into the
// message sources whose notifications are dropped; unknown items are returned apart.
func backscatterSources(v string) (map[string]bool, []string) {
	out := map[string]bool{}
	var bad []string
	for _, it := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		src, kind, _ := strings.Cut(strings.ToLower(it), "/")
		if kind != "dsn" || (src != "smtp" && src != "authsmtp") {
			bad = append(bad, it)
			continue
		}
		out[src] = true
	}
	return out, bad
}

// backscatter reports whether recipient i of m is a notification to drop (and logs it).
func (t *Transport) backscatter(m *queue.Message, i int) bool {
	env := m.Env
	if !strings.EqualFold(env.Protocol, "dsn") || env.DSNSource == "" {
		return false
	}
	if !t.cfg.get().blockBackscatter[env.DSNSource] {
		return false
	}
	t.log.Info("esmtp: notification discarded (ESMTP_BLOCKBACKSCATTER)", "id", m.ID, "rcpt", env.Rcpts[i].Addr,
		"source", env.DSNSource+"/dsn")
	return true
}
