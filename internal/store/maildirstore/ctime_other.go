//go:build !linux

package maildirstore

import (
	"io/fs"
	"time"
)

// changeTime returns a file's status-change time where the platform gives it portably; here
// the modification time stands in for it.
func changeTime(fi fs.FileInfo) time.Time { return fi.ModTime() }
