package server

import (
	"time"

	"courier/internal/store"
)

// emptyTrash purges old messages at logout as IMAP_EMPTYTRASH asks ("Trash:7": messages in
// INBOX.Trash older than 7 days, by internal date).
func (ss *session) emptyTrash() {
	if ss.st == nil || len(ss.set.EmptyTrash) == 0 {
		return
	}
	now := ss.srv.cfg.Now()
	for folder, days := range ss.set.EmptyTrash {
		name := "INBOX." + folder
		if folder == "INBOX" {
			name = "INBOX"
		}
		mb, err := ss.st.Open(name)
		if err != nil {
			continue
		}
		cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
		var old []store.UID
		for _, m := range mb.Messages() {
			if d, err := mb.InternalDate(m.UID); err == nil && d.Before(cutoff) {
				old = append(old, m.UID)
			}
		}
		if len(old) > 0 {
			if _, err := mb.Expunge(old); err != nil {
				ss.log.Warn("emptytrash", "folder", name, "err", err)
			}
		}
		mb.Close()
	}
}
