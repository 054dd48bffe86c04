package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stored is a committed message as its spool file shows it (Scan).
type Stored struct {
	ID   string
	Env  *Envelope
	Size int64 // content length
	// Done and Failed tell, per recipient, what the file's records say.
	Done, Failed []bool
}

// maxRecords bounds how much of the per-recipient records Scan reads.
const maxRecords = 1 << 20

// Scan reads the committed messages of the spool directory dir without taking its lock
// and without changing anything, so it works while a server owns the spool (mailq). It
// reads each file's header, envelope and records but not its content, and so does not
// verify the checksum: a file torn by a crash that the next start will remove may show.
// Files that vanish while it reads (delivered meanwhile), spares, and files being written
// are skipped. Only a directory that cannot be read is an error.
func Scan(dir string) ([]Stored, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("queue: scan: %w", err)
	}
	var out []Stored
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		if _, err := strconv.ParseInt(name, 36, 64); err != nil {
			continue
		}
		s, err := scanFile(filepath.Join(dir, name), name)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil, fmt.Errorf("queue: scan: %w", err)
			}
			continue
		}
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, nil
}

// scanFile reads one spool file; nil without error means "not a committed message".
func scanFile(path, id string) (*Stored, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h := make([]byte, headerLen)
	if _, err := io.ReadFull(f, h); err != nil {
		return nil, nil // a spare or a short file
	}
	if string(h[:len(magic)]) != magic || h[len(magic)] != 'C' {
		return nil, nil
	}
	fl := strings.Fields(string(h[len(magic)+2:]))
	if len(fl) != 3 {
		return nil, nil
	}
	envLen, e1 := strconv.ParseInt(fl[0], 16, 64)
	contentLen, e2 := strconv.ParseInt(fl[1], 16, 64)
	if e1 != nil || e2 != nil || envLen <= 0 || contentLen < 0 || headerLen+envLen+contentLen > st.Size() || envLen > 64<<20 {
		return nil, nil
	}
	eb := make([]byte, envLen)
	if _, err := io.ReadFull(f, eb); err != nil {
		return nil, nil
	}
	env := &Envelope{}
	if err := json.Unmarshal(eb, env); err != nil {
		return nil, nil
	}
	if env.QueueID != "" && env.QueueID != id {
		return nil, nil // a recycled spare
	}
	recs, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, headerLen+envLen+contentLen, maxRecords), maxRecords))
	if err != nil {
		return nil, err
	}
	state, _, _ := parseRecords(recs, len(env.Rcpts))
	s := &Stored{ID: id, Env: env, Size: contentLen, Done: make([]bool, len(state)), Failed: make([]bool, len(state))}
	for i, v := range state {
		s.Done[i], s.Failed[i] = v == stateDone, v == stateFailed
	}
	return s, nil
}
