package smap

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"courier/internal/store"
)

// cmdOpen is OPEN path and SOPEN snapshot path. SOPEN turns snapshots on and, when the
// named snapshot can be restored, answers with the changes since it (snapshot.go).
func (s *session) cmdOpen(verb string, w *words) {
	s.closeFolder()
	sopen := verb == "SOPEN"
	var id string
	if sopen {
		id = w.next()
	}
	p, err := w.path()
	if err != nil {
		s.writes("-ERR Invalid folder: " + errText(err) + "\n")
		return
	}
	if p[0] == publicRoot {
		s.accessDenied("r")
		return
	}
	name, err := imapName(p)
	if err != nil {
		s.writes("-ERR Invalid folder: " + errText(err) + "\n")
		return
	}
	r, err := s.rightsOf(name)
	if err != nil {
		s.writes("-ERR Unable to read existing ACLS: " + errText(err) + "\n")
		return
	}
	if !strings.Contains(r, "r") {
		s.accessDenied("r")
		return
	}
	mb, err := s.st.Open(name)
	if err != nil {
		s.writes("-ERR Cannot open the folder: " + errText(err) + "\n")
		return
	}
	s.mb, s.mbName, s.rights = mb, name, r
	if entries, ok := s.initSnapshots(name, sopen, id); ok && s.restoreSnapshot(entries) {
		s.writes("+OK Folder updated\n")
		return
	}
	// Not restored: the client starts from the folder as it is, as after OPEN.
	s.snap.cur, s.snap.prev = "", ""
	s.msgs = mb.Messages()
	s.writes("* EXISTS " + strconv.Itoa(len(s.msgs)) + "\n+OK Folder opened\n")
}

// closeFolder releases the open folder, if any.
func (s *session) closeFolder() {
	if s.mb == nil {
		return
	}
	if err := s.mb.Close(); err != nil {
		s.log.Warn("smap: close folder", "folder", s.mbName, "err", err)
	}
	s.mb, s.mbName, s.msgs, s.rights = nil, "", nil, ""
	s.snap = snapshots{}
}

// noop brings the view up to date and reports what changed: EXPUNGE, EXISTS, then the new
// flags of changed messages, as Courier's doNoop does in SMAP mode. It returns whether
// anything changed.
func (s *session) noop() bool {
	if s.mb == nil {
		return false
	}
	ch, err := s.mb.Sync()
	if err != nil {
		s.log.Warn("smap: sync", "folder", s.mbName, "err", err)
		return false
	}
	s.reportExpunged(ch.Expunged)
	fresh := make(map[store.UID]bool, len(ch.New))
	for _, m := range ch.New {
		fresh[m.UID] = true
	}
	if len(ch.New) > 0 {
		s.msgs = append(s.msgs, ch.New...)
		s.writes("* EXISTS " + strconv.Itoa(len(s.msgs)) + "\n")
	}
	for _, m := range ch.Updated {
		if n := s.seq(m.UID); n > 0 {
			s.msgs[n-1] = m
			if !fresh[m.UID] {
				s.attrs(n, fetchFlags)
			}
		}
	}
	if ch.Empty() {
		return false
	}
	s.snap.dirty = true // the next quiet NOOP saves a snapshot of the new state
	return true
}

