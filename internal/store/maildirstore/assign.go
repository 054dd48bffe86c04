package maildirstore

import (
	"sync"

	"courier/internal/store/index"

	"courier/internal/store/maildir"
)

// UID assignment is grouped: appends to one folder from several sessions that arrive while
// courierimapuiddb is being rewritten wait, and the next rewrite assigns all their UIDs at
// once (one read, one write, one fsync of the file and of the folder instead of one each).
// Every caller still returns only after the rewrite holding its UIDs is durable, and the
// UIDs of one batch follow the order the callers queued in, so a message stored later never
// gets a smaller UID. Processes other than this one serialise on the folder's UID lock as
// before (maildir.Folder.AssignUIDs).
//
// The groups are per process, keyed by folder directory, not per Store: every IMAP session
// opens its own Store, so groups per Store never met, and with 50 sessions appending to one
// INBOX each APPEND waited for the UID lock behind the others' rewrites and fsyncs one at a
// time. Like the Watcher, this is the one kind of state shared on purpose: it holds nothing
// but the queues of callers in flight, and an entry lives only while someone assigns.
var assigners = struct {
	mu sync.Mutex
	m  map[string]*assigner
}{m: map[string]*assigner{}}

// assigner groups the UID assignments of one folder.
type assigner struct {
	mu      sync.Mutex
	pending []*assignReq
	running bool // a leader is assigning
	users   int  // callers holding it (guarded by assigners.mu): removed from the map at 0
}

type assignReq struct {
	bases []string
	ents  []index.Entry // the messages, for the folder's shared index; nil: not known
	done  chan assignRes
}

type assignRes struct {
	uidValidity uint32
	uids        []uint32
	err         error
	lead        bool // no result: the receiver leads the next batch
}

// assignerFor returns the group of folder directory dir, held until release.
func assignerFor(dir string) *assigner {
	assigners.mu.Lock()
	defer assigners.mu.Unlock()
	a := assigners.m[dir]
	if a == nil {
		a = &assigner{}
		assigners.m[dir] = a
	}
	a.users++
	return a
}

func (a *assigner) release(dir string) {
	assigners.mu.Lock()
	defer assigners.mu.Unlock()
	if a.users--; a.users == 0 {
		delete(assigners.m, dir)
	}
}

// assignUIDs gives UIDs to the messages of f with the given base names (see
// maildir.Folder.AssignUIDs), grouped with those other goroutines of the process assign
// meanwhile; it returns the folder's UIDVALIDITY with them.
//
// ents, when not nil, describe the messages (one per base, UIDs not set): the leader adds
// them with their UIDs to the folder's shared index (applyAppends) before anyone of the
// batch returns.
func (s *Store) assignUIDs(f *maildir.Folder, bases []string, ents []index.Entry) (uint32, []uint32, error) {
	dir := f.Path()
	a := assignerFor(dir)
	defer a.release(dir)
	req := &assignReq{bases: bases, ents: ents, done: make(chan assignRes, 1)}
	a.mu.Lock()
	a.pending = append(a.pending, req)
	if a.running {
		a.mu.Unlock()
		r := <-req.done
		if !r.lead {
			return r.uidValidity, r.uids, r.err
		}
		a.mu.Lock()
	}
	a.running = true
	batch := a.pending
	a.pending = nil
	a.mu.Unlock()

	var all []string
	for _, r := range batch {
		all = append(all, r.bases...)
	}
	v, uids, err := f.AssignUIDs(all)
	if err == nil {
		var known []index.Entry
		for _, r := range batch {
			if r.ents == nil || len(r.ents) != len(r.bases) {
				known = nil
				break
			}
			known = append(known, r.ents...)
		}
		if known != nil {
			for k := range known {
				known[k].UID = uids[k]
			}
		}
		applyAppends(dir, known, s.opt.Now())
	}
	var mine assignRes
	for _, r := range batch {
		res := assignRes{uidValidity: v, err: err}
		if err == nil {
			res.uids, uids = uids[:len(r.bases):len(r.bases)], uids[len(r.bases):]
		}
		if r == req {
			mine = res
		} else {
			r.done <- res
		}
	}
	// hand over: the first waiter leads the next batch, so no caller serves others forever
	a.mu.Lock()
	if len(a.pending) > 0 {
		a.pending[0].done <- assignRes{lead: true}
	} else {
		a.running = false
	}
	a.mu.Unlock()
	return mine.uidValidity, mine.uids, mine.err
}
