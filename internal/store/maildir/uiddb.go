package maildir

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"courier/internal/store/keywords"
)

// UIDDBFile is Courier-IMAP's per-folder UID database.
const UIDDBFile = "courierimapuiddb"

// UIDLockFile is the file our processes flock while assigning UIDs. Courier ignores it: it
// has no leading dot, is not tmp/new/cur and does not start with "courier". Locking the
// database itself would not work since it is replaced by rename.
const UIDLockFile = "imapuid.lock"

// imapEpoch is subtracted from the current time to seed UIDVALIDITY, as Courier-IMAP does.
const imapEpoch = 1000000000

// ErrCorruptUIDDB is wrapped by ReadUIDDB's error for a file that is not a valid version-1
// database. Courier-IMAP then starts over with a new UIDVALIDITY; so does Sync.
var ErrCorruptUIDDB = errors.New("corrupt courierimapuiddb")

// UIDDB is the content of courierimapuiddb: line 1 "1 <uidvalidity> <nextuid>", then one
// "<uid> <base name>" line per message, in UID order.
type UIDDB struct {
	UIDValidity uint32
	NextUID     uint32
	UIDs        map[string]uint32 // base name (no ":2,…") to UID

	// raw is the file as read and body the offset of its second line, kept while UIDs
	// holds exactly raw's entries in increasing UID order: adding entries then copies raw
	// instead of formatting every line again.
	raw  []byte
	body int
}

// ReadUIDDB reads the database of the folder directory dir. A missing file gives an error
// wrapping fs.ErrNotExist; a malformed one an error wrapping ErrCorruptUIDDB.
func ReadUIDDB(dir string) (*UIDDB, error) {
	b, err := os.ReadFile(filepath.Join(dir, UIDDBFile))
	if err != nil {
		return nil, fmt.Errorf("maildir: uiddb: %w", err)
	}
	db, err := ParseUIDDB(b)
	if err != nil {
		return nil, fmt.Errorf("maildir: %s: %w", filepath.Join(dir, UIDDBFile), err)
	}
	return db, nil
}

// parseUint parses a decimal uint32 (no sign, no spaces).
func parseUint(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return uint32(n), n <= math.MaxUint32
}

// parseHeader parses line 1 and returns UIDVALIDITY, the next UID and the offset of line 2.
func parseHeader(b []byte) (v, next uint32, body int, err error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		nl = len(b)
		body = len(b)
	} else {
		body = nl + 1
	}
	head := bytes.Fields(b[:nl])
	if len(head) != 3 || string(head[0]) != "1" {
		return 0, 0, 0, ErrCorruptUIDDB
	}
	v, ok1 := parseUint(head[1])
	next, ok2 := parseUint(head[2])
	if !ok1 || !ok2 || next == 0 {
		return 0, 0, 0, ErrCorruptUIDDB
	}
	return v, next, body, nil
}

// ParseUIDDB parses the content of a courierimapuiddb file. It works on the bytes: the names
// are cut from one string holding the whole file, so there is one allocation per entry at
// most (the map's).
func ParseUIDDB(b []byte) (*UIDDB, error) {
	v, next, body, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	s := string(b[body:])
	db := &UIDDB{UIDValidity: v, NextUID: next, UIDs: make(map[string]uint32, strings.Count(s, "\n")+1)}
	ordered := true
	var last uint32
	var seen map[uint32]bool // only when the file is not in UID order
	for len(s) > 0 {
		var l string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			l, s = s, ""
		}
		if l == "" {
			ordered = false // not as Courier writes it: format it again when writing
			continue
		}
		sp := strings.IndexByte(l, ' ')
		if sp < 0 {
			return nil, ErrCorruptUIDDB
		}
		uid, ok := parseUint([]byte(l[:sp]))
		name := l[sp+1:]
		// An empty name is a message file called ":2,…" (nothing before the info part):
		// Courier-IMAP writes "N " for it and reads it back, so must we, or every open would
		// start over with a new UIDVALIDITY.
		if !ok || uid == 0 || strings.IndexByte(name, '/') >= 0 || strings.IndexByte(name, ':') >= 0 {
			return nil, ErrCorruptUIDDB
		}
		if ordered && uid <= last {
			ordered = false
			seen = make(map[uint32]bool, len(db.UIDs))
			for _, u := range db.UIDs {
				seen[u] = true
			}
		}
		if !ordered {
			if seen[uid] {
				return nil, ErrCorruptUIDDB
			}
			seen[uid] = true
		}
		last = uid
		if _, dup := db.UIDs[name]; dup {
			ordered = false
		}
		db.UIDs[name] = uid
		if uid >= db.NextUID {
			db.NextUID = uid + 1
		}
	}
	if ordered {
		db.raw, db.body = b, body
	}
	return db, nil
}

