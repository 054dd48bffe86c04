// Package maildir reads and writes Maildir++ mail stores exactly as Courier leaves them, so a
// store moves between Courier and us in both directions with nothing converted.
//
// Layout (maildir(5), README.maildirquota.html): a maildir is a directory with tmp/, new/
// and cur/; folders are flat subdirectories ".A.B" (the "." is the hierarchy separator) that
// are maildirs themselves and hold an empty maildirfolder file. Messages are written in tmp/
// under a unique name "time.MusecPpid.host", then moved to new/ as
// "time.MusecPpidVdevIino.host,S=size"; readers move them to cur/ adding ":2,FLAGS".
//
// Invariants:
//   - Durability: a delivery writes the file in tmp/, fsyncs it, links it into new/ (or cur/),
//     fsyncs that directory and only then reports success. A crash leaves at most a stale
//     file in tmp/, removed 36 hours later by Open.
//   - Containment: folder names from clients go through package foldername, which refuses
//     anything ("..", "/", NUL, overlong names) that could resolve outside the maildir; this
//     package never builds a path from an unchecked name.
//   - Flags live in the file name only (":2," then the letters in ASCII order); letters we do
//     not know (P, lowercase) are kept.
//   - UIDs: courierimapuiddb is rewritten atomically (tmp/ then rename); our processes
//     serialise UID assignment with flock on the file "imapuid.lock" in the folder
//     (a name Courier ignores), so a UID is never handed out twice by us. Courier's imapd does
//     not take that lock; with Options.CourierLocks we also take its dot-lock
//     tmp/courier.lock (IMAP_USELOCKS), and without it we rely, as Courier does without
//     IMAP_USELOCKS, on the rename being atomic and on imapd re-reading the file. Every rewrite that keeps the UIDVALIDITY is fsynced (file and
//     folder) before the UIDs are used; only a database started over with a new
//     UIDVALIDITY is not (Courier fsyncs none), since losing it only loses a numbering that
//     the next one replaces (see Folder.Sync).
//
// The package holds no package-level mutable state; a *Maildir may be used from several
// goroutines at once.
package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Sub-directory names of a maildir.
const (
	Tmp = "tmp"
	New = "new"
	Cur = "cur"
)

// FolderMarker is the empty file that marks a folder of a Maildir++.
const FolderMarker = "maildirfolder"

// deliverySeq makes tmp names unique within this process: one counter for every Maildir
// value, as sessions of one process each open their own and may deliver in the same
// microsecond.
var deliverySeq atomic.Uint64

// StaleTmp is the age after which a file left in tmp/ is removed.
const StaleTmp = 36 * time.Hour

// Mode selects the permissions of a new maildir or folder, as maildirmake's -S and -s.
type Mode int

// The modes of maildirmake.
const (
	Private     Mode = iota // 0700 everywhere (maildirmake)
	Sharable                // maildirmake -S: the top directory 0755
	SharedRead              // -s read: 0755, subdirectories 0755
	SharedWrite             // -s write: 01755, subdirectories 01777
	SharedReadGroup
	SharedWriteGroup
)

// perms returns the permissions of the directory itself and of tmp/new/cur for a maildir
// (folder false) or a folder (folder true) made with mode m.
func (m Mode) perms(folder bool) (dir, sub fs.FileMode) {
	switch m {
	case Sharable:
		if folder {
			return 0o755, 0o755
		}
		return 0o755, 0o700
	case SharedRead:
		return 0o755, 0o755
	case SharedReadGroup:
		return 0o750, 0o750
	case SharedWrite:
		return 0o755 | fs.ModeSticky, 0o777 | fs.ModeSticky
	case SharedWriteGroup:
		return 0o750 | fs.ModeSticky, 0o770 | fs.ModeSticky
	}
	return 0o700, 0o700
}

// Maildir is an open Maildir++ (its top directory, which is also INBOX).
type Maildir struct {
	path         string
	host         string
	now          func() time.Time
	courierLocks bool
}

