package maildirstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"courier/internal/store/keywords"
	"courier/internal/store/maildir"
)

// Watcher tracks changes to the folders of open views with one inotify instance (fsnotify)
// and signals the views of a folder when its new/, cur/ or courierimapkeywords/ change. One
// Watcher serves any number of Stores: every IMAP session opens its own Store, so a watcher
// per Store cost each idle session an inotify instance (a descriptor, counted against the
// per-user limit fs.inotify.max_user_instances, 128 by default), a goroutine whose stack
// holds fsnotify's 64 KB event buffer, and a watch per directory; a shared one costs that
// once per process, and one watch per watched directory however many views have it open.
//
// Watches are counted by folder: the first view of a folder adds its directories; they stay
// a while after the last one closed (maxIdleFolders). Folders are keyed by their path with
// symbolic links resolved, because inotify gives one watch per inode: two keys for one
// directory would share a watch that the first removal would end for both.
//
// A Watcher is safe for concurrent use. Its goroutine only sends, without blocking, on the
// views' update channels (capacity 1: a pending signal is never doubled) and calls the
// views' OnUpdate functions, with no lock held.
type Watcher struct {
	mu      sync.Mutex
	fw      *fsnotify.Watcher // nil until the first view, and after a failure to start
	failed  time.Time         // when starting inotify last failed (retried after watchRetry)
	folders map[string]*watchedFolder
	idle    int           // folders without views still watched
	swept   time.Time     // when lingering watches were last looked at
	done    chan struct{} // closed when the event loop of fw has ended
	closed  bool
}

// watchedFolder is one folder's views, and the directories (watchedDirs order) watched for
// them, by inode (0: not watched, such as a courierimapkeywords/ not made yet, or one whose
// watch ended with its directory).
type watchedFolder struct {
	views map[*mailbox]struct{}
	inos  [3]uint64
	idle  time.Time // when its last view closed; zero while it has views
}

// Watches outlive the folder's last view (lingering): adding a watch on a large directory
// costs the kernel a walk over its cached entries (about 10 ms for a cur/ of 100,000
// messages), which every SELECT by a new session would pay again. At most maxIdleFolders
// folders without views stay watched, none longer than watchLinger; a watch costs the
// kernel about a kilobyte.
const (
	maxIdleFolders = 1000
	watchLinger    = 10 * time.Minute
)

// watchRetry is how long a Watcher waits before trying again to start inotify after it
// failed (usually the per-user instance limit): meanwhile views find changes by Sync alone.
const watchRetry = 30 * time.Second

// NewWatcher returns a Watcher that starts its inotify instance when the first view asks.
// Most programs need none of their own: Stores share one per process (Options.Watcher).
func NewWatcher() *Watcher {
	return &Watcher{folders: map[string]*watchedFolder{}}
}

// processWatcher is the Watcher of every Store whose Options name none. It is the one piece
// of package-level state here, on purpose: an inotify instance is a per-process (and
// per-user, limited) kernel resource, and sessions of one process must share it to stay
// within the limits; it holds nothing but subscriptions, so tests in parallel share it
// without seeing each other (each watches its own directories).
var processWatcher = sync.OnceValue(NewWatcher)

// watchedDirs are the directories whose changes concern the views of folder.
func watchedDirs(folder string) []string {
	return []string{filepath.Join(folder, maildir.New), filepath.Join(folder, maildir.Cur), filepath.Join(folder, keywords.DirName)}
}

// watchKey returns the key of a folder: its path with symbolic links resolved (the path as
// given when it cannot be resolved; then it is gone and no event will come for it anyway).
func watchKey(folder string) string {
	if p, err := filepath.EvalSymlinks(folder); err == nil {
		return p
	}
	return filepath.Clean(folder)
}

// start makes sure the inotify instance runs; false when it cannot be had now. w.mu is held.
func (w *Watcher) start() bool {
	if w.fw != nil {
		return true
	}
	if w.closed || (!w.failed.IsZero() && time.Since(w.failed) < watchRetry) {
		return false
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.failed = time.Now()
		return false
	}
	w.fw, w.failed, w.done = fw, time.Time{}, make(chan struct{})
	go w.loop(fw, w.done)
	return true
}

// add starts notifying m of changes to its folder under key (watchKey). It reports whether
// m will be notified; when not, m finds changes at its Syncs only.
func (w *Watcher) add(m *mailbox, key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.start() {
		return false
	}
	wf := w.folders[key]
	if wf == nil {
		wf = &watchedFolder{views: map[*mailbox]struct{}{}}
		w.folders[key] = wf
	} else if !wf.idle.IsZero() {
		wf.idle = time.Time{}
		w.idle--
	}
	// A directory is added only when it is not watched yet under its current inode: a folder
	// deleted and made again lost its watches with the old directories (the loop clears
	// their inodes when the deletion's event comes), and courierimapkeywords/ appears with
	// the first keyword. Adding a directory that is watched again is not free (see
	// maxIdleFolders).
	for i, d := range watchedDirs(key) {
		fi, err := os.Stat(d)
		if err != nil {
			continue // courierimapkeywords/ may not exist: then keyword changes are found by Sync
		}
		ino := inodeOf(fi)
		if ino != 0 && ino == wf.inos[i] {
			continue
		}
		if w.fw.Add(d) == nil {
			wf.inos[i] = ino
		}
	}
	wf.views[m] = struct{}{}
	return true
}

