// Package hdrcache keeps, per Maildir folder, the header fields IMAP SEARCH reads most
// (Subject, From, To, Cc, Bcc, Date, Message-ID, In-Reply-To, References, Reply-To, Sender,
// List-Id: see Cached) of every message searched once, so that a later
// `SEARCH HEADER Subject x` over 100,000 messages reads one file instead of 100,000.
//
// The file lives in the folder's own directory as FileName ("gomailheaders": no leading dot,
// not tmp/new/cur, not a courier* name, so Courier ignores it, as it ignores the index
// "gomailindex" beside it). It is only a cache: deletable at any time and rebuilt as searches
// read the messages again.
//
// Entries are keyed by the message file's unique name without its flags (the Maildir base
// name, which a flag change leaves alone), with the message's UID as a hint to find them: an
// entry counts only when both the UID and the name match the message a view shows, so an
// entry outlived by its message (expunged, or its UID given again after UIDVALIDITY changed)
// is never used, and is dropped at the next save. Message files never change once delivered
// (Maildir), so an entry never goes stale in any other way.
//
// On-disk format (little-endian), version 1:
//
//	header, headerSize bytes:
//	  0 magic "GMHDR\x00\x00\x01"   8 field set u32 (fieldSetID)   12 record count u32
//	 16 body length u64             24 CRC-32C of the body          28 CRC-32C of bytes 0..27
//	body: records in ascending UID order, each
//	  uid u32, key length u16, flags u8 (1: the fields cannot stand for the header: read
//	  the message), 0 u8, block length u32, the key, the block (see Extract)
//
// Invariants:
//   - Never trusted unchecked: checksums, lengths and the UID order are checked on the bytes
//     read before any record is used; a damaged file is ignored (and replaced at the next
//     save). Nothing is mapped.
//   - Writers replace the file whole (a unique file in the folder's tmp/, renamed over
//     FileName), so readers see one writer's file or another's, never a mix. Two writers
//     (sessions, processes) racing lose at most each other's new entries, which the next
//     search reads again: every entry any of them writes is true.
//   - Snapshots are immutable: a search reads one without a lock while others add to the
//     folder's cache, which makes a new snapshot.
package hdrcache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FileName is the cache file in a folder's directory.
const FileName = "gomailheaders"

const headerSize = 32

var magic = []byte("GMHDR\x00\x00\x01")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by the error of a file that is not a valid cache.
var ErrCorrupt = errors.New("corrupt header cache")

// flagFallback marks an entry whose fields cannot stand in for the header (see Extract).
const flagFallback = 1

// rec locates one entry in a snapshot's data.
type rec struct {
	uid    uint32
	off    uint32 // of the key in data; the block follows it
	keyLen uint16
	flags  uint8
	blkLen uint32
}

// Snapshot is one folder's cached entries at one moment; it never changes.
type Snapshot struct {
	recs []rec // ascending UID
	data []byte
}

// Len returns the number of entries.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.recs)
}

