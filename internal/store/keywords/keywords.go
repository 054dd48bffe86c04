// Package keywords reads and writes Courier-IMAP's message keyword store, the
// courierimapkeywords/ directory of a maildir folder (README.imapkeywords.html).
//
// Format, as Courier-IMAP 5 and maildirkw write it:
//
//   - courierimapkeywords/:list is the merged state: the keyword names, one a line, then an
//     empty line, then one line per message that has keywords, "basename:i j k", where the
//     numbers index the name list and basename is the message file name without ":2,flags".
//     Names are listed in Courier's hash-table order (43 buckets, hash h = h<<1 ^ byte over the
//     name, lower-cased unless keywords are case-sensitive; each bucket sorted); a message's
//     numbers follow its keywords in byte order. An empty result removes :list.
//   - courierimapkeywords/basename (a "plain" update) or .N.basename replaces one message's
//     whole keyword set: one keyword a line (in byte order), read up to the first empty line.
//     Writers create the file in the folder's tmp/ and rename it into place, so each message's
//     set changes atomically and the last writer wins.
//   - A reader merges :list with the update files (a plain file wins over any .N file, else the
//     largest N), rewrites :list when the merge changed anything, renames plain files to
//     .N.basename with N = now/300+1, and removes .N files once they are older than the current
//     five-minute window (see ReadAll for the exact rules).
//
// Keywords are case-insensitive (ASCII only, as Courier's tolower) unless Options.CaseSensitive
// is set (SMAP). No locks are needed; LockMaildir provides the optional IMAP_USELOCKS dot-lock.
// The package holds no state; a Store is safe for concurrent use.
package keywords

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DirName is the keyword directory inside a maildir folder.
const DirName = "courierimapkeywords"

// ListName is the merged keyword list inside DirName.
const ListName = ":list"

// hashSize is the number of buckets of Courier's keyword hash table; it fixes the order of
// the names in :list.
const hashSize = 43

// staleUnknown is how old an update file for a message that is not in the folder must be
// before a reader removes it (README.imapkeywords: fifteen minutes, by ctime).
const staleUnknown = 15 * time.Minute

// maxRestarts bounds the restarts of ReadAll when an update file vanishes under it.
const maxRestarts = 10

// Options tune a Store.
type Options struct {
	// CaseSensitive makes keywords case-sensitive, as SMAP and maildirkw -c; IMAP keywords
	// are case-insensitive.
	CaseSensitive bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store is the keyword store of one maildir folder (the directory holding tmp/, new/, cur/).
type Store struct {
	dir  string
	opts Options
}

// Open returns the keyword store of the maildir folder dir. It touches nothing on disk.
func Open(dir string, opts Options) *Store { return &Store{dir: dir, opts: opts} }

// Entry is one message's keywords, in byte order.
type Entry struct {
	Base     string
	Keywords []string
}

func (s *Store) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Store) kwDir() string { return filepath.Join(s.dir, DirName) }

// fold returns the key under which a keyword is compared.
func (s *Store) fold(k string) string {
	if s.opts.CaseSensitive {
		return k
	}
	return asciiLower(k)
}

func asciiLower(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= 'A' && c <= 'Z' {
			b := []byte(k)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return k
}

// BaseName returns the base name of a message file: the name without directory and without
// the ":2,flags" info ("1.M1P1.host,S=20:2,S" gives "1.M1P1.host,S=20").
func BaseName(filename string) string {
	filename = filepath.Base(filename)
	if i := strings.IndexByte(filename, ':'); i >= 0 {
		filename = filename[:i]
	}
	return filename
}

// checkBase refuses base names that cannot name an update file.
func checkBase(base string) error {
	switch {
	case base == "", base == ".", base == "..":
		return fmt.Errorf("keywords: invalid message name %q", base)
	case strings.ContainsAny(base, "/:\x00\n"):
		return fmt.Errorf("keywords: invalid message name %q: contains '/', ':', NUL or newline", base)
	case base[0] == '.':
		return fmt.Errorf("keywords: invalid message name %q: starts with '.'", base)
	}
	return nil
}

// ValidKeyword reports whether k can be stored: it must be non-empty and hold no newline,
// carriage return or NUL (one keyword is one line of a file).
func ValidKeyword(k string) error {
	if k == "" {
		return errors.New("keywords: empty keyword")
	}
	if strings.ContainsAny(k, "\n\r\x00") {
		return fmt.Errorf("keywords: keyword %q contains a line break or NUL", k)
	}
	return nil
}

// normalize removes duplicates (first spelling wins when case-insensitive) and sorts in byte
// order, as Courier keeps a message's keywords.
func (s *Store) normalize(kws []string) []string {
	seen := make(map[string]bool, len(kws))
	out := make([]string, 0, len(kws))
	for _, k := range kws {
		f := s.fold(k)
		if k == "" || seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// parseUpdate reads an update file's keywords: one a line up to the first empty line or EOF.
func parseUpdate(data []byte) []string {
	var kws []string
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			break
		}
		kws = append(kws, line)
	}
	return kws
}

// Get returns the current keywords of one message (by base name) without changing anything
// on disk: its plain update file if present, else its .N file with the largest N, else its
// :list entry.
func (s *Store) Get(base string) ([]string, error) {
	if err := checkBase(base); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		kws, err := s.get(base)
		if errors.Is(err, fs.ErrNotExist) && attempt < maxRestarts {
			continue // an update file was renamed away under us: look again
		}
		return kws, err
	}
}

