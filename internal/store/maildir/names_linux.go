package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// direntBuf is the getdents buffer: a 100,000-message cur/ (about 8 MB of directory
// entries) is read in some 30 system calls instead of a thousand with os.File's 8 kB.
const direntBuf = 256 << 10

// listNames returns the names in dir that do not start with "." (unsorted). It reads the
// directory with getdents64 into one buffer and copies every name into one arena, a
// strings.Builder whose string the names are cut from: no allocation per name, and the
// names are copied once.
func listNames(dir string) ([]string, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("maildir: list: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	defer syscall.Close(fd)
	// names take less room than their directory entries: the directory's size bounds the
	// arena (ext4: its blocks), so it is allocated once
	hint := 64 << 10
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) == nil && st.Size > int64(hint) && st.Size < 1<<30 {
		hint = int(st.Size)
	}
	buf := make([]byte, min(direntBuf, hint))
	var arena strings.Builder
	arena.Grow(hint)
	count := 0
	for {
		n, err := syscall.Getdents(fd, buf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("maildir: list %s: %w", dir, err)
		}
		if n <= 0 {
			break
		}
		for off := 0; off+19 <= n; {
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			if reclen == 0 || off+reclen > n {
				break
			}
			name := buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			ino := buf[off : off+8]
			off += reclen
			if len(name) == 0 || name[0] == '.' || allZero(ino) {
				continue
			}
			arena.Write(name)
			arena.WriteByte(0) // names never hold NUL
			count++
		}
	}
	all := arena.String()
	out := make([]string, count)
	for i := range out {
		e := strings.IndexByte(all, 0)
		out[i], all = all[:e], all[e+1:]
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