// appendHeader appends line 1.
func (db *UIDDB) appendHeader(b []byte) []byte {
	b = append(b, "1 "...)
	b = strconv.AppendUint(b, uint64(db.UIDValidity), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(db.NextUID), 10)
	return append(b, '\n')
}

func appendEntry(b []byte, uid uint32, name string) []byte {
	b = strconv.AppendUint(b, uint64(uid), 10)
	b = append(b, ' ')
	b = append(b, name...)
	return append(b, '\n')
}

// Bytes formats the database as Courier writes it (entries in UID order).
func (db *UIDDB) Bytes() []byte {
	type ent struct {
		uid  uint32
		name string
	}
	ents := make([]ent, 0, len(db.UIDs))
	size := 32
	for n, u := range db.UIDs {
		ents = append(ents, ent{u, n})
		size += len(n) + 12
	}
	slices.SortFunc(ents, func(a, b ent) int { return cmp.Compare(a.uid, b.uid) })
	b := db.appendHeader(make([]byte, 0, size))
	for _, e := range ents {
		b = appendEntry(b, e.uid, e.name)
	}
	return b
}

// add gives name the next UID (it must not have one) and returns it.
func (db *UIDDB) add(name string, added *[]byte) uint32 {
	u := db.NextUID
	db.UIDs[name] = u
	db.NextUID++
	if db.raw != nil {
		*added = appendEntry(*added, u, name)
	}
	return u
}

// bytesAfterAdd formats the database after add calls that produced added: the file read
// plus the new lines when that is still exact, else everything formatted again.
func (db *UIDDB) bytesAfterAdd(added []byte) []byte {
	if db.raw == nil {
		return db.Bytes()
	}
	rest := db.raw[db.body:]
	b := make([]byte, 0, 32+len(rest)+1+len(added))
	b = db.appendHeader(b)
	b = append(b, rest...)
	if len(rest) > 0 && rest[len(rest)-1] != '\n' {
		b = append(b, '\n')
	}
	return append(b, added...)
}

// UIDMessage is a message with its UID.
type UIDMessage struct {
	UID uint32
	Message
}

// Snapshot is the state of a folder after Sync: its messages in UID order.
type Snapshot struct {
	UIDValidity uint32
	NextUID     uint32
	Messages    []UIDMessage
	Recent      []string // base names moved from new/ by this Sync
	// Complete is false when new/ or cur/ kept changing while they were listed (another
	// process renaming messages), so a message missing from Messages may only have been
	// renamed: such messages keep their courierimapuiddb entries.
	Complete bool
	// Wrote reports whether Sync rewrote courierimapuiddb.
	Wrote bool
}

// SyncOptions tune Sync.
type SyncOptions struct {
	// NoAccept leaves new/ alone (by default new messages move to cur/, as imapd does).
	NoAccept bool
	// BeforeList, when set, is called under the UID lock after new/ was accepted and before
	// the directories are listed (a caller records directory stamps there).
	BeforeList func()
}

