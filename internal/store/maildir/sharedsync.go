package maildir

// Filesystem-permission shared folders, the reading side (README.sharedfolders.html,
// "Accessing shared folders"): the folders a user's maildir can see through its
// shared-maildirs list, the per-user copies under shared-folders/ that hold the user's own
// flags as symbolic links to the shared messages, and the "sync" that keeps a copy in step
// with its sharable folder, done as Courier's maildir_shared_sync does it.
//
// Containment: nicks come from the user's own shared-maildirs file and must pass ValidNick;
// folder directory names are checked by SharedCache (no "/" and no ".."), so every path built
// here stays below the user's maildir or the sharable maildir the user's list names.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"courier/internal/store/foldername"
)

// SharableFolder is one folder of a sharable maildir that a user's maildir can see.
type SharableFolder struct {
	Nick string // the sharable maildir's name in shared-maildirs
	Dir  string // the folder's directory name in the sharable maildir (".News")
	Root string // the sharable maildir's path
}

// SharedLists returns the sharable maildirs visible from the maildir md: those of
// globalFile (the system-wide maildirshared; "" for none) first, then the user's own
// shared-maildirs. A nick listed twice is taken from its first line; entries with an invalid
// or empty nick or a relative path are skipped.
func SharedLists(md, globalFile string) ([]SharedEntry, error) {
	var out []SharedEntry
	seen := map[string]bool{}
	for _, f := range []string{globalFile, filepath.Join(md, SharedMaildirsFile)} {
		if f == "" {
			continue
		}
		l, err := ReadSharedList(f)
		if err != nil {
			return nil, err
		}
		for _, e := range l {
			if e.Nick == "" || !ValidNick(e.Nick) || strings.ContainsAny(e.Nick, " \t") ||
				!filepath.IsAbs(e.Path) || seen[e.Nick] {
				continue
			}
			seen[e.Nick] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// LookupShared returns the sharable maildir named nick.
func LookupShared(md, globalFile, nick string) (SharedEntry, bool, error) {
	l, err := SharedLists(md, globalFile)
	if err != nil {
		return SharedEntry{}, false, err
	}
	for _, e := range l {
		if e.Nick == nick {
			return e, true, nil
		}
	}
	return SharedEntry{}, false, nil
}

// ListSharable returns the folders of every sharable maildir visible from md that this
// process can read (a folder directory with a cur/ it may list), sorted by nick and folder.
// Inaccessible sharable maildirs are skipped, as Courier skips them.
func ListSharable(md, globalFile string) ([]SharableFolder, error) {
	l, err := SharedLists(md, globalFile)
	if err != nil {
		return nil, err
	}
	var out []SharableFolder
	for _, e := range l {
		ents, err := os.ReadDir(e.Path)
		if err != nil {
			continue
		}
		for _, d := range ents {
			n := d.Name()
			if len(n) < 2 || n[0] != '.' || n == ".." || foldername.ValidDir(n) != nil {
				continue
			}
			cur := filepath.Join(e.Path, n, Cur)
			if st, err := os.Stat(cur); err != nil || !st.IsDir() || syscall.Access(cur, 0x4|0x1) != nil {
				continue
			}
			out = append(out, SharableFolder{Nick: e.Nick, Dir: n, Root: e.Path})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Nick != out[j].Nick {
			return out[i].Nick < out[j].Nick
		}
		return out[i].Dir < out[j].Dir
	})
	return out, nil
}

// ListSharedCopies returns the shared folders md has a copy of (is subscribed to): the
// directories shared-folders/<nick>/<folder> of the nicks still listed, as folder directory
// names (".News"), sorted.
func ListSharedCopies(md, globalFile string) ([]SharableFolder, error) {
	l, err := SharedLists(md, globalFile)
	if err != nil {
		return nil, err
	}
	var out []SharableFolder
	for _, e := range l {
		ents, err := os.ReadDir(filepath.Join(md, SharedFoldersDir, e.Nick))
		if err != nil {
			continue
		}
		for _, d := range ents {
			if !d.IsDir() || strings.HasPrefix(d.Name(), ".") || foldername.ValidDir("."+d.Name()) != nil {
				continue
			}
			out = append(out, SharableFolder{Nick: e.Nick, Dir: "." + d.Name(), Root: e.Path})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Nick != out[j].Nick {
			return out[i].Nick < out[j].Nick
		}
		return out[i].Dir < out[j].Dir
	})
	return out, nil
}

// SubscribeShared makes the user's copy of shared folder folderDir of sharable maildir nick
// (maildir_shared_subscribe): shared-folders/<nick>/<folder>/ with tmp, new and cur and the
// link "shared" to the sharable folder; the sharable folder need not exist (Courier does not
// check). It returns the copy's directory; the error wraps fs.ErrExist when it exists
// already and fs.ErrNotExist when nick is not listed.
func SubscribeShared(md, globalFile, nick, folderDir string) (string, error) {
	dir, err := SharedCache(md, nick, folderDir)
	if err != nil {
		return "", err
	}
	e, ok, err := LookupShared(md, globalFile, nick)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("maildir: shared folder %s: %w", nick, fs.ErrNotExist)
	}
	if _, err := os.Lstat(dir); err == nil {
		return dir, fmt.Errorf("maildir: shared folder %s%s: %w", nick, folderDir, fs.ErrExist)
	}
	for _, p := range []string{filepath.Join(md, SharedFoldersDir), filepath.Join(md, SharedFoldersDir, nick)} {
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("maildir: subscribe shared: %w", err)
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("maildir: subscribe shared: %w", err)
	}
	for _, s := range []string{Tmp, Cur, New} {
		if err := os.Mkdir(filepath.Join(dir, s), 0o700); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("maildir: subscribe shared: %w", err)
		}
	}
	if err := os.Symlink(filepath.Join(e.Path, folderDir), filepath.Join(dir, SharedLink)); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("maildir: subscribe shared: %w", err)
	}
	return dir, nil
}

