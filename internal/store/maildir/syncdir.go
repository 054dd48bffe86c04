package maildir

import (
	"fmt"
	"os"
	"sync"
)

// Directory fsyncs are group-committed: concurrent deliveries into one folder (the local
// delivery workers, several IMAP APPENDs) each need the directory fsynced after their own
// link, but one fsync that starts after all their links covers them all. Each fsync is a
// disk cache flush, so on a busy folder this turns N flushes into about two.

// dirSyncs holds one dirSync per directory being synced; mu guards every field of every
// entry.
var dirSyncs = struct {
	mu sync.Mutex
	m  map[string]*dirSync
}{m: map[string]*dirSync{}}

type dirSync struct {
	refs    int
	cond    *sync.Cond
	running bool
	started uint64 // fsyncs begun
	done    uint64 // the last fsync finished
	err     error  // its result
}

// syncDir fsyncs a directory so that a rename or link made in it before the call is
// durable. A caller that arrives while another fsync of the directory is running waits for
// it and then for the next one, which starts after the caller's change; callers that arrive
// together share that next fsync.
func syncDir(dir string) error {
	mu := &dirSyncs.mu
	mu.Lock()
	ds := dirSyncs.m[dir]
	if ds == nil {
		ds = &dirSync{cond: sync.NewCond(mu)}
		dirSyncs.m[dir] = ds
	}
	ds.refs++
	// An fsync already running may have started before this caller's change.
	need := ds.started + 1
	for ds.done < need {
		if ds.running {
			ds.cond.Wait()
			continue
		}
		ds.running = true
		ds.started++
		seq := ds.started
		mu.Unlock()
		err := fsyncDirFunc(dir)
		mu.Lock()
		ds.running = false
		ds.done, ds.err = seq, err
		ds.cond.Broadcast()
	}
	err := ds.err
	if ds.refs--; ds.refs == 0 {
		delete(dirSyncs.m, dir)
	}
	mu.Unlock()
	return err
}

// fsyncDirFunc is fsyncDir; tests wrap it to watch the order of real fsyncs.
var fsyncDirFunc = fsyncDir

func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("maildir: sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("maildir: sync %s: %w", dir, err)
	}
	return nil
}