// Sync brings the folder's UID database up to date the way Courier-IMAP does on SELECT: it
// moves new/ to cur/, keeps the UIDs of known messages, gives messages it has not seen the
// next UIDs in Courier's order (see sortNew), forgets messages that are gone, and rewrites
// the file atomically if anything changed. A missing or corrupt database is started over with
// UIDVALIDITY = now minus 10^9 and UIDs from 1. The whole is done under an flock on
// UIDLockFile, so concurrent Syncs of our processes never hand out a UID twice.
//
// Cost, for a folder of n messages: one getdents pass over new/ and cur/ (no stat), one read
// of courierimapuiddb, one map lookup per message; sorting (by integer keys) only of the
// messages that get a UID, and of the result by UID when both kinds are present; the new
// file is built in one buffer. A database that was started over is written without fsync
// (why that is safe: at the write).
func (f *Folder) Sync(opt *SyncOptions) (*Snapshot, error) {
	unlock, err := f.LockUIDs()
	if err != nil {
		return nil, err
	}
	defer unlock()
	snap := &Snapshot{}
	if opt == nil || !opt.NoAccept {
		acc, err := f.AcceptNew()
		if err != nil {
			return nil, err
		}
		for _, m := range acc {
			snap.Recent = append(snap.Recent, m.Base())
		}
	}
	if opt != nil && opt.BeforeList != nil {
		opt.BeforeList()
	}
	msgs, complete, err := f.listStable()
	if err != nil {
		return nil, err
	}
	snap.Complete = complete
	db, err := ReadUIDDB(f.path)
	dirty, startOver := false, false
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorruptUIDDB) {
			return nil, err
		}
		// raw empty, not nil: the new lines alone make the file
		db = &UIDDB{UIDValidity: uint32(f.m.now().Unix() - imapEpoch), NextUID: 1, UIDs: map[string]uint32{}, raw: []byte{}}
		dirty, startOver = true, true
	}
	// A base in both new/ and cur/ (someone's rename seen half-done) counts once; new/ is
	// listed first and usually small, so only its bases are remembered.
	var inNew map[string]bool
	snap.Messages = make([]UIDMessage, 0, len(msgs))
	var fresh []newKey
	if len(db.UIDs) == 0 {
		fresh = make([]newKey, 0, len(msgs)) // every message gets a UID: a first open
	}
	present := make([]uint64, db.NextUID/64+1) // bit per UID matched
	matched, freshBytes := 0, 0
	for k := range msgs {
		m := &msgs[k]
		b := m.Base()
		if m.Sub == New {
			if inNew == nil {
				inNew = map[string]bool{}
			}
			if inNew[b] {
				continue
			}
			inNew[b] = true
		} else if inNew != nil && inNew[b] {
			continue
		}
		if uid, ok := db.UIDs[b]; ok {
			if present[uid/64]&(1<<(uid%64)) != 0 {
				continue // cannot happen: one base, one UID
			}
			present[uid/64] |= 1 << (uid % 64)
			matched++
			snap.Messages = append(snap.Messages, UIDMessage{uid, *m})
		} else {
			fresh = append(fresh, newKey{num: leadingNumber(b), pos: uint32(k), blen: uint32(len(b))})
			freshBytes += len(m.Name)
		}
	}
	removed := complete && matched < len(db.UIDs)
	// out is the new file, when there is one to write, while db.raw holds the entries in
	// UID order (as Courier writes them): room for the header, then the entries kept, then
	// the new ones. Otherwise the file is formatted again from db.UIDs.
	var out []byte
	if db.raw != nil && (dirty || removed || len(fresh) > 0) {
		rest := db.raw[db.body:]
		size := uidHeadRoom + len(rest) + 1
		for _, k := range fresh {
			size += int(k.blen) + 12
		}
		out = make([]byte, uidHeadRoom, size)
		if removed {
			out = keepEntries(out, rest, present)
		} else {
			out = append(out, rest...)
			if len(rest) > 0 && rest[len(rest)-1] != '\n' {
				out = append(out, '\n')
			}
		}
	}
	if removed {
		if out == nil {
			for n, u := range db.UIDs {
				if present[u/64]&(1<<(u%64)) == 0 {
					delete(db.UIDs, n)
				}
			}
		}
		dirty = true
	}
	sortNew(fresh, msgs)
	// Sorted, the names are read in an order unrelated to where they lie in memory, one cache
	// miss each: when most messages are new (a first open), they are copied in UID order
	// into one string while being read here, so the caller's pass over them (the index
	// rebuilt) reads memory in order.
	var names strings.Builder
	repack := len(fresh) >= 1024 && len(fresh) > len(msgs)/2
	if repack {
		names.Grow(freshBytes)
	}
	first := len(snap.Messages)
	for _, k := range fresh {
		m := msgs[k.pos]
		b := m.Name[:k.blen]
		var u uint32
		if out != nil {
			// db.UIDs is not updated: only the file is written from here
			u = db.NextUID
			db.NextUID++
			out = appendEntry(out, u, b)
		} else {
			u = db.add(b, nil)
		}
		if repack {
			names.WriteString(m.Name)
		}
		snap.Messages = append(snap.Messages, UIDMessage{u, m})
		dirty = true
	}
	if repack {
		all := names.String()
		for i := first; i < len(snap.Messages); i++ {
			n := len(snap.Messages[i].Name)
			snap.Messages[i].Name, all = all[:n], all[n:]
		}
	}
	if dirty {
		var data []byte
		if out != nil {
			head := db.appendHeader(make([]byte, 0, uidHeadRoom))
			data = out[uidHeadRoom-len(head):]
			copy(data, head)
		} else {
			data = db.Bytes()
		}
		// A database started over (missing or corrupt: a new UIDVALIDITY) is not fsynced.
		// Courier's imapd never fsyncs it at all. Losing it in a crash only loses a
		// numbering nobody can reuse: the next Sync finds no (or a torn, hence corrupt)
		// file and starts over again with UIDVALIDITY = the time then, later than this one,
		// so clients discard what they cached under this one (RFC 3501 §2.3.1.1); a rename
		// that survives with its data lost reads as corrupt the same way. Anything later
		// written under this UIDVALIDITY (new UIDs, removals) is fsynced, file and folder,
		// which makes this file durable too. Those must be: reverting to an older file would
		// give a message that comes back (moved out and back) its old UID, or a new message
		// a UID already handed out.
		if err := writeAtomic(f.path, UIDDBFile, data, 0o644, f.m.now(), f.m.host, !startOver); err != nil {
			return nil, err
		}
		snap.Wrote = true
	}
	sortByUID(snap.Messages)
	snap.UIDValidity, snap.NextUID = db.UIDValidity, db.NextUID
	return snap, nil
}

