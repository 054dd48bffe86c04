package esmtp

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// journal remembers the delivery tokens of recipients a peer accepted (250 after DATA),
// written right after the reply and before the queue hears of it. The queue writes its own
// "D n" record only when Deliver returns, and a batch delivers recipients whose Deliver
// call is still to come: the journal is what lets AlreadyDelivered recognise those after a
// crash. Two generations are kept (name and name.old); the current one is rotated when it
// exceeds maxSize, which leaves hundreds of thousands of deliveries findable, far more than
// can be in flight when a process stops.
type journal struct {
	path    string
	maxSize int64
	sync    bool

	mu     sync.Mutex
	f      *os.File
	size   int64
	loaded map[string]bool // tokens of the previous runs, read on first use
}

func openJournal(path string, maxSize int64, doSync bool) (*journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("esmtp journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("esmtp journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("esmtp journal: %w", err)
	}
	return &journal{path: path, maxSize: maxSize, sync: doSync, f: f, size: st.Size()}, nil
}

// record appends tokens (one line each).
func (j *journal) record(tokens []string) error {
	if j == nil || len(tokens) == 0 {
		return nil
	}
	line := strings.Join(tokens, "\n") + "\n"
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.size+int64(len(line)) > j.maxSize {
		if err := j.rotate(); err != nil {
			return err
		}
	}
	n, err := j.f.WriteString(line)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("esmtp journal: %w", err)
	}
	if j.sync {
		if err := syscall.Fdatasync(int(j.f.Fd())); err != nil {
			return fmt.Errorf("esmtp journal: %w", err)
		}
	}
	if j.loaded != nil {
		for _, t := range tokens {
			j.loaded[t] = true
		}
	}
	return nil
}

func (j *journal) rotate() error {
	if err := os.Rename(j.path, j.path+".old"); err != nil {
		return fmt.Errorf("esmtp journal: rotate: %w", err)
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("esmtp journal: %w", err)
	}
	j.f.Close()
	j.f, j.size = f, 0
	j.loaded = nil // read again when next needed: bounded by the two generations
	return nil
}

// has reports whether token was recorded (in this run or a previous one).
func (j *journal) has(token string) (bool, error) {
	if j == nil {
		return false, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.loaded == nil {
		set := map[string]bool{}
		for _, p := range []string{j.path + ".old", j.path} {
			f, err := os.Open(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return false, fmt.Errorf("esmtp journal: %w", err)
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if t := strings.TrimSpace(sc.Text()); t != "" {
					set[t] = true
				}
			}
			err = sc.Err()
			f.Close()
			if err != nil {
				return false, fmt.Errorf("esmtp journal: read %s: %w", p, err)
			}
		}
		j.loaded = set
	}
	return j.loaded[token], nil
}

func (j *journal) close() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.f.Close()
}
