// Package access reads couriertcpd's access files (couriertcpd(8) "ACCESS FILE"): the
// smtpaccess/ and imapaccess/ directories of plain text files that say, per remote IP
// address or network, whether a connection is refused ("deny") or accepted ("allow"), and
// which environment variables it gets (RELAYCLIENT, BLOCK, SIZELIMIT, MAXCPERIP, …).
//
// Text format, one entry a line ("#" comments and blank lines ignored):
//
//	192.168.0.10<TAB>allow,RELAYCLIENT,SIZELIMIT=1000000
//	192.168<TAB>deny
//	:2002:c0a8<TAB>deny            (IPv6: ":" then whole 16-bit words, zero-padded hex)
//	*<TAB>deny                     (every address not listed more precisely)
//
// Only the most specific entry for an address applies (couriertcpd's rule); IPv4-mapped
// IPv6 addresses are looked up in the IPv4 form. Courier's makesmtpaccess compiles the
// directory into smtpaccess.dat (a GDBM file); ours writes the same entries, checked and
// sorted, into a text file that begins with Magic (Compile), and the servers read that
// file again whenever it changes, as couriertcpd opens its database per connection.
package access

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"courier/internal/config/courierfmt"
	"courier/internal/fsutil"
)

// Magic is the first line of a compiled access file.
const Magic = "#courier-access 1"

// Entry is one line: the address key and what it says.
type Entry struct {
	Key  string            // "*", "192.168", ":2002:c0a8", …
	Deny bool              // refuse the connection
	Env  map[string]string // variables of an "allow" (a name alone is set to "1")
	Line int               // where it was read, for messages
	File string
}

// Result is what the access file says of one address.
type Result struct {
	Found bool
	Deny  bool
	Env   map[string]string
	Key   string // the entry that applied
}

// Table is a parsed access file.
type Table struct {
	entries map[string]*Entry
}

// Parse reads access-file text. name is used in error messages ("file:line: …").
func Parse(r io.Reader, name string) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		es, err := parseLine(t)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		for _, e := range es {
			e.Line, e.File = n, name
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	return out, nil
}

// parseLine parses one entry; a CIDR key ("10.1.0.0/15", as makedat -cidr takes) gives one
// entry per key of the octet (IPv6: word) boundary below it.
func parseLine(t string) ([]Entry, error) {
	i := strings.IndexAny(t, " \t")
	if i < 0 {
		return nil, fmt.Errorf("%q: an address and an action (allow or deny) are needed", t)
	}
	key, action := t[:i], strings.TrimSpace(t[i:])
	ks, err := normalKeys(key)
	if err != nil {
		return nil, err
	}
	e := Entry{}
	fields, err := splitAction(action)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(fields[0]) {
	case "deny":
		if len(fields) > 1 {
			return nil, fmt.Errorf("deny takes no variables")
		}
		e.Deny = true
	case "allow":
		e.Env = map[string]string{}
		for _, f := range fields[1:] {
			name, val, hasVal := strings.Cut(f, "=")
			if !validName(name) {
				return nil, fmt.Errorf("%q is not a variable name", name)
			}
			if !hasVal {
				val = "1"
			}
			e.Env[name] = val
		}
	default:
		return nil, fmt.Errorf("%q: the action is allow or deny", fields[0])
	}
	out := make([]Entry, len(ks))
	for j, k := range ks {
		out[j] = e
		out[j].Key = k
	}
	return out, nil
}

// maxCIDRKeys bounds what one CIDR line expands to.
const maxCIDRKeys = 1 << 12

// normalKeys checks an address key and gives the keys Lookup builds for it.
func normalKeys(k string) ([]string, error) {
	addr, bitsS, isCIDR := strings.Cut(k, "/")
	if !isCIDR {
		nk, err := normalKey(k)
		if err != nil {
			return nil, err
		}
		return []string{nk}, nil
	}
	bits, err := strconv.Atoi(bitsS)
	pfx, perr := netip.ParsePrefix(addr + "/" + bitsS)
	if err != nil || perr != nil {
		return nil, fmt.Errorf("%q is not a CIDR network", k)
	}
	pfx = pfx.Masked()
	unit := 8 // an IPv4 key names whole octets, an IPv6 key whole 16-bit words
	if pfx.Addr().Is6() && !pfx.Addr().Is4In6() {
		unit = 16
	}
	if bits == 0 {
		return []string{"*"}, nil
	}
	round := (bits + unit - 1) / unit * unit
	n := 1 << (round - bits)
	if n > maxCIDRKeys {
		return nil, fmt.Errorf("%q expands to too many entries", k)
	}
	out := make([]string, 0, n)
	a := pfx.Addr().Unmap()
	for range n {
		ks := keys(a)
		out = append(out, ks[len(ks)-1-round/unit])
		// step to the next block of the rounded size
		b := a.AsSlice()
		byteIdx := round/8 - 1
		for j := byteIdx; j >= 0; j-- {
			b[j]++
			if b[j] != 0 {
				break
			}
		}
		a, _ = netip.AddrFromSlice(b)
	}
	return out, nil
}

