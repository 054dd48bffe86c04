package shadow

import (
	"os"
	"syscall"
)

// inode returns the inode number of fi, so a file replaced by rename with
// the same size and mtime is still noticed.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
