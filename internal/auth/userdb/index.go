package userdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sort"
	"strings"

	"courier/internal/fsutil"
)

// Index file layout (ours, not Courier's GDBM):
//
//	magic   "CUSERDB1" (8 bytes)
//	count   uint32 big-endian
//	entries count × {keyOff, keyLen, valOff, valLen uint32} sorted by key,
//	        offsets relative to the start of data
//	data    the keys and values
//	crc     uint32 CRC-32 (IEEE) of everything before it
//
// A key is a record name, the value its fields in userdb text form.

const indexMagic = "CUSERDB1"

// ErrCorrupt reports an index that fails its checks.
var ErrCorrupt = errors.New("userdb: corrupt index")

// Index is a loaded index file; read-only and safe for concurrent use.
type Index struct {
	data    []byte
	count   int
	entries []byte // count*16 bytes
	blob    []byte
}

// entry returns key and value of entry i.
func (x *Index) entry(i int) (string, string) {
	e := x.entries[i*16:]
	ko, kl := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])
	vo, vl := binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
	return string(x.blob[ko : ko+kl]), string(x.blob[vo : vo+vl])
}

// Len returns the number of keys.
func (x *Index) Len() int {
	if x == nil {
		return 0
	}
	return x.count
}

// Get returns the value stored for key.
func (x *Index) Get(key string) (string, bool) {
	if x == nil {
		return "", false
	}
	i := sort.Search(x.count, func(i int) bool {
		k, _ := x.entry(i)
		return k >= key
	})
	if i < x.count {
		if k, v := x.entry(i); k == key {
			return v, true
		}
	}
	return "", false
}

// Each calls fn for every key in order.
func (x *Index) Each(fn func(key, value string) error) error {
	for i := 0; i < x.Len(); i++ {
		k, v := x.entry(i)
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// ParseIndex checks and wraps the bytes of an index file.
func ParseIndex(b []byte) (*Index, error) {
	if len(b) < len(indexMagic)+8 || string(b[:len(indexMagic)]) != indexMagic {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(body[len(indexMagic):])
	rest := body[len(indexMagic)+4:]
	if uint64(n)*16 > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: entry table truncated", ErrCorrupt)
	}
	x := &Index{data: b, count: int(n), entries: rest[:n*16], blob: rest[n*16:]}
	prev := ""
	for i := 0; i < x.count; i++ {
		e := x.entries[i*16:]
		for j := 0; j < 2; j++ {
			off, l := uint64(binary.BigEndian.Uint32(e[j*8:])), uint64(binary.BigEndian.Uint32(e[j*8+4:]))
			if off+l > uint64(len(x.blob)) {
				return nil, fmt.Errorf("%w: entry %d out of range", ErrCorrupt, i)
			}
		}
		k, _ := x.entry(i)
		if i > 0 && k <= prev {
			return nil, fmt.Errorf("%w: keys out of order", ErrCorrupt)
		}
		prev = k
	}
	return x, nil
}

// ReadIndex loads an index file.
func ReadIndex(path string) (*Index, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("userdb: read index: %w", err)
	}
	x, err := ParseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// encodeIndex serialises key/value pairs (keys unique).
func encodeIndex(kv map[string]string) []byte {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var blob bytes.Buffer
	table := make([]byte, 0, len(keys)*16)
	for _, k := range keys {
		v := kv[k]
		table = binary.BigEndian.AppendUint32(table, uint32(blob.Len()))
		table = binary.BigEndian.AppendUint32(table, uint32(len(k)))
		blob.WriteString(k)
		table = binary.BigEndian.AppendUint32(table, uint32(blob.Len()))
		table = binary.BigEndian.AppendUint32(table, uint32(len(v)))
		blob.WriteString(v)
	}
	out := make([]byte, 0, len(indexMagic)+4+len(table)+blob.Len()+4)
	out = append(out, indexMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(keys)))
	out = append(out, table...)
	out = append(out, blob.Bytes()...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
}

// IndexPaths returns the index and shadow index paths for a userdb source
// path, as makeuserdb names them: SRC.dat and SRCshadow.dat.
func IndexPaths(source string) (dat, shadow string) {
	source = strings.TrimRight(source, "/")
	return source + ".dat", source + "shadow.dat"
}

// Make compiles the userdb source at path into its index files, as
// makeuserdb does: the source must have no group or world permissions, and
// neither index may be a symbolic link. It returns the number of records.
func Make(source string) (int, error) {
	source = strings.TrimRight(source, "/")
	if err := CheckMode(source); err != nil {
		return 0, err
	}
	dat, shadow := IndexPaths(source)
	for _, p := range []string{source, dat, shadow} {
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink != 0 {
			return 0, fmt.Errorf("userdb: %s is a symbolic link", p)
		}
	}
	recs, err := Load(source)
	if err != nil {
		return 0, err
	}
	pub, sec := map[string]string{}, map[string]string{}
	for _, r := range recs {
		var p, s []string
		for _, f := range r.Fields {
			if IsShadowField(f.Name) {
				s = append(s, f.String())
			} else {
				p = append(p, f.String())
			}
		}
		if len(p) > 0 || len(s) == 0 {
			pub[r.Name] = strings.Join(p, "|")
		}
		if len(s) > 0 {
			sec[r.Name] = strings.Join(s, "|")
		}
	}
	if err := WriteFileAtomic(shadow, encodeIndex(sec), 0o600); err != nil {
		return 0, err
	}
	if err := WriteFileAtomic(dat, encodeIndex(pub), 0o644); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// WriteFileAtomic writes data to path durably (fsutil.WriteFileAtomic).
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := fsutil.WriteFileAtomic(path, data, mode); err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	return nil
}
