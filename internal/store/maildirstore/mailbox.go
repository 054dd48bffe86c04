package maildirstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"courier/internal/store"
	"courier/internal/store/index"
	"courier/internal/store/keywords"
	"courier/internal/store/maildir"
)

// mailbox is one view of a folder.
type mailbox struct {
	s       *Store
	f       *maildir.Folder
	name    string
	ix      *index.Index // the view's copy of the folder's shared index (st), as of gen
	st      *folderState // the folder's index shared by the process's views
	gen     uint64       // st's gen that ix is a copy of (plus the view's own changes)
	ops     []ownOp      // the own change running records what it did here (own)
	recent  map[uint32]bool
	updates chan struct{}
	wmu     sync.Mutex // guards wkey: Store.Close may end the subscription from elsewhere
	wkey    string     // the folder's key in the Store's Watcher; "" when not subscribed
	// onUpdate is called by the watcher's goroutine along with each signal on updates.
	onUpdate atomic.Pointer[func()]
	closed   bool
}

var _ store.Mailbox = (*mailbox)(nil)

// Open returns a new view of the folder: a copy of the folder's index shared by the
// process's views (folderstate.go), which is loaded (rebuilt when missing, corrupt or
// stale) and brought in step first, and starts watching the folder.
func (s *Store) Open(name string) (store.Mailbox, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	f, err := s.md.Folder(name)
	if err != nil {
		return nil, classify("open", name, err)
	}
	m := &mailbox{s: s, f: f, name: name, recent: map[uint32]bool{}, updates: make(chan struct{}, 1)}
	m.st = acquireState(f.Path())
	s.watch(m)
	m.st.mu.Lock()
	d, err := m.st.current(f, s.opt.Now())
	if err == nil {
		m.ix, m.gen = m.st.ix.Clone(), m.st.gen
	}
	m.st.mu.Unlock()
	if err != nil {
		m.release()
		_ = m.st.release(&s.seq)
		return nil, classify("open", name, err)
	}
	for _, u := range d.Recent {
		m.recent[u] = true
	}
	m.st.saveSoon(&s.seq)
	return m, nil
}

func (m *mailbox) release() { m.s.unwatch(m) }

// unwatch ends the view's subscription to change notifications.
func (m *mailbox) unwatch() {
	m.wmu.Lock()
	key := m.wkey
	m.wkey = ""
	m.wmu.Unlock()
	if key != "" {
		m.s.opt.Watcher.remove(m, key)
	}
}

func (m *mailbox) Name() string { return m.name }

func (m *mailbox) Updates() <-chan struct{} { return m.updates }

// OnUpdate makes the watcher call fn (from its own goroutine, no lock held; fn must not
// block) whenever it signals Updates, until the returned function is called; one function
// at a time, a later call replaces the earlier one. It reports false when the view is not
// notified of changes (watching off or unavailable): then only Sync finds them. It lets a
// session wait for the client and for changes at once without a goroutine of its own to
// read Updates (IMAP IDLE: the function interrupts the session's wait for input).
func (m *mailbox) OnUpdate(fn func()) (cancel func(), ok bool) {
	m.wmu.Lock()
	watched := m.wkey != ""
	m.wmu.Unlock()
	if !watched {
		return func() {}, false
	}
	p := &fn
	m.onUpdate.Store(p)
	return func() { m.onUpdate.CompareAndSwap(p, nil) }, true
}

func (m *mailbox) Status() store.Status {
	st := store.Status{UIDValidity: m.ix.UIDValidity, UIDNext: store.UID(m.ix.NextUID), HighestModSeq: m.ix.HighestModSeq,
		Messages: m.ix.Len(), Recent: len(m.recent)}
	for i := 0; i < m.ix.Len(); i++ {
		if m.ix.Letters(i)&letterBit(maildir.FlagSeen) == 0 {
			st.Unseen++
		}
	}
	return st
}

// letterBit is flag letter c in the sets index.Index.Letters returns.
func letterBit(c byte) uint32 { return 1 << (c - 'A') }

