package courierfmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Line is one line of a control file.
type Line struct {
	Text string // the line, trailing blanks removed
	File string // file it was read from (inside the directory, for a directory)
	Line int    // 1-based line number in File
}

// Pos returns "file:line" for use in messages.
func (l Line) Pos() string { return fmt.Sprintf("%s:%d", l.File, l.Line) }

// ParseControl reads a one-item-per-line control file from r; path is used in
// Line.File and in messages. Lines whose first non-blank character is "#"
// and blank lines are dropped; trailing blanks (and a "\r") are removed.
// Leading blanks are kept, since they matter in some files (continuation
// lines in aliases).
func ParseControl(path string, r io.Reader) ([]Line, error) {
	lr := newLineReader(path, r)
	var out []Line
	for {
		line, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		t := bytes.TrimRight(line, " \t\v\f\r")
		if l := bytes.TrimLeft(t, " \t\v\f"); len(l) == 0 || l[0] == '#' {
			continue
		}
		out = append(out, Line{Text: string(t), File: path, Line: lr.n})
	}
}

// ReadControl reads the control file at path with [ParseControl]. If path is
// a directory, its plain files are read in name (byte) order and their lines
// concatenated, as Courier's makedat and makealiases do. Skipped silently:
// hidden files (leading "."), editor and package-manager leftovers ("*~",
// "*.bak", "*.orig", "*.dpkg-*", "*.rpmnew", "*.rpmsave", "*.rpmorig",
// "*.ucf-*"). Skipped with a warning: entries that are not plain files
// (subdirectories, FIFOs, dangling symbolic links); Courier's tools skip
// these silently ("find -type f", "test -f"). Symbolic links to plain files
// are followed.
//
// A missing path gives an error for which errors.Is(err, fs.ErrNotExist)
// holds, so callers may treat it as empty. Any other failure names the path.
func ReadControl(path string) ([]Line, []Warning, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read control file: %w", err)
	}
	if !st.IsDir() {
		lines, err := readControlFile(path)
		return lines, nil, err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read control directory: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !SkipName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []Line
	var warns []Warning
	for _, name := range names {
		full := filepath.Join(path, name)
		st, err := os.Stat(full) // follows symbolic links
		switch {
		case errors.Is(err, os.ErrNotExist):
			warns = append(warns, Warning{File: full, Msg: "dangling symbolic link, skipped"})
			continue
		case err != nil:
			return nil, warns, fmt.Errorf("read control directory: %w", err)
		case st.IsDir():
			warns = append(warns, Warning{File: full, Msg: "is a directory, skipped (only plain files in " + path + " are read)"})
			continue
		case !st.Mode().IsRegular():
			warns = append(warns, Warning{File: full, Msg: fmt.Sprintf("not a plain file (%s), skipped", st.Mode().Type())})
			continue
		}
		lines, err := readControlFile(full)
		if err != nil {
			return nil, warns, err
		}
		out = append(out, lines...)
	}
	return out, warns, nil
}

// SkipName reports whether a directory entry with this name is left out when
// a control directory is read: hidden files and editor or package-manager
// leftovers.
func SkipName(name string) bool {
	if name == "" || name[0] == '.' || strings.HasSuffix(name, "~") {
		return true
	}
	for _, suffix := range []string{".bak", ".orig", ".rpmnew", ".rpmsave", ".rpmorig"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	for _, infix := range []string{".dpkg-", ".ucf-"} {
		if strings.Contains(name, infix) {
			return true
		}
	}
	return false
}

func readControlFile(path string) ([]Line, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("read control file: %w", err)
	}
	defer f.Close()
	return ParseControl(path, f)
}

// ReadFirstLine returns the first line of a one-value control file (me,
// defaultdomain, queuetime, sizelimit ...) with surrounding blanks removed,
// skipping blank and "#" comment lines. An empty file gives "". A missing
// file gives an error for which errors.Is(err, fs.ErrNotExist) holds.
func ReadFirstLine(path string) (string, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", fmt.Errorf("read first line: %w", err)
	}
	defer f.Close()
	lr := newLineReader(path, f)
	for {
		line, ok, err := lr.next()
		if err != nil || !ok {
			return "", err
		}
		t := strings.Trim(string(line), " \t\v\f")
		if t != "" && t[0] != '#' {
			return t, nil
		}
	}
}