// UnsubscribeShared removes the user's copy of a shared folder (its links, flags and
// caches; never the shared messages) and the nick's directory when it is left empty.
func UnsubscribeShared(md, nick, folderDir string) error {
	dir, err := SharedCache(md, nick, folderDir)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err != nil {
		return fmt.Errorf("maildir: unsubscribe shared: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("maildir: unsubscribe shared: %w", err)
	}
	_ = os.Remove(filepath.Dir(dir)) // only when empty
	return nil
}

// SharedTarget returns the sharable folder a copy links to (the "shared" link's target).
func SharedTarget(copyDir string) (string, error) {
	t, err := os.Readlink(filepath.Join(copyDir, SharedLink))
	if err != nil {
		return "", fmt.Errorf("maildir: shared link: %w", err)
	}
	return t, nil
}

// SharedReadOnly reports whether the sharable folder behind a copy is read-only for this
// process (maildir_sharedisro: its cur/ is not writable).
func SharedReadOnly(copyDir string) bool {
	return syscall.Access(filepath.Join(copyDir, SharedLink, Cur), 0x2) != nil
}

// SharedWritableCopy reports whether the copy itself can take changes (its new/ is
// writable), which is what Courier's rights on a shared. folder depend on.
func SharedWritableCopy(copyDir string) bool {
	return syscall.Access(filepath.Join(copyDir, New), 0x2) == nil
}

// SyncShared brings the copy copyDir in step with its sharable folder, as
// maildir_shared_sync: messages that arrived in the sharable folder's new/ are moved to its
// cur/ (errors ignored: another reader may be faster, or we may not be allowed), and unless
// neither new/ nor cur/ of the sharable folder changed since the last sync (shared-timestamp),
// the copy's links are made to match the sharable folder's cur/: links to messages gone are
// removed, links whose target was renamed are pointed again, and each message not yet linked
// gets a link in the copy's new/ (without flags: it is new to this user).
func SyncShared(copyDir string, now time.Time) error {
	target, err := SharedTarget(copyDir)
	if err != nil {
		return err
	}
	_, _ = CleanTmp(copyDir, now)
	acceptShared(target)
	ts := filepath.Join(copyDir, SharedTimestamp)
	if st, err := os.Stat(ts); err == nil {
		nst, err1 := os.Stat(filepath.Join(target, New))
		cst, err2 := os.Stat(filepath.Join(target, Cur))
		if err1 == nil && err2 == nil && nst.ModTime().Before(st.ModTime()) && cst.ModTime().Before(st.ModTime()) {
			return nil
		}
	}
	if err := os.WriteFile(ts, []byte{0}, 0o600); err != nil {
		return fmt.Errorf("maildir: shared timestamp: %w", err)
	}
	names, err := readNames(filepath.Join(target, Cur))
	if err != nil {
		// The sharable folder is gone or unreadable: the copy shows nothing.
		names = nil
	}
	shared := make(map[string]string, len(names)) // base name to full name in target/cur
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			continue
		}
		b, _, _ := ParseName(n)
		shared[b] = n
	}
	for _, sub := range []string{Cur, New} {
		own, err := readNames(filepath.Join(copyDir, sub))
		if err != nil {
			return fmt.Errorf("maildir: shared sync: %w", err)
		}
		for _, n := range own {
			if strings.HasPrefix(n, ".") {
				continue
			}
			p := filepath.Join(copyDir, sub, n)
			b, _, _ := ParseName(n)
			full, ok := shared[b]
			if !ok {
				_ = os.Remove(p)
				continue
			}
			delete(shared, b)
			want := filepath.Join(target, Cur, full)
			if l, err := os.Readlink(p); err == nil && l == want {
				continue
			}
			if err := relink(copyDir, want, p, now); err != nil {
				_ = os.Remove(p)
				return err
			}
		}
	}
	bases := make([]string, 0, len(shared))
	for b := range shared {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	for _, b := range bases {
		if err := relink(copyDir, filepath.Join(target, Cur, shared[b]), filepath.Join(copyDir, New, b+InfoSep), now); err != nil {
			return err
		}
	}
	return nil
}

