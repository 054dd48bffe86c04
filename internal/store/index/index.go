// Package index is the per-folder cache that lets a 100,000-message Maildir++ folder open in
// milliseconds: for every message its UID, current file name (base name plus ":2,flags"),
// size, internal date, keywords and mod-sequence, with the folder's UIDVALIDITY, UIDNEXT,
// HIGHESTMODSEQ and an expunge log (UID and mod-sequence) for CONDSTORE/QRESYNC.
//
// It lives in the folder's own directory as FileName ("gomailindex": no leading dot, not
// tmp/new/cur, not a courier* name, so Courier ignores it). It is only a cache: the truth is
// the Maildir (file names), courierimapuiddb (UIDs) and courierimapkeywords (keywords). The
// file is checksummed; a missing, corrupt or stale one is rebuilt (Refresh), never trusted
// blindly. Staleness is found cheaply: the file records Stamps (modification times of new/,
// cur/, courierimapkeywords/ and of courierimapuiddb with its size) taken while it was in step,
// and Refresh rescans when any differs.
//
// On-disk format (little-endian), version 1:
//
//	header, HeaderSize bytes:
//	  0 magic "GMIDX\x00\x00\x01"   8 uidvalidity u32   12 nextuid u32
//	 16 highestmodseq u64          24 expunge floor u64 (log complete above it)
//	 32 message count u32          36 expunge log entries u32
//	 40 keyword names bytes u32    44 keyword sets bytes u32
//	 48 names bytes u32            52 extension bytes u32
//	 56 stamps: new, cur, uiddb mtime (ns), uiddb size, keywords dir mtime (5 × i64)
//	 96 CRC-32C of the body        100 CRC-32C of header bytes 0..99
//	body:
//	  records, count × RecordSize: uid u32, name offset u32, name length u16, bits u16
//	    (1: in new/; 1<<15: bits 8-12 hold the name's flag letters D F R S T, a copy so that
//	    listing flags reads no name; readers ignore bits they do not know, and records of
//	    the first writers lack 1<<15), size u32 (MaxUint32: unknown, stat the file),
//	    internal date u32 (Unix seconds, 0: not known yet), keyword set u32 (0: none),
//	    modseq u64; in UID order
//	  expunge log, entries × 16: uid u32, 0 u32, modseq u64; oldest first
//	  keyword names, each ending in "\n"; keyword sets, each a uvarint count then as many
//	    uvarint indexes into the names (set n ≥ 1 is the n-th); names: the file names
//	  extension: sections, each a 4-byte tag, a u32 payload length and the payload; a reader
//	    skips tags it does not know (the first writers wrote none). Known:
//	    "VSZ1": count × u32, each record's IMAP size (RFC822.SIZE: the message with CRLF line
//	      ends, which the LF file's size and its ,S= field do not give), in record order;
//	      MaxUint32: not measured yet. Written only when some size is known.
//	  (reserved for cached envelopes and sort keys: further sections)
//
// Opening reads the file with one read and decodes nothing per message: records stay in the
// file's format in the read buffer and are read in place (flags from the record's letter
// bits, no name parsed) until the first change, which decodes them into one slice (no
// per-message allocation). Mod-sequences are at least the current time in microseconds, so a
// change made by a process that crashed before saving the index never gets a smaller
// mod-sequence than one handed out before.
//
// Invariants:
//   - Never trusted unchecked: before any record is used, the header and body checksums,
//     the lengths, UID order and every record's ranges have been checked, on the bytes this
//     process read into its own memory. A damaged file is ErrCorrupt and rebuilt from the
//     Maildir by the caller. Nothing is mapped: a file changed or truncated by someone else
//     after it was read cannot change or fault what was read.
//   - Shared read-only: Load keeps the last checked contents of large files (load.go) and
//     hands out Indexes that share them until their first change (copy on write: records
//     are decoded into the Index's own slice, appends to shared slices reallocate, since
//     they are handed out with no spare capacity). The cache is keyed by the file's
//     identity (device, inode, size, mtime, ctime), which any change to the file alters.
//
// An Index is not safe for concurrent use; its owner serialises access.
package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// FileName is the index file in a folder's directory.
const FileName = "gomailindex"

// Sizes of the fixed parts of the format.
const (
	HeaderSize = 104
	RecordSize = 32
	expSize    = 16
)

