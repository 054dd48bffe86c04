package index

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func sample(lazy bool) *Index {
	ix := New()
	ix.Reset(77)
	ms := ix.NextModSeq(time.Unix(1, 0))
	for u := uint32(1); u <= 20; u++ {
		ix.Insert(Entry{UID: u, Name: fmt.Sprintf("m%d,S=3:2,", u), Size: 3, ModSeq: ms})
	}
	if !lazy {
		return ix
	}
	d, err := Decode(ix.Encode())
	if err != nil {
		panic(err)
	}
	return d
}

// TestCloneIsolated: an Index and its Clones change independently (copy on write), lazy
// (as loaded) or decoded, while other goroutines read the others (run with -race).
func TestCloneIsolated(t *testing.T) {
	for _, lazy := range []bool{true, false} {
		t.Run(fmt.Sprint("lazy=", lazy), func(t *testing.T) {
			master := sample(lazy)
			c1 := master.Clone()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // a view reads its copy while the master changes
				defer wg.Done()
				for k := 0; k < 200; k++ {
					for i := 0; i < c1.Len(); i++ {
						_ = c1.Name(i)
						_ = c1.Keywords(i)
					}
				}
			}()
			ms := master.NextModSeq(time.Unix(2, 0))
			master.SetName(0, "m1,S=3:2,S", false, ms)
			master.SetKeywords(1, []string{"$X"}, ms)
			master.Remove([]int{2}, ms)
			master.Insert(Entry{UID: 21, Name: "m21,S=3:2,", ModSeq: ms})
			wg.Wait()
			if c1.Len() != 20 || c1.Name(0) != "m1,S=3:2," || len(c1.Keywords(1)) != 0 || len(c1.Expunges) != 0 {
				t.Fatalf("clone changed with the master: %d %q %v", c1.Len(), c1.Name(0), c1.Keywords(1))
			}
			// the clone's own changes leave the master alone
			c2 := master.Clone()
			c2.SetName(0, "m1,S=3:2,FS", false, ms+1)
			c2.SetKeywords(0, []string{"$Y"}, ms+1)
			c2.Remove([]int{c2.Len() - 1}, ms+1)
			if master.Name(0) != "m1,S=3:2,S" || len(master.Keywords(0)) != 0 || master.Len() != 20 || len(master.Expunges) != 1 {
				t.Fatalf("master changed with a clone: %q %v %d", master.Name(0), master.Keywords(0), master.Len())
			}
			// Diff from the first copy to the master: what another view's Sync reports
			d := Diff(c1, master)
			if !slices.Equal(d.New, []uint32{21}) || !slices.Equal(d.Expunged, []uint32{3}) || !slices.Equal(d.Updated, []uint32{1, 2}) || d.Reset {
				t.Fatalf("diff %+v", d)
			}
			if d := Diff(master, master.Clone()); len(d.New)+len(d.Expunged)+len(d.Updated) != 0 {
				t.Fatalf("diff of a copy: %+v", d)
			}
			other := New()
			other.Reset(78)
			if d := Diff(c1, other); !d.Reset || len(d.Expunged) != 20 {
				t.Fatalf("diff across UIDVALIDITY: %+v", d)
			}
		})
	}
}
