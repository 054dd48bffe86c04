package quota

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock flocks the maildir's root directory itself (no file is added, so Courier sees nothing
// new), to keep a recalculation of ours from counting while a message is being linked,
// renamed or removed and its delta recorded; how is syscall.LOCK_SH or LOCK_EX. Courier's
// own tools do not take it, so between them and us Maildir++'s usual soft accounting
// applies; between our own processes no delta is lost or counted twice. A directory that
// cannot be opened is used without the lock.
func lock(root string, how int) func() {
	f, err := os.Open(root)
	if err != nil {
		return func() {}
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// Change runs fn, which links, renames or removes message files of the maildir (or folder)
// at dir, and then records delta in maildirsize, holding the quota lock shared so that no
// recalculation of ours runs between the file change and its delta. A zero delta records
// nothing. fn's error is returned as it is and nothing is recorded.
func Change(dir string, delta Usage, fn func() error) error {
	unlock := lock(Root(dir), syscall.LOCK_SH)
	defer unlock()
	if err := fn(); err != nil {
		return err
	}
	if delta == (Usage{}) {
		return nil
	}
	if err := Add(dir, delta); err != nil {
		return fmt.Errorf("%w: %v", ErrRecord, err)
	}
	return nil
}

// ErrRecord wraps the error of a change that was made but whose delta could not be written
// to maildirsize; the next recalculation corrects the total.
var ErrRecord = errors.New("quota: change made but not recorded")
