//go:build !linux

package hdrcache

import "os"

// fileID identifies one version of a file, as well as portable file information allows.
type fileID struct {
	size  int64
	mtime int64
}

// identify returns the identity of the file st describes.
func identify(st os.FileInfo) fileID {
	return fileID{size: st.Size(), mtime: st.ModTime().UnixNano()}
}
