package userdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockFile takes Courier's userdb lock for file: an exclusive flock on
// ".lock.NAME" in the same directory (the userdb script's convention).
func lockFile(file string) (func(), error) {
	dir, base := filepath.Split(file)
	lf, err := os.OpenFile(filepath.Join(dir, ".lock."+base), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("userdb: lock: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		lf.Close()
		return nil, fmt.Errorf("userdb: lock: %w", err)
	}
	return func() { lf.Close() }, nil
}

// EditFile rewrites the record called name in the userdb text file (not a
// directory) under Courier's lock. fn receives the parsed record, or nil if
// there is none, and returns the new record (appended if it is new) or nil to
// delete it. Other lines, comments included, are kept byte for byte. The
// file keeps its mode (0600 when created) and is replaced atomically. It
// reports whether the record existed.
func EditFile(file, name string, fn func(*Record) (*Record, error)) (bool, error) {
	if st, err := os.Stat(file); err == nil && !st.Mode().IsRegular() {
		return false, fmt.Errorf("%s: not a file", file)
	}
	unlock, err := lockFile(file)
	if err != nil {
		return false, err
	}
	defer unlock()
	data, err := os.ReadFile(file)
	mode := os.FileMode(0o600)
	if err == nil {
		if st, err := os.Stat(file); err == nil {
			mode = st.Mode().Perm()
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("userdb: %w", err)
	}
	var out bytes.Buffer
	found := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), MaxLine)
	for sc.Scan() {
		line := sc.Text()
		if !found && line != "" && line[0] != '#' && (line == name || strings.HasPrefix(line, name+"\t")) {
			found = true
			r, perr := ParseLine(line)
			if perr != nil {
				r = &Record{Name: name}
			}
			nr, err := fn(r)
			if err != nil {
				return true, err
			}
			if nr != nil {
				out.WriteString(nr.String())
				out.WriteByte('\n')
			}
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("userdb: %s: %w", file, err)
	}
	if !found {
		nr, err := fn(nil)
		if err != nil {
			return false, err
		}
		if nr == nil {
			return false, nil
		}
		out.WriteString(nr.String())
		out.WriteByte('\n')
	}
	dir, base := filepath.Split(file)
	tmp := filepath.Join(dir, ".tmp."+base)
	if err := writeSynced(tmp, out.Bytes(), mode); err != nil {
		return found, err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return found, fmt.Errorf("userdb: %w", err)
	}
	return found, nil
}

// writeSynced writes and fsyncs a file with the given mode.
func writeSynced(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	if err := f.Chmod(mode); err == nil {
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			return nil
		}
	} else {
		f.Close()
	}
	os.Remove(path)
	return fmt.Errorf("userdb: write %s: %w", path, err)
}

// ReadFileRecords reads one userdb text file for display: the records in
// order. A missing file has no records.
func ReadFileRecords(file string) ([]*Record, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("userdb: %w", err)
	}
	return Parse(file, bytes.NewReader(data))
}
