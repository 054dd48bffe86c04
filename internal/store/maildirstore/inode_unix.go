//go:build linux || darwin || freebsd || netbsd || openbsd

package maildirstore

import (
	"io/fs"
	"syscall"
)

// inodeOf returns a file's device and inode number as one key; 0 when unknown.
func inodeOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) ^ uint64(st.Dev)<<48
	}
	return 0
}