// MaxExpungeLog is how many expunge log entries are kept; older ones are dropped and the
// expunge floor raised.
const MaxExpungeLog = 50000

var magic = []byte("GMIDX\x00\x00\x01")

// ErrCorrupt is wrapped by Load's error for a file that is not a valid index.
var ErrCorrupt = errors.New("corrupt index")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Stamps identify the state of a folder's directories when the index was in step.
type Stamps struct {
	New, Cur  int64 // mtimes (ns) of new/ and cur/
	UIDDB     int64 // mtime (ns) of courierimapuiddb
	UIDDBSize int64
	Keywords  int64 // mtime (ns) of courierimapkeywords/ (0: none)
}

// Expunge is one entry of the expunge log.
type Expunge struct {
	UID    uint32
	ModSeq uint64
}

// Entry is one message, decoded.
type Entry struct {
	UID      uint32
	Name     string // current file name: base, then ":2,flags" when in cur/
	New      bool   // the file is in new/
	Size     int64  // -1 when unknown
	Date     int64  // internal date, Unix seconds; 0 when not known yet
	ModSeq   uint64
	Keywords []string
}

// Base returns the entry's base name (the key of courierimapuiddb and keywords).
func (e *Entry) Base() string { b, _, _ := strings.Cut(e.Name, ":"); return b }

type rec struct {
	uid     uint32
	nameOff uint32
	nameLen uint16
	bits    uint16
	size    uint32
	date    uint32
	kw      uint32
	modseq  uint64
	vsize   uint32 // IMAP size (the VSZ1 extension); MaxUint32: unknown
}

// vszTag names the extension section of IMAP sizes.
const vszTag = "VSZ1"

const (
	bitNew   = 1
	bitExtra = 2 // name lives in extra, not in names (in memory only)
	// The system flag letters of the name (D, F, R, S, T: bits 8 to 12), valid when
	// bitLetters is set: listing every message's flags then reads no name. A derived copy
	// of the name's info; records of older writers lack it and their names are read.
	bitLetters  = 1 << 15
	letterShift = 8
	bitsFile    = bitNew | bitLetters | 0x1f<<letterShift // the bits stored in the file
)

// sysLetters are the flag letters records carry, in bit order.
const sysLetters = "DFRST"

// letterSets maps the 5 record bits to the set of their letters (bit c-'A' for letter c).
var letterSets = func() (t [32]uint32) {
	for v := range t {
		for k := 0; k < len(sysLetters); k++ {
			if v&(1<<k) != 0 {
				t[v] |= 1 << (sysLetters[k] - 'A')
			}
		}
	}
	return t
}()

// letterBits returns the record bits for a file name's system flag letters (those after
// ":2,", as info). It takes a string or bytes as they are, since a rebuild calls it for every
// message: converting would copy each name.
func letterBits[T string | []byte](name T) uint16 {
	b := uint16(bitLetters)
	i := 0
	for i < len(name) && name[i] != ':' {
		i++
	}
	if i+2 >= len(name) || name[i+1] != '2' || name[i+2] != ',' {
		return b
	}
	for i += 3; i < len(name); i++ {
		if k := strings.IndexByte(sysLetters, name[i]); k >= 0 {
			b |= 1 << (letterShift + k)
		}
	}
	return b
}

// letters returns the set of r's system flag letters.
func (ix *Index) letters(r *rec) uint32 {
	if r.bits&bitLetters == 0 {
		r.bits |= letterBits(ix.nameBytes(r)) // a copy of the record: the index is unchanged
	}
	return letterSets[r.bits>>letterShift&0x1f]
}

// Index is a folder's index in memory.
type Index struct {
	UIDValidity   uint32
	NextUID       uint32
	HighestModSeq uint64
	ExpungeFloor  uint64
	Stamps        Stamps
	Expunges      []Expunge

	// Records: while lazy, they are still in the file's format in raw (count n) and the IMAP
	// sizes in rawVsz (nil: none); the first change decodes them into recs (decode).
	lazy    bool
	n       int
	raw     []byte
	rawVsz  []byte
	recs    []rec
	names   []byte // names as read from the file (shared with other Indexes: read only)
	extra   []byte // names set since
	kwNames []string
	kwSets  [][]string        // kwSets[0] is the empty set
	kwIdx   map[string]uint32 // joined set to its number, built on demand
	// shared: the slices above may be shared with Clones, read by other goroutines; the
	// first change copies what it writes in place (unshare).
	shared bool
}

