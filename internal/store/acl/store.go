package acl

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"courier/internal/store/foldername"
)

// staleHier is how old (by mtime) a courierimaphieracl file for a node with no folder at or
// below it must be before Reset removes it.
const staleHier = time.Hour

// Store is the ACL storage of one maildir (the account's top-level maildir). Folders are
// named by their directory names as package foldername gives them ("" for INBOX, ".Sent.2024").
type Store struct {
	maildir string
}

// Open returns the ACL store of maildir. It touches nothing on disk.
func Open(maildir string) *Store { return &Store{maildir: maildir} }

func (s *Store) folderFile(dirName string) string {
	if dirName == "" {
		return filepath.Join(s.maildir, FileName)
	}
	return filepath.Join(s.maildir, dirName, FileName)
}

// hierFiles returns the courierimaphieracl names for a node: the Courier-IMAP 5 (UTF-8) one,
// and the pre-5.0 (modified UTF-7) one when it differs.
func (s *Store) hierFiles(dirName string) []string {
	name := strings.TrimPrefix(dirName, ".")
	out := []string{filepath.Join(s.maildir, HierDir, name)}
	if imapName, err := foldername.FromDir(dirName); err == nil {
		if legacy, err := foldername.ToLegacyDir(imapName); err == nil && legacy != dirName {
			out = append(out, filepath.Join(s.maildir, HierDir, strings.TrimPrefix(legacy, ".")))
		}
	}
	return out
}

func (s *Store) folderExists(dirName string) bool {
	st, err := os.Stat(filepath.Join(s.maildir, dirName))
	return err == nil && st.IsDir()
}

func readFile(path string) (ACL, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("acl: read %s: %w", path, err)
	}
	return Parse(data), true, nil
}

// Read returns the ACL of a folder or hierarchy node. INBOX without a file has Default(). Any
// other name without a file of its own inherits its parent's ACL, and the copy is saved (in the
// folder when it exists, else in courierimaphieracl/) as Courier does; a failure to save it is
// not an error.
func (s *Store) Read(dirName string) (ACL, error) {
	if err := foldername.ValidDir(dirName); err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	return s.read(dirName)
}

func (s *Store) read(dirName string) (ACL, error) {
	a, ok, err := readFile(s.folderFile(dirName))
	if err != nil || ok {
		return a, err
	}
	if dirName == "" {
		return Default(), nil
	}
	if !s.folderExists(dirName) {
		for _, h := range s.hierFiles(dirName) {
			a, ok, err := readFile(h)
			if err != nil || ok {
				return a, err
			}
		}
	}
	a, err = s.read(foldername.Parent(dirName))
	if err != nil {
		return nil, err
	}
	_ = s.write(dirName, a)
	return a, nil
}

// Write stores the ACL of a folder (in its courierimapacl) or, when no such folder exists, of
// a hierarchy node (in courierimaphieracl/). The ACL must pass Check.
func (s *Store) Write(dirName string, a ACL) error {
	if err := foldername.ValidDir(dirName); err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	if err := a.Check(); err != nil {
		return err
	}
	return s.write(dirName, a)
}

func (s *Store) write(dirName string, a ACL) error {
	dst := s.folderFile(dirName)
	tmpDir := filepath.Join(s.maildir, dirName, "tmp")
	if dirName != "" && !s.folderExists(dirName) {
		if err := os.Mkdir(filepath.Join(s.maildir, HierDir), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("acl: create %s: %w", HierDir, err)
		}
		dst = s.hierFiles(dirName)[0]
		tmpDir = filepath.Join(s.maildir, "tmp")
	}
	if err := writeAtomic(tmpDir, filepath.Join(s.maildir, "tmp"), dst, a.String()); err != nil {
		return fmt.Errorf("acl: write %s: %w", dst, err)
	}
	return nil
}

// writeAtomic writes content to a new file in tmpDir (or fallback when tmpDir can't be used),
// syncs it and renames it to dst.
func writeAtomic(tmpDir, fallback, dst, content string) error {
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", "\\057", ":", "\\072").Replace(host)
	now := time.Now()
	name := fmt.Sprintf("%d.M%dP%d_acl%08x.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), rand.Uint32(), host)
	tmp := filepath.Join(tmpDir, name)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		tmp = filepath.Join(fallback, name)
		if f, err = os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			return fmt.Errorf("create temporary file: %w", err)
		}
	}
	_, werr := f.WriteString(content)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Set changes one identifier's rights on a folder or node (see ACL.Set) and saves the result.
func (s *Store) Set(dirName, id, rights string) error {
	a, err := s.Read(dirName)
	if err != nil {
		return err
	}
	if a, err = a.Set(id, rights); err != nil {
		return err
	}
	return s.write(dirName, a)
}

// Delete removes one identifier's entry from a folder's or node's ACL and saves the result.
func (s *Store) Delete(dirName, id string) error {
	a, err := s.Read(dirName)
	if err != nil {
		return err
	}
	if a, err = a.Delete(id); err != nil {
		return err
	}
	return s.write(dirName, a)
}

// Compute returns the rights of the union of identifiers ids on a folder or node.
func (s *Store) Compute(dirName string, ids ...string) (string, error) {
	a, err := s.Read(dirName)
	if err != nil {
		return "", err
	}
	return a.Compute(ids...), nil
}

// Rights returns a user's effective rights on a folder of this maildir: see Identifiers.
func (s *Store) Rights(dirName, login string, groups []string, isOwner bool) (string, error) {
	return s.Compute(dirName, Identifiers(login, groups, isOwner)...)
}

// Inherit gives a newly created folder its ACL: its node's courierimaphieracl entry if one was
// set before the folder existed, else its parent's ACL. Call it after creating the directory.
func (s *Store) Inherit(dirName string) error {
	if dirName == "" {
		return nil
	}
	if err := foldername.ValidDir(dirName); err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	if _, ok, err := readFile(s.folderFile(dirName)); err != nil || ok {
		return err
	}
	var a ACL
	for _, h := range s.hierFiles(dirName) {
		var ok bool
		var err error
		if a, ok, err = readFile(h); err != nil {
			return err
		} else if ok {
			break
		}
	}
	if a == nil {
		var err error
		if a, err = s.read(foldername.Parent(dirName)); err != nil {
			return err
		}
	}
	return s.write(dirName, a)
}

// Reset removes stale courierimaphieracl files (maildiracl -reset): those of nodes with no
// folder at or below them whose file is older than an hour.
func (s *Store) Reset() error {
	hier := filepath.Join(s.maildir, HierDir)
	ents, err := os.ReadDir(hier)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("acl: reset: %w", err)
	}
	tops, err := os.ReadDir(s.maildir)
	if err != nil {
		return fmt.Errorf("acl: reset: %w", err)
	}
	var folders []string // IMAP names (UTF-8) of existing folders
	for _, t := range tops {
		if !t.IsDir() || !strings.HasPrefix(t.Name(), ".") {
			continue
		}
		if n, err := foldername.FromDirUTF8(t.Name()); err == nil {
			folders = append(folders, n)
		}
	}
	for _, e := range ents {
		node, err := foldername.FromDirUTF8("." + e.Name())
		live := false
		for _, f := range folders {
			if err == nil && (f == node || strings.HasPrefix(f, node+".")) {
				live = true
				break
			}
		}
		if live {
			continue
		}
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < staleHier {
			continue
		}
		if err := os.Remove(filepath.Join(hier, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("acl: reset: %w", err)
		}
	}
	return nil
}
