package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"courier/internal/store/keywords"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

// ReadStamps returns the current stamps of the folder directory dir.
func ReadStamps(dir string) Stamps {
	var s Stamps
	mt := func(p string) (int64, int64) {
		st, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			return 0, 0
		}
		return st.ModTime().UnixNano(), st.Size()
	}
	s.New, _ = mt(maildir.New)
	s.Cur, _ = mt(maildir.Cur)
	s.UIDDB, s.UIDDBSize = mt(maildir.UIDDBFile)
	s.Keywords, _ = mt(keywords.DirName)
	return s
}

// Delta is what Refresh found changed, by UID.
type Delta struct {
	New      []uint32 // added, in UID order
	Recent   []uint32 // those of New this Refresh moved from new/ to cur/
	Updated  []uint32 // file name (flags) or keywords changed
	Expunged []uint32 // removed
	Reset    bool     // UIDVALIDITY changed: every old UID is in Expunged
}

// Fresh reports whether the index's stamps match the folder, so Refresh would do nothing.
func (ix *Index) Fresh(dir string) bool {
	return ix.UIDValidity != 0 && ReadStamps(dir) == ix.Stamps
}

// Refresh brings the index in step with the folder when its stamps differ from the
// folder's (always with force): it runs Folder.Sync (which accepts new/, assigns UIDs in
// courierimapuiddb under the UID lock and drops vanished messages), merges the result by
// UID, rereads keywords when they may have changed, and gives every change one new
// mod-sequence. A message missing from a listing during which the directories kept
// changing is kept until a later Refresh confirms it gone.
func (ix *Index) Refresh(f *maildir.Folder, force bool, now time.Time) (*Delta, error) {
	dir := f.Path()
	if !force && ix.Fresh(dir) {
		return &Delta{}, nil
	}
	ix.decode()
	var pre Stamps
	snap, err := f.Sync(&maildir.SyncOptions{BeforeList: func() { pre = ReadStamps(dir) }})
	if err != nil {
		return nil, fmt.Errorf("index: refresh %s: %w", dir, err)
	}
	if snap.Wrote {
		post := ReadStamps(dir)
		pre.UIDDB, pre.UIDDBSize = post.UIDDB, post.UIDDBSize
	}
	d := &Delta{}
	if ix.UIDValidity != snap.UIDValidity {
		if ix.UIDValidity != 0 {
			d.Reset = true
			for i := range ix.recs {
				d.Expunged = append(d.Expunged, ix.recs[i].uid)
			}
		}
		ix.Reset(snap.UIDValidity)
	}
	var modseq uint64
	ms := func() uint64 {
		if modseq == 0 {
			modseq = ix.NextModSeq(now)
		}
		return modseq
	}
	recent := make(map[string]bool, len(snap.Recent))
	for _, b := range snap.Recent {
		recent[b] = true
	}
	out := make([]rec, 0, len(snap.Messages))
	if len(ix.recs) == 0 {
		// a rebuild: every name is added; make room once
		total := 0
		for k := range snap.Messages {
			total += len(snap.Messages[k].Name)
		}
		ix.extra = slices.Grow(ix.extra, total)
		d.New = make([]uint32, 0, len(snap.Messages))
	}
	var expunged []uint32
	i, j := 0, 0
	for i < len(ix.recs) || j < len(snap.Messages) {
		switch {
		case j == len(snap.Messages) || (i < len(ix.recs) && ix.recs[i].uid < snap.Messages[j].UID):
			if snap.Complete {
				expunged = append(expunged, ix.recs[i].uid)
				d.Expunged = append(d.Expunged, ix.recs[i].uid)
			} else {
				out = append(out, ix.recs[i])
			}
			i++
		case i == len(ix.recs) || snap.Messages[j].UID < ix.recs[i].uid:
			m := snap.Messages[j]
			e := Entry{UID: m.UID, Name: m.Name, New: m.Sub == maildir.New, ModSeq: ms()}
			e.Size, _ = quota.MessageSize(m.Base())
			if e.Size < 0 {
				if st, err := os.Stat(filepath.Join(dir, m.Sub, m.Name)); err == nil {
					e.Size = st.Size()
				}
			}
			out = append(out, ix.encode(e))
			d.New = append(d.New, m.UID)
			if len(recent) > 0 && recent[m.Base()] {
				d.Recent = append(d.Recent, m.UID)
			}
			j++
		default:
			r := ix.recs[i]
			m := snap.Messages[j]
			old := ix.nameBytes(&r)
			if string(old) != m.Name || (r.bits&bitNew != 0) != (m.Sub == maildir.New) {
				ob, _, _ := strings.Cut(string(old), ":")
				if ob != m.Base() {
					// the index disagrees with courierimapuiddb: trust the latter
					r = ix.encode(Entry{UID: m.UID, Name: m.Name, Size: -1})
					if s, _ := quota.MessageSize(m.Base()); s >= 0 {
						r.size = uint32(s)
					}
				} else {
					ix.setName(&r, m.Name, m.Sub == maildir.New)
				}
				r.modseq = ms()
				d.Updated = append(d.Updated, m.UID)
			}
			out = append(out, r)
			i++
			j++
		}
	}
	ix.recs = out
	if len(expunged) > 0 {
		ix.logExpunges(expunged, ms())
	}
	if snap.NextUID > ix.NextUID {
		ix.NextUID = snap.NextUID
	}
	if pre.Keywords != ix.Stamps.Keywords || len(d.New) > 0 || force {
		upd, err := ix.refreshKeywords(dir, ms)
		if err != nil {
			return nil, err
		}
		d.Updated = mergeUIDs(d.Updated, upd)
		pre.Keywords = ReadStamps(dir).Keywords
	}
	if !snap.Complete {
		pre = Stamps{} // not known to be in step: look again next time
	}
	ix.Stamps = pre
	return d, nil
}

