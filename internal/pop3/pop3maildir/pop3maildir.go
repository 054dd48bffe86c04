// Package pop3maildir is the POP3 maildrop over a Maildir, kept exactly as Courier's pop3d
// keeps it, so that a client sees the same message numbers and UIDLs from either server and
// a mailbox moves between them with nothing converted:
//
//   - On open, every message in new/ moves to cur/ with an empty ":2," info.
//   - The messages are the files of cur/, ordered by the number their name starts with
//     (the delivery time), then by name.
//   - courierpop3dsizelist caches each message's POP3 size (every LF counted as CRLF), its
//     UID and whether its header needs UTF-8, keyed by the file's base name (its name up to
//     ':'), so a flag change keeps the UID. Line 1 is "/3 NEXTUID UIDVALIDITY"; each other
//     line "NAME SIZE UID:UIDVALIDITY:UTF8". A message not in the list gets NEXTUID, in
//     order. The UIDL is "UID<uid>-<uidvalidity>". A missing or unreadable list starts
//     afresh (UIDVALIDITY = now); the older "/2" form is read and rewritten as "/3".
//   - The list is rewritten, at open only, when the maildrop holds messages and a UID was
//     assigned, a listed message is gone, or the list was in the old form; a flag change
//     alone does not rewrite it. Deletions at QUIT do not rewrite it either (the next
//     session drops them).
//   - RETR renames the message with the S flag at once; TOP changes nothing. QUIT removes
//     the deleted files (and records it in maildirsize).
//
// Where Courier works from the name it listed and fails when another program renamed the
// file meanwhile (a flag change by an IMAP client), this package looks the message up by its
// base name again.
//
// Concurrency: Courier's pop3d takes no lock. Two of our sessions opening the same Maildir
// at once serialise their read-modify-write of courierpop3dsizelist with the folder's UID
// lock (maildir.Folder.LockUIDs), so they never hand out one UID twice.
package pop3maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"courier/internal/pop3"
	"courier/internal/store/maildir"
)

// Options tune Open.
type Options struct {
	// Now is the clock for a new UIDVALIDITY; nil means time.Now.
	Now func() time.Time
}

// entry is one message of the session.
type entry struct {
	name  string // current file name in cur/
	base  string
	size  int64
	uid   uint64
	uidv  uint64
	utf8  bool
	isNew bool // not in courierpop3dsizelist: gets the next UID
}

// Maildrop is an open POP3 view of a Maildir's INBOX. It implements pop3.Maildrop.
type Maildrop struct {
	path   string
	folder *maildir.Folder
	msgs   []entry

	// Read-ahead (Prefetch): a worker goroutine, started on the first hint, reads hinted
	// messages into memory; Open takes a prefetched copy when there is one. Only the
	// session goroutine touches ahead and queue; the worker only sees what is sent to it.
	ahead map[int]chan prefetched
	queue chan prefetchJob
	done  chan struct{}
}

// maxPrefetch bounds the size of a message read ahead; larger ones are read when asked for.
const maxPrefetch = 1 << 20

type prefetchJob struct {
	path string
	size int64
	out  chan prefetched
}

type prefetched struct {
	data []byte
	err  error
}

// Opener returns a pop3.Opener over Open.
func Opener(opt *Options) pop3.Opener {
	return pop3.OpenerFunc(func(ctx context.Context, path string) (pop3.Maildrop, error) {
		return Open(ctx, path, opt)
	})
}

