// Package quota implements Maildir++ "voluntary" quotas: the maildirsize file kept in the top
// directory of a maildir, exactly as Courier's libmaildir reads and writes it
// (README.maildirquota.html, maildirquota(7)).
//
// File format: the first line is the quota specification ("10000000S,1000C": bytes and/or
// message count; zero or missing means no limit of that kind). Every further line holds two
// integers, a byte delta and a count delta, padded as Courier pads them ("%12d %12d\n", 26
// bytes a line). The usage is the sum of all delta lines.
//
// Rules, as Courier applies them:
//   - the quota belongs to the top maildir: a folder (a directory holding a maildirfolder
//     file) uses the maildirsize of its parent;
//   - maildirsize is recalculated from scratch when it is missing (and a quota is known), at
//     least 5120 bytes long, unreadable or malformed, or when the numbers say the maildir is over
//     quota and either there is more than one delta line or the file is at least 15 minutes
//     old;
//   - the recalculation counts every message in new/ and cur/ of the maildir and of every
//     folder except .Trash, skipping dot files and messages carrying the T (deleted) flag; a
//     name with ",S=<n>" counts n bytes, any other name is stat()ed;
//   - the recalculated file is written in tmp/ and renamed over maildirsize (atomic); if a
//     directory changed while counting, the count is repeated;
//   - each delivery that fits appends one delta line with O_APPEND; a message is refused when
//     the new totals would exceed a limit (equal to the limit still fits).
//
// Enforcement is soft, as in Courier: concurrent writers may overshoot briefly and the next
// recalculation corrects the totals. A corrupt maildirsize never causes mail to be lost: it
// is recalculated.
//
// The package holds no state; the functions are safe for concurrent use.
package quota

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FileName is the name of the quota file in the top directory of a maildir.
const FileName = "maildirsize"

// MaxFileSize is the size at which maildirsize is recalculated instead of being read.
const MaxFileSize = 5120

// MaxAge is the age after which an over-quota maildirsize with one delta line is recalculated.
const MaxAge = 15 * time.Minute

// TrashDir is the folder whose messages do not count.
const TrashDir = ".Trash"

// ErrOverQuota is returned (wrapped) when an addition would exceed the quota.
var ErrOverQuota = errors.New("mail quota exceeded")

// Spec is a quota: a limit in bytes and one in messages; zero means no limit of that kind.
type Spec struct {
	Bytes int64
	Count int64
}

// IsZero reports whether the spec sets no limit at all.
func (s Spec) IsZero() bool { return s.Bytes == 0 && s.Count == 0 }

// String formats the spec as the first line of maildirsize: "100S,5C", "100S", "5C" or "".
func (s Spec) String() string {
	var parts []string
	if s.Bytes != 0 {
		parts = append(parts, strconv.FormatInt(s.Bytes, 10)+"S")
	}
	if s.Count != 0 {
		parts = append(parts, strconv.FormatInt(s.Count, 10)+"C")
	}
	return strings.Join(parts, ",")
}

// ParseSpec parses a quota string as Courier does: every run of digits followed by 'S' sets
// the byte limit and by 'C' the count limit (a later one wins); anything that is not a digit
// between them is skipped. A run of digits followed by any other character (or by nothing)
// makes the string "not parseable": ok is false, but what was read is still returned, as
// Courier keeps it too. Numbers wrap around at 64 bits, as Courier's do.
func ParseSpec(s string) (spec Spec, ok bool) {
	ok = true
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		var n int64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int64(s[i]-'0')
			i++
		}
		if i >= len(s) {
			ok = false
			break
		}
		switch s[i] {
		case 'S':
			spec.Bytes = n
		case 'C':
			spec.Count = n
		default:
			ok = false
		}
		i++
	}
	return spec, ok
}

// Usage is an amount of mail: bytes and messages (a delta may be negative).
type Usage struct {
	Bytes int64
	Count int64
}

// Over reports whether u exceeds the spec's limits.
func (s Spec) Over(u Usage) bool {
	return (s.Bytes > 0 && u.Bytes > s.Bytes) || (s.Count > 0 && u.Count > s.Count)
}

// Percent returns how full u makes the quota, the larger of the byte and count percentages
// (integer division, as Courier); 0 without a quota.
func (s Spec) Percent(u Usage) int {
	p := int64(0)
	if s.Bytes > 0 {
		p = u.Bytes * 100 / s.Bytes
	}
	if s.Count > 0 {
		if c := u.Count * 100 / s.Count; c > p {
			p = c
		}
	}
	return int(p)
}