// uidHeadRoom is the longest first line of courierimapuiddb ("1 " and two uint32 values):
// the new file is built after that much room and its header put last, right before the
// entries, so the entries are not copied again.
const uidHeadRoom = len("1 4294967295 4294967295\n")

// keepEntries appends to out the lines of a database's entries (in UID order, one per UID)
// whose UID is marked in present.
func keepEntries(out, entries []byte, present []uint64) []byte {
	for len(entries) > 0 {
		l := entries
		if i := bytes.IndexByte(entries, '\n'); i >= 0 {
			l, entries = entries[:i+1], entries[i+1:]
		} else {
			entries = nil
		}
		sp := bytes.IndexByte(l, ' ')
		if sp < 0 {
			continue
		}
		u, ok := parseUint(l[:sp])
		if !ok || uint64(u/64) >= uint64(len(present)) || present[u/64]&(1<<(u%64)) == 0 {
			continue
		}
		out = append(out, l...)
		if l[len(l)-1] != '\n' {
			out = append(out, '\n')
		}
	}
	return out
}

// newKey is a message that gets a UID, as sorted by sortNew: pointer-free, so sorting moves
// 16 bytes per swap and the garbage collector has nothing to scan.
type newKey struct {
	num  int64  // leadingNumber of the name
	pos  uint32 // index in the listing
	blen uint32 // length of the base name
}

// sortNew sorts the messages that get UIDs in Courier-IMAP's order: by the number the name
// starts with (its delivery time, read as C's atol reads it), then byte by byte.
//
// Names rarely share a second in a big folder, so the order is mostly that of the numbers:
// when they and the positions fit in 32 bits each (always, for delivery times before 2106
// and folders of fewer than 4 billion messages), both are packed in one uint64 and sorted as
// integers, in about half the time a comparison function takes; only runs of equal numbers
// are then sorted by name.
func sortNew(keys []newKey, msgs []Message) {
	byName := func(a, b newKey) int {
		return strings.Compare(msgs[a.pos].Name[:a.blen], msgs[b.pos].Name[:b.blen])
	}
	packable := uint64(len(keys)) <= math.MaxUint32
	for _, k := range keys {
		if k.num < 0 || k.num > math.MaxUint32 {
			packable = false
			break
		}
	}
	if !packable {
		slices.SortFunc(keys, func(a, b newKey) int {
			if c := cmp.Compare(a.num, b.num); c != 0 {
				return c
			}
			return byName(a, b)
		})
		return
	}
	packed := make([]uint64, len(keys))
	for i, k := range keys {
		packed[i] = uint64(k.num)<<32 | uint64(i)
	}
	slices.Sort(packed)
	sorted := make([]newKey, len(keys))
	for i, p := range packed {
		sorted[i] = keys[uint32(p)]
	}
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j].num == sorted[i].num {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(sorted[i:j], byName)
		}
		i = j
	}
	copy(keys, sorted)
}

