package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"courier/internal/store/foldername"
)

// SubscriptionsFile lists the subscribed IMAP folder names, one a line.
const SubscriptionsFile = "courierimapsubscribed"

// ErrInbox is returned (wrapped) for an operation INBOX does not allow (delete, rename).
var ErrInbox = errors.New("not allowed on INBOX")

// Folder returns the folder with the given IMAP name (modified UTF-7, "INBOX.Sent"). The
// directory is looked up in the UTF-8 form Courier-IMAP 5 writes, then in the older modified
// UTF-7 form. The error wraps fs.ErrNotExist when the folder does not exist, and
// foldername.ErrInvalidName for a name that is not valid.
func (m *Maildir) Folder(imapName string) (*Folder, error) {
	dir, err := foldername.Resolve(m.path, imapName)
	if err != nil {
		return nil, fmt.Errorf("maildir: folder %q: %w", imapName, err)
	}
	return m.FolderDir(dir)
}

// FolderDir returns the folder stored in directory dir (".A.B", "" for INBOX), checking the
// name and that the folder exists.
func (m *Maildir) FolderDir(dir string) (*Folder, error) {
	p, err := foldername.Path(m.path, dir)
	if err != nil {
		return nil, fmt.Errorf("maildir: folder %q: %w", dir, err)
	}
	if dir == "." {
		dir = ""
	}
	if err := Validate(p); err != nil {
		return nil, err
	}
	return &Folder{m: m, dir: dir, path: p}, nil
}

// Name returns the folder's IMAP name in modified UTF-7.
func (f *Folder) Name() string {
	n, err := foldername.FromDir(f.dir)
	if err != nil {
		return f.dir
	}
	return n
}

// CreateFolder creates the folder with the given IMAP name (only that one: like Courier, no
// parent levels are made). The error wraps fs.ErrExist when it exists.
func (m *Maildir) CreateFolder(imapName string, mode Mode) (*Folder, error) {
	if foldername.IsInbox(imapName) {
		return nil, fmt.Errorf("maildir: create INBOX: %w", fs.ErrExist)
	}
	dir, err := foldername.ToDir(imapName)
	if err != nil {
		return nil, fmt.Errorf("maildir: create %q: %w", imapName, err)
	}
	if legacy, err := foldername.Resolve(m.path, imapName); err == nil && legacy != dir {
		return nil, fmt.Errorf("maildir: create %q: %w", imapName, fs.ErrExist)
	}
	if err := CreateFolderDir(m.path, dir, mode); err != nil {
		return nil, err
	}
	return &Folder{m: m, dir: dir, path: filepath.Join(m.path, dir)}, nil
}

// CreateFolderDir makes the folder directory dir (".A.B") inside the maildir at root with
// tmp/new/cur and the maildirfolder file, with the permissions of mode. The name is checked
// with package foldername.
func CreateFolderDir(root, dir string, mode Mode) error {
	p, err := foldername.Path(root, dir)
	if err != nil || dir == "" || dir == "." {
		return fmt.Errorf("maildir: create folder %q: %w", dir, foldername.ErrInvalidName)
	}
	return makeFolder(p, mode)
}

// CreateFolderPath makes a folder at path p, whose last element must be a folder directory
// name (".X", no "/"), as maildirmake -f does. maildirmake is more lenient than IMAP about
// names (it takes control characters and empty levels), so only what could leave the
// maildir is refused here.
func CreateFolderPath(p string, mode Mode) error {
	base := filepath.Base(p)
	if len(base) < 2 || base[0] != '.' || base == ".." {
		return fmt.Errorf("maildir: create folder %q: %w", p, foldername.ErrInvalidName)
	}
	return makeFolder(p, mode)
}

// CreateUniform makes a maildir (or, with folder, a folder) at p whose tmp/new/cur get the
// same permissions as p itself and, for a folder, no maildirfolder file: what Courier's
// maildirmake -q leaves when it has to create its target.
func CreateUniform(p string, mode Mode, folder bool) error {
	dperm, _ := mode.perms(folder)
	if err := mkdir(p, dperm); err != nil {
		return err
	}
	for _, s := range []string{Tmp, New, Cur} {
		if err := mkdir(filepath.Join(p, s), dperm); err != nil {
			return err
		}
	}
	return nil
}