// Get returns the cached fields of the message with this UID and key (base name). found is
// false when there is no such entry (never cached, or cached for another file); ok is false
// when the entry says the fields cannot stand in for the header. hint, when not nil, is
// where the previous lookup ended: a caller going through messages in UID order finds each
// entry next to the previous one instead of searching for it.
func (s *Snapshot) Get(uid uint32, key string, hint *int) (block []byte, found, ok bool) {
	if s == nil {
		return nil, false, false
	}
	i := -1
	if hint != nil {
		for j := *hint; j < len(s.recs) && j <= *hint+1; j++ {
			if s.recs[j].uid == uid {
				i = j
				break
			}
		}
	}
	if i < 0 {
		j, hit := slices.BinarySearchFunc(s.recs, uid, func(r rec, u uint32) int { return cmpU32(r.uid, u) })
		if hint != nil {
			*hint = j
		}
		if !hit {
			return nil, false, false
		}
		i = j
	}
	if hint != nil {
		*hint = i + 1
	}
	r := &s.recs[i]
	k := s.data[r.off : r.off+uint32(r.keyLen)]
	if string(k) != key {
		return nil, false, false
	}
	if r.flags&flagFallback != 0 {
		return nil, true, false
	}
	b := r.off + uint32(r.keyLen)
	return s.data[b : b+r.blkLen : b+r.blkLen], true, true
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Entry is one message's cached fields, made by a search that read the message.
type Entry struct {
	UID   uint32
	Key   string // the file's base name
	Block []byte // Extract's result
	OK    bool   // Extract's ok
}

// Live says which entries a save keeps: the messages a view shows (UID and key). Entries
// for UIDs above the view's last are kept too: they are messages the view has not seen yet
// (another session's), not expunged ones.
type Live struct {
	UIDs []uint32 // ascending
	Keys []string // Keys[i] is the key of UIDs[i]
}

// Cache holds the folders' snapshots in memory, shared by every session of a process, up to
// a byte limit (least recently used folders are dropped; their files stay).
type Cache struct {
	log   *slog.Logger
	limit int64
	seq   atomic.Uint64 // unique temporary names

	mu      sync.Mutex
	folders map[string]*folder
	used    int64
	clock   uint64
}

// folder is one folder's entry in the Cache.
type folder struct {
	dir  string
	mu   sync.Mutex // serialises loads and saves of this folder
	snap atomic.Pointer[Snapshot]
	id   fileID // of the file snap was read from or written as; zero: none
	size int64  // bytes counted against the limit
	used uint64 // Cache.clock at the last use
}

// New returns an empty Cache keeping at most limit bytes of entries in memory (≤ 0: 256 MiB).
// log may be nil.
func New(limit int64, log *slog.Logger) *Cache {
	if limit <= 0 {
		limit = 256 << 20
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{log: log, limit: limit, folders: map[string]*folder{}}
}

// get returns the folder's entry, made empty when new.
func (c *Cache) get(dir string) *folder {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.folders[dir]
	if f == nil {
		f = &folder{dir: dir}
		c.folders[dir] = f
	}
	c.clock++
	f.used = c.clock
	return f
}

// account sets the folder's size in memory and drops least recently used folders (not this
// one) while over the limit.
func (c *Cache) account(f *folder, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.folders[f.dir] != f {
		return // dropped meanwhile; what it holds is the caller's until it lets go
	}
	c.used += size - f.size
	f.size = size
	for c.used > c.limit {
		var old *folder
		for _, g := range c.folders {
			if g != f && (old == nil || g.used < old.used) {
				old = g
			}
		}
		if old == nil {
			return
		}
		delete(c.folders, old.dir)
		c.used -= old.size
	}
}

// Snapshot returns the folder's cached entries, reading the file when this process has not
// read it yet or someone else replaced it since (one stat otherwise). A missing, damaged or
// outdated file gives an empty snapshot.
func (c *Cache) Snapshot(dir string) *Snapshot {
	f := c.get(dir)
	p := filepath.Join(dir, FileName)
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// deleted (or never written): what memory holds is still true
			if s := f.snap.Load(); s != nil {
				return s
			}
		}
		return &Snapshot{}
	}
	id := identify(st)
	if s := f.snap.Load(); s != nil && f.idIs(id) {
		return s
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.snap.Load(); s != nil && f.id == id {
		return s
	}
	s, err := load(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("header cache unreadable; rebuilt as searches read messages", "dir", dir, "err", err)
		}
		s = &Snapshot{}
	}
	f.snap.Store(s)
	f.id = id
	c.account(f, int64(len(s.data)+len(s.recs)*16))
	return s
}

// idIs reports whether the folder's snapshot came from the file with this identity.
func (f *folder) idIs(id fileID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.id == id
}

