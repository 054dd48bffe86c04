package smap

// SMAP snapshots (SOPEN), kept the way Courier's imapd keeps them so a Maildir moves
// between Courier and us with its snapshots still usable by either.
//
// Protocol, as Courier 5 does it:
//   - "SOPEN id folder…" opens the folder like OPEN and turns snapshots on for it. When id
//     names a snapshot of that folder that is still on disk (and its UIDVALIDITY is the
//     folder's), the answer is "* SNAPSHOTEXISTS "id"" followed by what changed since the
//     snapshot, reported as NOOP reports changes (EXPUNGE, EXISTS, FETCH FLAGS), then
//     "+OK Folder updated": the client's message numbers are those of the snapshot. Any
//     other id (unknown, empty, "/" in it, leading ".") gets the OPEN answer.
//   - While snapshots are on, a NOOP that finds nothing new, when the index changed since
//     the last snapshot (or none was saved since opening), saves one and announces it with
//     "* SNAPSHOT "id"" before "+OK Folder updated". A NOOP that reports changes saves none
//     (the next quiet one does), and nothing else saves one (not EXPUNGE, STORE or IDLE).
//     OPEN never announces snapshots.
//   - OPEN and SOPEN both create the folder's courierimapsnapshots/ and prune it.
//
// On disk: courierimapsnapshots/<id> in the folder's directory, where <id> is a Maildir
// style unique name ("<secs>.M<usecs>P<pid>_snapshot.<host>"), written in the folder's
// tmp/ and renamed in. Its text:
//
//	1 <count> <uidvalidity> <nextuid>[:<previous id>]
//	<uid>:<maildir info, e.g. "2,S">       (count lines, in UID order)
//
// and, when keywords are on, the keyword list as Courier exports it: the keyword names one a
// line, an empty line, then "<base file name>:<index> <index>…" for each message that has
// keywords (indexes into the names). Only UIDs are kept; file names come from
// courierimapuiddb, which is why a restore requires the folder's UIDVALIDITY to match.
//
// Bounds (Courier's): a session deletes the snapshot before its previous one when it saves
// a new one (the client holds one of the last two); opening a folder deletes files that are
// not snapshots, snapshots two generations behind another, and, while more than 10 are
// left, the oldest if older than 7 days plus 2 days per snapshot over 10; never more than
// 50 are kept.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"courier/internal/store"
	"courier/internal/store/foldername"
)

const (
	// snapshotDirName is Courier's SNAPSHOTDIR, inside the folder's directory.
	snapshotDirName = "courierimapsnapshots"
	// snapshotVersion is Courier's SNAPSHOTVERSION, the first word of a snapshot file.
	snapshotVersion = 1
	// maxSnapshots is the most snapshots a folder keeps (Courier's cap).
	maxSnapshots = 50
	// agedSnapshots is how many a folder keeps before age starts to count.
	agedSnapshots = 10
	// maxSnapshotLine bounds one line of a snapshot file; Courier reads a message line
	// into 128 bytes, so a longer one is not Courier's and the file is refused.
	maxSnapshotLine = 127
)

// Pather is a Store that lives in a directory (maildirstore): snapshots need the folder's
// directory, so a Store without one has no snapshots and SOPEN opens like OPEN.
type Pather interface {
	Path() string
}

// snapshots is the snapshot state of the open folder.
type snapshots struct {
	dir     string // the folder's directory; "" when snapshots are unavailable
	enabled bool   // SOPEN opened the folder (Courier's snapshot_select)
	dirty   bool   // save at the next NOOP even if the view looks unchanged
	cur     string // id of the snapshot the client holds (restored or last announced)
	prev    string // id of the one before cur, deleted when a newer one is saved
	saved   []snapEntry
}

// snapEntry is one message of a snapshot.
type snapEntry struct {
	uid   store.UID
	flags store.Flags
	kws   []string // sorted; nil when none
}

// folderDir returns the open folder's directory, or "" when the store has none.
func (s *session) folderDir(name string) string {
	p, ok := s.st.(Pather)
	if !ok || p.Path() == "" {
		return ""
	}
	dir, err := foldername.Resolve(p.Path(), name)
	if err != nil {
		return ""
	}
	d, err := foldername.Path(p.Path(), dir)
	if err != nil {
		return ""
	}
	return d
}

