package index

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Load reads the index of the folder directory dir. A missing file gives an error wrapping
// os.ErrNotExist, an invalid one an error wrapping ErrCorrupt.
//
// The checked contents of large files are kept (cache below): every IMAP session opens its
// own views, so without it each SELECT of a big folder would read and check the whole file
// again (6.4 MB, about 3 ms, for 100,000 messages), where with it a folder whose index did
// not change since costs an fstat and a copy of the Index's header fields. Indexes handed
// out share the cached bytes until their first change (see the package comment).
func Load(dir string) (*Index, error) {
	p := filepath.Join(dir, FileName)
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	id, idOK := identify(st)
	cacheable := idOK && st.Size() >= cacheMin
	if cacheable {
		if tmpl := loaded.get(p, id); tmpl != nil {
			return tmpl.clone(), nil
		}
	}
	b := make([]byte, 0, st.Size()+1) // one byte more: a file that grew meanwhile reads on
	b, err = readAll(f, b)
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w", p, err)
	}
	ix, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w", p, err)
	}
	if cacheable && int64(len(b)) == st.Size() && time.Since(time.Unix(0, id.ctime)) > racyWindow {
		// Kept only when the file is still the one stat described (not replaced in place
		// while it was read) and its last change is older than any tick of the clock
		// that stamps ctime: then any later change gives it another identity.
		if st2, err := f.Stat(); err == nil {
			if id2, ok := identify(st2); ok && id2 == id {
				tmpl := ix.template()
				loaded.put(p, id, tmpl)
				return tmpl.clone(), nil
			}
		}
	}
	return ix, nil
}

// keep puts the contents a writer of this process just saved as the file p (st: its
// identity) into the cache, so that the next view of the folder need not read them back.
// They are checked as a read file's are (a bug in Encode must not spread). No racyWindow
// applies: these bytes are what this file was made with, and the file is only ever replaced
// by rename; were another program to write into it in place within the same clock tick,
// the contents kept would still be a valid index of the folder, in step with it as of the
// stamps they carry, as the file was a moment before.
func keep(p string, st os.FileInfo, data []byte) {
	id, ok := identify(st)
	if !ok || st.Size() < cacheMin || int64(len(data)) != st.Size() {
		return
	}
	ix, err := Decode(data)
	if err != nil {
		return
	}
	loaded.put(p, id, ix.template())
}

// readAll reads f to its end into b (whose capacity is the expected size).
func readAll(f *os.File, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// template makes ix the shared original of the Indexes loaded from the same file: ix must
// be freshly decoded (lazy, unchanged) and is not used otherwise afterwards.
func (ix *Index) template() *Index {
	t := *ix
	// No spare capacity: an append by one holder reallocates instead of writing into
	// memory the others see.
	t.Expunges = t.Expunges[:len(t.Expunges):len(t.Expunges)]
	t.kwSets = t.kwSets[:len(t.kwSets):len(t.kwSets)]
	t.kwNames = t.kwNames[:len(t.kwNames):len(t.kwNames)]
	return &t
}

// clone returns a new Index over a template's shared contents.
func (t *Index) clone() *Index {
	ix := *t
	return &ix
}

// cacheMin is the smallest index file whose contents are kept: smaller ones (under 1,000
// messages or so) are read and checked in well under a millisecond.
const cacheMin = 64 << 10

// cacheMaxBytes bounds the contents kept (the largest folders' indexes, most recently used
// first): about five folders of 100,000 messages.
const cacheMaxBytes = 32 << 20

// racyWindow: a file changed this recently is not kept. A change in place (not by our
// writers, which always write a new file) within the same tick of the kernel's coarse clock
// as the previous change could leave the ctime as it was; once the ctime is older than any
// tick, a later change must move it.
var racyWindow = time.Second

// loaded is the process's cache of checked index contents, one per file path (the file's
// current version), least recently used dropped first. It is package state on purpose:
// every Store of the process (one per session) must share it to be of use, and what it
// holds is only ever a copy of a file's checked contents, valid whoever reads it.
var loaded = &indexCache{m: map[string]*cacheEntry{}}

type indexCache struct {
	mu    sync.Mutex
	m     map[string]*cacheEntry
	bytes int64
	tick  uint64
}

type cacheEntry struct {
	id   fileID
	tmpl *Index
	size int64
	used uint64
}

// get returns the template for the file at p when its identity is id.
func (c *indexCache) get(p string, id fileID) *Index {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[p]
	if e == nil || e.id != id {
		return nil
	}
	c.tick++
	e.used = c.tick
	return e.tmpl
}

func (c *indexCache) put(p string, id fileID, tmpl *Index) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[p]; old != nil {
		c.bytes -= old.size
	}
	c.tick++
	e := &cacheEntry{id: id, tmpl: tmpl, size: id.size, used: c.tick}
	c.m[p] = e
	c.bytes += e.size
	for c.bytes > cacheMaxBytes && len(c.m) > 1 {
		var oldest string
		var ou uint64
		for k, v := range c.m {
			if k != p && (oldest == "" || v.used < ou) {
				oldest, ou = k, v.used
			}
		}
		c.bytes -= c.m[oldest].size
		delete(c.m, oldest)
	}
}

// DropCache drops the index contents Load keeps (benchmarks of the uncached path; a process
// that wants the memory back). Indexes loaded before keep what they share.
func DropCache() { loaded.forget() }

// forget empties the cache.
func (c *indexCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.bytes = 0
}

// fileID identifies one version of a file: any change to it changes the ctime at least.
type fileID struct {
	dev, ino           uint64
	size, mtime, ctime int64
}