// New returns an empty index (UIDVALIDITY 0: not yet known).
func New() *Index { return &Index{kwSets: [][]string{nil}} }

// Len returns the number of messages.
func (ix *Index) Len() int {
	if ix.lazy {
		return ix.n
	}
	return len(ix.recs)
}

// Outdated reports whether the index was read from a file of an older writer, whose records
// lack the flag letters (bitLetters): saving it once makes listing flags cheaper.
func (ix *Index) Outdated() bool {
	return ix.lazy && ix.n > 0 && binary.LittleEndian.Uint16(ix.raw[10:])&bitLetters == 0
}

// at returns the i-th record, decoding it from the file's bytes while the records are lazy.
func (ix *Index) at(i int) rec {
	if !ix.lazy {
		return ix.recs[i]
	}
	le := binary.LittleEndian
	b := ix.raw[i*RecordSize : (i+1)*RecordSize]
	r := rec{uid: le.Uint32(b), nameOff: le.Uint32(b[4:]), nameLen: le.Uint16(b[8:]), bits: le.Uint16(b[10:]) & bitsFile,
		size: le.Uint32(b[12:]), date: le.Uint32(b[16:]), kw: le.Uint32(b[20:]), modseq: le.Uint64(b[24:]),
		vsize: math.MaxUint32}
	if ix.rawVsz != nil {
		r.vsize = le.Uint32(ix.rawVsz[4*i:])
	}
	return r
}

// decode turns lazy records into recs, before the first change.
func (ix *Index) decode() {
	ix.unshare()
	if !ix.lazy {
		return
	}
	recs := make([]rec, ix.n)
	for i := range recs {
		recs[i] = ix.at(i)
	}
	ix.recs, ix.lazy, ix.n, ix.raw, ix.rawVsz = recs, false, 0, nil, nil
}

// UID returns the UID of the i-th message (UID order).
func (ix *Index) UID(i int) uint32 {
	if ix.lazy {
		u := binary.LittleEndian.Uint32(ix.raw[i*RecordSize:])
		return u
	}
	return ix.recs[i].uid
}

// ModSeq returns the mod-sequence of the i-th message.
func (ix *Index) ModSeq(i int) uint64 { return ix.at(i).modseq }

// Size returns the size of the i-th message's file, -1 when unknown.
func (ix *Index) Size(i int) int64 {
	if s := ix.at(i).size; s != math.MaxUint32 {
		return int64(s)
	}
	return -1
}

// Search returns the position of uid and whether it is present.
func (ix *Index) Search(uid uint32) (int, bool) {
	n := ix.Len()
	i := sort.Search(n, func(i int) bool { return ix.UID(i) >= uid })
	return i, i < n && ix.UID(i) == uid
}

func (ix *Index) nameBytes(r *rec) []byte {
	if r.bits&bitExtra != 0 {
		return ix.extra[r.nameOff : r.nameOff+uint32(r.nameLen)]
	}
	// In range when decode checked the file; tested again all the same (it costs nothing
	// next to the copy), so that no bug elsewhere can turn into an out-of-range access.
	if end := uint64(r.nameOff) + uint64(r.nameLen); end <= uint64(len(ix.names)) {
		return ix.names[r.nameOff:end]
	}
	return nil
}

// keywordSet returns keyword set n (none when out of range, as nameBytes).
func (ix *Index) keywordSet(n uint32) []string {
	if uint64(n) < uint64(len(ix.kwSets)) {
		return ix.kwSets[n]
	}
	return nil
}

// Name returns the current file name of the i-th message.
func (ix *Index) Name(i int) string {
	r := ix.at(i)
	s := string(ix.nameBytes(&r))
	return s
}

// info returns the flag letters of a name (after ":2,"), as a part of it.
func info(b []byte) []byte {
	if j := bytes.IndexByte(b, ':'); j >= 0 && bytes.HasPrefix(b[j+1:], []byte("2,")) {
		return b[j+3:]
	}
	return nil
}

