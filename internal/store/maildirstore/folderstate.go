package maildirstore

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"courier/internal/store/index"
	"courier/internal/store/maildir"
)

// folderState is the process's shared index of one folder: every view of the folder, in
// whichever Store (one per IMAP session), opens and syncs from it, and applies its own
// changes to it as well as to its own copy. Before, every view loaded and refreshed an index
// of its own, and with other sessions changing the folder all the time each SELECT, Sync
// and STATUS listed cur/ and read courierimapuiddb and courierimapkeywords again (a third of
// the server's CPU with 50 sessions on one INBOX). Now a folder is listed once per change
// that the process did not make itself; the sessions' own changes are applied in memory.
//
// A view keeps its own copy (index.Index.Clone: shared until either changes), as of its last
// Sync: sequence numbers stay stable between Syncs, and Sync reports the difference between
// the copy and the shared index (index.Diff), which reads no file.
//
// When is the shared index in step with the folder? Outside own changes (busy == 0), when
// its stamps match the folder's (as for a view's index before). While own changes are in
// flight (busy > 0) the directories' stamps move under them, so it is taken to be in step
// when it was at the start of that busy period, every change finished since was applied to
// it (none failed its check: tainted), and new/ did not change (deliveries by other
// programs arrive there). When the last change in flight ends (settle), the folder's stamps
// are adopted, unless new/ changed or courierimapuiddb's next UID is not the index's (some
// other program handed out UIDs). What other programs change in cur/ during a busy period
// (Courier's imapd renaming a file) is not seen by this; a view's own changes hid it just
// the same before. It is bounded here: an index whose stamps were adopted is listed again
// once trustFor has passed since its last listing.
//
// Own changes report themselves: a view's renames, keyword changes and expunges (own, in
// mailbox.go), deliveries with their UIDs (assign.go). Other changes made by this process
// (Purge, moves into the folder) taint the state, which lists the folder again.
//
// Lock order: folderState.mu after Store.mu and Watcher.mu are released (never held
// together); states.mu before folderState.mu is never needed (users is guarded by states.mu
// alone).
type folderState struct {
	dir string

	mu       sync.Mutex
	ix       *index.Index // nil until the first view loads it
	gen      uint64       // counts the changes of ix's messages (a view's copy is of one gen)
	busy     int          // own changes in flight
	tainted  bool         // busy: a change could not be applied; list the folder again
	trusted  bool         // stamps adopted since the last listing (see trustFor)
	listed   time.Time    // last listing (Refresh)
	dirty    bool         // changed since last saved
	saving   bool         // a save is running
	saved    time.Time    // when the last save started
	saveWait sync.WaitGroup

	users int // views and changes holding it; guarded by states.mu
}

// trustFor bounds how long stamps adopted after own changes are trusted without listing the
// folder (see folderState).
const trustFor = 2 * time.Second

// saveEvery is how often at most a folder's shared index is saved while it has views (it
// is saved when its last view closes).
const saveEvery = time.Second

// states are the shared indexes of the folders with views or changes in flight, by folder
// directory. Package state on purpose, as the Watcher and the UID assigners: sessions of
// one process must share it, and it holds only a cache of what the folders hold.
var states = struct {
	mu sync.Mutex
	m  map[string]*folderState
}{m: map[string]*folderState{}}

// acquireState returns the shared state of the folder directory dir, made when missing;
// the caller releases it.
func acquireState(dir string) *folderState {
	states.mu.Lock()
	defer states.mu.Unlock()
	st := states.m[dir]
	if st == nil {
		st = &folderState{dir: dir}
		states.m[dir] = st
	}
	st.users++
	return st
}

// lookupState returns the state of dir when there is one (held: the caller releases it).
func lookupState(dir string) *folderState {
	states.mu.Lock()
	defer states.mu.Unlock()
	st := states.m[dir]
	if st != nil {
		st.users++
	}
	return st
}

