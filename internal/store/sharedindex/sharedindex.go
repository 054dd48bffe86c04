// Package sharedindex reads Courier's shared folder index (README.sharedfolders.html,
// "Virtual shared folders"): the file IMAP_SHAREDINDEXFILE names (SYSCONFDIR/shared/index,
// made by `authenumerate -s` and installed by sharedindexinstall) that tells a mail server
// where the other accounts' maildirs are, so that their owners can share folders through
// ACLs.
//
// Format: blank lines and lines starting with "#" are skipped; every other line has fields
// separated by one tab each: "name<TAB>uid<TAB>gid<TAB>homedir[<TAB>maildir]" for an
// account (maildir relative to homedir, default "./Maildir"; an absolute maildir is taken as
// it is), or "name<TAB>*<TAB>file" for an account group whose accounts are listed in another
// index file (relative names are looked up beside the file that names them). Names are UTF-8;
// in IMAP names "." and "/" in them become spaces, as Courier does without
// IMAP_SHAREDMUNGENAMES.
//
// The package holds no state; a Reader caches the files it read for its own lifetime.
package sharedindex

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"courier/internal/store/foldername"
)

// MaxDepth bounds the nesting of account groups (Courier warns against circular
// "wormholes"; here they end at this depth instead of looping).
const MaxDepth = 8

// Entry is one line of an index file: an account (Home set) or a group (File set).
type Entry struct {
	Name     string // account or group name, UTF-8 as in the file
	UID, GID int    // the account's system ids (informational, as in Courier)
	Home     string // the account's home directory
	Maildir  string // the maildir, relative to Home unless absolute; "" means ./Maildir
	File     string // a group's index file, made absolute
}

// IsGroup reports whether e names an account group.
func (e Entry) IsGroup() bool { return e.File != "" }

// MaildirPath returns where the account's maildir is (maildir_location).
func (e Entry) MaildirPath() string {
	m := e.Maildir
	if m == "" {
		m = "./Maildir"
	}
	if filepath.IsAbs(m) {
		return filepath.Clean(m)
	}
	return filepath.Join(e.Home, m)
}

// IMAPName returns the entry's name as one level of an IMAP name: "." and "/" become spaces,
// the rest is modified UTF-7.
func (e Entry) IMAPName() string {
	return foldername.EncodeMUTF7(strings.NewReplacer(".", " ", "/", " ").Replace(e.Name))
}

// Parse reads an index file's content; file is its path (for group files and messages).
// Malformed lines are skipped and reported in the returned error list, which does not stop
// the parse (Courier logs and goes on).
func Parse(file string, data []byte) ([]Entry, []error) {
	var out []Entry
	var errs []error
	dir := filepath.Dir(file)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) >= 3 && f[1] == "*" && f[0] != "" && f[2] != "" {
			g := f[2]
			if !filepath.IsAbs(g) {
				g = filepath.Join(dir, g)
			}
			out = append(out, Entry{Name: f[0], File: g})
			continue
		}
		if len(f) < 4 || f[0] == "" || f[3] == "" {
			errs = append(errs, fmt.Errorf("sharedindex: %s(%d): syntax error", file, n))
			continue
		}
		uid, err1 := strconv.Atoi(f[1])
		gid, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			errs = append(errs, fmt.Errorf("sharedindex: %s(%d): syntax error", file, n))
			continue
		}
		e := Entry{Name: f[0], UID: uid, GID: gid, Home: f[3]}
		if len(f) > 4 {
			e.Maildir = f[4]
		}
		out = append(out, e)
	}
	return out, errs
}

// Reader reads index files, each once.
type Reader struct {
	cache map[string][]Entry
	// Errs collects the problems found (unreadable files, malformed lines).
	Errs []error
}

// NewReader returns an empty Reader.
func NewReader() *Reader { return &Reader{cache: map[string][]Entry{}} }

// Read returns the entries of an index file; a missing file has none (and is noted in
// Errs, as Courier logs it once).
func (r *Reader) Read(file string) []Entry {
	if e, ok := r.cache[file]; ok {
		return e
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) || len(r.cache) == 0 {
			r.Errs = append(r.Errs, fmt.Errorf("sharedindex: %w", err))
		}
		r.cache[file] = nil
		return nil
	}
	e, errs := Parse(file, data)
	r.Errs = append(r.Errs, errs...)
	r.cache[file] = e
	return e
}

// Resolved is where an IMAP name below "#shared." leads.
type Resolved struct {
	// Account is the account whose maildir holds the folder (nil for a node of the
	// hierarchy above the accounts: a group, or "#shared" itself).
	Account *Entry
	// Path holds the IMAP levels walked to reach Account (groups, then the account).
	Path []string
	// Folder is the folder in the account's maildir as an IMAP name ("INBOX",
	// "INBOX.Projects"); empty when the name stops at a node.
	Folder string
}

// Resolve walks levels (the IMAP name after "#shared.", split at ".") through the index
// file: groups lead into their files, the first account reached takes the remaining levels
// as its folder below INBOX. ok is false when a level names nothing.
func (r *Reader) Resolve(file string, levels []string) (Resolved, bool) {
	var res Resolved
	for depth := 0; depth <= MaxDepth; depth++ {
		if len(levels) == 0 {
			return res, true
		}
		var found *Entry
		for _, e := range r.Read(file) {
			if e.IMAPName() == levels[0] {
				found = &e
				break
			}
		}
		if found == nil {
			return Resolved{}, false
		}
		res.Path = append(res.Path, levels[0])
		levels = levels[1:]
		if found.IsGroup() {
			file = found.File
			continue
		}
		res.Account = found
		res.Folder = foldername.Inbox
		if len(levels) > 0 {
			res.Folder += "." + strings.Join(levels, ".")
		}
		return res, true
	}
	return Resolved{}, false
}

// Walk calls fn for every account reachable from file, with the IMAP levels that lead to it
// (groups, then the account's own level), and for every group with its levels. It stops at
// MaxDepth.
func (r *Reader) Walk(file string, fn func(levels []string, e Entry)) {
	r.walk(file, nil, 0, fn)
}

func (r *Reader) walk(file string, prefix []string, depth int, fn func([]string, Entry)) {
	if depth > MaxDepth {
		return
	}
	for _, e := range r.Read(file) {
		levels := append(append([]string(nil), prefix...), e.IMAPName())
		fn(levels, e)
		if e.IsGroup() {
			r.walk(e.File, levels, depth+1, fn)
		}
	}
}
