package server

import (
	"time"
)

// trashPurger is implemented by stores that can drop a folder's old messages the way
// Courier's IMAP_EMPTYTRASH does, by the time each was put into the folder (maildirstore).
type trashPurger interface {
	Purge(name string, before time.Time) (int, error)
}

// emptyTrash purges old messages as IMAP_EMPTYTRASH asks ("Trash:7": the messages put into
// INBOX.Trash more than 7 days ago). Courier's imapd does it when the session starts, before
// its greeting (and its SMAP server at the end too); age goes by when a message was moved
// into the folder (its file's ctime), not by its internal date: a month-old message deleted
// today stays in Trash for the days configured. A number of days below 1 means 1, as in
// Courier.
func (ss *session) emptyTrash() {
	if ss.st == nil || len(ss.set.EmptyTrash) == 0 {
		return
	}
	p, ok := ss.st.(trashPurger)
	if !ok {
		return
	}
	now := ss.srv.cfg.Now()
	for folder, days := range ss.set.EmptyTrash {
		name := "INBOX." + folder
		if folder == "INBOX" {
			name = "INBOX"
		}
		days = max(days, 1)
		n, err := p.Purge(name, now.Add(-time.Duration(days)*24*time.Hour))
		if err != nil {
			ss.log.Warn("emptytrash", "folder", name, "err", err)
			continue
		}
		if n > 0 {
			ss.log.Info("emptytrash", "folder", name, "purged", n)
		}
	}
}