// Open opens the Maildir at path for one POP3 session.
func Open(ctx context.Context, path string, opt *Options) (*Maildrop, error) {
	now := time.Now
	if opt != nil && opt.Now != nil {
		now = opt.Now
	}
	md, err := maildir.Open(path, &maildir.Options{Now: now})
	if err != nil {
		return nil, fmt.Errorf("pop3 maildrop: %w", err)
	}
	d := &Maildrop{path: path, folder: md.Inbox()}
	// The folder's UID lock (imapuid.lock) serialises our read-modify-write of
	// courierpop3dsizelist between sessions, as it does courierimapuiddb's. (The maildir
	// directory itself is flocked by the quota accounting; taking it here too could deadlock
	// with a quota change made while it is held.)
	unlock, err := d.folder.LockUIDs()
	if err != nil {
		return nil, fmt.Errorf("pop3 maildrop: lock: %w", err)
	}
	defer unlock()
	if _, err := d.folder.AcceptNew(); err != nil {
		return nil, fmt.Errorf("pop3 maildrop: %w", err)
	}
	all, err := d.folder.List()
	if err != nil {
		return nil, fmt.Errorf("pop3 maildrop: %w", err)
	}
	for _, m := range all {
		if m.Sub == maildir.Cur {
			d.msgs = append(d.msgs, entry{name: m.Name, base: m.Base()})
		}
	}
	sortMessages(d.msgs)

	list, listErr := readSizeList(path)
	if listErr != nil {
		list = &sizeList{version: 3, nextUID: 1, uidValidity: uint64(now().Unix())}
	}
	known := make(map[string]*sizeEntry, len(list.entries))
	for i := range list.entries {
		known[list.entries[i].base] = &list.entries[i]
	}
	seen := 0
	var fresh []int
	for i := range d.msgs {
		e := &d.msgs[i]
		if k, ok := known[e.base]; ok && !k.used {
			k.used = true
			seen++
			e.size, e.uid, e.uidv, e.utf8 = k.size, k.uid, k.uidv, k.utf8
			continue
		}
		e.isNew = true
		fresh = append(fresh, i)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	gone := d.measure(fresh)
	if len(gone) > 0 {
		d.msgs = dropIndexes(d.msgs, gone)
		fresh = fresh[:0]
		for i := range d.msgs {
			if d.msgs[i].isNew {
				fresh = append(fresh, i)
			}
		}
	}
	for _, i := range fresh {
		d.msgs[i].uid, d.msgs[i].uidv = list.nextUID, list.uidValidity
		list.nextUID++
	}
	changed := len(fresh) > 0 || seen < len(list.entries) || list.version != 3
	if len(d.msgs) > 0 && changed {
		out := &maildir.POP3SizeList{NextUID: list.nextUID, UIDValidity: list.uidValidity}
		for _, e := range d.msgs {
			out.Entries = append(out.Entries, maildir.POP3Entry{Name: e.name, Size: e.size, UID: e.uid,
				UIDValidity: e.uidv, UTF8: e.utf8})
		}
		if err := maildir.WritePOP3SizeList(path, out, now()); err != nil {
			return nil, fmt.Errorf("pop3 maildrop: %w", err)
		}
	}
	return d, nil
}

// leadingNumber is the value of the decimal digits a name starts with (0 for none).
func leadingNumber(s string) uint64 {
	var v uint64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	return v
}

// sortMessages orders messages as Courier's pop3d numbers them: by the number their name
// starts with, then by name.
func sortMessages(m []entry) {
	keys := make(map[string]uint64, len(m))
	for _, e := range m {
		keys[e.base] = leadingNumber(e.base)
	}
	sort.Slice(m, func(i, j int) bool {
		a, b := keys[m[i].base], keys[m[j].base]
		if a != b {
			return a < b
		}
		return m[i].name < m[j].name
	})
}

// measure computes the POP3 size and the UTF-8 need of the messages at idx, several files
// at a time, and returns the indexes of those that vanished meanwhile.
func (d *Maildrop) measure(idx []int) []int {
	if len(idx) == 0 {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), 8, len(idx))
	var (
		mu   sync.Mutex
		gone []int
		wg   sync.WaitGroup
		next = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for i := range next {
				e := &d.msgs[i]
				size, utf8, err := measureFile(filepath.Join(d.path, maildir.Cur, e.name), buf)
				if err != nil {
					mu.Lock()
					gone = append(gone, i)
					mu.Unlock()
					continue
				}
				e.size, e.utf8 = size, utf8
			}
		}()
	}
	for _, i := range idx {
		next <- i
	}
	close(next)
	wg.Wait()
	sort.Ints(gone)
	return gone
}

// measureFile returns a message's size with every LF counted as CRLF, and whether its
// header (up to the first empty line) holds 8-bit bytes (RFC 6856: the message needs UTF8).
func measureFile(path string, buf []byte) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	var (
		size      int64
		inHeader  = true
		lineStart = true
		utf8      bool
	)
	for {
		n, err := f.Read(buf)
		p := buf[:n]
		size += int64(n)
		if inHeader {
			for i, c := range p {
				if c == '\n' {
					size++
					if lineStart {
						inHeader = false
						size += int64(bytes.Count(p[i+1:], []byte{'\n'}))
						break
					}
					lineStart = true
					continue
				}
				lineStart = false
				if c >= 0x80 {
					utf8 = true
				}
			}
		} else {
			size += int64(bytes.Count(p, []byte{'\n'}))
		}
		if err == io.EOF {
			return size, utf8, nil
		}
		if err != nil {
			return 0, false, err
		}
	}
}

// dropIndexes removes the entries at the sorted indexes idx.
func dropIndexes(m []entry, idx []int) []entry {
	out := m[:0]
	j := 0
	for i, e := range m {
		if j < len(idx) && idx[j] == i {
			j++
			continue
		}
		out = append(out, e)
	}
	return out
}