// flagsOfSet maps a set of info letters (index.Index.Letters) to system flags. It runs for
// every message of a folder at SELECT: straight tests, no loop.
func flagsOfSet(set uint32) store.Flags {
	var f store.Flags
	if set&letterBit(maildir.FlagSeen) != 0 {
		f |= store.Seen
	}
	if set&letterBit(maildir.FlagReplied) != 0 {
		f |= store.Answered
	}
	if set&letterBit(maildir.FlagFlagged) != 0 {
		f |= store.Flagged
	}
	if set&letterBit(maildir.FlagTrashed) != 0 {
		f |= store.Deleted
	}
	if set&letterBit(maildir.FlagDraft) != 0 {
		f |= store.Draft
	}
	return f
}

// flagsOf maps info letters to system flags.
func flagsOf(info string) store.Flags {
	var f store.Flags
	for i := 0; i < len(info); i++ {
		switch info[i] {
		case maildir.FlagSeen:
			f |= store.Seen
		case maildir.FlagReplied:
			f |= store.Answered
		case maildir.FlagFlagged:
			f |= store.Flagged
		case maildir.FlagTrashed:
			f |= store.Deleted
		case maildir.FlagDraft:
			f |= store.Draft
		}
	}
	return f
}

// letters returns the info letters for flags, keeping the letters of keep that are not
// system flags (P, lowercase, …).
func letters(flags store.Flags, keep string) string {
	var b strings.Builder
	for i := 0; i < len(keep); i++ {
		if !strings.ContainsRune("DFRST", rune(keep[i])) {
			b.WriteByte(keep[i])
		}
	}
	for _, p := range []struct {
		f store.Flags
		c byte
	}{{store.Draft, 'D'}, {store.Flagged, 'F'}, {store.Answered, 'R'}, {store.Seen, 'S'}, {store.Deleted, 'T'}} {
		if flags&p.f != 0 {
			b.WriteByte(p.c)
		}
	}
	return maildir.NormalizeFlags(b.String())
}

// message returns the i-th message.
func (m *mailbox) message(i int) store.Message {
	var msg store.Message
	m.fill(&msg, i)
	return msg
}

// fill sets msg to the i-th message. It allocates nothing but the keywords' copy, as
// Messages calls it for every message of the folder (SELECT, FETCH 1:* (FLAGS)).
func (m *mailbox) fill(msg *store.Message, i int) {
	b := m.ix.Brief(i)
	msg.UID, msg.Flags, msg.Size, msg.ModSeq = store.UID(b.UID), flagsOfSet(b.Letters), b.Size, b.ModSeq
	if len(b.Keywords) > 0 {
		msg.Keywords = slices.Clone(b.Keywords)
	}
	if len(m.recent) > 0 {
		msg.Recent = m.recent[b.UID]
	}
}

// KeywordsInUse returns the keywords some message of the view has, sorted, without listing
// the messages (IMAP SELECT's FLAGS response).
func (m *mailbox) KeywordsInUse() []string { return m.ix.KeywordsInUse() }

func (m *mailbox) Messages() []store.Message {
	out := make([]store.Message, m.ix.Len())
	for i := range out {
		m.fill(&out[i], i)
	}
	return out
}

func (m *mailbox) Message(uid store.UID) (store.Message, bool) {
	i, ok := m.ix.Search(uint32(uid))
	if !ok {
		return store.Message{}, false
	}
	return m.message(i), true
}

// file returns the current maildir.Message of the i-th message, looking it up again when its
// file was renamed by someone else.
func (m *mailbox) file(i int) maildir.Message {
	sub := maildir.Cur
	if m.ix.InNew(i) {
		sub = maildir.New
	}
	return maildir.Message{Sub: sub, Name: m.ix.Name(i)}
}

// findFallbacks counts the lookups that listed the folder (tests).
var findFallbacks atomic.Int64

// locate returns the message file, following a rename by another process.
func (m *mailbox) locate(i int) (maildir.Message, error) {
	msg := m.file(i)
	if _, err := os.Lstat(filepath.Join(m.f.Path(), msg.Sub, msg.Name)); err == nil {
		return msg, nil
	}
	// Renamed since the view's copy was made: the shared index knows the name when a
	// session of this process renamed it, which spares listing the directory (Find).
	// Expunged by one of them: gone (no listing either).
	cur, present, known := m.st.name(m.ix.UID(i), m.ix.UIDValidity)
	if known && !present {
		return msg, fmt.Errorf("%w: %s: expunged", store.ErrNoMessage, msg.Base())
	}
	if present && cur != msg && cur.Base() == msg.Base() {
		if _, err := os.Lstat(filepath.Join(m.f.Path(), cur.Sub, cur.Name)); err == nil {
			return cur, nil
		}
	}
	findFallbacks.Add(1)
	found, err := m.f.Find(msg.Base())
	if err != nil {
		return msg, fmt.Errorf("%w: %w", store.ErrNoMessage, err)
	}
	return found, nil
}