// leadingNumber returns the decimal number s starts with, optionally signed, as C's atol
// reads it (0 when there is none; saturated instead of overflowing).
func leadingNumber(s string) int64 {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var n uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (math.MaxInt64-9)/10 {
			n = math.MaxInt64 // saturated: stays there
			continue
		}
		n = n*10 + uint64(s[i]-'0')
	}
	if neg {
		return -int64(n)
	}
	return int64(n)
}

// sortByUID sorts messages by UID: it sorts (UID, position) keys, cheaper to move than the
// messages, then permutes once.
func sortByUID(msgs []UIDMessage) {
	if slices.IsSortedFunc(msgs, func(a, b UIDMessage) int { return cmp.Compare(a.UID, b.UID) }) {
		return
	}
	keys := make([]uint64, len(msgs))
	for i := range msgs {
		keys[i] = uint64(msgs[i].UID)<<32 | uint64(i)
	}
	slices.Sort(keys)
	sorted := make([]UIDMessage, len(msgs))
	for i, k := range keys {
		sorted[i] = msgs[uint32(k)]
	}
	copy(msgs, sorted)
}

// listStable lists new/ and cur/ (in directory order) and reports whether neither
// directory changed while it was read (a concurrent rename can hide a message from
// readdir). It retries a few times.
func (f *Folder) listStable() ([]Message, bool, error) {
	for attempt := 0; ; attempt++ {
		before := f.dirStamps()
		msgs, err := f.list(false)
		if err != nil {
			return nil, false, err
		}
		if f.dirStamps() == before {
			return msgs, true, nil
		}
		if attempt >= 3 {
			return msgs, false, nil
		}
	}
}

// dirStamps returns the modification times of new/ and cur/ (nanoseconds).
func (f *Folder) dirStamps() [2]int64 {
	var s [2]int64
	for i, sub := range []string{New, Cur} {
		if st, err := os.Stat(filepath.Join(f.path, sub)); err == nil {
			s[i] = st.ModTime().UnixNano()
		}
	}
	return s
}

// LockUIDs takes the lock that serialises UID assignment among our processes (see the
// package comment), and with Options.CourierLocks Courier-IMAP's dot-lock too, and returns
// their release.
func (f *Folder) LockUIDs() (unlock func(), err error) {
	flockRelease, err := lockFile(filepath.Join(f.path, UIDLockFile))
	if err != nil || f.m == nil || !f.m.courierLocks {
		return flockRelease, err
	}
	// Taken inside our flock, so our own processes do not compete for it.
	dotRelease, err := keywords.LockMaildir(f.path, courierLockWait)
	if err != nil {
		flockRelease()
		return nil, fmt.Errorf("maildir: %w", err)
	}
	return func() {
		_ = dotRelease()
		flockRelease()
	}, nil
}

// courierLockWait is how long LockUIDs waits for Courier's dot-lock; Courier holds it for
// one scan of the folder, and a lock older than five minutes or of a dead process is broken.
const courierLockWait = 30 * time.Second

// AssignUIDs gives UIDs to the messages with the given base names, in the order given, and
// returns them with the UIDVALIDITY: a message that has a UID already keeps it, the others
// get the next ones. It does not list the folder, so it costs one read and (when it assigns)
// one atomic rewrite of courierimapuiddb, durable (file and folder fsynced) when it
// returns. The database is not parsed: the header is, and each base is looked for in the
// file's bytes; the new file is the old one with a new header and the new lines appended.
// With a missing or corrupt database it falls back to a full Sync (without accepting new/).
//
// Callers assigning UIDs to many messages should pass them in one call: the file is
// rewritten (and fsynced) once per call, as Courier's imapd rewrites it once per APPEND.
func (f *Folder) AssignUIDs(bases []string) (uidValidity uint32, uids []uint32, err error) {
	unlock, err := f.LockUIDs()
	if err != nil {
		return 0, nil, err
	}
	raw, err := os.ReadFile(filepath.Join(f.path, UIDDBFile))
	var v, next uint32
	body := 0
	if err == nil {
		v, next, body, err = parseHeader(raw)
	}
	if err != nil {
		unlock()
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorruptUIDDB) {
			return 0, nil, fmt.Errorf("maildir: uiddb: %w", err)
		}
		return f.assignBySync(bases)
	}
	defer unlock()
	db := &UIDDB{UIDValidity: v, NextUID: next, UIDs: map[string]uint32{}, raw: raw, body: body}
	rest := raw[body:]
	var added []byte
	for _, b := range bases {
		if u, ok := db.UIDs[b]; ok { // twice in bases
			uids = append(uids, u)
			continue
		}
		u, found, err := findEntry(rest, b)
		if err != nil {
			// a line we cannot read: let Sync's parser decide (it starts over if corrupt)
			unlock()
			return f.assignBySync(bases)
		}
		if found {
			db.UIDs[b] = u
			uids = append(uids, u)
			continue
		}
		uids = append(uids, db.add(b, &added))
	}
	if len(added) > 0 {
		// entries with a UID at or past the header's next UID (not as Courier writes the
		// file) would make the header lie: parse it then, as Sync would
		if maxUID(rest) >= next {
			unlock()
			return f.assignBySync(bases)
		}
		if err := writeAtomic(f.path, UIDDBFile, db.bytesAfterAdd(added), 0o644, f.m.now(), f.m.host, true); err != nil {
			return 0, nil, err
		}
	}
	return db.UIDValidity, uids, nil
}