// acceptShared moves what was delivered into the sharable folder's new/ to its cur/.
func acceptShared(target string) {
	names, err := readNames(filepath.Join(target, New))
	if err != nil {
		return
	}
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			continue
		}
		base, flags, _ := ParseName(n)
		_ = os.Rename(filepath.Join(target, New, n), filepath.Join(target, Cur, base+InfoSep+NormalizeFlags(flags)))
	}
}

// relink atomically makes path a symbolic link to target (through a name in tmp/).
func relink(copyDir, target, path string, now time.Time) error {
	tmp := filepath.Join(copyDir, Tmp, fmt.Sprintf("%d.M%dP%d_link.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), HostName()))
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("maildir: shared sync: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("maildir: shared sync: %w", err)
	}
	return nil
}

// UnlinkShared expunges one message of a copy (maildir_unlinksharedmsg): the shared message
// its link points to is removed, then the link. When the shared message cannot be removed
// (no permission: only its owner and the sharable maildir's owner may) and still exists, the
// link stays and loses its T flag instead; removed is then false.
func UnlinkShared(path string) (removed bool, err error) {
	if t, lerr := os.Readlink(path); lerr == nil {
		if rerr := os.Remove(t); rerr != nil {
			if _, serr := os.Stat(t); serr == nil {
				dir, name := filepath.Split(path)
				base, flags, ok := ParseName(name)
				if ok && strings.IndexByte(flags, FlagTrashed) >= 0 {
					_ = os.Rename(path, filepath.Join(dir, base+InfoSep+strings.ReplaceAll(flags, string(FlagTrashed), "")))
				}
				return false, nil
			}
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("maildir: expunge shared: %w", err)
	}
	return true, nil
}
