//go:build linux || darwin || freebsd || netbsd

package index

import (
	"os"
	"syscall"
)

// identify returns the identity of the file st describes.
func identify(st os.FileInfo) (fileID, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(s.Dev), ino: s.Ino, size: s.Size, mtime: st.ModTime().UnixNano(), ctime: ctimeOf(s)}, true
}