func (m *mailbox) pos(uid store.UID) (int, error) {
	if m.closed {
		return 0, store.ErrClosed
	}
	i, ok := m.ix.Search(uint32(uid))
	if !ok {
		return 0, fmt.Errorf("maildirstore: %s: UID %d: %w", m.name, uid, store.ErrNoMessage)
	}
	return i, nil
}

func (m *mailbox) InternalDate(uid store.UID) (time.Time, error) {
	i, err := m.pos(uid)
	if err != nil {
		return time.Time{}, err
	}
	if d := m.ix.At(i).Date; d > 0 {
		return time.Unix(d, 0), nil
	}
	msg, err := m.locate(i)
	if err != nil {
		return time.Time{}, fmt.Errorf("maildirstore: internal date: %w", err)
	}
	st, err := os.Stat(filepath.Join(m.f.Path(), msg.Sub, msg.Name))
	if err != nil {
		return time.Time{}, fmt.Errorf("maildirstore: internal date: %w: %w", store.ErrNoMessage, err)
	}
	m.ix.SetDate(i, st.ModTime().Unix())
	m.st.cache(m.ix.UID(i), func(ix *index.Index, j int) { ix.SetDate(j, st.ModTime().Unix()) })
	return time.Unix(st.ModTime().Unix(), 0), nil
}

// content is an open message file.
type content struct {
	*os.File
	size int64
}

func (c *content) Size() int64 { return c.size }

