package keywords

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// ReadAll runs on every rescan of a folder by every view (each IMAP session has its own),
// and reads every update file in courierimapkeywords/: the .N.base files stay there for five
// to ten minutes after they were merged, and files of messages that are gone for fifteen.
// With many sessions changing keywords in one folder that was hundreds of files read per
// rescan, and over half of the server's CPU time. The cache below keeps, per process, the
// contents of update files by their identity (device, inode, size, ctime and mtime), so a
// file read once costs one lstat afterwards, and for files of unknown messages the time
// before which they cannot be stale, so they cost nothing until then.
//
// Update files are never written in place (Courier and we write them in tmp/ and rename them
// into courierimapkeywords/), so a file's contents change only with its identity: a new
// file has its own inode, or, should the kernel reuse a freed inode, a later ctime. Contents
// are kept only when that ctime is older than racyWindow, so that a later change cannot
// fall within the same tick of the clock that stamps ctime.
//
// The cache is the package's one piece of shared state, on purpose, as index.Load's: its
// worth is in being shared by the sessions of one process, and it holds nothing but what
// the files hold.

// racyWindow is how old a file's ctime must be before its contents are kept.
const racyWindow = time.Second

// maxCached bounds each of the cache's maps; when one is full it starts over.
const maxCached = 100_000

type fileID struct {
	dev, ino     uint64
	size         int64
	ctime, mtime int64
}

func identify(st *syscall.Stat_t) fileID {
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		ctime: st.Ctim.Sec*1e9 + st.Ctim.Nsec, mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec}
}

type cachedFile struct {
	id   fileID
	data []byte // read only once stored
}

var updates = struct {
	mu       sync.Mutex
	files    map[string]cachedFile // update file path to contents
	notStale map[string]time.Time  // update file path of an unknown message to when it may be stale
}{files: map[string]cachedFile{}, notStale: map[string]time.Time{}}

// readUpdate returns the contents of the update file at path (not to be changed).
func readUpdate(path string) ([]byte, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	id := identify(&st)
	updates.mu.Lock()
	c, ok := updates.files[path]
	updates.mu.Unlock()
	if ok && c.id == id {
		return c.data, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("keywords: fstat %s: %w", path, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("keywords: read %s: %w", path, err)
	}
	id = identify(&st)
	if int64(len(data)) == id.size && time.Since(time.Unix(0, id.ctime)) > racyWindow {
		updates.mu.Lock()
		if len(updates.files) >= maxCached {
			clear(updates.files)
		}
		updates.files[path] = cachedFile{id: id, data: data}
		updates.mu.Unlock()
	}
	return data, nil
}

// forgetUpdate drops what the cache holds for path (the file was removed or renamed).
func forgetUpdate(path string) {
	updates.mu.Lock()
	delete(updates.files, path)
	delete(updates.notStale, path)
	updates.mu.Unlock()
}

// notStaleBefore reports whether the update file at path (of an unknown message) was seen
// not to be stale before now: then it needs no look. A wrong answer can only be "no", which
// costs the look the cache saves.
func notStaleBefore(path string, now time.Time) bool {
	updates.mu.Lock()
	defer updates.mu.Unlock()
	t, ok := updates.notStale[path]
	return ok && now.Before(t)
}

// rememberNotStale records that the update file at path cannot be stale before t.
func rememberNotStale(path string, t time.Time) {
	updates.mu.Lock()
	defer updates.mu.Unlock()
	if len(updates.notStale) >= maxCached {
		clear(updates.notStale)
	}
	updates.notStale[path] = t
}
