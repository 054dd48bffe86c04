//go:build linux

package maildirstore

import (
	"io/fs"
	"syscall"
	"time"
)

// changeTime returns a file's status-change time (st_ctime), which Courier's purge of old
// Trash messages goes by.
func changeTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return fi.ModTime()
}