// Root returns the top maildir whose maildirsize governs dir: dir itself, or its parent when
// dir is a folder (holds a maildirfolder file).
func Root(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "maildirfolder")); err == nil {
		return filepath.Join(dir, "..")
	}
	return dir
}

// State is what Check learned about a maildir's quota.
type State struct {
	Root         string // the top maildir
	Spec         Spec   // the quota in force (zero: none)
	Usage        Usage  // current totals
	Lines        int    // delta lines in maildirsize
	Recalculated bool   // whether Check recalculated maildirsize
}

// Options tune Check. The zero value is Courier's behaviour.
type Options struct {
	// Override is a quota string that replaces the one in maildirsize (deliverquota's second
	// argument, maildrop's MAILDIRQUOTA); when it differs from the file, the file is rewritten.
	Override string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Host names the temporary file of a recalculation; empty means the host name.
	Host string
}

func (o *Options) now() time.Time {
	if o != nil && o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// parsed is the content of a maildirsize file.
type parsed struct {
	spec  Spec
	usage Usage
	lines int
	ok    bool // every line well formed
}

func parse(b []byte) parsed {
	var p parsed
	if len(b) == 0 || b[len(b)-1] != '\n' {
		// empty, or an append was cut short
		first, _, _ := bytes.Cut(b, []byte("\n"))
		p.spec, _ = ParseSpec(string(first))
		return p
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	p.spec, _ = ParseSpec(lines[0])
	p.ok = true
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 2 {
			p.ok = false
			continue
		}
		nb, err1 := strconv.ParseInt(f[0], 10, 64)
		nc, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			p.ok = false
			continue
		}
		p.usage.Bytes += nb
		p.usage.Count += nc
		p.lines++
	}
	return p
}

// read returns the content of maildirsize, or nil and os.ErrNotExist when there is none.
// A file of MaxFileSize bytes or more is reported as too big (big true) with its first
// MaxFileSize bytes, which still hold the quota line.
func read(root string) (data []byte, mtime time.Time, big bool, err error) {
	f, err := os.Open(filepath.Join(root, FileName))
	if err != nil {
		return nil, time.Time{}, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("quota: stat %s: %w", f.Name(), err)
	}
	buf := make([]byte, MaxFileSize)
	n, err := io.ReadFull(f, buf)
	if err == nil {
		return buf[:n], st.ModTime(), true, nil
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, st.ModTime(), false, fmt.Errorf("quota: read %s: %w", f.Name(), err)
	}
	return buf[:n], st.ModTime(), false, nil
}

// Check reads the quota of the maildir holding dir and decides whether add fits, applying
// Courier's recalculation rules. With no quota in force it returns a State with a zero Spec
// and a nil error. When add does not fit it returns the State and an error wrapping
// ErrOverQuota. A negative or zero add always fits.
func Check(dir string, add Usage, opt *Options) (*State, error) {
	root := Root(dir)
	st := &State{Root: root}
	var override Spec
	hasOverride := false
	if opt != nil && opt.Override != "" {
		override, _ = ParseSpec(opt.Override)
		hasOverride = !override.IsZero()
	}
	now := opt.now()
	data, mtime, big, err := read(root)
	missing := errors.Is(err, os.ErrNotExist)
	if err != nil && !missing {
		// unreadable: fall back to a recalculation rather than refusing mail
		big = true
	}
	p := parse(data)
	spec := p.spec
	if hasOverride {
		spec = override
	}
	st.Spec = spec
	if spec.IsZero() {
		return st, nil
	}
	recalc := missing || big || !p.ok || (hasOverride && override != p.spec)
	if !recalc {
		st.Usage, st.Lines = p.usage, p.lines
		total := Usage{st.Usage.Bytes + add.Bytes, st.Usage.Count + add.Count}
		if (add.Bytes > 0 || add.Count > 0) && spec.Over(total) &&
			(p.lines > 1 || now.Sub(mtime) >= MaxAge) {
			recalc = true
		}
	}
	if recalc {
		u, err := Recalculate(root, spec, opt)
		if err != nil {
			return st, err
		}
		st.Usage, st.Lines, st.Recalculated = u, 1, true
	}
	total := Usage{st.Usage.Bytes + add.Bytes, st.Usage.Count + add.Count}
	if (add.Bytes > 0 || add.Count > 0) && spec.Over(total) {
		return st, fmt.Errorf("quota: %s: %w", root, ErrOverQuota)
	}
	return st, nil
}

// Add appends a delta line to the maildirsize of the maildir holding dir, if there is one
// (no file means no quota: nothing to record). Negative deltas record removals.
func Add(dir string, delta Usage) error {
	root := Root(dir)
	f, err := os.OpenFile(filepath.Join(root, FileName), os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota: open: %w", err)
	}
	_, err = f.WriteString(FormatLine(delta))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("quota: append to %s: %w", f.Name(), err)
	}
	return nil
}