func (s *Store) get(base string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.kwDir(), base))
	if err == nil {
		return s.normalize(parseUpdate(data)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keywords: read update of %s: %w", base, err)
	}
	names, err := s.readDirNames()
	if err != nil {
		return nil, err
	}
	best, found := uint64(0), false
	for _, n := range names {
		if num, b, ok := parseDotted(n); ok && b == base && (!found || num > best) {
			best, found = num, true
		}
	}
	if found {
		data, err := os.ReadFile(filepath.Join(s.kwDir(), dotted(best, base)))
		if err != nil {
			return nil, fmt.Errorf("keywords: read update of %s: %w", base, err)
		}
		return s.normalize(parseUpdate(data)), nil
	}
	l, err := s.readList(nil)
	if err != nil {
		return nil, err
	}
	for _, e := range l.entries {
		if e.Base == base {
			return e.Keywords, nil
		}
	}
	return nil, nil
}

// Set replaces the keywords of one message: it writes the new set to the folder's tmp/ and
// renames it to courierimapkeywords/base. Empty keywords are dropped; duplicates are merged.
func (s *Store) Set(base string, kws []string) error {
	if err := checkBase(base); err != nil {
		return err
	}
	for _, k := range kws {
		if k == "" {
			continue
		}
		if err := ValidKeyword(k); err != nil {
			return err
		}
	}
	kws = s.normalize(kws)
	var b strings.Builder
	for _, k := range kws {
		b.WriteString(k)
		b.WriteByte('\n')
	}
	if err := s.mkdir(); err != nil {
		return err
	}
	if err := s.writeAtomic(filepath.Join(s.kwDir(), base), b.String()); err != nil {
		return fmt.Errorf("keywords: set %s: %w", base, err)
	}
	return nil
}

// Add adds keywords to a message's set.
func (s *Store) Add(base string, kws ...string) error {
	cur, err := s.Get(base)
	if err != nil {
		return err
	}
	return s.Set(base, append(cur, kws...))
}

// Remove removes keywords from a message's set.
func (s *Store) Remove(base string, kws ...string) error {
	cur, err := s.Get(base)
	if err != nil {
		return err
	}
	drop := make(map[string]bool, len(kws))
	for _, k := range kws {
		drop[s.fold(k)] = true
	}
	keep := cur[:0]
	for _, k := range cur {
		if !drop[s.fold(k)] {
			keep = append(keep, k)
		}
	}
	return s.Set(base, keep)
}

func (s *Store) mkdir() error {
	if err := os.Mkdir(s.kwDir(), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("keywords: create %s: %w", s.kwDir(), err)
	}
	return nil
}

// tmpName returns a unique file name in the folder's tmp/ in the maildir style.
func (s *Store) tmpName() string {
	t := s.now()
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", "\\057", ":", "\\072").Replace(host)
	return filepath.Join(s.dir, "tmp", fmt.Sprintf("%d.M%dP%d_kw%08x.%s", t.Unix(), t.Nanosecond()/1000, os.Getpid(), rand.Uint32(), host))
}

// writeAtomic writes content to a new file in tmp/, syncs it and renames it to dst.
func (s *Store) writeAtomic(dst, content string) error {
	tmp := s.tmpName()
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	_, werr := f.WriteString(content)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename into place: %w", err)
	}
	return nil
}

// readDirNames lists courierimapkeywords in directory order (as Courier's readdir does; the
// order of new messages in :list follows it). A missing directory is empty.
func (s *Store) readDirNames() ([]string, error) {
	d, err := os.Open(s.kwDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keywords: open %s: %w", s.kwDir(), err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("keywords: read %s: %w", s.kwDir(), err)
	}
	return names, nil
}

// parseDotted splits ".N.base"; ok is false for any other name.
func parseDotted(name string) (n uint64, base string, ok bool) {
	if len(name) < 4 || name[0] != '.' {
		return 0, "", false
	}
	i := strings.IndexByte(name[1:], '.')
	if i <= 0 || i > 19 {
		return 0, "", false
	}
	for _, c := range name[1 : 1+i] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
		n = n*10 + uint64(c-'0')
	}
	base = name[2+i:]
	if base == "" {
		return 0, "", false
	}
	return n, base, true
}

func dotted(n uint64, base string) string { return fmt.Sprintf(".%d.%s", n, base) }