func (m *mailbox) OpenMessage(uid store.UID) (store.Content, error) {
	i, err := m.pos(uid)
	if err != nil {
		return nil, err
	}
	msg, err := m.locate(i)
	if err != nil {
		return nil, fmt.Errorf("maildirstore: open UID %d: %w", uid, err)
	}
	fh, err := m.f.Open(msg)
	if err != nil {
		return nil, fmt.Errorf("maildirstore: open UID %d: %w: %w", uid, store.ErrNoMessage, err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("maildirstore: open UID %d: %w", uid, err)
	}
	return &content{File: fh, size: st.Size()}, nil
}

// normKeywords sorts and deduplicates keywords.
func normKeywords(kws []string) []string {
	if len(kws) == 0 {
		return nil
	}
	out := slices.Clone(kws)
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *mailbox) kwStore() *keywords.Store { return keywords.Open(m.f.Path(), keywords.Options{}) }

func (m *mailbox) Append(r io.Reader, opt store.AppendOptions) (store.UID, error) {
	if m.closed {
		return 0, store.ErrClosed
	}
	_, uids, err := m.s.appendTo(m.f, []source{{r: r, flags: letters(opt.Flags, ""), kws: normKeywords(opt.Keywords), date: opt.Date}})
	if err != nil {
		return 0, classify("append to", m.name, err)
	}
	return uids[0], nil
}

// AppendFolder returns a function that stores a message in the named folder without
// opening a view of it, and returns the folder's UIDVALIDITY and the message's UID (IMAP
// APPEND with APPENDUID); the folder is looked up first, so that a client is told it is
// missing before it sends the message. A view would load the folder's index, rescan the
// folder (its cur/, courierimapuiddb and courierimapkeywords) and save the index on close,
// all for a message it never shows: under many sessions appending to one busy folder that
// was half of the server's work. The message is as durable as with Mailbox.Append (fsynced
// with its directory, its UID in courierimapuiddb fsynced) when the function returns; views
// of the folder find it at their next Sync.
func (s *Store) AppendFolder(name string) (func(io.Reader, store.AppendOptions) (uint32, store.UID, error), error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	f, err := s.md.Folder(name)
	if err != nil {
		return nil, classify("append to", name, err)
	}
	return func(r io.Reader, opt store.AppendOptions) (uint32, store.UID, error) {
		if err := s.check(); err != nil {
			return 0, 0, err
		}
		v, uids, err := s.appendTo(f, []source{{r: r, flags: letters(opt.Flags, ""), kws: normKeywords(opt.Keywords), date: opt.Date}})
		if err != nil {
			return 0, 0, classify("append to", name, err)
		}
		return v, uids[0], nil
	}, nil
}

// source is one message to store by appendTo.
type source struct {
	r     io.Reader
	flags string
	kws   []string
	date  time.Time
}

// appendTo delivers messages into folder f (quota enforced, except in Trash), sets their
// keywords and assigns their UIDs in one courierimapuiddb update; it returns the folder's
// UIDVALIDITY with them. When one delivery fails, those made before it are removed again
// and the error returned.
//
// The folder's shared index (folderstate.go), when it has one, gets the messages with their
// UIDs (assignUIDs), so that its views need not list the folder to find them.
func (s *Store) appendTo(f *maildir.Folder, srcs []source) (v uint32, _ []store.UID, err error) {
	if st := lookupState(f.Path()); st != nil {
		st.begin()
		defer func() {
			if err != nil {
				st.mu.Lock()
				st.taint() // files may be left without a UID
				st.mu.Unlock()
			}
			st.end(nil)
			st.drop()
			s.notifyFolder(f.Path())
		}()
	}
	var done []*maildir.Delivery
	undo := func() {
		for _, d := range done {
			_ = f.Remove(maildir.Message{Sub: d.Sub, Name: d.Name})
		}
	}
	kw := keywords.Open(f.Path(), keywords.Options{})
	bases := make([]string, 0, len(srcs))
	ents := make([]index.Entry, 0, len(srcs))
	for _, src := range srcs {
		d, err := f.Deliver(src.r, &maildir.DeliverOptions{Cur: true, Flags: src.flags, NoQuota: f.IsTrash(), Date: src.date})
		if err != nil {
			undo()
			return 0, nil, err
		}
		done = append(done, d)
		base, _, _ := maildir.ParseName(d.Name)
		bases = append(bases, base)
		e := index.Entry{Name: d.Name, New: d.Sub == maildir.New, Size: d.Size, Keywords: src.kws}
		if !src.date.IsZero() {
			e.Date = src.date.Unix()
		}
		ents = append(ents, e)
		if len(src.kws) > 0 {
			if err := kw.Set(base, src.kws); err != nil {
				undo()
				return 0, nil, fmt.Errorf("set keywords: %w", err)
			}
		}
	}
	v, uids, err := s.assignUIDs(f, bases, ents)
	if err != nil {
		return 0, nil, err
	}
	out := make([]store.UID, len(uids))
	for i, u := range uids {
		out[i] = store.UID(u)
	}
	return v, out, nil
}

// syncCur fsyncs the folder's cur/ so renames and removals in it are durable.
func (m *mailbox) syncCur() error {
	d, err := os.Open(filepath.Join(m.f.Path(), maildir.Cur))
	if err != nil {
		return fmt.Errorf("maildirstore: fsync cur: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("maildirstore: fsync cur: %w", err)
	}
	return nil
}

// ownOp is one change of an own change, recorded to be applied to the shared index.
type ownOp struct {
	kind   byte // 'n' name, 'k' keywords, 'x' expunge
	uid    uint32
	uids   []uint32
	name   string
	inNew  bool
	kws    []string
	modseq uint64
}

// own runs an own change fn, which makes its changes to the view's index through setName,
// setKeywords and remove, which record them; they are then applied to the folder's shared
// index as well (folderstate.go), so that the other views find them at their next Sync and
// nobody lists the folder for them. fn must record every change it makes to the folder.
func (m *mailbox) own(fn func() error) error {
	m.st.begin()
	m.ops = m.ops[:0]
	err := fn()
	ops := m.ops
	m.ops = nil
	var apply func(ix *index.Index) bool
	if len(ops) > 0 {
		dir := m.f.Path()
		apply = func(ix *index.Index) bool {
			for _, o := range ops {
				switch o.kind {
				case 'n':
					i, ok := ix.Search(o.uid)
					if !ok {
						continue // expunged meanwhile
					}
					sub := maildir.Cur
					if o.inNew {
						sub = maildir.New
					}
					// Renamed again by someone since: the order of the changes is not known.
					if _, err := os.Lstat(filepath.Join(dir, sub, o.name)); err != nil {
						return false
					}
					ix.SetName(i, o.name, o.inNew, o.modseq)
				case 'k':
					if i, ok := ix.Search(o.uid); ok {
						ix.SetKeywords(i, o.kws, o.modseq)
					}
				case 'x':
					var pos []int
					for _, u := range o.uids {
						if i, ok := ix.Search(u); ok {
							pos = append(pos, i)
						}
					}
					ix.Remove(pos, o.modseq)
				}
			}
			return true
		}
	}
	before, after, ok := m.st.end(apply)
	if ok && before == m.gen {
		m.gen = after // the view's copy is the shared index again
	}
	m.s.notifyFolder(m.f.Path())
	return err
}

// notifyFolder signals the views of the folder directory dir after an own change reached
// the shared index: inotify's events for the change's files may have come before it did,
// and a Sync then found nothing yet.
func (s *Store) notifyFolder(dir string) {
	if s.opt.NoWatch || s.opt.Watcher == nil {
		return
	}
	s.opt.Watcher.notify(watchKey(dir))
}

// nextModSeq returns a mod-sequence for an own change (from the shared index: one order for
// every view of the folder).
func (m *mailbox) nextModSeq() uint64 {
	ms := m.st.nextModSeq(m.s.opt.Now(), m.ix.HighestModSeq)
	if ms == 0 {
		return m.ix.NextModSeq(m.s.opt.Now())
	}
	if ms > m.ix.HighestModSeq {
		m.ix.HighestModSeq = ms
	}
	return ms
}

// setName, setKeywords and remove change the view's index in an own change and record it.
func (m *mailbox) setName(i int, name string, inNew bool, modseq uint64) {
	m.ix.SetName(i, name, inNew, modseq)
	m.ops = append(m.ops, ownOp{kind: 'n', uid: m.ix.UID(i), name: name, inNew: inNew, modseq: modseq})
}

func (m *mailbox) setKeywords(i int, kws []string, modseq uint64) {
	m.ix.SetKeywords(i, kws, modseq)
	m.ops = append(m.ops, ownOp{kind: 'k', uid: m.ix.UID(i), kws: kws, modseq: modseq})
}

func (m *mailbox) remove(pos []int, modseq uint64) {
	uids := make([]uint32, len(pos))
	for k, i := range pos {
		uids[k] = m.ix.UID(i)
		delete(m.recent, uids[k])
	}
	m.ix.Remove(pos, modseq)
	m.ops = append(m.ops, ownOp{kind: 'x', uids: uids, modseq: modseq})
}

func (m *mailbox) SetFlags(uids []store.UID, op store.FlagOp, flags store.Flags, kws []string) ([]store.Message, error) {
	if m.closed {
		return nil, store.ErrClosed
	}
	kws = normKeywords(kws)
	var out []store.Message
	err := m.own(func() error {
		modseq := m.nextModSeq()
		kw := m.kwStore()
		renamed := false
		for _, uid := range uids {
			i, ok := m.ix.Search(uint32(uid))
			if !ok {
				continue
			}
			cur := m.file(i)
			old := flagsOf(cur.Flags())
			nf := flags
			switch op {
			case store.Add:
				nf = old | flags
			case store.Remove:
				nf = old &^ flags
			}
			oldK := m.ix.Keywords(i)
			newK := kws
			switch op {
			case store.Add:
				newK = normKeywords(append(slices.Clone(oldK), kws...))
			case store.Remove:
				newK = slices.DeleteFunc(slices.Clone(oldK), func(k string) bool { return slices.Contains(kws, k) })
			}
			if len(newK) == 0 {
				newK = nil
			}
			changed := false
			want := letters(nf, cur.Flags())
			if want != cur.Flags() || cur.Sub != maildir.Cur {
				msg, err := m.locate(i)
				if err != nil {
					continue // expunged by someone else
				}
				want = letters(nf, msg.Flags())
				to, err := m.f.SetFlags(msg, want)
				if errors.Is(err, fs.ErrNotExist) {
					// Renamed or removed by someone else since locate: look once more, and
					// treat it as expunged if it is gone, as above.
					if msg, err = m.locate(i); err != nil {
						continue
					}
					want = letters(nf, msg.Flags())
					to, err = m.f.SetFlags(msg, want)
					if errors.Is(err, fs.ErrNotExist) {
						continue
					}
				}
				if err != nil {
					return classify("store flags in", m.name, err)
				}
				m.setName(i, to.Name, false, modseq)
				renamed, changed = true, true
			}
			if !slices.Equal(oldK, newK) {
				if err := kw.Set(cur.Base(), newK); err != nil {
					return classify("store keywords in", m.name, err)
				}
				m.setKeywords(i, newK, modseq)
				changed = true
			}
			if changed {
				out = append(out, m.message(i))
			}
		}
		if renamed {
			return m.syncCur()
		}
		return nil
	})
	return out, err
}

func (m *mailbox) target(dst store.Mailbox) (*mailbox, error) {
	d, ok := dst.(*mailbox)
	if !ok || d.s.md.Path() != m.s.md.Path() {
		return nil, fmt.Errorf("maildirstore: copy from %s: %w", m.name, store.ErrForeign)
	}
	if d.closed {
		return nil, store.ErrClosed
	}
	return d, nil
}

func (m *mailbox) Copy(uids []store.UID, dst store.Mailbox) ([]store.UID, error) {
	if m.closed {
		return nil, store.ErrClosed
	}
	d, err := m.target(dst)
	if err != nil {
		return nil, err
	}
	var srcs []source
	defer func() {
		for _, s := range srcs {
			s.r.(io.Closer).Close()
		}
	}()
	for _, uid := range uids {
		i, ok := m.ix.Search(uint32(uid))
		if !ok {
			return nil, fmt.Errorf("maildirstore: copy UID %d: %w", uid, store.ErrNoMessage)
		}
		msg, err := m.locate(i)
		if err != nil {
			return nil, fmt.Errorf("maildirstore: copy UID %d: %w", uid, err)
		}
		fh, err := m.f.Open(msg)
		if err != nil {
			return nil, fmt.Errorf("maildirstore: copy UID %d: %w: %w", uid, store.ErrNoMessage, err)
		}
		var date time.Time
		if st, err := fh.Stat(); err == nil {
			date = st.ModTime()
		}
		srcs = append(srcs, source{r: fh, flags: letters(flagsOf(msg.Flags()), msg.Flags()), kws: m.ix.Keywords(i), date: date})
	}
	_, out, err := m.s.appendTo(d.f, srcs)
	if err != nil {
		return nil, classify("copy to", d.name, err)
	}
	return out, nil
}

// Move renames the files into the target folder (same base names, so nothing is copied
// and the quota is unchanged, except into or out of Trash as Maildir++ counts it), moves
// their keywords and assigns their UIDs there. A move into the same folder is a copy and
// an expunge.
func (m *mailbox) Move(uids []store.UID, dst store.Mailbox) ([]store.UID, error) {
	d, err := m.target(dst)
	if err != nil {
		return nil, err
	}
	if m.closed {
		return nil, store.ErrClosed
	}
	if d.f.Path() == m.f.Path() {
		out, err := m.Copy(uids, dst)
		if err != nil {
			return nil, err
		}
		_, err = m.Expunge(uids)
		return out, err
	}
	var pos []int
	for _, uid := range uids {
		i, ok := m.ix.Search(uint32(uid))
		if !ok {
			return nil, fmt.Errorf("maildirstore: move UID %d: %w", uid, store.ErrNoMessage)
		}
		pos = append(pos, i)
	}
	var bases []string
	var moved []int
	err = m.ownRemoving(func() error {
		skw, dkw := m.kwStore(), d.kwStore()
		for _, i := range pos {
			msg, err := m.locate(i)
			if err != nil {
				return fmt.Errorf("maildirstore: move UID %d: %w", m.ix.UID(i), err)
			}
			if kws := m.ix.Keywords(i); len(kws) > 0 {
				if err := dkw.Set(msg.Base(), kws); err != nil {
					return classify("move to", d.name, err)
				}
			}
			if _, err := m.f.MoveTo(msg, d.f); err != nil {
				return classify("move to", d.name, err)
			}
			if len(m.ix.Keywords(i)) > 0 {
				_ = skw.Set(msg.Base(), nil)
			}
			bases = append(bases, msg.Base())
			moved = append(moved, i)
		}
		return nil
	}, &moved)
	if len(moved) > 0 {
		if serr := m.syncCur(); serr != nil && err == nil {
			err = serr
		}
		if serr := d.syncCur(); serr != nil && err == nil {
			err = serr
		}
	}
	if len(bases) == 0 {
		return nil, err
	}
	markTainted(d.f.Path()) // files arrived there that its shared index does not know
	_, nu, aerr := m.s.assignUIDs(d.f, bases, nil)
	if aerr != nil {
		return nil, classify("move to", d.name, aerr)
	}
	out := make([]store.UID, len(nu))
	for i, u := range nu {
		out[i] = store.UID(u)
	}
	return out, err
}

func (m *mailbox) Expunge(uids []store.UID) ([]store.UID, error) {
	if m.closed {
		return nil, store.ErrClosed
	}
	var pos []int
	if uids == nil {
		for i := 0; i < m.ix.Len(); i++ {
			if m.ix.Letters(i)&letterBit(maildir.FlagTrashed) != 0 {
				pos = append(pos, i)
			}
		}
	} else {
		for _, u := range uids {
			if i, ok := m.ix.Search(uint32(u)); ok {
				pos = append(pos, i)
			}
		}
	}
	slices.Sort(pos)
	pos = slices.Compact(pos)
	var gone []store.UID
	var done []int
	err := m.own(func() error {
		kw := m.kwStore()
		var ferr error
		for _, i := range pos {
			msg, err := m.locate(i)
			if err == nil {
				err = m.f.Remove(msg)
			}
			if err != nil && !errors.Is(err, store.ErrNoMessage) && !errors.Is(err, fs.ErrNotExist) {
				ferr = classify("expunge in", m.name, err)
				break
			}
			if len(m.ix.Keywords(i)) > 0 {
				_ = kw.Set(msg.Base(), nil)
			}
			done = append(done, i)
			gone = append(gone, store.UID(m.ix.UID(i)))
		}
		if len(done) > 0 {
			m.remove(done, m.nextModSeq())
			if err := m.syncCur(); err != nil && ferr == nil {
				ferr = err
			}
		}
		return ferr
	})
	return gone, err
}

// ownRemoving is own for a change that takes the messages at the positions *moved (set by fn)
// out of the folder: they are removed from the view in the same own change.
func (m *mailbox) ownRemoving(fn func() error, moved *[]int) error {
	return m.own(func() error {
		err := fn()
		if len(*moved) > 0 {
			m.remove(*moved, m.nextModSeq())
		}
		return err
	})
}

// Sync brings the folder's shared index in step (listing the folder only when someone else
// changed it) and makes the view a new copy of it, reporting the difference.
func (m *mailbox) Sync() (store.Changes, error) {
	var c store.Changes
	if m.closed {
		return c, store.ErrClosed
	}
	m.st.mu.Lock()
	d, err := m.st.current(m.f, m.s.opt.Now())
	if err != nil {
		m.st.mu.Unlock()
		return c, classify("sync", m.name, err)
	}
	if m.st.gen == m.gen {
		m.st.mu.Unlock()
		return c, nil // a listing that found nothing new has no Recent either
	}
	diff := index.Diff(m.ix, m.st.ix)
	m.ix, m.gen = m.st.ix.Clone(), m.st.gen
	m.st.mu.Unlock()
	diff.Recent = d.Recent
	d = diff
	for _, u := range d.Expunged {
		c.Expunged = append(c.Expunged, store.UID(u))
		delete(m.recent, u)
	}
	for _, u := range d.Recent {
		m.recent[u] = true
	}
	for _, u := range d.New {
		if msg, ok := m.Message(store.UID(u)); ok {
			c.New = append(c.New, msg)
		}
	}
	for _, u := range d.Updated {
		if msg, ok := m.Message(store.UID(u)); ok {
			c.Updated = append(c.Updated, msg)
		}
	}
	return c, nil
}

// Close ends the view. The folder's shared index is saved now and then while it has views,
// and when its last view closes.
func (m *mailbox) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.release()
	m.st.saveSoon(&m.s.seq)
	if err := m.st.release(&m.s.seq); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("maildirstore: close %s: %w", m.name, err)
	}
	return nil
}

// MessageKey returns the message's file name without its flags (the base name Courier's SMAP
// shows as a message's UID).
func (m *mailbox) MessageKey(uid store.UID) (string, error) {
	i, err := m.pos(uid)
	if err != nil {
		return "", err
	}
	return m.file(i).Base(), nil
}
