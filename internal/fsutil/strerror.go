package fsutil

import (
	"errors"
	"strings"
	"syscall"
)

// Strerror returns glibc's text for the errno inside err, so the tools that
// mimic Courier's print its messages (Go's own texts are lower-case).
func Strerror(err error) string {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return err.Error()
	}
	switch en {
	case syscall.ENOENT:
		return "No such file or directory"
	case syscall.EEXIST:
		return "File exists"
	case syscall.EACCES:
		return "Permission denied"
	case syscall.EPERM:
		return "Operation not permitted"
	case syscall.ENOTDIR:
		return "Not a directory"
	case syscall.EISDIR:
		return "Is a directory"
	case syscall.ENOSPC:
		return "No space left on device"
	case syscall.EDQUOT:
		return "Disk quota exceeded"
	case syscall.EROFS:
		return "Read-only file system"
	case syscall.ENAMETOOLONG:
		return "File name too long"
	case syscall.EIO:
		return "Input/output error"
	}
	s := en.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