// Options configure Open.
type Options struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Host overrides the host name used in new file names.
	Host string
	// KeepTmp disables the removal of stale files in tmp/ on open.
	KeepTmp bool
	// CourierLocks also takes Courier-IMAP's dot-lock, tmp/courier.lock, while reading and
	// rewriting courierimapuiddb, as Courier's imapd does with IMAP_USELOCKS=1 (Debian's
	// default): then it and we never both hand out the same UID.
	CourierLocks bool
}

// Create makes a new maildir at path with tmp/, new/ and cur/ (maildirmake). It fails if path
// exists. Parents must exist unless parents is true (deliverquota -c).
func Create(path string, mode Mode, parents bool) error {
	dir, sub := mode.perms(false)
	if parents {
		if err := os.MkdirAll(filepath.Dir(filepath.Clean(path)), 0o700); err != nil {
			return fmt.Errorf("maildir: create %s: %w", path, err)
		}
	}
	if err := mkdir(path, dir); err != nil {
		return err
	}
	for _, s := range []string{Tmp, New, Cur} {
		if err := mkdir(filepath.Join(path, s), sub); err != nil {
			return err
		}
	}
	return nil
}

// mkdir creates a directory with exactly perm (regardless of umask), as Courier chmods.
func mkdir(path string, perm fs.FileMode) error {
	if err := os.Mkdir(path, 0o700); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	return nil
}

// Validate checks that path is a maildir: a directory with tmp/, new/ and cur/.
func Validate(path string) error {
	for _, s := range []string{"", Tmp, New, Cur} {
		p := filepath.Join(path, s)
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("maildir: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("maildir: %s: not a directory", p)
		}
	}
	return nil
}

// Open opens the maildir at path after validating it, and removes stale files from tmp/
// (unless opt.KeepTmp).
func Open(path string, opt *Options) (*Maildir, error) {
	if err := Validate(path); err != nil {
		return nil, err
	}
	m := &Maildir{path: path, now: time.Now}
	if opt != nil {
		if opt.Now != nil {
			m.now = opt.Now
		}
		m.host = opt.Host
		m.courierLocks = opt.CourierLocks
	}
	if m.host == "" {
		m.host = HostName()
	}
	if opt == nil || !opt.KeepTmp {
		if _, err := CleanTmp(path, m.now()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Path returns the maildir's top directory.
func (m *Maildir) Path() string { return m.path }

// namedRecently reports whether a file name starts with a time (seconds since the epoch,
// then '.') less than StaleTmp before now.
func namedRecently(name string, now time.Time) bool {
	secs, _, ok := strings.Cut(name, ".")
	if !ok || secs == "" || len(secs) > 12 {
		return false
	}
	t, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return false
	}
	return now.Sub(time.Unix(t, 0)) < StaleTmp
}

// HostName returns the host name as it appears in message file names: "/" and ":" are
// written as \057 and \072 (maildir(5)).
func HostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	h = strings.ReplaceAll(h, "/", `\057`)
	return strings.ReplaceAll(h, ":", `\072`)
}

// CleanTmp removes files in dir/tmp not modified for StaleTmp and returns how many it removed.
// A file whose name starts with a recent time (maildir(5) unique names start with the
// seconds since the epoch) is kept whatever its modification time: a delivery that keeps
// a message's date (IMAP APPEND with an internal date) dates its temporary file before
// moving it into place, and must not lose it to another session's clean-up meanwhile.
func CleanTmp(dir string, now time.Time) (int, error) {
	t := filepath.Join(dir, Tmp)
	ents, err := os.ReadDir(t)
	if err != nil {
		return 0, fmt.Errorf("maildir: clean tmp: %w", err)
	}
	n := 0
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || info.IsDir() {
			continue
		}
		if now.Sub(info.ModTime()) >= StaleTmp && !namedRecently(e.Name(), now) {
			if err := os.Remove(filepath.Join(t, e.Name())); err == nil {
				n++
			} else if !errors.Is(err, fs.ErrNotExist) {
				return n, fmt.Errorf("maildir: clean tmp: %w", err)
			}
		}
	}
	return n, nil
}