// validSnapshotID is Courier's check against names that would leave the snapshot directory
// or name a hidden file.
func validSnapshotID(id string) bool {
	return id != "" && !strings.Contains(id, "/") && id[0] != '.' && !strings.ContainsRune(id, 0)
}

// initSnapshots prepares snapshots for the folder just opened (s.mb set, s.msgs not yet):
// it creates and prunes the snapshot directory and, for SOPEN with a usable id, restores
// the snapshot into s.msgs and returns true, the changes not yet reported.
func (s *session) initSnapshots(name string, sopen bool, id string) (restored []snapEntry, ok bool) {
	s.snap = snapshots{dir: s.folderDir(name), enabled: sopen, dirty: true}
	if s.snap.dir == "" {
		return nil, false
	}
	sdir := filepath.Join(s.snap.dir, snapshotDirName)
	if err := os.Mkdir(sdir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		s.log.Warn("smap: snapshot directory", "folder", name, "err", err)
	}
	if sopen && validSnapshotID(id) {
		entries, prev, err := s.readSnapshot(filepath.Join(sdir, id))
		if err == nil {
			now := s.cfg.Now()
			// Courier touches a restored snapshot so pruning by age spares it.
			if err := os.Chtimes(filepath.Join(sdir, id), now, now); err != nil {
				s.log.Warn("smap: touch snapshot", "folder", name, "err", err)
			}
			s.snap.cur, s.snap.prev = id, prev
			restored, ok = entries, true
		} else if !errors.Is(err, fs.ErrNotExist) {
			s.log.Info("smap: snapshot not restored", "folder", name, "snapshot", id, "err", err)
		}
	}
	s.pruneSnapshots(sdir)
	return restored, ok
}

// readSnapshot parses a snapshot file of the open folder. It fails when the file is not a
// snapshot of this folder's current UIDVALIDITY.
func (s *session) readSnapshot(path string) ([]snapEntry, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	return parseSnapshot(bufio.NewReader(f), s.mb.Status().UIDValidity, s.keywords, s.keyUIDs())
}

// errBadSnapshot is a snapshot file that cannot be used.
var errBadSnapshot = errors.New("smap: not a usable snapshot")

// parseSnapshot reads a snapshot: header, message lines and, when keywords are wanted, the
// keyword list, whose base file names keyUID maps to UIDs (names it lacks are messages
// gone since). It returns the entries and the previous snapshot's id.
func parseSnapshot(r *bufio.Reader, uidValidity uint32, keywords bool, keyUID map[string]store.UID) ([]snapEntry, string, error) {
	line, err := readSnapLine(r)
	if err != nil {
		return nil, "", errBadSnapshot
	}
	head, prev, _ := strings.Cut(line, ":")
	f := strings.Fields(head)
	if len(f) != 4 || f[0] != strconv.Itoa(snapshotVersion) {
		return nil, "", errBadSnapshot
	}
	count, err1 := strconv.ParseUint(f[1], 10, 32)
	uidv, err2 := strconv.ParseUint(f[2], 10, 32)
	if _, err3 := strconv.ParseUint(f[3], 10, 32); err1 != nil || err2 != nil || err3 != nil {
		return nil, "", errBadSnapshot
	}
	if uint32(uidv) != uidValidity {
		return nil, "", fmt.Errorf("%w: UIDVALIDITY %d, folder has %d", errBadSnapshot, uidv, uidValidity)
	}
	entries := make([]snapEntry, 0, min(count, 1<<16))
	pos := make(map[store.UID]int, min(count, 1<<16))
	for i := uint64(0); i < count; i++ {
		line, err := readSnapLine(r)
		if err != nil || len(line) > maxSnapshotLine {
			return nil, "", errBadSnapshot
		}
		u, info, ok := strings.Cut(line, ":")
		uid, err := strconv.ParseUint(u, 10, 32)
		if !ok || err != nil || uid == 0 {
			return nil, "", errBadSnapshot
		}
		// The view is kept in UID order (message numbers are found by binary search),
		// as Courier writes it.
		if n := len(entries); n > 0 && store.UID(uid) <= entries[n-1].uid {
			return nil, "", errBadSnapshot
		}
		pos[store.UID(uid)] = len(entries)
		entries = append(entries, snapEntry{uid: store.UID(uid), flags: parseInfoFlags(info)})
	}
	if keywords {
		readSnapKeywords(r, func(base string, kws []string) {
			if uid, ok := keyUID[base]; ok {
				if i, ok := pos[uid]; ok {
					entries[i].kws = kws
				}
			}
		})
	}
	return entries, prev, nil
}