// Info returns the flag letters of the i-th message's name (after ":2,") without allocating
// a new string for the name.
func (ix *Index) Info(i int) string {
	r := ix.at(i)
	s := string(info(ix.nameBytes(&r)))
	return s
}

// Letters returns the system flag letters (D, F, R, S, T) of the i-th message's name (after
// ":2,") as a set: bit c-'A' for letter c. It allocates nothing and usually reads no name,
// for loops over every message (Status, Messages).
func (ix *Index) Letters(i int) uint32 {
	if ix.lazy { // the bits alone, when they hold the letters: one load per message
		bits := binary.LittleEndian.Uint16(ix.raw[i*RecordSize+10:])
		if bits&bitLetters != 0 {
			return letterSets[bits>>letterShift&0x1f]
		}
	}
	r := ix.at(i)
	set := ix.letters(&r)
	return set
}

// InNew reports whether the i-th message's file is in new/.
func (ix *Index) InNew(i int) bool { return ix.at(i).bits&bitNew != 0 }

// At decodes the i-th message.
func (ix *Index) At(i int) Entry {
	r := ix.at(i)
	e := Entry{UID: r.uid, Name: string(ix.nameBytes(&r)), New: r.bits&bitNew != 0, Size: int64(r.size),
		Date: int64(r.date), ModSeq: r.modseq, Keywords: ix.keywordSet(r.kw)}
	if r.size == math.MaxUint32 {
		e.Size = -1
	}
	return e
}

// Brief is what a listing of every message needs of one (store.Message's fields), read
// with one decoding of the record and no allocation.
type Brief struct {
	UID      uint32
	Letters  uint32 // as Letters
	Size     int64  // -1 when unknown
	ModSeq   uint64
	Keywords []string // shared: do not modify
}

// Brief returns the i-th message's Brief.
func (ix *Index) Brief(i int) Brief {
	if ix.lazy { // the fields needed only, from the file's record
		le := binary.LittleEndian
		rb := ix.raw[i*RecordSize : (i+1)*RecordSize]
		if bits := le.Uint16(rb[10:]); bits&bitLetters != 0 {
			b := Brief{UID: le.Uint32(rb), Letters: letterSets[bits>>letterShift&0x1f], Size: int64(le.Uint32(rb[12:])),
				ModSeq: le.Uint64(rb[24:]), Keywords: ix.keywordSet(le.Uint32(rb[20:]))}
			if b.Size == math.MaxUint32 {
				b.Size = -1
			}
			return b
		}
	}
	r := ix.at(i)
	b := Brief{UID: r.uid, Letters: ix.letters(&r), Size: int64(r.size), ModSeq: r.modseq, Keywords: ix.keywordSet(r.kw)}
	if r.size == math.MaxUint32 {
		b.Size = -1
	}
	return b
}