// FormatLine formats one delta line as Courier writes it ("%12d %12d\n").
func FormatLine(u Usage) string {
	return fmt.Sprintf("%12d %12d\n", u.Bytes, u.Count)
}

// Set installs spec as the quota of the maildir at dir (dir itself, not its root: Courier's
// maildirmake -q writes the file in the directory it is given) and recalculates the usage.
// A zero spec leaves an existing maildirsize alone, as Courier does.
func Set(dir string, spec Spec, opt *Options) (Usage, error) {
	if spec.IsZero() {
		return Usage{}, nil
	}
	return Recalculate(dir, spec, opt)
}

// Recalculate counts the maildir rooted at root from scratch and atomically replaces its
// maildirsize with spec and the totals. It repeats the count (up to a few times) when a
// directory changes while it counts.
func Recalculate(root string, spec Spec, opt *Options) (Usage, error) {
	defer lock(root, syscall.LOCK_EX)()
	var u Usage
	for attempt := 0; ; attempt++ {
		var stamps map[string]time.Time
		var err error
		u, stamps, err = count(root)
		if err != nil {
			return u, err
		}
		if err := writeFile(root, spec, u, opt); err != nil {
			return u, err
		}
		if attempt >= 4 || !changed(stamps) {
			return u, nil
		}
	}
}

// Dirs returns the message directories whose mail counts: new/ and cur/ of root and of every
// folder except .Trash.
func Dirs(root string) ([]string, error) {
	dirs := []string{filepath.Join(root, "new"), filepath.Join(root, "cur")}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("quota: read %s: %w", root, err)
	}
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || n == ".." || n == TrashDir {
			continue
		}
		dirs = append(dirs, filepath.Join(root, n, "new"), filepath.Join(root, n, "cur"))
	}
	return dirs, nil
}

func count(root string) (Usage, map[string]time.Time, error) {
	var u Usage
	// The root's own time is taken before its folders are listed: a folder created, renamed
	// or deleted while we count changes it, and the count is then done again (otherwise a
	// folder renamed mid-walk would drop out of the total).
	rst, err := os.Stat(root)
	if err != nil {
		return u, nil, fmt.Errorf("quota: %w", err)
	}
	dirs, err := Dirs(root)
	if err != nil {
		return u, nil, err
	}
	stamps := make(map[string]time.Time, len(dirs)+1)
	stamps[root] = rst.ModTime()
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			continue
		}
		stamps[d] = st.ModTime()
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if n == "" || n[0] == '.' {
				continue
			}
			size, counts := MessageSize(n)
			if !counts {
				continue
			}
			if size < 0 {
				fi, err := os.Stat(filepath.Join(d, n))
				if err != nil {
					continue // removed meanwhile
				}
				size = fi.Size()
			}
			u.Bytes += size
			u.Count++
		}
	}
	return u, stamps, nil
}

// MessageSize returns the size a message file name declares with ",S=<n>" (-1 when it
// declares none, so the file must be stat()ed) and whether the message counts at all (a
// message flagged T, deleted, does not).
func MessageSize(name string) (size int64, counts bool) {
	if i := strings.Index(name, ":2,"); i >= 0 && strings.IndexByte(name[i+3:], 'T') >= 0 {
		return 0, false
	}
	i := strings.Index(name, ",S=")
	if i < 0 {
		return -1, true
	}
	for _, c := range []byte(name[i+3:]) {
		if c < '0' || c > '9' {
			break
		}
		size = size*10 + int64(c-'0')
	}
	return size, true
}

func changed(stamps map[string]time.Time) bool {
	for d, t := range stamps {
		st, err := os.Stat(d)
		if err != nil || !st.ModTime().Equal(t) {
			return true
		}
	}
	return false
}

func hostName(opt *Options) string {
	if opt != nil && opt.Host != "" {
		return opt.Host
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	h = strings.ReplaceAll(h, "/", `\057`)
	return strings.ReplaceAll(h, ":", `\072`)
}

func writeFile(root string, spec Spec, u Usage, opt *Options) error {
	now := opt.now()
	tmpName := filepath.Join(root, "tmp", fmt.Sprintf("%d.%d_NeWmAiLdIrSiZe.%s", now.Unix(), os.Getpid(), hostName(opt)))
	f, err := os.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("quota: create %s: %w", tmpName, err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(spec.String() + "\n")
	w.WriteString(FormatLine(u))
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmpName, filepath.Join(root, FileName))
	}
	if err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("quota: write %s: %w", filepath.Join(root, FileName), err)
	}
	return nil
}