// Add records entries a search made and saves the folder's file with them, keeping of the
// entries already there those live still shows (see Live). It returns the save's error (the
// entries stay in memory either way).
func (c *Cache) Add(dir string, entries []Entry, live Live) error {
	if len(entries) == 0 {
		return nil
	}
	f := c.get(dir)
	f.mu.Lock()
	defer f.mu.Unlock()
	base := f.snap.Load()
	p := filepath.Join(dir, FileName)
	if st, err := os.Stat(p); err == nil && identify(st) != f.id {
		// Another writer replaced the file since this process read or wrote it: start from
		// its entries, so that a save does not drop them, and carry over those of memory
		// the view still shows.
		if disk, err := load(p); err == nil {
			carried := base.live(live)
			base = disk
			entries = append(carried, entries...)
		}
	}
	s := merge(base, entries, live)
	f.snap.Store(s)
	c.account(f, int64(len(s.data)+len(s.recs)*16))
	id, err := save(dir, s, &c.seq)
	if err != nil {
		f.id = fileID{}
		return err
	}
	f.id = id
	return nil
}

// live returns s's entries that l shows (see Live).
func (s *Snapshot) live(l Live) []Entry {
	var out []Entry
	for i := 0; i < s.Len(); i++ {
		r := &s.recs[i]
		if !l.has(r, s.data) {
			continue
		}
		k := r.off + uint32(r.keyLen)
		out = append(out, Entry{UID: r.uid, Key: string(s.data[r.off:k]), Block: s.data[k : k+r.blkLen], OK: r.flags&flagFallback == 0})
	}
	return out
}

// has reports whether a save keeps the entry r (of data).
func (l Live) has(r *rec, data []byte) bool {
	if n := len(l.UIDs); n == 0 || r.uid > l.UIDs[n-1] {
		return true
	}
	i, ok := slices.BinarySearch(l.UIDs, r.uid)
	return ok && l.Keys[i] == string(data[r.off:r.off+uint32(r.keyLen)])
}

// merge makes the snapshot of old's live entries and the new ones (a new entry replaces an
// old one of the same UID), compacted.
func merge(old *Snapshot, entries []Entry, live Live) *Snapshot {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b Entry) int { return cmpU32(a.UID, b.UID) })
	entries = sorted[:0]
	for i := range sorted {
		// of the entries made for one UID, the last wins
		if i+1 < len(sorted) && sorted[i+1].UID == sorted[i].UID {
			continue
		}
		entries = append(entries, sorted[i])
	}
	size := 0
	if old != nil {
		size = len(old.data)
	}
	for _, e := range entries {
		size += len(e.Key) + len(e.Block)
	}
	s := &Snapshot{data: make([]byte, 0, size), recs: make([]rec, 0, old.Len()+len(entries))}
	add := func(uid uint32, key string, block []byte, flags uint8) {
		s.recs = append(s.recs, rec{uid: uid, off: uint32(len(s.data)), keyLen: uint16(len(key)), flags: flags, blkLen: uint32(len(block))})
		s.data = append(s.data, key...)
		s.data = append(s.data, block...)
	}
	addEntry := func(e *Entry) {
		if e.OK {
			add(e.UID, e.Key, e.Block, 0)
		} else {
			add(e.UID, e.Key, nil, flagFallback)
		}
	}
	j := 0
	for i := 0; i < old.Len(); i++ {
		r := &old.recs[i]
		for j < len(entries) && entries[j].UID < r.uid {
			addEntry(&entries[j])
			j++
		}
		if j < len(entries) && entries[j].UID == r.uid {
			continue // replaced
		}
		if live.has(r, old.data) {
			k := old.data[r.off : r.off+uint32(r.keyLen)]
			b := old.data[r.off+uint32(r.keyLen) : r.off+uint32(r.keyLen)+r.blkLen]
			add(r.uid, string(k), b, r.flags)
		}
	}
	for ; j < len(entries); j++ {
		addEntry(&entries[j])
	}
	return s
}

// load reads and checks a cache file.
func load(p string) (*Snapshot, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("hdrcache: %w", err)
	}
	s, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("hdrcache: %s: %w", p, err)
	}
	return s, nil
}

func corrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }

// decode checks a file's bytes and makes its snapshot, which keeps b.
func decode(b []byte) (*Snapshot, error) {
	le := binary.LittleEndian
	if len(b) < headerSize || !bytes.Equal(b[:8], magic) {
		return nil, corrupt("no header")
	}
	if crc32.Checksum(b[:28], castagnoli) != le.Uint32(b[28:]) {
		return nil, corrupt("header checksum")
	}
	if le.Uint32(b[8:]) != fieldSetID {
		return nil, corrupt("another set of fields")
	}
	n := le.Uint32(b[12:])
	body := b[headerSize:]
	if le.Uint64(b[16:]) != uint64(len(body)) {
		return nil, corrupt("length")
	}
	if crc32.Checksum(body, castagnoli) != le.Uint32(b[24:]) {
		return nil, corrupt("body checksum")
	}
	if uint64(n)*12 > uint64(len(body)) || len(body) > 1<<32-1 {
		return nil, corrupt("record count")
	}
	s := &Snapshot{recs: make([]rec, 0, n), data: body}
	off := 0
	for i := uint32(0); i < n; i++ {
		if len(body)-off < 12 {
			return nil, corrupt("truncated record")
		}
		r := rec{uid: le.Uint32(body[off:]), keyLen: le.Uint16(body[off+4:]), flags: body[off+6], blkLen: le.Uint32(body[off+8:])}
		off += 12
		if uint64(len(body)-off) < uint64(r.keyLen)+uint64(r.blkLen) || r.keyLen == 0 {
			return nil, corrupt("record length")
		}
		if len(s.recs) > 0 && r.uid <= s.recs[len(s.recs)-1].uid {
			return nil, corrupt("UID order")
		}
		r.off = uint32(off)
		off += int(r.keyLen) + int(r.blkLen)
		s.recs = append(s.recs, r)
	}
	if off != len(body) {
		return nil, corrupt("trailing bytes")
	}
	return s, nil
}

// encode makes a file's bytes.
func encode(s *Snapshot) []byte {
	le := binary.LittleEndian
	size := headerSize + len(s.data) + 12*len(s.recs)
	b := make([]byte, headerSize, size)
	for i := range s.recs {
		r := &s.recs[i]
		b = le.AppendUint32(b, r.uid)
		b = le.AppendUint16(b, r.keyLen)
		b = append(b, r.flags, 0)
		b = le.AppendUint32(b, r.blkLen)
		b = append(b, s.data[r.off:r.off+uint32(r.keyLen)+r.blkLen]...)
	}
	copy(b, magic)
	le.PutUint32(b[8:], fieldSetID)
	le.PutUint32(b[12:], uint32(len(s.recs)))
	le.PutUint64(b[16:], uint64(len(b)-headerSize))
	le.PutUint32(b[24:], crc32.Checksum(b[headerSize:], castagnoli))
	le.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

// save writes the snapshot as the folder's file: a unique file in the folder's tmp/ (named
// as a Maildir message, so the tmp/ clean-up of Courier and ours removes it if a crash
// leaves it there) renamed over FileName. Nothing is fsynced: a cache lost or torn by a
// crash is rebuilt (the checksums find a torn one). It returns the new file's identity.
func save(dir string, s *Snapshot, seq *atomic.Uint64) (fileID, error) {
	data := encode(s)
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	now := time.Now()
	tmp := filepath.Join(dir, "tmp", fmt.Sprintf("%d.M%dP%d_gomailheaders%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), seq.Add(1), host))
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fileID{}, fmt.Errorf("hdrcache: save: %w", err)
	}
	_, err = fh.Write(data)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, FileName))
	}
	var id fileID
	if err == nil {
		// the identity as renamed, from the descriptor: the name may be another writer's now
		if st, serr := fh.Stat(); serr == nil {
			id = identify(st)
		}
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fileID{}, fmt.Errorf("hdrcache: save: %w", err)
	}
	return id, nil
}