// refreshKeywords rereads courierimapkeywords and updates the messages whose keywords
// changed, returning their UIDs.
func (ix *Index) refreshKeywords(dir string, ms func() uint64) ([]uint32, error) {
	var bases map[string]int
	pos := func(b string) (int, bool) {
		if bases == nil {
			bases = make(map[string]int, len(ix.recs))
			for i := range ix.recs {
				nb := ix.nameBytes(&ix.recs[i])
				if k := strings.IndexByte(string(nb), ':'); k >= 0 {
					nb = nb[:k]
				}
				bases[string(nb)] = i
			}
		}
		i, ok := bases[b]
		return i, ok
	}
	ents, err := keywords.Open(dir, keywords.Options{}).ReadAll(func(b string) bool { _, ok := pos(b); return ok })
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("index: keywords of %s: %w", dir, err)
	}
	want := make(map[int][]string, len(ents))
	for _, e := range ents {
		if i, ok := pos(e.Base); ok {
			want[i] = e.Keywords
		}
	}
	var upd []uint32
	for i := range ix.recs {
		r := &ix.recs[i]
		k := want[i]
		if len(k) == 0 && r.kw == 0 {
			continue
		}
		if slices.Equal(ix.kwSets[r.kw], k) {
			continue
		}
		r.kw = ix.kwSet(k)
		r.modseq = ms()
		upd = append(upd, r.uid)
	}
	return upd, nil
}

// setName points r at a new file name.
func (ix *Index) setName(r *rec, name string, inNew bool) {
	r.nameOff, r.nameLen = uint32(len(ix.extra)), uint16(len(name))
	r.bits = bitExtra | letterBits(name)
	if inNew {
		r.bits |= bitNew
	}
	ix.extra = append(ix.extra, name...)
}

// SetName records that the i-th message's file is now name (in cur/ unless inNew) with
// mod-sequence modseq.
func (ix *Index) SetName(i int, name string, inNew bool, modseq uint64) {
	ix.decode()
	ix.setName(&ix.recs[i], name, inNew)
	ix.recs[i].modseq = modseq
}

// SetKeywords gives the i-th message the keywords kws (sorted) with mod-sequence modseq.
func (ix *Index) SetKeywords(i int, kws []string, modseq uint64) {
	ix.decode()
	ix.recs[i].kw = ix.kwSet(kws)
	ix.recs[i].modseq = modseq
}

// mergeUIDs returns the sorted union of two sorted UID lists.
func mergeUIDs(a, b []uint32) []uint32 {
	if len(b) == 0 {
		return a
	}
	out := append(a, b...)
	slices.Sort(out)
	return slices.Compact(out)
}