// assignBySync is AssignUIDs through a full Sync (missing, corrupt or unusual database).
func (f *Folder) assignBySync(bases []string) (uint32, []uint32, error) {
	snap, err := f.Sync(&SyncOptions{NoAccept: true})
	if err != nil {
		return 0, nil, err
	}
	byBase := make(map[string]uint32, len(snap.Messages))
	for _, m := range snap.Messages {
		byBase[m.Base()] = m.UID
	}
	var uids []uint32
	for _, b := range bases {
		u, ok := byBase[b]
		if !ok {
			return 0, nil, fmt.Errorf("maildir: assign UID: %s: %w", b, fs.ErrNotExist)
		}
		uids = append(uids, u)
	}
	return snap.UIDValidity, uids, nil
}

// findEntry looks for the line "<uid> <base>" in the entries of a database.
func findEntry(entries []byte, base string) (uint32, bool, error) {
	for off := 0; ; {
		i := bytes.Index(entries[off:], []byte(base))
		if i < 0 {
			return 0, false, nil
		}
		i += off
		end := i + len(base)
		off = i + 1
		if i == 0 || entries[i-1] != ' ' || (end < len(entries) && entries[end] != '\n') {
			continue
		}
		ls := bytes.LastIndexByte(entries[:i-1], '\n') + 1
		u, ok := parseUint(entries[ls : i-1])
		if !ok || u == 0 {
			return 0, false, ErrCorruptUIDDB
		}
		return u, true, nil
	}
}

// maxUID returns the largest UID of a database's entries (0 for none, MaxUint32 for a line
// it cannot read).
func maxUID(entries []byte) uint32 {
	var m uint32
	for len(entries) > 0 {
		l := entries
		if i := bytes.IndexByte(entries, '\n'); i >= 0 {
			l, entries = entries[:i], entries[i+1:]
		} else {
			entries = nil
		}
		if len(l) == 0 {
			continue
		}
		sp := bytes.IndexByte(l, ' ')
		if sp < 0 {
			return math.MaxUint32
		}
		u, ok := parseUint(l[:sp])
		if !ok {
			return math.MaxUint32
		}
		m = max(m, u)
	}
	return m
}

// lockFile takes an exclusive flock on path (created if needed) and returns the release.
func lockFile(path string) (func(), error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("maildir: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(fh.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("maildir: lock %s: %w", path, err)
	}
	return func() { fh.Close() }, nil
}

// writeAtomic writes data to dir/name through a unique file in dir/tmp: write, fsync,
// rename, fsync the directory. With durable false neither fsync is done: the caller has
// made sure that losing the new file in a crash, or finding it empty or torn, is harmless.
func writeAtomic(dir, name string, data []byte, perm fs.FileMode, now time.Time, host string, durable bool) error {
	var (
		tmp string
		fh  *os.File
		err error
	)
	for i := 0; ; i++ {
		tmp = filepath.Join(dir, Tmp, fmt.Sprintf("%d.M%dP%d_%s%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), strings.TrimPrefix(name, "courier"), i, host))
		fh, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return fmt.Errorf("maildir: write %s: %w", name, err)
		}
	}
	_, err = fh.Write(data)
	if err == nil && durable {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("maildir: write %s: %w", name, err)
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}
