package wire

import (
	"sort"
	"strconv"
	"strings"
)

// Range is one element of a sequence set: Lo..Hi inclusive. Star (0) stands for "*", the
// largest number in use (RFC 3501 §9 seq-number).
type Range struct{ Lo, Hi uint32 }

// Star is the value of "*" in a Range before it is resolved.
const Star = 0

// SeqSet is a sequence set (sequence numbers or UIDs) as the client gave it.
type SeqSet []Range

// SeqSet reads a sequence-set. "$" (RFC 5182 SEARCHRES) is reported by the returned flag.
func (r *Reader) SeqSet() (SeqSet, error) {
	var set SeqSet
	for {
		lo, err := r.seqNumber()
		if err != nil {
			return nil, err
		}
		hi := lo
		if r.Peek() == ':' {
			r.pos++
			if hi, err = r.seqNumber(); err != nil {
				return nil, err
			}
		}
		set = append(set, Range{lo, hi})
		if len(set) > 100000 {
			return nil, syntax("Sequence set too long")
		}
		if r.Peek() != ',' {
			return set, nil
		}
		r.pos++
	}
}

func (r *Reader) seqNumber() (uint32, error) {
	if r.Peek() == '*' {
		r.pos++
		return Star, nil
	}
	n, err := r.Number()
	if err != nil {
		return 0, syntax("Invalid sequence set")
	}
	if n == 0 {
		return 0, syntax("Invalid sequence set: 0 is not a message number")
	}
	return n, nil
}

// Resolve returns the set with "*" replaced by max, in normal form: each range ordered low
// to high, the ranges sorted and merged where they overlap or touch, so that the result
// names every number once and Contains can search it. RFC 3501 §6.4.8: "*" is the largest
// number in use; with an empty mailbox it matches nothing useful, so max 0 leaves ranges
// that match no message. A client may send the same numbers many times over ("1:*,1:*,…"):
// the normal form is never longer than the set given, and is usually far shorter.
func (s SeqSet) Resolve(max uint32) SeqSet {
	out := make(SeqSet, len(s))
	sorted := true
	for i, r := range s {
		if r.Lo == Star {
			r.Lo = max
		}
		if r.Hi == Star {
			r.Hi = max
		}
		if r.Lo > r.Hi {
			r.Lo, r.Hi = r.Hi, r.Lo
		}
		out[i] = r
		if i > 0 && r.Lo < out[i-1].Lo {
			sorted = false
		}
	}
	if !sorted {
		sort.Slice(out, func(i, j int) bool { return out[i].Lo < out[j].Lo })
	}
	// Merge overlapping and adjacent ranges in place (Hi+1 may wrap at MaxUint32: compare
	// without adding).
	n := 0
	for _, r := range out {
		if n > 0 && (r.Lo <= out[n-1].Hi || r.Lo-out[n-1].Hi == 1) {
			if r.Hi > out[n-1].Hi {
				out[n-1].Hi = r.Hi
			}
			continue
		}
		out[n] = r
		n++
	}
	return out[:n]
}

// Contains reports whether n is in a set returned by Resolve: a binary search over its
// sorted, disjoint ranges, O(log ranges) whatever the client sent.
func (s SeqSet) Contains(n uint32) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].Hi >= n })
	return i < len(s) && s[i].Lo <= n
}

// Dynamic reports whether the set uses "*".
func (s SeqSet) Dynamic() bool {
	for _, r := range s {
		if r.Lo == Star || r.Hi == Star {
			return true
		}
	}
	return false
}

// FormatNums prints numbers as a compact sequence set ("1:3,5,7:9"), sorted ascending.
func FormatNums(nums []uint32) string {
	if len(nums) == 0 {
		return ""
	}
	if !sort.SliceIsSorted(nums, func(i, j int) bool { return nums[i] < nums[j] }) {
		nums = append([]uint32(nil), nums...)
		sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	}
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && (nums[j+1] == nums[j]+1 || nums[j+1] == nums[j]) {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if nums[j] != nums[i] {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// FormatList prints numbers in the given order as a set, joining only runs that ascend by
// one (COPYUID pairs its source and destination sets element by element, so order matters).
func FormatList(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}
