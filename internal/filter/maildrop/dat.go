package maildrop

// Our "gdbm" files. Courier's maildrop keeps gdbmopen/gdbmfetch/gdbmstore data in GDBM or
// Berkeley DB files made by makedat; we keep our own simple format instead (see
// ARCHITECTURE: no GDBM). A .dat file is text:
//
//	#courier-dat 1
//	key<TAB>value
//	...
//
// one record per line, sorted by key, keys unique; in keys and values a backslash, a tab,
// a newline and a carriage return are written \\, \t, \n and \r. A reader loads the whole
// file into a map (these files are small: access lists, vacation records); a writer
// replaces the file atomically (temporary file in the same directory, fsync, rename), so a
// reader never sees half a file and no lock is needed to read.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DatMagic is the first line of a .dat file.
const DatMagic = "#courier-dat 1"

// MaxDatBytes bounds a .dat file read into memory.
const MaxDatBytes = 256 << 20

var datEscaper = strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\r", "\\r")

func datUnescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// ParseDat reads a .dat file's content.
func ParseDat(data []byte) (map[string]string, error) {
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	if string(first) != DatMagic {
		return nil, errors.New("not a courier .dat file (made by courier makedat)")
	}
	m := map[string]string{}
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(line) == 0 {
			continue
		}
		k, v, _ := strings.Cut(string(line), "\t")
		m[datUnescape(k)] = datUnescape(v)
	}
	return m, nil
}

// ReadDat loads a .dat file.
func ReadDat(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDatBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > MaxDatBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxDatBytes)
	}
	m, err := ParseDat(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// WriteDat writes m as a .dat file at path through tmp (a name in the same directory; ""
// picks one), fsyncs and renames it into place.
func WriteDat(path, tmp string, m map[string]string, perm os.FileMode) error {
	if tmp == "" {
		tmp = filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("dat: %w", err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(DatMagic + "\n")
	for _, k := range keys {
		w.WriteString(datEscaper.Replace(k) + "\t" + datEscaper.Replace(m[k]) + "\n")
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dat: writing %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() //nolint:errcheck
		d.Close()
	}
	return nil
}

// gdbmFile is the file a filter opened with gdbmopen.
type gdbmFile struct {
	path     string
	writable bool
	m        map[string]string
}

// gdbmOpen is gdbmopen(file, mode): 0 on success.
func (in *Interp) gdbmOpen(name, mode string) string {
	in.gdbm = nil
	if mode == "" {
		mode = "R"
	}
	p := in.path(name)
	var m map[string]string
	var err error
	if in.restricted && strings.ToUpper(mode[:1]) != "R" {
		in.opts.Logger.Info("maildrop: gdbmopen for writing disabled in embedded mode", "file", p)
		return "-1"
	}
	switch strings.ToUpper(mode[:1]) {
	case "R", "W":
		m, err = ReadDat(p)
	case "C":
		m, err = ReadDat(p)
		if errors.Is(err, os.ErrNotExist) {
			m, err = map[string]string{}, WriteDat(p, "", nil, 0o666&^in.umask())
		}
	case "N":
		m, err = map[string]string{}, WriteDat(p, "", nil, 0o666&^in.umask())
	default:
		err = fmt.Errorf("bad mode %q", mode)
	}
	if err != nil {
		in.opts.Logger.Info("maildrop: gdbmopen failed", "file", p, "err", err)
		return "-1"
	}
	in.gdbm = &gdbmFile{path: p, writable: strings.ToUpper(mode[:1]) != "R", m: m}
	return "0"
}

// gdbmLookup finds key with the D and I fallbacks of gdbmfetch.
func (in *Interp) gdbmLookup(key, opts string) (string, bool) {
	m := in.gdbm.m
	if v, ok := m[key]; ok {
		return v, true
	}
	switch {
	case strings.Contains(opts, "D"):
		dom := key
		if i := strings.LastIndexByte(key, '@'); i >= 0 {
			if v, ok := m[key[:i+1]]; ok {
				return v, true
			}
			dom = key[i+1:]
			if v, ok := m[dom]; ok {
				return v, true
			}
		}
		for {
			i := strings.IndexByte(dom, '.')
			if i < 0 {
				return "", false
			}
			dom = dom[i+1:]
			if v, ok := m[dom]; ok && dom != "" {
				return v, true
			}
		}
	case strings.Contains(opts, "I"):
		for {
			i := strings.LastIndexByte(key, '.')
			if i < 0 {
				return "", false
			}
			key = key[:i]
			if v, ok := m[key]; ok {
				return v, true
			}
		}
	}
	return "", false
}

// gdbmFetch is gdbmfetch(key [, options [, default]]); the default is evaluated only when
// the key is missing.
func (in *Interp) gdbmFetch(c *callExpr) (string, error) {
	key, err := in.eval(c.args[0])
	if err != nil {
		return "", err
	}
	opts := ""
	var def Expr
	// two arguments are key and options (as Debian's maildrop, whatever the synopsis says)
	if len(c.args) > 1 {
		if opts, err = in.eval(c.args[1]); err != nil {
			return "", err
		}
	}
	if len(c.args) > 2 {
		def = c.args[2]
	}
	if in.gdbm != nil {
		if v, ok := in.gdbmLookup(key, opts); ok {
			return v, nil
		}
	}
	if def == nil {
		return "", nil
	}
	return in.eval(def)
}

// gdbmStore is gdbmstore(key, value): 0, or -1 when no file is open for writing.
func (in *Interp) gdbmStore(key, value string) string {
	g := in.gdbm
	if g == nil || !g.writable {
		return "-1"
	}
	g.m[key] = value
	if err := WriteDat(g.path, "", g.m, 0o666&^in.umask()); err != nil {
		in.opts.Logger.Warn("maildrop: gdbmstore failed", "file", g.path, "err", err)
		return "-1"
	}
	return "0"
}
