package userdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"courier/internal/config/courierfmt"
)

// ErrPermissions reports a userdb source readable or writable by group or world.
var ErrPermissions = errors.New("MAY NOT HAVE GROUP OR WORLD PERMISSIONS")

// MaxLine bounds one userdb line.
const MaxLine = 64 << 10

// CheckMode fails if path (file or directory) has any group or world
// permission bits, as makeuserdb does.
func CheckMode(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: %w", path, ErrPermissions)
	}
	return nil
}

// Parse reads userdb lines from r; file names the source in records and
// errors. Blank lines and lines starting with "#" are skipped.
func Parse(file string, r io.Reader) ([]*Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), MaxLine)
	var out []*Record
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		rec, err := ParseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		rec.File, rec.Line = file, n
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, n+1, err)
	}
	return out, nil
}

// SourceFiles lists the files of a userdb source: path itself, or for a
// directory every plain file below it (recursively, as makeuserdb), skipping
// hidden names and editor or package-manager leftovers, in name order.
func SourceFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("userdb: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == path {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || courierfmt.SkipName(d.Name()) {
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("userdb: walk %s: %w", path, err)
	}
	sort.Strings(files)
	return files, nil
}

// Load reads a whole userdb source (file or directory). Two records with the
// same name are an error naming both places.
func Load(path string) ([]*Record, error) {
	files, err := SourceFiles(path)
	if err != nil {
		return nil, err
	}
	var all []*Record
	seen := map[string]*Record{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("userdb: %w", err)
		}
		recs, err := Parse(f, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if prev, dup := seen[r.Name]; dup {
				return nil, fmt.Errorf("%s:%d: duplicate name %q (first at %s:%d): %w", r.File, r.Line, r.Name,
					prev.File, prev.Line, ErrSyntax)
			}
			seen[r.Name] = r
			all = append(all, r)
		}
	}
	return all, nil
}