// release drops a hold; the last one saves the index when it changed since last saved
// (seq names the temporary file), and reports the save's error.
func (st *folderState) release(seq *atomic.Uint64) error {
	states.mu.Lock()
	st.users--
	last := st.users == 0
	if last && states.m[st.dir] == st {
		delete(states.m, st.dir)
	}
	states.mu.Unlock()
	if !last {
		return nil
	}
	st.saveWait.Wait()
	st.mu.Lock()
	var data *index.Index
	if st.dirty && st.savable() {
		data = st.ix.Snapshot()
		st.dirty = false
	}
	st.mu.Unlock()
	if data == nil {
		return nil
	}
	return index.WriteFile(st.dir, data.Encode(), seq)
}

// savable reports whether ix may be saved as it is: its stamps describe its contents.
// st.mu is held.
func (st *folderState) savable() bool {
	return st.ix != nil && st.busy == 0 && !st.tainted && st.ix.UIDValidity != 0 && st.ix.Stamps != (index.Stamps{})
}

// saveSoon saves the index in the background when it changed and was not saved for a while.
func (st *folderState) saveSoon(seq *atomic.Uint64) {
	st.mu.Lock()
	if !st.dirty || st.saving || !st.savable() || time.Since(st.saved) < saveEvery {
		st.mu.Unlock()
		return
	}
	snap := st.ix.Snapshot()
	st.dirty, st.saving, st.saved = false, true, time.Now()
	st.saveWait.Add(1)
	st.mu.Unlock()
	go func() {
		defer st.saveWait.Done()
		_ = index.WriteFile(st.dir, snap.Encode(), seq) // a cache: failing costs a rescan later
		st.mu.Lock()
		st.saving = false
		st.mu.Unlock()
	}()
}

// inStep reports whether ix may be used without listing the folder. st.mu is held.
func (st *folderState) inStep() bool {
	if st.ix == nil || (st.trusted && time.Since(st.listed) > trustFor) {
		return false
	}
	if st.busy > 0 {
		return !st.tainted && st.ix.UIDValidity != 0 && newStamp(st.dir) == st.ix.Stamps.New
	}
	return st.ix.Fresh(st.dir)
}

// newStamp returns the mtime of the folder's new/ as index.Stamps records it.
func newStamp(dir string) int64 {
	fi, err := os.Stat(filepath.Join(dir, maildir.New))
	if err != nil {
		return 0
	}
	return fi.ModTime().UnixNano()
}

// current brings the shared index in step with folder f (loading it first when needed) and
// returns what a listing changed (its Recent are the caller's). st.mu is held.
func (st *folderState) current(f *maildir.Folder, now time.Time) (*index.Delta, error) {
	if st.ix == nil {
		ix, err := index.Load(st.dir)
		if err != nil {
			ix = index.New() // missing or corrupt: rebuilt from the Maildir below
		}
		st.ix = ix
		st.gen++
		if ix.Outdated() {
			st.dirty = true // saved once in the newer format: later opens list flags faster
		}
	}
	if st.inStep() {
		return &index.Delta{}, nil
	}
	force := st.trusted // stamps that match may hide a change: look at everything
	d, err := st.ix.Refresh(f, force, now)
	if err != nil {
		st.ix.Stamps = index.Stamps{}
		return nil, err
	}
	st.listed, st.trusted, st.tainted = time.Now(), false, false
	st.dirty = true
	if len(d.New)+len(d.Updated)+len(d.Expunged) > 0 || d.Reset {
		st.gen++
	}
	return d, nil
}

// taint makes the next use list the folder again (a change of this process not applied).
// st.mu is held.
func (st *folderState) taint() {
	st.tainted = true
	if st.ix != nil {
		st.ix.Stamps = index.Stamps{}
	}
}

// begin starts an own change.
func (st *folderState) begin() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.busy == 0 {
		st.tainted = st.ix == nil || !st.inStep()
	}
	st.busy++
}

// end finishes an own change begun by begin: apply (when not nil) applies it to the shared
// index, reporting false when it could not (then the folder is listed again). It returns
// the gen before and after when it was applied (ok).
func (st *folderState) end(apply func(ix *index.Index) bool) (before, after uint64, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	before = st.gen
	if apply != nil && !st.tainted && st.ix != nil {
		if apply(st.ix) {
			st.gen++
			st.dirty = true
			ok = true
		} else {
			st.taint()
		}
	}
	st.busy--
	if st.busy == 0 {
		st.settle()
	}
	return before, st.gen, ok
}