// Messages implements pop3.Maildrop.
func (d *Maildrop) Messages() []pop3.Message {
	out := make([]pop3.Message, len(d.msgs))
	for i, e := range d.msgs {
		out[i] = pop3.Message{UID: "UID" + strconv.FormatUint(e.uid, 10) + "-" + strconv.FormatUint(e.uidv, 10),
			Size: e.size, UTF8: e.utf8}
	}
	return out
}

// find looks message i up again by its base name after another program renamed it.
func (d *Maildrop) find(i int) error {
	m, err := d.folder.Find(d.msgs[i].base)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", d.msgs[i].base, pop3.ErrGone)
	}
	if err != nil {
		return err
	}
	if m.Sub != maildir.Cur {
		// Moved back to new/ by someone: take it to cur/ as on open.
		if m, err = d.folder.SetFlags(m, m.Flags()); err != nil {
			return err
		}
	}
	d.msgs[i].name = m.Name
	return nil
}

// relocate looks message i up again after its name was found stale. Another program (or
// the S-flag renames of a session that just ended) usually renamed many messages at once,
// so one listing of cur/ brings every entry up to date rather than one listing each. A
// message no longer in cur/ (or back in new/) is looked up as find does.
func (d *Maildrop) relocate(i int) error {
	if _, err := os.Lstat(filepath.Join(d.path, maildir.New, d.msgs[i].base)); err == nil {
		return d.find(i)
	}
	dir, err := os.Open(filepath.Join(d.path, maildir.Cur))
	if err != nil {
		return d.find(i)
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return d.find(i)
	}
	byBase := make(map[string]string, len(names))
	for _, n := range names {
		if b, _, _ := maildir.ParseName(n); b != "" {
			if _, dup := byBase[b]; !dup { // the first, as Folder.Find takes it
				byBase[b] = n
			}
		}
	}
	for j := range d.msgs {
		if n, ok := byBase[d.msgs[j].base]; ok {
			d.msgs[j].name = n
		}
	}
	if _, ok := byBase[d.msgs[i].base]; !ok {
		return d.find(i)
	}
	return nil
}

// Prefetch implements pop3.Prefetcher: message i is read into memory in the background.
func (d *Maildrop) Prefetch(i int) {
	if i < 0 || i >= len(d.msgs) || d.msgs[i].size > maxPrefetch {
		return
	}
	if _, ok := d.ahead[i]; ok {
		return
	}
	if d.queue == nil {
		d.ahead = map[int]chan prefetched{}
		d.queue = make(chan prefetchJob, 16)
		d.done = make(chan struct{})
		go prefetchWorker(d.queue, d.done)
	}
	job := prefetchJob{path: filepath.Join(d.path, maildir.Cur, d.msgs[i].name), size: d.msgs[i].size,
		out: make(chan prefetched, 1)}
	select {
	case d.queue <- job:
		d.ahead[i] = job.out
	default: // the worker is behind; the message is read when asked for
	}
}

// prefetchWorker reads the files it is sent until queue is closed.
func prefetchWorker(queue <-chan prefetchJob, done chan<- struct{}) {
	defer close(done)
	for job := range queue {
		data, err := readAhead(job.path, job.size)
		job.out <- prefetched{data: data, err: err}
	}
}

// aheadBufs recycles the buffers of messages read ahead (*[]byte): a download reads every
// message once, so a buffer is handed back (memMessage.Close) as soon as it was sent.
var aheadBufs sync.Pool

