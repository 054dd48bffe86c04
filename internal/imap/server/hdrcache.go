package server

import (
	"courier/internal/imap/search"
	"courier/internal/store"
	"courier/internal/store/hdrcache"
)

// headerCacheBytes bounds the header cache's entries held in memory for the whole process
// (a 100,000-message folder takes about 25 MB); folders beyond it are read from their
// cache files again when searched.
const headerCacheBytes = 64 << 20

// headerKeyer is what a mailbox offers (maildirstore's views do) for the header cache: the
// folder's directory, where the cache file lives, and each message's key (its file's base
// name).
type headerKeyer interface {
	FolderDir() string
	EachMessageKey(fn func(uid store.UID, key string))
}

// headerLookup is one SEARCH's use of the header cache: the folder's snapshot, the key of
// each message of the view (keys[i] for sequence number i+1; "" when the mailbox did not
// list it), and the entries made from messages read because the snapshot lacked them.
type headerLookup struct {
	dir     string
	snap    *hdrcache.Snapshot
	keys    []string
	hint    int    // where the last lookup in snap ended
	arena   []byte // the pending entries' blocks
	pending []hdrcache.Entry
}

// cachedHeaderFields reports whether every key of k that reads the header names only fields
// the header cache keeps, and whether some key reads the header at all. SENT* read Date;
// BODY and TEXT read the whole message, not the header.
func cachedHeaderFields(k *search.Key) (ok, uses bool) {
	ok = true
	var walk func(k *search.Key)
	walk = func(k *search.Key) {
		field, reads := keyHeaderField[k.Op]
		if k.Op == search.Header {
			field, reads = lowerASCII(k.Field), true
		}
		if reads {
			uses = true
			ok = ok && hdrcache.Cached(field)
		}
		for i := range k.Keys {
			walk(&k.Keys[i])
		}
	}
	walk(k)
	return ok, uses
}

// keyHeaderField names the header field each header-reading SEARCH key looks at (HEADER
// names its own).
var keyHeaderField = map[search.Op]string{
	search.From: "from", search.To: "to", search.Cc: "cc", search.Bcc: "bcc", search.Subject: "subject",
	search.SentBefore: "date", search.SentOn: "date", search.SentSince: "date",
}

// lowerASCII lower-cases ASCII letters (header field names are ASCII; the matcher compares
// them so).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// headerLookup returns the header cache's lookup for a search of p, or nil when the cache
// cannot answer it: the program reads no header or a field the cache lacks, the header is
// read again afterwards (SORT, THREAD), or the mailbox does not give message keys.
func (ss *session) headerLookup(p *searchProgram) *headerLookup {
	if !p.headerCache || ss.srv.headers == nil {
		return nil
	}
	if ok, uses := cachedHeaderFields(&p.key); !ok || !uses {
		return nil
	}
	hk, isKeyer := ss.sel.mb.(headerKeyer)
	if !isKeyer {
		return nil
	}
	s := ss.sel
	hl := &headerLookup{dir: hk.FolderDir(), keys: make([]string, len(s.msgs))}
	// The mailbox's view and the session's list hold the same messages (both change at Sync
	// and by this session's commands), both in UID order; a walk of the two pairs them up,
	// and a message only one of them has gets no key (it is read, not cached).
	i := 0
	hk.EachMessageKey(func(uid store.UID, key string) {
		for i < len(s.msgs) && s.msgs[i].UID < uid {
			i++
		}
		if i < len(s.msgs) && s.msgs[i].UID == uid {
			hl.keys[i] = key
			i++
		}
	})
	hl.snap = ss.srv.headers.Snapshot(hl.dir)
	return hl
}

// header returns the header of the view's i-th message for the matcher: the cached fields
// when the cache has them (a search of those fields answers the same from them, see
// hdrcache.Extract), else the message's header block, read, whose fields are then kept for
// the cache.
func (hl *headerLookup) header(mb store.Mailbox, i int, uid store.UID) ([]byte, error) {
	key := hl.keys[i]
	if key != "" {
		if blk, found, ok := hl.snap.Get(uint32(uid), key, &hl.hint); found {
			if ok {
				return blk, nil
			}
			return readHeader(mb, uid)
		}
	}
	h, err := readHeader(mb, uid)
	if err != nil || key == "" {
		return h, err
	}
	start := len(hl.arena)
	var ok bool
	hl.arena, ok = hdrcache.Extract(hl.arena, h)
	hl.pending = append(hl.pending, hdrcache.Entry{UID: uint32(uid), Key: key, Block: hl.arena[start:len(hl.arena):len(hl.arena)], OK: ok})
	return h, nil
}

// commitHeaders saves what a search added to the header cache. It runs after the search's
// answer is written: a search that read messages pays for the save, later ones read the
// cache. A failed save costs only reading those messages again.
func (ss *session) commitHeaders(hl *headerLookup) {
	if hl == nil || len(hl.pending) == 0 {
		return
	}
	s := ss.sel
	live := hdrcache.Live{UIDs: make([]uint32, 0, len(s.msgs)), Keys: make([]string, 0, len(s.msgs))}
	for i := range s.msgs {
		if hl.keys[i] != "" {
			live.UIDs = append(live.UIDs, uint32(s.msgs[i].UID))
			live.Keys = append(live.Keys, hl.keys[i])
		}
	}
	_ = ss.flush() // the client has its answer while the file is written
	if err := ss.srv.headers.Add(hl.dir, hl.pending, live); err != nil {
		ss.log.Warn("header cache not saved", "mailbox", s.name, "err", err)
	}
}