// splitAction splits "allow,A,B=\"x, y\"" at commas outside double quotes, removing the
// quotes.
func splitAction(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		case c < 0x20 && c != '\t':
			return nil, errors.New("a control character in the action")
		default:
			b.WriteByte(c)
		}
	}
	if quoted {
		return nil, errors.New("an unterminated quote")
	}
	out = append(out, strings.TrimSpace(b.String()))
	return out, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// normalKey checks an address key and gives it the form Lookup builds.
func normalKey(k string) (string, error) {
	if k == "*" {
		return k, nil
	}
	if strings.HasPrefix(k, ":") {
		words := strings.Split(k[1:], ":")
		if len(words) > 8 {
			return "", fmt.Errorf("%q: an IPv6 key has at most 8 words", k)
		}
		for i, w := range words {
			if len(w) == 0 || len(w) > 4 {
				return "", fmt.Errorf("%q: IPv6 words are 1 to 4 hex digits", k)
			}
			v, err := strconv.ParseUint(w, 16, 16)
			if err != nil {
				return "", fmt.Errorf("%q: %q is not hexadecimal", k, w)
			}
			words[i] = fmt.Sprintf("%04x", v)
		}
		return ":" + strings.Join(words, ":"), nil
	}
	parts := strings.Split(k, ".")
	if len(parts) > 4 {
		return "", fmt.Errorf("%q is not an IPv4 address or network", k)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 8)
		if err != nil || p == "" {
			return "", fmt.Errorf("%q is not an IPv4 address or network", k)
		}
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, "."), nil
}

// New makes a table of entries; a later entry for the same key replaces an earlier one.
func New(entries []Entry) *Table {
	t := &Table{entries: map[string]*Entry{}}
	for i := range entries {
		t.entries[entries[i].Key] = &entries[i]
	}
	return t
}

// Len is the number of entries.
func (t *Table) Len() int { return len(t.entries) }

// Lookup returns the entry for the most specific key that covers ip.
func (t *Table) Lookup(ip netip.Addr) Result {
	if t == nil || len(t.entries) == 0 {
		return Result{}
	}
	for _, k := range keys(ip) {
		if e, ok := t.entries[k]; ok {
			return Result{Found: true, Deny: e.Deny, Env: e.Env, Key: e.Key}
		}
	}
	return Result{}
}

// keys are the keys of ip from the most specific to "*".
func keys(ip netip.Addr) []string {
	ip = ip.Unmap()
	var out []string
	if ip.Is4() {
		b := ip.As4()
		for n := 4; n >= 1; n-- {
			parts := make([]string, n)
			for i := range n {
				parts[i] = strconv.Itoa(int(b[i]))
			}
			out = append(out, strings.Join(parts, "."))
		}
	} else if ip.Is6() {
		b := ip.As16()
		for n := 8; n >= 1; n-- {
			var sb strings.Builder
			for i := range n {
				fmt.Fprintf(&sb, ":%02x%02x", b[2*i], b[2*i+1])
			}
			out = append(out, sb.String())
		}
	}
	return append(out, "*")
}

// LoadDir reads an access directory (or a single file) as makesmtpaccess does: plain files
// in name order, editor and package-manager leftovers skipped.
func LoadDir(p string) ([]Entry, error) {
	lines, _, err := courierfmt.ReadControl(p)
	if err != nil {
		return nil, err
	}
	// ReadControl joins the files; reparse each line keeping its origin.
	var out []Entry
	for _, l := range lines {
		t := strings.TrimSpace(l.Text)
		if t == "" || t[0] == '#' {
			continue
		}
		es, err := parseLine(t)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", l.File, l.Line, err)
		}
		for _, e := range es {
			e.Line, e.File = l.Line, l.File
			out = append(out, e)
		}
	}
	return out, nil
}

