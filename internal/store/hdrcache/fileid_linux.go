package hdrcache

import (
	"os"
	"syscall"
)

// fileID identifies one version of a file: replacing or changing it changes the inode or
// the ctime at least.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// identify returns the identity of the file st describes.
func identify(st os.FileInfo) fileID {
	id := fileID{size: st.Size(), mtime: st.ModTime().UnixNano()}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino, id.ctime = uint64(s.Dev), s.Ino, s.Ctim.Nano()
	}
	return id
}
