package keywords

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockName is Courier's IMAP_USELOCKS dot-lock file, relative to a maildir folder.
const LockName = "tmp/courier.lock"

// lockStale is how old a lock file must be before it is broken even if its owner can't be
// checked (another host): Courier-style dot-locks are held for milliseconds.
const lockStale = 5 * time.Minute

// LockMaildir takes Courier's IMAP_USELOCKS dot-lock of the maildir folder dir (maildirkw -l):
// it writes "pid:host" to a unique file in tmp/ and hard-links it to tmp/courier.lock,
// retrying until timeout. A lock left by a dead process on this host, or older than five
// minutes, is broken. The returned function releases the lock.
func LockMaildir(dir string, timeout time.Duration) (unlock func() error, err error) {
	host, _ := os.Hostname()
	lock := filepath.Join(dir, LockName)
	tmp := filepath.Join(dir, "tmp", fmt.Sprintf("%d.M%dP%d_courierlock.%s", time.Now().Unix(), time.Now().Nanosecond()/1000, os.Getpid(), host))
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d:%s", os.Getpid(), host)), 0o644); err != nil {
		return nil, fmt.Errorf("keywords: lock %s: %w", dir, err)
	}
	defer os.Remove(tmp)
	deadline := time.Now().Add(timeout)
	for {
		err := os.Link(tmp, lock)
		if err == nil {
			return func() error {
				if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("keywords: unlock %s: %w", dir, err)
				}
				return nil
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("keywords: lock %s: %w", dir, err)
		}
		if staleLock(lock, host) {
			_ = os.Remove(lock)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("keywords: lock %s: held by another process", dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// staleLock reports whether the lock file belongs to a dead process on this host or is old.
func staleLock(lock, host string) bool {
	fi, err := os.Stat(lock)
	if err != nil {
		return false
	}
	if time.Since(fi.ModTime()) > lockStale {
		return true
	}
	data, err := os.ReadFile(lock)
	if err != nil {
		return false
	}
	pidStr, h, ok := strings.Cut(string(data), ":")
	if !ok || h != host {
		return false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
