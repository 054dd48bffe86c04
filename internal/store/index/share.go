package index

import (
	"bytes"
	"slices"
)

// Clone returns a copy of ix that shares its contents (copy on write): neither changes
// what the other sees, and each may be used by its own goroutine while the other changes.
// It costs a copy of the Index's header fields; the first change of either afterwards
// copies the records (about 40 bytes a message) and nothing else: names, keyword sets and
// the expunge log are only ever appended to, and lose their spare capacity here so that an
// append reallocates instead of writing where the other may read.
//
// It is what lets the sessions of a process share one index per folder (maildirstore): one
// up-to-date Index, and per session a Clone as of its last Sync.
func (ix *Index) Clone() *Index {
	ix.clip()
	ix.shared = true
	c := *ix
	return &c
}

// clip removes the spare capacity of the appended-to slices and drops kwIdx (a map, changed
// in place: rebuilt on demand).
func (ix *Index) clip() {
	ix.extra = slices.Clip(ix.extra)
	ix.kwSets = slices.Clip(ix.kwSets)
	ix.kwNames = slices.Clip(ix.kwNames)
	ix.Expunges = slices.Clip(ix.Expunges)
	ix.kwIdx = nil
}

// unshare makes ix's records its own before a change, when they may be shared (Clone).
func (ix *Index) unshare() {
	if !ix.shared {
		return
	}
	ix.shared = false
	if !ix.lazy {
		ix.recs = slices.Clone(ix.recs) // lazy ones are decoded into a new slice anyway
	}
	ix.clip()
}

// Diff returns what changed from old (an earlier copy of the folder's index, such as a
// session's view) to ix: the UIDs only ix has (New, in UID order), those only old has
// (Expunged), and those whose file name (flags) or keywords differ (Updated). Messages whose
// mod-sequence alone differs are not Updated. A different UIDVALIDITY expunges every old UID
// (Reset). It reads no file.
func Diff(old, ix *Index) *Delta {
	d := &Delta{}
	if old.UIDValidity != ix.UIDValidity {
		d.Reset = old.UIDValidity != 0
		for i := 0; i < old.Len(); i++ {
			d.Expunged = append(d.Expunged, old.UID(i))
		}
		for i := 0; i < ix.Len(); i++ {
			d.New = append(d.New, ix.UID(i))
		}
		return d
	}
	i, j, n, m := 0, 0, old.Len(), ix.Len()
	for i < n || j < m {
		switch {
		case j == m || (i < n && old.UID(i) < ix.UID(j)):
			d.Expunged = append(d.Expunged, old.UID(i))
			i++
		case i == n || ix.UID(j) < old.UID(i):
			d.New = append(d.New, ix.UID(j))
			j++
		default:
			a, b := old.at(i), ix.at(j)
			if a.modseq != b.modseq || a.kw != b.kw || a.bits&bitNew != b.bits&bitNew ||
				!bytes.Equal(old.nameBytes(&a), ix.nameBytes(&b)) {
				// a differing mod-sequence is only a hint: report only what a client sees
				if !bytes.Equal(old.nameBytes(&a), ix.nameBytes(&b)) ||
					!slices.Equal(old.keywordSet(a.kw), ix.keywordSet(b.kw)) {
					d.Updated = append(d.Updated, a.uid)
				}
			}
			i++
			j++
		}
	}
	return d
}