// readSnapLine returns the next line without its "\n"; a last line without one counts.
func readSnapLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// readSnapKeywords reads the keyword list that follows the message lines: names up to an
// empty line, then "base:i j…" lines. What does not parse is skipped, as a keyword list
// only refines what the client is told.
func readSnapKeywords(r *bufio.Reader, each func(base string, kws []string)) {
	var names []string
	for {
		line, err := readSnapLine(r)
		if err != nil {
			return
		}
		if line == "" {
			break
		}
		names = append(names, line)
	}
	for {
		line, err := readSnapLine(r)
		if err != nil {
			return
		}
		i := strings.LastIndexByte(line, ':')
		if i <= 0 {
			continue
		}
		var kws []string
		for _, n := range strings.Fields(line[i+1:]) {
			if k, err := strconv.Atoi(n); err == nil && k >= 0 && k < len(names) {
				kws = append(kws, names[k])
			}
		}
		if len(kws) > 0 {
			sort.Strings(kws)
			each(line[:i], kws)
		}
	}
}

// parseInfoFlags reads the flags of a maildir info ("2,DFRST"); letters it does not know
// are not flags of ours.
func parseInfoFlags(info string) store.Flags {
	letters, ok := strings.CutPrefix(info, "2,")
	if !ok {
		return 0
	}
	var f store.Flags
	for _, c := range letters {
		switch c {
		case 'D':
			f |= store.Draft
		case 'F':
			f |= store.Flagged
		case 'R':
			f |= store.Answered
		case 'S':
			f |= store.Seen
		case 'T':
			f |= store.Deleted
		}
	}
	return f
}

// infoFlags renders flags as the maildir info Courier writes, letters in ASCII order.
func infoFlags(f store.Flags) string {
	b := []byte("2,")
	for _, x := range []struct {
		f store.Flags
		c byte
	}{{store.Draft, 'D'}, {store.Flagged, 'F'}, {store.Answered, 'R'}, {store.Seen, 'S'}, {store.Deleted, 'T'}} {
		if f&x.f != 0 {
			b = append(b, x.c)
		}
	}
	return string(b)
}

// keyUIDs maps the base file names of the open folder's messages to their UIDs, for the
// keyword list of a snapshot; nil when keywords are off or the store names no files.
func (s *session) keyUIDs() map[string]store.UID {
	k, ok := s.mb.(Keyer)
	if !ok || !s.keywords {
		return nil
	}
	msgs := s.mb.Messages()
	m := make(map[string]store.UID, len(msgs))
	for _, msg := range msgs {
		if key, err := k.MessageKey(msg.UID); err == nil {
			m[key] = msg.UID
		}
	}
	return m
}

// restoreSnapshot makes the snapshot the client's view and reports what changed since, as
// Courier's SOPEN does after "* SNAPSHOTEXISTS": EXPUNGE for messages gone, EXISTS for new
// ones, FETCH for messages whose flags (or keywords, when on) differ from the snapshot.
// It returns false, having changed nothing, when the folder holds a message the snapshot
// should have listed but did not (a UID below the snapshot's highest): the snapshot is
// not of this folder's history, and the client gets the OPEN answer instead.
func (s *session) restoreSnapshot(entries []snapEntry) bool {
	cur := s.mb.Messages()
	inSnap := make(map[store.UID]bool, len(entries))
	for _, e := range entries {
		inSnap[e.uid] = true
	}
	var high store.UID
	if len(entries) > 0 {
		high = entries[len(entries)-1].uid
	}
	byUID := make(map[store.UID]store.Message, len(cur))
	var fresh []store.Message
	for _, m := range cur {
		byUID[m.UID] = m
		if !inSnap[m.UID] {
			if m.UID <= high {
				return false
			}
			fresh = append(fresh, m)
		}
	}
	view := make([]store.Message, len(entries))
	var gone []store.UID
	for i, e := range entries {
		if m, ok := byUID[e.uid]; ok {
			view[i] = m
		} else {
			view[i] = store.Message{UID: e.uid, Flags: e.flags, Keywords: e.kws}
			gone = append(gone, e.uid)
		}
	}
	s.writes("* SNAPSHOTEXISTS " + quote(s.snap.cur) + "\n")
	s.msgs = view
	s.reportExpunged(gone)
	// What the client held: the snapshot's flags and keywords by UID.
	held := make(map[store.UID]snapEntry, len(entries))
	for _, e := range entries {
		held[e.uid] = e
	}
	if len(fresh) > 0 {
		s.msgs = append(s.msgs, fresh...)
		s.writes("* EXISTS " + strconv.Itoa(len(s.msgs)) + "\n")
	}
	items := fetchFlags
	if s.keywords {
		items |= fetchKeywords
	}
	for i, m := range s.msgs {
		e, ok := held[m.UID]
		if !ok {
			continue // new: EXISTS told the client
		}
		if e.flags != m.Flags || s.keywords && !sameKeywords(e.kws, m.Keywords) {
			s.attrs(i+1, items)
		}
	}
	return true
}