// makeFolder creates a folder at path p (callers check the name).
func makeFolder(p string, mode Mode) error {
	dperm, sperm := mode.perms(true)
	if err := mkdir(p, dperm); err != nil {
		return err
	}
	for _, s := range []string{Tmp, New, Cur} {
		if err := mkdir(filepath.Join(p, s), sperm); err != nil {
			return err
		}
	}
	mf, err := os.OpenFile(filepath.Join(p, FolderMarker), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	if err := mf.Close(); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	return nil
}

// FolderInfo names one folder of a listing.
type FolderInfo struct {
	Name string // IMAP name, modified UTF-7
	Dir  string // directory name ("" for INBOX)
}

// ListFolders returns INBOX and every folder directory whose name is valid, sorted by IMAP
// name. Entries that are not directories or whose names foldername refuses are skipped.
func (m *Maildir) ListFolders() ([]FolderInfo, error) {
	ents, err := os.ReadDir(m.path)
	if err != nil {
		return nil, fmt.Errorf("maildir: list folders: %w", err)
	}
	out := []FolderInfo{{Name: foldername.Inbox}}
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || n == ".." || !e.IsDir() {
			continue
		}
		name, err := foldername.FromDir(n)
		if err != nil {
			continue
		}
		out = append(out, FolderInfo{Name: name, Dir: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RenameFolder renames a folder and every folder below it (".A" to ".B" moves ".A.x" to
// ".B.x"), as Courier-IMAP's RENAME does. The target must not exist.
func (m *Maildir) RenameFolder(oldName, newName string) error {
	if foldername.IsInbox(oldName) || foldername.IsInbox(newName) {
		return fmt.Errorf("maildir: rename %q: %w", oldName, ErrInbox)
	}
	from, err := foldername.Resolve(m.path, oldName)
	if err != nil {
		return fmt.Errorf("maildir: rename %q: %w", oldName, err)
	}
	to, err := foldername.ToDir(newName)
	if err != nil {
		return fmt.Errorf("maildir: rename to %q: %w", newName, err)
	}
	if from == to || strings.HasPrefix(to, from+".") {
		return fmt.Errorf("maildir: rename %q to %q: %w", oldName, newName, foldername.ErrInvalidName)
	}
	if _, err := os.Lstat(filepath.Join(m.path, to)); err == nil {
		return fmt.Errorf("maildir: rename to %q: %w", newName, fs.ErrExist)
	}
	ents, err := os.ReadDir(m.path)
	if err != nil {
		return fmt.Errorf("maildir: rename: %w", err)
	}
	type pair struct{ from, to string }
	var moves []pair
	for _, e := range ents {
		n := e.Name()
		if n == from || strings.HasPrefix(n, from+".") {
			dst := to + n[len(from):]
			if err := foldername.ValidDir(dst); err != nil {
				return fmt.Errorf("maildir: rename %q: %w", n, err)
			}
			if _, err := os.Lstat(filepath.Join(m.path, dst)); err == nil {
				return fmt.Errorf("maildir: rename to %q: %w", dst, fs.ErrExist)
			}
			moves = append(moves, pair{n, dst})
		}
	}
	if len(moves) == 0 {
		return fmt.Errorf("maildir: rename %q: %w", oldName, fs.ErrNotExist)
	}
	for _, mv := range moves {
		if err := os.Rename(filepath.Join(m.path, mv.from), filepath.Join(m.path, mv.to)); err != nil {
			return fmt.Errorf("maildir: rename: %w", err)
		}
	}
	return syncDir(m.path)
}

// DeleteFolder removes one folder and everything in its directory (its subfolders, being
// separate directories, stay). INBOX cannot be deleted.
func (m *Maildir) DeleteFolder(imapName string) error {
	if foldername.IsInbox(imapName) {
		return fmt.Errorf("maildir: delete: %w", ErrInbox)
	}
	dir, err := foldername.Resolve(m.path, imapName)
	if err != nil {
		return fmt.Errorf("maildir: delete %q: %w", imapName, err)
	}
	p, err := foldername.Path(m.path, dir)
	if err != nil || dir == "" {
		return fmt.Errorf("maildir: delete %q: %w", imapName, foldername.ErrInvalidName)
	}
	if err := Validate(p); err != nil {
		return err
	}
	// Rename first so a concurrent reader never sees a half-removed folder, then remove.
	trash := filepath.Join(m.path, Tmp, fmt.Sprintf("%d.deleted%s", m.now().UnixNano(), strings.ReplaceAll(dir, "/", "_")))
	if err := os.Rename(p, trash); err != nil {
		return fmt.Errorf("maildir: delete %q: %w", imapName, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("maildir: delete %q: %w", imapName, err)
	}
	return nil
}

// Subscriptions returns the subscribed folder names, in file order.
func (m *Maildir) Subscriptions() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(m.path, SubscriptionsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("maildir: subscriptions: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// Subscribe adds a name to courierimapsubscribed (once).
func (m *Maildir) Subscribe(name string) error {
	subs, err := m.Subscriptions()
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s == name {
			return nil
		}
	}
	return m.writeSubscriptions(append(subs, name))
}

// Unsubscribe removes a name from courierimapsubscribed.
func (m *Maildir) Unsubscribe(name string) error {
	subs, err := m.Subscriptions()
	if err != nil {
		return err
	}
	out := subs[:0]
	for _, s := range subs {
		if s != name {
			out = append(out, s)
		}
	}
	return m.writeSubscriptions(out)
}

func (m *Maildir) writeSubscriptions(names []string) error {
	var b strings.Builder
	for _, n := range names {
		if strings.ContainsAny(n, "\n\r") {
			return fmt.Errorf("maildir: subscribe %q: %w", n, foldername.ErrInvalidName)
		}
		b.WriteString(n + "\n")
	}
	return writeAtomic(m.path, SubscriptionsFile, []byte(b.String()), 0o644, m.now(), m.host, true)
}
