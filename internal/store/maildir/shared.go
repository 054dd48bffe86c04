package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of filesystem-permission shared folders (maildirmake(1), README.sharedfolders.html).
const (
	// SharedMaildirsFile, in a user's maildir, lists the sharable maildirs attached with
	// maildirmake --add: "nick<TAB>path" a line.
	SharedMaildirsFile = "shared-maildirs"
	// SharedFoldersDir, in a user's maildir, caches per user the shared folders in use:
	// shared-folders/<nick>/<folder>/ holds tmp/new/cur (the user's own flags), a symbolic
	// link "shared" to the shared folder and a "shared-timestamp" file.
	SharedFoldersDir = "shared-folders"
	// SharedLink and SharedTimestamp are the entries of one cache directory.
	SharedLink      = "shared"
	SharedTimestamp = "shared-timestamp"
	// GlobalSharedFile is the system-wide list of sharable maildirs, same format.
	GlobalSharedFile = "maildirshared"
)

// Errors of the shared-maildirs list.
var (
	ErrInvalidNick  = errors.New("invalid name")
	ErrNickExists   = errors.New("already defined as a sharable maildir")
	ErrNickNotFound = errors.New("not found")
)

// SharedEntry is one line of shared-maildirs or maildirshared.
type SharedEntry struct {
	Nick string
	Path string
}

// ParseSharedList parses "nick<TAB>path" lines as Courier reads them: the nick runs up to the
// first space or tab and the path follows the blank run after it; blank lines are skipped.
// (So a nick containing a space, which --add accepts, can never be matched, as in Courier.)
func ParseSharedList(b []byte) []SharedEntry {
	var out []SharedEntry
	for _, l := range strings.Split(string(b), "\n") {
		if e, ok := parseSharedLine(l); ok {
			out = append(out, e)
		}
	}
	return out
}

func parseSharedLine(l string) (SharedEntry, bool) {
	if strings.TrimSpace(l) == "" {
		return SharedEntry{}, false
	}
	i := strings.IndexAny(l, " \t")
	if i < 0 {
		return SharedEntry{Nick: l}, true
	}
	return SharedEntry{Nick: l[:i], Path: strings.TrimLeft(l[i:], " \t")}, true
}

// ReadSharedList reads a shared-maildirs (or maildirshared) file; a missing file is empty.
func ReadSharedList(path string) ([]SharedEntry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	return ParseSharedList(b), nil
}

// ValidNick reports whether nick may name a sharable maildir: it becomes one level of a
// folder name, so it may contain neither "." nor "/" (nor a newline, which would break the
// file). Courier accepts an empty nick and a tab; so do we, for compatibility.
func ValidNick(nick string) bool { return !strings.ContainsAny(nick, "./\n") }

// AddShared attaches the sharable maildir at path under nick to the maildir md (maildirmake
// --add). path must be absolute and exist. globalFile, if not empty, is the system-wide list
// whose nicks may not be reused. Errors wrap ErrInvalidNick, ErrNickExists or the error of
// stat.
func AddShared(md, nick, path, globalFile string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	if !ValidNick(nick) {
		return fmt.Errorf("%s: %w", nick, ErrInvalidNick)
	}
	if globalFile != "" {
		g, err := ReadSharedList(globalFile)
		if err != nil {
			return err
		}
		for _, e := range g {
			if e.Nick == nick {
				return fmt.Errorf("%s: %w in %s", nick, ErrNickExists, globalFile)
			}
		}
	}
	if _, err := os.Stat(md); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(md, SharedMaildirsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("maildir: %w", err)
	}
	for _, e := range ParseSharedList(b) {
		if e.Nick == nick {
			return fmt.Errorf("%s: %w", nick, ErrNickExists)
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return writeSharedFile(md, fmt.Appendf(b, "%s\t%s\n", nick, path))
}

// DelShared detaches the sharable maildir nick from md (maildirmake --del). Other lines are
// kept as they are. The shared-folders cache is left alone, as Courier leaves it. The error
// wraps ErrNickNotFound when nick is not attached.
func DelShared(md, nick string) error {
	b, err := os.ReadFile(filepath.Join(md, SharedMaildirsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("maildir: %w", err)
	}
	if err != nil {
		if _, serr := os.Stat(md); serr != nil {
			return serr
		}
	}
	var keep bytes.Buffer
	found := false
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if e, ok := parseSharedLine(strings.TrimSuffix(l, "\n")); ok && e.Nick == nick {
			found = true
			continue
		}
		keep.WriteString(l)
	}
	if !found {
		return fmt.Errorf("%s: %w", nick, ErrNickNotFound)
	}
	return writeSharedFile(md, keep.Bytes())
}

func writeSharedFile(md string, b []byte) error {
	if err := Validate(md); err != nil {
		// not a maildir with tmp/: write in place
		return os.WriteFile(filepath.Join(md, SharedMaildirsFile), b, 0o644)
	}
	return writeAtomic(md, SharedMaildirsFile, b, 0o644, time.Now(), HostName(), true)
}

// SharedCache returns the cache directory of shared folder folderDir (".W") of the sharable
// maildir nick inside the user's maildir md: md/shared-folders/<nick>/<folder without dot>.
func SharedCache(md, nick, folderDir string) (string, error) {
	if !ValidNick(nick) || nick == "" {
		return "", fmt.Errorf("%q: %w", nick, ErrInvalidNick)
	}
	if len(folderDir) < 2 || folderDir[0] != '.' || strings.Contains(folderDir, "/") || strings.Contains(folderDir, "..") {
		return "", fmt.Errorf("%q: %w", folderDir, ErrInvalidNick)
	}
	return filepath.Join(md, SharedFoldersDir, nick, folderDir[1:]), nil
}

// EnsureSharedCache creates (if missing) the cache directory of a shared folder as Courier-IMAP
// does on first access: tmp/new/cur (0700), a symbolic link "shared" to the shared folder's
// directory and a one-byte "shared-timestamp" file. It returns the cache directory.
func EnsureSharedCache(md, nick, sharedRoot, folderDir string) (string, error) {
	dir, err := SharedCache(md, nick, folderDir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("maildir: shared cache: %w", err)
	}
	for _, p := range []string{filepath.Join(md, SharedFoldersDir), filepath.Join(md, SharedFoldersDir, nick), dir} {
		if err := os.Chmod(p, 0o700); err != nil {
			return "", fmt.Errorf("maildir: shared cache: %w", err)
		}
	}
	for _, s := range []string{Tmp, New, Cur} {
		if err := os.Mkdir(filepath.Join(dir, s), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("maildir: shared cache: %w", err)
		}
	}
	link := filepath.Join(dir, SharedLink)
	if _, err := os.Lstat(link); errors.Is(err, fs.ErrNotExist) {
		if err := os.Symlink(filepath.Join(sharedRoot, folderDir), link); err != nil {
			return "", fmt.Errorf("maildir: shared cache: %w", err)
		}
	}
	ts := filepath.Join(dir, SharedTimestamp)
	if _, err := os.Lstat(ts); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(ts, []byte{0}, 0o600); err != nil {
			return "", fmt.Errorf("maildir: shared cache: %w", err)
		}
	}
	return dir, nil
}

// CreateSharedFolder makes a publicly accessible folder in a sharable maildir (maildirmake -s
// MODE -f NAME): mode is SharedRead, SharedWrite or their Group forms. The name is checked
// like any folder name.
func CreateSharedFolder(root, dir string, mode Mode) error {
	return CreateFolderDir(root, dir, mode)
}
