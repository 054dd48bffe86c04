package wire

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestResolveNormalForm: Resolve sorts and merges, so a set of many overlapping ranges
// becomes a few disjoint ones that Contains can binary-search.
func TestResolveNormalForm(t *testing.T) {
	for _, c := range []struct {
		in   SeqSet
		max  uint32
		want SeqSet
	}{
		{SeqSet{{1, 1}}, 9, SeqSet{{1, 1}}},
		{SeqSet{{5, 7}, {1, 3}}, 9, SeqSet{{1, 3}, {5, 7}}},
		{SeqSet{{1, 3}, {4, 6}}, 9, SeqSet{{1, 6}}},               // adjacent
		{SeqSet{{1, Star}, {1, Star}, {2, 3}}, 9, SeqSet{{1, 9}}}, // repeated
		{SeqSet{{Star, 3}, {8, 8}}, 9, SeqSet{{3, 9}}},            // "*:3" is 3:9
		{SeqSet{{Star, Star}}, 0, SeqSet{{0, 0}}},                 // empty mailbox
		{SeqSet{{math.MaxUint32, math.MaxUint32}, {1, math.MaxUint32 - 1}}, 9, SeqSet{{1, math.MaxUint32}}},
		{SeqSet{{10, 12}, {2, 2}, {11, 20}, {1, 1}, {22, 22}}, 30, SeqSet{{1, 2}, {10, 20}, {22, 22}}},
	} {
		if got := c.in.Resolve(c.max); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v.Resolve(%d) = %v, want %v", c.in, c.max, got, c.want)
		}
	}
}

// TestContainsMatchesRanges compares Contains with a plain scan of the ranges given.
func TestContainsMatchesRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var set SeqSet
		for k := rng.IntN(20) + 1; k > 0; k-- {
			lo, hi := uint32(rng.IntN(60)), uint32(rng.IntN(60))
			if rng.IntN(8) == 0 {
				hi = Star
			}
			set = append(set, Range{lo, hi})
		}
		const max = 50
		rs := set.Resolve(max)
		for n := uint32(0); n <= 70; n++ {
			want := false
			for _, r := range set {
				lo, hi := r.Lo, r.Hi
				if lo == Star {
					lo = max
				}
				if hi == Star {
					hi = max
				}
				if lo > hi {
					lo, hi = hi, lo
				}
				want = want || (n >= lo && n <= hi)
			}
			if got := rs.Contains(n); got != want {
				t.Fatalf("%v (resolved %v): Contains(%d) = %v, want %v", set, rs, n, got, want)
			}
		}
	}
}

// BenchmarkContains: a UID FETCH with a long set over a big folder asks Contains once per
// message; each look-up must cost O(log ranges).
func BenchmarkContains(b *testing.B) {
	var set SeqSet
	for i := uint32(1); i < 200000; i += 4 {
		set = append(set, Range{i, i + 1})
	}
	rs := set.Resolve(200000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for n := uint32(1); n <= 100000; n++ {
			rs.Contains(n)
		}
	}
}
