package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
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

// ParseUIDDB parses the content of a courierimapuiddb file.
func ParseUIDDB(b []byte) (*UIDDB, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	if !sc.Scan() {
		return nil, ErrCorruptUIDDB
	}
	head := strings.Fields(sc.Text())
	if len(head) != 3 || head[0] != "1" {
		return nil, ErrCorruptUIDDB
	}
	v, err1 := strconv.ParseUint(head[1], 10, 32)
	n, err2 := strconv.ParseUint(head[2], 10, 32)
	if err1 != nil || err2 != nil || n == 0 {
		return nil, ErrCorruptUIDDB
	}
	db := &UIDDB{UIDValidity: uint32(v), NextUID: uint32(n), UIDs: map[string]uint32{}}
	seen := map[uint32]bool{}
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			continue
		}
		us, name, ok := strings.Cut(l, " ")
		uid, err := strconv.ParseUint(us, 10, 32)
		if !ok || err != nil || uid == 0 || name == "" || strings.ContainsAny(name, "/:") || seen[uint32(uid)] {
			return nil, ErrCorruptUIDDB
		}
		seen[uint32(uid)] = true
		db.UIDs[name] = uint32(uid)
		if uint32(uid) >= db.NextUID {
			db.NextUID = uint32(uid) + 1
		}
	}
	if sc.Err() != nil {
		return nil, ErrCorruptUIDDB
	}
	return db, nil
}

// Bytes formats the database as Courier writes it (entries in UID order).
func (db *UIDDB) Bytes() []byte {
	type ent struct {
		uid  uint32
		name string
	}
	ents := make([]ent, 0, len(db.UIDs))
	for n, u := range db.UIDs {
		ents = append(ents, ent{u, n})
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].uid < ents[j].uid })
	var b bytes.Buffer
	fmt.Fprintf(&b, "1 %d %d\n", db.UIDValidity, db.NextUID)
	for _, e := range ents {
		fmt.Fprintf(&b, "%d %s\n", e.uid, e.name)
	}
	return b.Bytes()
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
// next UIDs in name order, forgets messages that are gone, and rewrites the file atomically
// if anything changed. A missing or corrupt database is started over with UIDVALIDITY = now
// minus 10^9 and UIDs from 1. The whole is done under an flock on UIDLockFile, so concurrent
// Syncs of our processes never hand out a UID twice.
func (f *Folder) Sync(opt *SyncOptions) (*Snapshot, error) {
	unlock, err := lockFile(filepath.Join(f.path, UIDLockFile))
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
	dirty := false
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorruptUIDDB) {
			return nil, err
		}
		db = &UIDDB{UIDValidity: uint32(f.m.now().Unix() - imapEpoch), NextUID: 1, UIDs: map[string]uint32{}}
		dirty = true
	}
	present := make(map[string]bool, len(msgs))
	var fresh []Message
	for _, m := range msgs {
		b := m.Base()
		if present[b] {
			continue // the same message in new/ and cur/ during someone's rename
		}
		present[b] = true
		if uid, ok := db.UIDs[b]; ok {
			snap.Messages = append(snap.Messages, UIDMessage{uid, m})
		} else {
			fresh = append(fresh, m)
		}
	}
	for n := range db.UIDs {
		if !present[n] && complete {
			delete(db.UIDs, n)
			dirty = true
		}
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].Base() < fresh[j].Base() })
	for _, m := range fresh {
		db.UIDs[m.Base()] = db.NextUID
		snap.Messages = append(snap.Messages, UIDMessage{db.NextUID, m})
		db.NextUID++
		dirty = true
	}
	if dirty {
		if err := writeAtomic(f.path, UIDDBFile, db.Bytes(), 0o644, f.m.now(), f.m.host); err != nil {
			return nil, err
		}
		snap.Wrote = true
	}
	sort.Slice(snap.Messages, func(i, j int) bool { return snap.Messages[i].UID < snap.Messages[j].UID })
	snap.UIDValidity, snap.NextUID = db.UIDValidity, db.NextUID
	return snap, nil
}

// listStable lists new/ and cur/ and reports whether neither directory changed while it was
// read (a concurrent rename can hide a message from readdir). It retries a few times.
func (f *Folder) listStable() ([]Message, bool, error) {
	for attempt := 0; ; attempt++ {
		before := f.dirStamps()
		msgs, err := f.List()
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
// package comment) and returns its release.
func (f *Folder) LockUIDs() (unlock func(), err error) {
	return lockFile(filepath.Join(f.path, UIDLockFile))
}

// AssignUIDs gives UIDs to the messages with the given base names, in the order given, and
// returns them with the UIDVALIDITY: a message that has a UID already keeps it, the others
// get the next ones. It does not list the folder, so it costs one read and (when it assigns)
// one atomic rewrite of courierimapuiddb. With a missing or corrupt database it falls back to
// a full Sync (without accepting new/).
func (f *Folder) AssignUIDs(bases []string) (uidValidity uint32, uids []uint32, err error) {
	unlock, err := f.LockUIDs()
	if err != nil {
		return 0, nil, err
	}
	db, err := ReadUIDDB(f.path)
	if err != nil {
		unlock()
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorruptUIDDB) {
			return 0, nil, err
		}
		snap, err := f.Sync(&SyncOptions{NoAccept: true})
		if err != nil {
			return 0, nil, err
		}
		byBase := make(map[string]uint32, len(snap.Messages))
		for _, m := range snap.Messages {
			byBase[m.Base()] = m.UID
		}
		for _, b := range bases {
			u, ok := byBase[b]
			if !ok {
				return 0, nil, fmt.Errorf("maildir: assign UID: %s: %w", b, fs.ErrNotExist)
			}
			uids = append(uids, u)
		}
		return snap.UIDValidity, uids, nil
	}
	defer unlock()
	dirty := false
	for _, b := range bases {
		u, ok := db.UIDs[b]
		if !ok {
			u = db.NextUID
			db.UIDs[b] = u
			db.NextUID++
			dirty = true
		}
		uids = append(uids, u)
	}
	if dirty {
		if err := writeAtomic(f.path, UIDDBFile, db.Bytes(), 0o644, f.m.now(), f.m.host); err != nil {
			return 0, nil, err
		}
	}
	return db.UIDValidity, uids, nil
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
// rename, fsync the directory.
func writeAtomic(dir, name string, data []byte, perm fs.FileMode, now time.Time, host string) error {
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
	if err == nil {
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
	return syncDir(dir)
}