// settle adopts the folder's stamps when the last own change in flight ended, if the index
// is in step (see folderState). st.mu is held.
func (st *folderState) settle() {
	if st.ix == nil {
		return
	}
	if st.tainted || st.ix.UIDValidity == 0 {
		st.taint()
		st.tainted = false // Stamps{}: the next use lists the folder
		return
	}
	post := index.ReadStamps(st.dir)
	if post == st.ix.Stamps {
		return
	}
	if post.New != st.ix.Stamps.New {
		st.ix.Stamps = index.Stamps{}
		return
	}
	if post.UIDDB != st.ix.Stamps.UIDDB || post.UIDDBSize != st.ix.Stamps.UIDDBSize {
		v, next, err := maildir.ReadUIDHeader(st.dir)
		if err != nil || v != st.ix.UIDValidity || next != st.ix.NextUID {
			st.ix.Stamps = index.Stamps{}
			return
		}
	}
	st.ix.Stamps = post
	st.trusted = true
	st.dirty = true
}

// markTainted taints the state of dir when there is one (a change this process made there
// without applying it).
func markTainted(dir string) {
	st := lookupState(dir)
	if st == nil {
		return
	}
	st.mu.Lock()
	st.taint()
	st.mu.Unlock()
	states.mu.Lock()
	st.users--
	if st.users == 0 && states.m[st.dir] == st {
		delete(states.m, st.dir)
	}
	states.mu.Unlock()
}

// drop releases a hold taken by lookupState for a short look (no save).
func (st *folderState) drop() {
	states.mu.Lock()
	st.users--
	if st.users == 0 && states.m[st.dir] == st {
		delete(states.m, st.dir)
	}
	states.mu.Unlock()
}

// name returns the file name the shared index has for uid (a view's copy may be older),
// and whether the shared index knows uid's fate: when it is loaded and lacks uid, the
// message was expunged (a view's UIDs all come from it, and it drops one only when the
// message is gone).
func (st *folderState) name(uid, uidValidity uint32) (msg maildir.Message, present, known bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ix == nil || st.ix.UIDValidity == 0 || st.ix.UIDValidity != uidValidity {
		return maildir.Message{}, false, false
	}
	i, ok := st.ix.Search(uid)
	if !ok {
		return maildir.Message{}, false, true
	}
	sub := maildir.Cur
	if st.ix.InNew(i) {
		sub = maildir.New
	}
	return maildir.Message{Sub: sub, Name: st.ix.Name(i)}, true, true
}

// nextModSeq hands out a mod-sequence for an own change.
func (st *folderState) nextModSeq(now time.Time, floor uint64) uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ix == nil {
		return 0
	}
	if floor > st.ix.HighestModSeq {
		st.ix.HighestModSeq = floor
	}
	return st.ix.NextModSeq(now)
}

// cache records what a view learnt about a message that is not a change (its internal date,
// its IMAP size), so that the next copies have it.
func (st *folderState) cache(uid uint32, fn func(ix *index.Index, i int)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ix == nil {
		return
	}
	if i, ok := st.ix.Search(uid); ok {
		fn(st.ix, i)
		st.dirty = true
	}
}

// applyAppends adds delivered messages (UIDs just assigned, in order) to the shared index of
// their folder when it has one; see folderState. ents nil: not known, list again.
func applyAppends(dir string, ents []index.Entry, now time.Time) {
	st := lookupState(dir)
	if st == nil {
		return
	}
	defer st.drop()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ix == nil {
		return
	}
	if ents == nil || st.busy == 0 || st.tainted {
		st.taint()
		return
	}
	ix := st.ix
	var ms uint64
	changed := false
	for _, e := range ents {
		if _, found := ix.Search(e.UID); found {
			continue // listed already
		}
		if e.UID != ix.NextUID {
			st.taint() // UIDs handed out that the index does not know
			return
		}
		if ms == 0 {
			ms = ix.NextModSeq(now)
		}
		e.ModSeq = ms
		ix.Insert(e)
		changed = true
	}
	if changed {
		st.gen++
		st.dirty = true
	}
}