// sameKeywords compares two keyword lists as sets.
func sameKeywords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// viewEntries is the client's view as snapshot entries.
func (s *session) viewEntries() []snapEntry {
	out := make([]snapEntry, len(s.msgs))
	for i, m := range s.msgs {
		var kws []string
		if len(m.Keywords) > 0 {
			kws = append([]string(nil), m.Keywords...)
			sort.Strings(kws)
		}
		out[i] = snapEntry{uid: m.UID, flags: m.Flags, kws: kws}
	}
	return out
}

// sameEntries reports whether two views are the same for a snapshot.
func sameEntries(a, b []snapEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].uid != b[i].uid || a[i].flags != b[i].flags || !sameKeywords(a[i].kws, b[i].kws) {
			return false
		}
	}
	return true
}

// saveSnapshot runs at the end of NOOP: when snapshots are on and the view changed since
// the last snapshot (or none was saved since opening), it saves one and announces it.
func (s *session) saveSnapshot() {
	if s.mb == nil || !s.snap.enabled || s.snap.dir == "" {
		return
	}
	view := s.viewEntries()
	if !s.snap.dirty && sameEntries(view, s.snap.saved) {
		return
	}
	id, err := s.writeSnapshot(view)
	if err != nil {
		s.log.Warn("smap: save snapshot", "folder", s.mbName, "err", err)
		return
	}
	sdir := filepath.Join(s.snap.dir, snapshotDirName)
	if s.snap.prev != "" {
		// The client holds cur or the new one; the one before cur is of no more use.
		if err := os.Remove(filepath.Join(sdir, s.snap.prev)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("smap: remove snapshot", "folder", s.mbName, "err", err)
		}
	}
	s.snap.prev, s.snap.cur, s.snap.saved, s.snap.dirty = s.snap.cur, id, view, false
	s.writes("* SNAPSHOT " + quote(id) + "\n")
}

// writeSnapshot writes view as a new snapshot file and returns its id: written and fsynced
// in the folder's tmp/, renamed into courierimapsnapshots/, the directory fsynced.
func (s *session) writeSnapshot(view []snapEntry) (string, error) {
	var b strings.Builder
	st := s.mb.Status()
	next := st.UIDNext
	if n := len(view); n > 0 && view[n-1].uid >= next {
		next = view[n-1].uid + 1
	}
	fmt.Fprintf(&b, "%d %d %d %d", snapshotVersion, len(view), st.UIDValidity, next)
	if s.snap.cur != "" {
		b.WriteString(":" + s.snap.cur)
	}
	b.WriteString("\n")
	for _, e := range view {
		fmt.Fprintf(&b, "%d:%s\n", e.uid, infoFlags(e.flags))
	}
	if s.keywords {
		s.writeSnapKeywords(&b, view)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// Maildir's escapes keep the host part a single name without the info separator.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	sdir := filepath.Join(s.snap.dir, snapshotDirName)
	tmpDir := filepath.Join(s.snap.dir, "tmp")
	now := s.cfg.Now()
	for try := 0; try < 100; try++ {
		t := now.Add(time.Duration(try) * time.Microsecond)
		id := fmt.Sprintf("%d.M%dP%d_snapshot.%s", t.Unix(), t.Nanosecond()/1000, os.Getpid(), host)
		if _, err := os.Lstat(filepath.Join(sdir, id)); err == nil {
			continue
		}
		tmp := filepath.Join(tmpDir, id)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, werr := f.WriteString(b.String())
		if werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Rename(tmp, filepath.Join(sdir, id))
		}
		if werr != nil {
			_ = os.Remove(tmp)
			return "", werr
		}
		if d, err := os.Open(sdir); err == nil {
			_ = d.Sync()
			d.Close()
		}
		return id, nil
	}
	return "", errors.New("smap: no unique snapshot name")
}