// seq returns the message number of uid in the client's view, 0 when absent.
func (s *session) seq(uid store.UID) int {
	lo, hi := 0, len(s.msgs)
	for lo < hi {
		mid := (lo + hi) / 2
		if s.msgs[mid].UID < uid {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(s.msgs) && s.msgs[lo].UID == uid {
		return lo + 1
	}
	return 0
}

// expungeBatch is how many removals Courier reports on one "* EXPUNGE" line; the numbers of
// a later line count after the removals of the earlier ones.
const expungeBatch = 101

// reportExpunged removes the given UIDs from the client's view and reports them as
// "* EXPUNGE" lines of ranges.
func (s *session) reportExpunged(uids []store.UID) {
	gone := make(map[store.UID]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	var nums []int
	for i, m := range s.msgs {
		if gone[m.UID] {
			nums = append(nums, i+1)
		}
	}
	if len(nums) == 0 {
		return
	}
	removed := 0
	for start := 0; start < len(nums); start += expungeBatch {
		batch := nums[start:min(start+expungeBatch, len(nums))]
		var b strings.Builder
		b.WriteString("* EXPUNGE")
		for i := 0; i < len(batch); {
			j := i
			for j+1 < len(batch) && batch[j+1] == batch[j]+1 {
				j++
			}
			b.WriteString(" " + strconv.Itoa(batch[i]-removed))
			if j > i {
				b.WriteString("-" + strconv.Itoa(batch[j]-removed))
			}
			i = j + 1
		}
		b.WriteString("\n")
		s.writes(b.String())
		removed += len(batch)
	}
	kept := s.msgs[:0]
	for _, m := range s.msgs {
		if !gone[m.UID] {
			kept = append(kept, m)
		}
	}
	s.msgs = kept
}

// cmdIdle is IDLE: "+OK" then wait for RESUME. With IMAP_ENHANCEDIDLE changes are reported
// as they happen; otherwise the folder is checked every IMAP_IDLE_TIMEOUT seconds (60).
func (s *session) cmdIdle() error {
	enhanced := s.cfg.Env["IMAP_ENHANCEDIDLE"] != "" && s.cfg.Env["IMAP_ENHANCEDIDLE"] != "0"
	if enhanced {
		s.writes("+OK Entering ENHANCED idle mode\n")
	} else {
		s.writes("+OK Entering idle mode...\n")
	}
	if err := s.flush(); err != nil {
		return err
	}
	type lineOrErr struct {
		line string
		err  error
	}
	lines := make(chan lineOrErr, 1)
	go func() {
		l, err := s.readLine()
		lines <- lineOrErr{l, err}
	}()
	interval := 60 * time.Second
	if v, err := strconv.Atoi(s.cfg.Env["IMAP_IDLE_TIMEOUT"]); err == nil && v > 0 {
		interval = time.Duration(v) * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var updates <-chan struct{}
	if s.mb != nil && enhanced {
		updates = s.mb.Updates()
	}
	for {
		select {
		case l := <-lines:
			if l.err != nil {
				if errors.Is(l.err, io.EOF) {
					return io.EOF
				}
				return l.err
			}
			w := &words{s: l.line}
			if upper(w.next()) != "RESUME" {
				s.writes("-ERR RESUME is required to follow IDLE\n")
			} else {
				s.writes("+OK Resumed...\n")
			}
			return nil
		case <-updates:
			s.noop()
		case <-tick.C:
			if s.mb != nil {
				s.noop()
			}
		case <-s.ctx.Done():
			return io.EOF
		}
		if err := s.flush(); err != nil {
			return err
		}
	}
}

// cmdExpunge is EXPUNGE [set]: without a set the messages flagged DELETED go, with one the
// messages of the set go whatever their flags.
func (s *session) cmdExpunge(w *words) {
	set, _, err := parseMsgSet(w)
	if err != nil {
		s.writes("-ERR Syntax error.\n")
		return
	}
	if !strings.Contains(s.rights, "e") {
		s.accessDenied("e")
		return
	}
	var uids []store.UID
	if set != nil {
		if !strings.Contains(s.rights, "t") {
			s.accessDenied("t")
			return
		}
		set.each(len(s.msgs), func(n int) bool {
			uids = append(uids, s.msgs[n-1].UID)
			return true
		})
		if len(uids) == 0 {
			s.noop()
			s.writes("+OK Folder updated\n")
			return
		}
	}
	gone, err := s.mb.Expunge(uids)
	if err != nil {
		s.log.Warn("smap: expunge", "folder", s.mbName, "err", err)
	}
	s.reportExpunged(gone)
	s.noop()
	s.writes("+OK Folder updated\n")
}