// Compile reads the access directory src and writes the compiled file dst atomically
// (temporary file, fsync, rename), as makesmtpaccess writes smtpaccess.dat.
func Compile(src, dst string) (int, error) {
	entries, err := LoadDir(src)
	if err != nil {
		return 0, err
	}
	t := New(entries)
	ks := make([]string, 0, len(t.entries))
	for k := range t.entries {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b bytes.Buffer
	b.WriteString(Magic + "\n")
	for _, k := range ks {
		b.WriteString(k + "\t" + t.entries[k].action() + "\n")
	}
	if err := fsutil.WriteFileAtomic(dst, b.Bytes(), 0o644); err != nil {
		return 0, fmt.Errorf("access: %w", err)
	}
	return len(ks), nil
}

// action is the entry's action in the text form.
func (e *Entry) action() string {
	if e.Deny {
		return "deny"
	}
	names := make([]string, 0, len(e.Env))
	for n := range e.Env {
		names = append(names, n)
	}
	sort.Strings(names)
	s := "allow"
	for _, n := range names {
		v := e.Env[n]
		switch {
		case v == "1":
			s += "," + n
		case strings.ContainsAny(v, ", \t"):
			s += "," + n + "=\"" + v + "\""
		default:
			s += "," + n + "=" + v
		}
	}
	return s
}

// File is an access file the servers consult: the compiled file PATH.dat when it is ours,
// else the text directory PATH itself (a .dat left by Courier is a GDBM file we do not
// read; until `courier makesmtpaccess` is run the directory's text is used directly). It
// is read again whenever the file it came from changes. Safe for concurrent use.
type File struct {
	path string // the access directory, as ACCESSFILE names it

	mu      sync.Mutex
	checked time.Time
	stamp   string
	table   *Table
	err     error
}

// NewFile returns the access file of the directory path (ACCESSFILE, IMAPACCESSFILE).
func NewFile(path string) *File { return &File{path: path} }

// Path is the access directory.
func (f *File) Path() string { return f.path }

// Lookup consults the current table; a file that cannot be read refuses nothing and
// reports its error.
func (f *File) Lookup(ip netip.Addr) (Result, error) {
	t, err := f.current()
	return t.Lookup(ip), err
}

// current reloads the table when its source changed (checked at most once a second).
func (f *File) current() (*Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) < time.Second && f.table != nil {
		return f.table, f.err
	}
	f.checked = time.Now()
	src, compiled, stamp := f.source()
	if stamp == f.stamp && f.table != nil {
		return f.table, f.err
	}
	f.stamp = stamp
	var entries []Entry
	var err error
	switch {
	case src == "":
		f.table, f.err = New(nil), nil
		return f.table, nil
	case compiled:
		var b []byte
		b, err = os.ReadFile(src)
		if err == nil {
			entries, err = Parse(bytes.NewReader(b), src)
		}
	default:
		entries, err = LoadDir(src)
	}
	if err != nil {
		// Keep what was in force; an access file never fails open silently.
		f.err = fmt.Errorf("access: %w", err)
		if f.table == nil {
			f.table = New(nil)
		}
		return f.table, f.err
	}
	f.table, f.err = New(entries), nil
	return f.table, nil
}

// source says what to read: the compiled file when it is ours, else the directory; stamp
// changes whenever its content may have.
func (f *File) source() (src string, compiled bool, stamp string) {
	dat := f.path + ".dat"
	if b, err := readHead(dat, len(Magic)); err == nil && string(b) == Magic {
		return dat, true, stampOf(dat)
	}
	st, err := os.Stat(f.path)
	if err != nil {
		return "", false, ""
	}
	if !st.IsDir() {
		return f.path, false, stampOf(f.path)
	}
	s := stampOf(f.path)
	if ents, err := os.ReadDir(f.path); err == nil {
		for _, e := range ents {
			s += "|" + e.Name() + stampOf(filepath.Join(f.path, e.Name()))
		}
	}
	return f.path, false, s
}

func readHead(p string, n int) ([]byte, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(fh, b); err != nil {
		return nil, err
	}
	return b, nil
}

func stampOf(p string) string {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return "-"
	}
	return fmt.Sprintf("%d.%d", st.ModTime().UnixNano(), st.Size())
}