// readAhead reads the file at path, whose POP3 size (at least its size on disk) is size,
// into a buffer from aheadBufs, with one read for a file that did not grow.
func readAhead(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf []byte
	if bp, ok := aheadBufs.Get().(*[]byte); ok && int64(cap(*bp)) > size {
		buf = (*bp)[:0]
	} else {
		buf = make([]byte, 0, max(size+1, 64<<10))
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) > maxPrefetch*2 {
				return nil, errors.New("grew while read ahead")
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(buf) > maxPrefetch*2 {
		return nil, errors.New("grew while read ahead")
	}
	return buf, nil
}

// memMessage is a message read ahead. Bytes lets pop3 send it without copying it first;
// Close recycles its buffer, which must not be used after.
type memMessage struct {
	bytes.Reader
	data []byte
}

func (m *memMessage) Bytes() []byte { return m.data }

func (m *memMessage) Close() error {
	if m.data != nil {
		b := m.data[:0]
		m.data = nil
		m.Reader.Reset(nil)
		aheadBufs.Put(&b)
	}
	return nil
}

// Open implements pop3.Maildrop.
func (d *Maildrop) Open(i int) (io.ReadCloser, error) {
	if ch, ok := d.ahead[i]; ok {
		delete(d.ahead, i)
		if p := <-ch; p.err == nil {
			m := &memMessage{data: p.data}
			m.Reader.Reset(p.data)
			return m, nil
		}
	}
	f, err := os.Open(filepath.Join(d.path, maildir.Cur, d.msgs[i].name))
	if errors.Is(err, fs.ErrNotExist) {
		if err = d.relocate(i); err != nil {
			return nil, err
		}
		f, err = os.Open(filepath.Join(d.path, maildir.Cur, d.msgs[i].name))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", d.msgs[i].base, pop3.ErrGone)
	}
	if err != nil {
		return nil, fmt.Errorf("pop3 maildrop: %w", err)
	}
	return f, nil
}

// Seen implements pop3.Maildrop: the message gets the S flag.
func (d *Maildrop) Seen(i int) error {
	e := &d.msgs[i]
	msg := maildir.Message{Sub: maildir.Cur, Name: e.name}
	if msg.Has(maildir.FlagSeen) {
		return nil
	}
	m, err := d.folder.ChangeFlags(msg, "S", "")
	if errors.Is(err, fs.ErrNotExist) {
		if err = d.relocate(i); err != nil {
			return err
		}
		msg = maildir.Message{Sub: maildir.Cur, Name: e.name}
		if msg.Has(maildir.FlagSeen) {
			return nil
		}
		m, err = d.folder.ChangeFlags(msg, "S", "")
	}
	if err != nil {
		return fmt.Errorf("pop3 maildrop: %w", err)
	}
	e.name = m.Name
	return nil
}

// LockRenames takes the lock Open takes while it lists the Maildir, so that the renames a
// session makes at its end (the S flags) never overlap another session's listing: a
// directory read while entries are renamed in it may miss them, and a client logging in
// right after the last QUIT would see fewer messages.
func (d *Maildrop) LockRenames() (unlock func(), err error) {
	unlock, err = d.folder.LockUIDs()
	if err != nil {
		return nil, fmt.Errorf("pop3 maildrop: lock: %w", err)
	}
	return unlock, nil
}

// Delete implements pop3.Maildrop.
func (d *Maildrop) Delete(idx []int) (int, error) {
	n := 0
	var errs []error
	for _, i := range idx {
		err := d.folder.Remove(maildir.Message{Sub: maildir.Cur, Name: d.msgs[i].name})
		if errors.Is(err, fs.ErrNotExist) {
			if ferr := d.relocate(i); ferr != nil {
				if !errors.Is(ferr, pop3.ErrGone) {
					errs = append(errs, ferr)
				}
				continue
			}
			err = d.folder.Remove(maildir.Message{Sub: maildir.Cur, Name: d.msgs[i].name})
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("pop3 maildrop: delete: %w", errors.Join(errs...))
	}
	return n, nil
}

// Close implements pop3.Maildrop: it stops the read-ahead worker.
func (d *Maildrop) Close() error {
	if d.queue != nil {
		close(d.queue)
		<-d.done
		d.queue, d.ahead = nil, nil
	}
	return nil
}

// sizeList is courierpop3dsizelist as read.
type sizeList struct {
	version     int
	nextUID     uint64
	uidValidity uint64
	entries     []sizeEntry
}

type sizeEntry struct {
	base string
	size int64
	uid  uint64
	uidv uint64
	utf8 bool
	used bool
}

// readSizeList reads courierpop3dsizelist in the "/3" or the older "/2" form (whose lines
// lack the UTF8 field). Anything else is an error, and the caller starts afresh.
func readSizeList(dir string) (*sizeList, error) {
	f, err := os.Open(filepath.Join(dir, maildir.POP3SizeListFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	if !sc.Scan() {
		return nil, maildir.ErrCorruptSizeList
	}
	head := strings.Fields(sc.Text())
	if len(head) != 3 || (head[0] != "/3" && head[0] != "/2") {
		return nil, maildir.ErrCorruptSizeList
	}
	l := &sizeList{version: int(head[0][1] - '0')}
	var err1, err2 error
	l.nextUID, err1 = strconv.ParseUint(head[1], 10, 64)
	l.uidValidity, err2 = strconv.ParseUint(head[2], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, maildir.ErrCorruptSizeList
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, maildir.ErrCorruptSizeList
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		parts := strings.Split(f[2], ":")
		want := 3
		if l.version == 2 {
			want = 2
		}
		if err != nil || size < 0 || len(parts) != want {
			return nil, maildir.ErrCorruptSizeList
		}
		e := sizeEntry{size: size}
		e.base, _, _ = maildir.ParseName(f[0])
		e.uid, err1 = strconv.ParseUint(parts[0], 10, 64)
		e.uidv, err2 = strconv.ParseUint(parts[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, maildir.ErrCorruptSizeList
		}
		if want == 3 {
			e.utf8 = parts[2] == "1"
		}
		l.entries = append(l.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return l, nil
}