// writeSnapKeywords appends the keyword list of view (Courier's keyword export): the names,
// an empty line, then each message with keywords by its base file name.
func (s *session) writeSnapKeywords(b *strings.Builder, view []snapEntry) {
	k, ok := s.mb.(Keyer)
	index := map[string]int{}
	var names []string
	for _, e := range view {
		for _, kw := range e.kws {
			if _, seen := index[kw]; !seen {
				index[kw] = -1
				names = append(names, kw)
			}
		}
	}
	sort.Strings(names)
	for i, n := range names {
		index[n] = i
		b.WriteString(n + "\n")
	}
	b.WriteString("\n")
	if !ok {
		return
	}
	for _, e := range view {
		if len(e.kws) == 0 {
			continue
		}
		key, err := k.MessageKey(e.uid)
		if err != nil {
			continue
		}
		nums := make([]string, len(e.kws))
		for i, kw := range e.kws {
			nums[i] = strconv.Itoa(index[kw])
		}
		b.WriteString(key + ":" + strings.Join(nums, " ") + "\n")
	}
}

// snapFile is one file of a snapshot directory, for pruning.
type snapFile struct {
	name, prev string
	mtime      time.Time
}

// pruneSnapshots applies Courier's bounds to a snapshot directory (see the file comment).
func (s *session) pruneSnapshots(sdir string) {
	ents, err := os.ReadDir(sdir)
	if err != nil {
		return
	}
	remove := func(name string) {
		if err := os.Remove(filepath.Join(sdir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("smap: prune snapshot", "dir", sdir, "err", err)
		}
	}
	var list []snapFile
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		sf, ok := readSnapHeader(filepath.Join(sdir, de.Name()))
		if !ok {
			if !de.IsDir() {
				remove(de.Name()) // Courier's rule: what is not a snapshot does not stay
			}
			continue
		}
		sf.name = de.Name()
		list = append(list, sf)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].mtime.Before(list[j].mtime) })
	// A snapshot whose successor has a successor too is two generations old: no client
	// can hold it any more, as each session keeps only its last two.
	next := make(map[string]string, len(list))
	for _, sf := range list {
		if sf.prev != "" {
			next[sf.prev] = sf.name
		}
	}
	kept := list[:0]
	for _, sf := range list {
		if n, ok := next[sf.name]; ok {
			if _, ok := next[n]; ok {
				remove(sf.name)
				continue
			}
		}
		kept = append(kept, sf)
	}
	list = kept
	// Courier's loop goes on below ten (its limit keeps falling by two days a snapshot, so
	// a week-old set is wiped whole); its guard says ten are meant to stay, so we stop there.
	if len(list) > agedSnapshots {
		now := s.cfg.Now()
		for len(list) > agedSnapshots && list[0].mtime.Before(now) &&
			now.Sub(list[0].mtime) > time.Duration(7+(len(list)-agedSnapshots)*2)*24*time.Hour {
			remove(list[0].name)
			list = list[1:]
		}
	}
	for len(list) > maxSnapshots {
		remove(list[0].name)
		list = list[1:]
	}
}

// readSnapHeader reads the first line of a possible snapshot file: its version must be
// ours; it returns the previous id and the file's mtime.
func readSnapHeader(path string) (snapFile, bool) {
	f, err := os.Open(path)
	if err != nil {
		return snapFile{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return snapFile{}, false
	}
	line, err := readSnapLine(bufio.NewReaderSize(f, 1024))
	if err != nil {
		return snapFile{}, false
	}
	head, prev, _ := strings.Cut(line, ":")
	f0, _, _ := strings.Cut(strings.TrimSpace(head), " ")
	if f0 != strconv.Itoa(snapshotVersion) {
		return snapFile{}, false
	}
	return snapFile{prev: prev, mtime: fi.ModTime()}, true
}
