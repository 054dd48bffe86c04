package maildirstore

import (
	"sync"

	"courier/internal/store/maildir"
)

// UID assignment is grouped: appends to one folder from several sessions of a Store that
// arrive while courierimapuiddb is being rewritten wait, and the next rewrite assigns all
// their UIDs at once (one read, one write, one fsync of the file and of the folder instead
// of one each). Every caller still returns only after the rewrite holding its UIDs is
// durable, and the UIDs of one batch follow the order the callers queued in, so a message
// stored later never gets a smaller UID. Processes other than this one serialise on the
// folder's UID lock as before (maildir.Folder.AssignUIDs).

// assigner groups the UID assignments of one folder.
type assigner struct {
	mu      sync.Mutex
	pending []*assignReq
	running bool // a leader is assigning
}

type assignReq struct {
	bases []string
	done  chan assignRes
}

type assignRes struct {
	uids []uint32
	err  error
	lead bool // no result: the receiver leads the next batch
}

func (s *Store) assignerFor(dir string) *assigner {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assigners == nil {
		s.assigners = map[string]*assigner{}
	}
	a := s.assigners[dir]
	if a == nil {
		a = &assigner{}
		s.assigners[dir] = a
	}
	return a
}

// assignUIDs gives UIDs to the messages of f with the given base names (see
// maildir.Folder.AssignUIDs), grouped with those other goroutines assign meanwhile.
func (s *Store) assignUIDs(f *maildir.Folder, bases []string) ([]uint32, error) {
	a := s.assignerFor(f.Path())
	req := &assignReq{bases: bases, done: make(chan assignRes, 1)}
	a.mu.Lock()
	a.pending = append(a.pending, req)
	if a.running {
		a.mu.Unlock()
		r := <-req.done
		if !r.lead {
			return r.uids, r.err
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
	_, uids, err := f.AssignUIDs(all)
	var mine assignRes
	for _, r := range batch {
		res := assignRes{err: err}
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
	return mine.uids, mine.err
}