// KeywordsInUse returns the keywords some message has, sorted: one pass over the records'
// keyword set numbers, no keyword set built.
func (ix *Index) KeywordsInUse() []string {
	if len(ix.kwSets) <= 1 {
		return nil
	}
	used := make([]bool, len(ix.kwSets))
	for i, n := 0, ix.Len(); i < n; i++ {
		var k uint32
		if ix.lazy {
			k = binary.LittleEndian.Uint32(ix.raw[i*RecordSize+20:])
		} else {
			k = ix.recs[i].kw
		}
		if uint64(k) < uint64(len(used)) {
			used[k] = true
		}
	}
	var out []string
	for k, u := range used[1:] {
		if u {
			out = append(out, ix.kwSets[k+1]...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Keywords returns the keywords of the i-th message (shared: do not modify).
func (ix *Index) Keywords(i int) []string { return ix.keywordSet(ix.at(i).kw) }

// VSize returns the i-th message's IMAP size (RFC822.SIZE) when it was recorded by SetVSize.
// It stays valid while the message's base name does: flags changes keep it, a different
// file under the same UID drops it.
func (ix *Index) VSize(i int) (int64, bool) {
	v := ix.at(i).vsize
	return int64(v), v != math.MaxUint32
}

// SetVSize records the i-th message's IMAP size (sizes of 4 GiB and more are not cached).
func (ix *Index) SetVSize(i int, n int64) {
	if n >= 0 && n < math.MaxUint32 {
		ix.decode()
		ix.recs[i].vsize = uint32(n)
	}
}

// Set replaces the i-th message with e (same UID).
func (ix *Index) Set(i int, e Entry) { ix.decode(); ix.recs[i] = ix.encode(e) }

// SetDate records the internal date of the i-th message.
func (ix *Index) SetDate(i int, unix int64) {
	if unix > 0 && unix < math.MaxUint32 {
		ix.decode()
		ix.recs[i].date = uint32(unix)
	}
}

// Insert adds e at its place in UID order (usually the end), replacing an entry with the
// same UID, and raises NextUID past it.
func (ix *Index) Insert(e Entry) {
	ix.decode()
	r := ix.encode(e)
	i, found := ix.Search(e.UID)
	switch {
	case found:
		ix.recs[i] = r
	case i == len(ix.recs):
		ix.recs = append(ix.recs, r)
	default:
		ix.recs = append(ix.recs, rec{})
		copy(ix.recs[i+1:], ix.recs[i:])
		ix.recs[i] = r
	}
	if e.UID >= ix.NextUID {
		ix.NextUID = e.UID + 1
	}
}

// Remove deletes the messages at the given positions (any order) and logs them as expunged
// with modseq.
func (ix *Index) Remove(positions []int, modseq uint64) {
	if len(positions) == 0 {
		return
	}
	ix.decode()
	drop := make(map[int]bool, len(positions))
	for _, p := range positions {
		drop[p] = true
	}
	out := ix.recs[:0]
	var gone []uint32
	for i, r := range ix.recs {
		if drop[i] {
			gone = append(gone, r.uid)
			continue
		}
		out = append(out, r)
	}
	ix.recs = out
	ix.logExpunges(gone, modseq)
}

// logExpunges appends UIDs to the expunge log, dropping the oldest entries past
// MaxExpungeLog.
func (ix *Index) logExpunges(uids []uint32, modseq uint64) {
	ix.unshare()
	for _, u := range uids {
		ix.Expunges = append(ix.Expunges, Expunge{UID: u, ModSeq: modseq})
	}
	if n := len(ix.Expunges) - MaxExpungeLog; n > 0 {
		ix.ExpungeFloor = ix.Expunges[n-1].ModSeq
		ix.Expunges = append([]Expunge(nil), ix.Expunges[n:]...)
	}
	if modseq > ix.HighestModSeq {
		ix.HighestModSeq = modseq
	}
}

// Reset empties the index for a new UIDVALIDITY; the mod-sequence keeps growing.
func (ix *Index) Reset(uidValidity uint32) {
	hms := ix.HighestModSeq
	*ix = *New()
	ix.UIDValidity, ix.NextUID, ix.HighestModSeq, ix.ExpungeFloor = uidValidity, 1, hms, hms
}

// NextModSeq returns a new mod-sequence, larger than every one handed out so far (at least
// the current time in microseconds), and records it as the highest.
func (ix *Index) NextModSeq(now time.Time) uint64 {
	m := ix.HighestModSeq + 1
	if t := uint64(now.UnixMicro()); t > m {
		m = t
	}
	ix.HighestModSeq = m
	return m
}

func (ix *Index) encode(e Entry) rec {
	r := rec{uid: e.UID, modseq: e.ModSeq, size: math.MaxUint32, vsize: math.MaxUint32}
	if e.New {
		r.bits |= bitNew
	}
	if e.Size >= 0 && e.Size < math.MaxUint32 {
		r.size = uint32(e.Size)
	}
	if e.Date > 0 && e.Date < math.MaxUint32 {
		r.date = uint32(e.Date)
	}
	name := e.Name
	if len(name) > math.MaxUint16 {
		name = name[:math.MaxUint16]
	}
	r.nameOff, r.nameLen = uint32(len(ix.extra)), uint16(len(name))
	r.bits |= bitExtra | letterBits(name)
	ix.extra = append(ix.extra, name...)
	r.kw = ix.kwSet(e.Keywords)
	return r
}

// kwSet returns the number of a keyword set, adding it when new. kws must be sorted.
func (ix *Index) kwSet(kws []string) uint32 {
	if len(kws) == 0 {
		return 0
	}
	ix.unshare()
	if ix.kwIdx == nil {
		ix.kwIdx = make(map[string]uint32, len(ix.kwSets))
		for i, s := range ix.kwSets[1:] {
			ix.kwIdx[strings.Join(s, "\n")] = uint32(i + 1)
		}
	}
	key := strings.Join(kws, "\n")
	if n, ok := ix.kwIdx[key]; ok {
		return n
	}
	n := uint32(len(ix.kwSets))
	ix.kwSets = append(ix.kwSets, append([]string(nil), kws...))
	ix.kwIdx[key] = n
	return n
}

func corrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }

// Decode parses an index file's content. The Index keeps b (and reads the records from it
// until the first change), so b must not change while the Index is in use.
//
// Everything is checked before anything is trusted: both checksums, the lengths, UID order
// and every record's name and keyword set being in range, so that no later access can go
// out of bounds or act on a damaged file.
func Decode(b []byte) (*Index, error) {
	le := binary.LittleEndian
	if len(b) < HeaderSize || !bytes.Equal(b[:8], magic) {
		return nil, corrupt("bad magic or short header")
	}
	if crc32.Checksum(b[:100], castagnoli) != le.Uint32(b[100:]) {
		return nil, corrupt("header checksum")
	}
	ix := &Index{
		UIDValidity: le.Uint32(b[8:]), NextUID: le.Uint32(b[12:]),
		HighestModSeq: le.Uint64(b[16:]), ExpungeFloor: le.Uint64(b[24:]),
	}
	count, nexp := uint64(le.Uint32(b[32:])), uint64(le.Uint32(b[36:]))
	kwn, kws, nl, ext := uint64(le.Uint32(b[40:])), uint64(le.Uint32(b[44:])), uint64(le.Uint32(b[48:])), uint64(le.Uint32(b[52:]))
	ix.Stamps = Stamps{int64(le.Uint64(b[56:])), int64(le.Uint64(b[64:])), int64(le.Uint64(b[72:])), int64(le.Uint64(b[80:])), int64(le.Uint64(b[88:]))}
	body := b[HeaderSize:]
	if uint64(len(body)) != count*RecordSize+nexp*expSize+kwn+kws+nl+ext {
		return nil, corrupt("length")
	}
	if crc32.Checksum(body, castagnoli) != le.Uint32(b[96:]) {
		return nil, corrupt("body checksum")
	}
	ix.lazy, ix.n = true, int(count)
	ix.raw = body[:count*RecordSize]
	off := int(count * RecordSize)
	ix.Expunges = make([]Expunge, nexp)
	for i := range ix.Expunges {
		ix.Expunges[i] = Expunge{UID: le.Uint32(body[off:]), ModSeq: le.Uint64(body[off+8:])}
		off += expSize
	}
	namesText := body[off : off+int(kwn)]
	off += int(kwn)
	if len(namesText) > 0 {
		if namesText[len(namesText)-1] != '\n' {
			return nil, corrupt("keyword names")
		}
		ix.kwNames = strings.Split(string(namesText[:len(namesText)-1]), "\n")
	}
	sets := body[off : off+int(kws)]
	off += int(kws)
	ix.kwSets = [][]string{nil}
	for len(sets) > 0 {
		n, k := binary.Uvarint(sets)
		if k <= 0 || n > uint64(len(ix.kwNames)) {
			return nil, corrupt("keyword sets")
		}
		sets = sets[k:]
		set := make([]string, n)
		for j := range set {
			x, k := binary.Uvarint(sets)
			if k <= 0 || x >= uint64(len(ix.kwNames)) {
				return nil, corrupt("keyword sets")
			}
			sets = sets[k:]
			set[j] = ix.kwNames[x]
		}
		ix.kwSets = append(ix.kwSets, set)
	}
	ix.names = body[off : off+int(nl)]
	off += int(nl)
	if err := ix.checkRecords(nl); err != nil {
		return nil, err
	}
	if err := ix.decodeExtension(body[off : off+int(ext)]); err != nil {
		return nil, err
	}
	return ix, nil
}

// checkRecords checks the lazy records in place (nothing decoded into memory): UIDs in
// increasing order below NextUID, every name within the names area of nl bytes and not
// empty, every keyword set known.
func (ix *Index) checkRecords(nl uint64) error {
	le := binary.LittleEndian
	var last uint32
	nsets := uint32(len(ix.kwSets))
	for r := ix.raw; len(r) >= RecordSize; r = r[RecordSize:] {
		uid, nameOff, nameLen, kw := le.Uint32(r), le.Uint32(r[4:]), le.Uint16(r[8:]), le.Uint32(r[20:])
		if uid <= last || uid >= ix.NextUID && ix.NextUID != 0 {
			return corrupt("UIDs out of order")
		}
		last = uid
		if uint64(nameOff)+uint64(nameLen) > nl || nameLen == 0 || kw >= nsets {
			return corrupt("record out of range")
		}
	}
	return nil
}

// decodeExtension reads the extension sections, skipping unknown ones.
func (ix *Index) decodeExtension(b []byte) error {
	le := binary.LittleEndian
	for len(b) > 0 {
		if len(b) < 8 {
			return corrupt("extension header")
		}
		tag, n := string(b[:4]), uint64(le.Uint32(b[4:]))
		b = b[8:]
		if n > uint64(len(b)) {
			return corrupt("extension length")
		}
		payload := b[:n]
		b = b[n:]
		if tag != vszTag {
			continue
		}
		if n != uint64(ix.n)*4 {
			return corrupt("size cache length")
		}
		ix.rawVsz = payload
	}
	return nil
}

// appendExtension appends the extension sections: the IMAP sizes, when any is known.
func (ix *Index) appendExtension(b []byte) []byte {
	ix.decode()
	known := false
	for i := range ix.recs {
		if ix.recs[i].vsize != math.MaxUint32 {
			known = true
			break
		}
	}
	if !known {
		return b
	}
	le := binary.LittleEndian
	b = append(b, vszTag...)
	b = le.AppendUint32(b, uint32(4*len(ix.recs)))
	for i := range ix.recs {
		b = le.AppendUint32(b, ix.recs[i].vsize)
	}
	return b
}

// Snapshot returns a copy of ix that Encode may be called on from another goroutine while
// the owner goes on using and changing ix (a save in the background). The records, which
// the owner changes in place, are copied (4 MB for 100,000 messages, against 6.7 MB encoded
// and written); the rest is shared, since the owner only appends to it (names, keyword sets,
// the expunge log: the snapshot reads below its own length) or replaces it (the file's
// contents, read only).
func (ix *Index) Snapshot() *Index {
	s := *ix
	s.recs = slices.Clone(ix.recs)
	s.extra = ix.extra[:len(ix.extra):len(ix.extra)]
	s.kwSets = ix.kwSets[:len(ix.kwSets):len(ix.kwSets)]
	s.kwNames = ix.kwNames[:len(ix.kwNames):len(ix.kwNames)]
	s.Expunges = ix.Expunges[:len(ix.Expunges):len(ix.Expunges)]
	s.kwIdx = nil // built on demand by kwSet, which Encode does not call
	return &s
}

// Encode returns the index in its file format (names and keyword sets compacted).
func (ix *Index) Encode() []byte {
	le := binary.LittleEndian
	// keyword sets in use, renumbered
	used := make([]uint32, len(ix.kwSets))
	var kwNames []string
	kwNum := map[string]int{}
	var sets []byte
	nsets := uint32(0)
	ix.decode()
	namesLen := 0
	for i := range ix.recs {
		r := &ix.recs[i]
		namesLen += int(r.nameLen)
		if r.kw == 0 || used[r.kw] != 0 {
			continue
		}
		nsets++
		used[r.kw] = nsets
		set := ix.kwSets[r.kw]
		sets = binary.AppendUvarint(sets, uint64(len(set)))
		for _, k := range set {
			n, ok := kwNum[k]
			if !ok {
				n = len(kwNames)
				kwNum[k] = n
				kwNames = append(kwNames, k)
			}
			sets = binary.AppendUvarint(sets, uint64(n))
		}
	}
	kwText := ""
	if len(kwNames) > 0 {
		kwText = strings.Join(kwNames, "\n") + "\n"
	}
	ext := ix.appendExtension(nil)
	total := HeaderSize + len(ix.recs)*RecordSize + len(ix.Expunges)*expSize + len(kwText) + len(sets) + namesLen + len(ext)
	b := make([]byte, HeaderSize, total)
	copy(b, magic)
	le.PutUint32(b[8:], ix.UIDValidity)
	le.PutUint32(b[12:], ix.NextUID)
	le.PutUint64(b[16:], ix.HighestModSeq)
	le.PutUint64(b[24:], ix.ExpungeFloor)
	le.PutUint32(b[32:], uint32(len(ix.recs)))
	le.PutUint32(b[36:], uint32(len(ix.Expunges)))
	le.PutUint32(b[40:], uint32(len(kwText)))
	le.PutUint32(b[44:], uint32(len(sets)))
	le.PutUint32(b[48:], uint32(namesLen))
	le.PutUint32(b[52:], uint32(len(ext)))
	s := ix.Stamps
	for i, v := range []int64{s.New, s.Cur, s.UIDDB, s.UIDDBSize, s.Keywords} {
		le.PutUint64(b[56+8*i:], uint64(v))
	}
	var rb [RecordSize]byte
	off := uint32(0)
	for i := range ix.recs {
		r := &ix.recs[i]
		le.PutUint32(rb[0:], r.uid)
		le.PutUint32(rb[4:], off)
		le.PutUint16(rb[8:], r.nameLen)
		bits := r.bits
		if bits&bitLetters == 0 { // read from an older writer's file: add them now
			bits |= letterBits(ix.nameBytes(r))
		}
		le.PutUint16(rb[10:], bits&bitsFile)
		le.PutUint32(rb[12:], r.size)
		le.PutUint32(rb[16:], r.date)
		le.PutUint32(rb[20:], used[r.kw])
		le.PutUint64(rb[24:], r.modseq)
		b = append(b, rb[:]...)
		off += uint32(r.nameLen)
	}
	var eb [expSize]byte
	for _, e := range ix.Expunges {
		le.PutUint32(eb[0:], e.UID)
		le.PutUint64(eb[8:], e.ModSeq)
		b = append(b, eb[:]...)
	}
	b = append(b, kwText...)
	b = append(b, sets...)
	for i := range ix.recs {
		b = append(b, ix.nameBytes(&ix.recs[i])...)
	}
	b = append(b, ext...)
	le.PutUint32(b[96:], crc32.Checksum(b[HeaderSize:], castagnoli))
	le.PutUint32(b[100:], crc32.Checksum(b[:100], castagnoli))
	return b
}

// saveSeq numbers the index saves of the process (temporary names; see WriteFile).
var saveSeq atomic.Uint64

// Save writes the index into the folder directory dir atomically: a unique file in dir/tmp
// renamed over FileName. seq makes the temporary name unique in the process.
func (ix *Index) Save(dir string, seq *atomic.Uint64) error {
	return WriteFile(dir, ix.Encode(), seq)
}

// WriteFile saves data made by Encode as the index of the folder directory dir, as Save.
// Load keeps what it wrote (load.go), so the next view of the folder reads nothing; data must
// not be changed afterwards.
//
// Neither the file nor the directory is fsynced: the index is a cache of what the Maildir,
// courierimapuiddb and courierimapkeywords hold, and each of a crash's outcomes is one Load
// and Refresh handle already. The rename lost: the older index, whose stamps no longer match
// the folder, is brought in step by a rescan (messages gone since are logged as expunged then,
// with new mod-sequences). The rename kept but the data not (an empty or torn file): the
// checksums fail and the index is rebuilt. Mod-sequences start from the clock, so those
// handed out after a lost save still grow. An fsync here would only make a first open, or
// the Close that waits for the save, wait for the disk.
func WriteFile(dir string, data []byte, seq *atomic.Uint64) error {
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	now := time.Now()
	// seq is per Store, and every IMAP session has its own: the process-wide count keeps two
	// sessions saving in the same microsecond from picking the same name (one save then
	// failed with "file exists").
	tmp := filepath.Join(dir, "tmp", fmt.Sprintf("%d.M%dP%d_gomailindex%d_%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), seq.Add(1), saveSeq.Add(1), host))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("index: save: %w", err)
	}
	_, err = f.Write(data)
	p := filepath.Join(dir, FileName)
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		// The identity of the file as renamed (rename sets its ctime), from the descriptor:
		// the name may already belong to a newer file of another writer.
		if st, serr := f.Stat(); serr == nil {
			keep(p, st, data)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("index: save %s: %w", dir, err)
	}
	return nil
}