// remove stops notifying m; the folder's watches linger after its last view (see
// maxIdleFolders).
func (w *Watcher) remove(m *mailbox, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wf := w.folders[key]
	if wf == nil {
		return
	}
	delete(wf.views, m)
	if len(wf.views) > 0 || !wf.idle.IsZero() {
		return
	}
	now := time.Now()
	wf.idle = now
	w.idle++
	if w.idle > maxIdleFolders || now.Sub(w.swept) > time.Minute {
		w.sweep(now)
	}
}

// sweep ends the watches of folders without views idle longer than watchLinger, and of the
// longest idle ones beyond maxIdleFolders (down to three quarters of it, so that sweeping
// stays rare). w.mu is held.
func (w *Watcher) sweep(now time.Time) {
	w.swept = now
	cutoff := now.Add(-watchLinger)
	if w.idle > maxIdleFolders {
		times := make([]time.Time, 0, w.idle)
		for _, wf := range w.folders {
			if !wf.idle.IsZero() {
				times = append(times, wf.idle)
			}
		}
		slices.SortFunc(times, time.Time.Compare)
		if t := times[len(times)-maxIdleFolders*3/4]; t.After(cutoff) {
			cutoff = t
		}
	}
	for key, wf := range w.folders {
		if wf.idle.IsZero() || !wf.idle.Before(cutoff) {
			continue
		}
		delete(w.folders, key)
		w.idle--
		if w.fw != nil {
			for i, d := range watchedDirs(key) {
				if wf.inos[i] != 0 {
					_ = w.fw.Remove(d) // gone already when the directory was deleted
				}
			}
		}
	}
}

// unwatched notes that the watch on dir ended with the directory (deleted or moved away), so
// that the next view of its folder adds it again, even when a new directory got the old
// one's inode number.
func (w *Watcher) unwatched(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wf := w.folders[filepath.Dir(dir)]
	if wf == nil {
		return
	}
	for i, d := range watchedDirs(filepath.Dir(dir)) {
		if d == dir {
			wf.inos[i] = 0
		}
	}
}

// loop delivers fw's events until fw is closed.
func (w *Watcher) loop(fw *fsnotify.Watcher, done chan struct{}) {
	defer close(done)
	for {
		select {
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			// ev.Name is a file in one of the watched directories, or the directory itself
			// (deleted, moved): then its folder's views find out at their next Sync.
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				w.unwatched(ev.Name) // nothing when ev.Name is a message file
			}
			w.notify(filepath.Dir(filepath.Dir(ev.Name)))
		case _, ok := <-fw.Errors:
			if !ok {
				return
			}
			// An overflow lost events: tell every view to look.
			w.mu.Lock()
			var calls []func()
			for key := range w.folders {
				calls = w.notifyLocked(key, calls)
			}
			w.mu.Unlock()
			runCallbacks(calls)
		}
	}
}

func (w *Watcher) notify(key string) {
	w.mu.Lock()
	calls := w.notifyLocked(key, nil)
	w.mu.Unlock()
	runCallbacks(calls)
}

// notifyLocked signals the views of the folder key and appends their OnUpdate callbacks to
// calls, which the caller runs once w.mu is released (no lock is held while calling back).
func (w *Watcher) notifyLocked(key string, calls []func()) []func() {
	wf := w.folders[key]
	if wf == nil {
		return calls
	}
	for m := range wf.views {
		select {
		case m.updates <- struct{}{}:
		default:
		}
		if fn := m.onUpdate.Load(); fn != nil {
			calls = append(calls, *fn)
		}
	}
	return calls
}

func runCallbacks(calls []func()) {
	for _, fn := range calls {
		fn()
	}
}

// Close stops the inotify instance; views still open are no longer notified. Only a Watcher
// made by NewWatcher is closed by its owner (the process-wide one lives with the process).
func (w *Watcher) Close() error {
	w.mu.Lock()
	fw, done := w.fw, w.done
	w.fw, w.closed = nil, true
	clear(w.folders)
	w.idle = 0
	w.mu.Unlock()
	if fw == nil {
		return nil
	}
	err := fw.Close()
	<-done
	if err != nil {
		return fmt.Errorf("maildirstore: close watcher: %w", err)
	}
	return nil
}
