package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// recover reads the spool at start-up: empty files and recycled ones (an envelope naming
// another queue id) become spares, committed messages are queued (marked recovered),
// anything else was never acknowledged and is removed.
func (q *Queue) recover() error {
	ents, err := os.ReadDir(q.o.Dir)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	var spares []*spare
	var found []*Message
	removed := 0
	for _, e := range ents {
		name := e.Name()
		if name == lockName || strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		if _, err := strconv.ParseInt(name, 36, 64); err != nil {
			q.log.Warn("queue: ignoring a foreign file in the spool", "file", name)
			continue
		}
		path := filepath.Join(q.o.Dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("queue: recover: %w", err)
		}
		if len(data) == 0 {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return fmt.Errorf("queue: recover: %w", err)
			}
			if len(spares) < cap(q.pool) {
				spares = append(spares, &spare{id: name, f: f})
			} else {
				f.Close()
				os.Remove(path)
			}
			continue
		}
		m, err := parseFile(name, path, data)
		if errors.Is(err, errRecycled) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return fmt.Errorf("queue: recover: %w", err)
			}
			if len(spares) < cap(q.pool) {
				spares = append(spares, &spare{id: name, f: f, recycled: true})
			} else {
				f.Close()
				os.Remove(path)
			}
			continue
		}
		if err != nil {
			q.log.Info("queue: removing an unacknowledged message file", "id", name, "why", err.Error())
			os.Remove(path)
			removed++
			continue
		}
		found = append(found, m)
	}
	// The spares' names and any removals become durable before a spare is used.
	if err := q.dirS.fsync(); err != nil {
		return err
	}
	for _, s := range spares {
		q.pool <- s
	}
	q.mu.Lock()
	for _, m := range found {
		q.found = append(q.found, m.Env)
		q.msgs[m.ID] = m
		m.scheduled = true
		q.ready = append(q.ready, m)
	}
	q.mu.Unlock()
	if len(found) > 0 || removed > 0 {
		q.log.Info("queue: recovered", "messages", len(found), "removed", removed)
	}
	return nil
}

// errRecycled marks a file that holds a finished message under a new name: a spare.
var errRecycled = errors.New("a recycled spare")

// parseFile checks and parses one message file.
func parseFile(id, path string, data []byte) (*Message, error) {
	if len(data) < headerLen || string(data[:len(magic)]) != magic || data[len(magic)] != 'C' {
		return nil, fmt.Errorf("not committed")
	}
	f := strings.Fields(string(data[len(magic)+2 : headerLen]))
	if len(f) != 3 {
		return nil, fmt.Errorf("bad header")
	}
	envLen, e1 := strconv.ParseInt(f[0], 16, 64)
	contentLen, e2 := strconv.ParseInt(f[1], 16, 64)
	crc, e3 := strconv.ParseUint(f[2], 16, 32)
	if e1 != nil || e2 != nil || e3 != nil || envLen < 0 || contentLen < 0 || headerLen+envLen+contentLen > int64(len(data)) {
		return nil, fmt.Errorf("bad or short header")
	}
	body := data[headerLen : headerLen+envLen+contentLen]
	if crc32.Checksum(body, crcTable) != uint32(crc) {
		return nil, fmt.Errorf("checksum mismatch")
	}
	env := &Envelope{}
	if err := json.Unmarshal(body[:envLen], env); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if env.QueueID != "" && env.QueueID != id {
		return nil, errRecycled
	}
	state, warned, cancel := parseRecords(data[headerLen+envLen+contentLen:], len(env.Rcpts))
	m := &Message{ID: id, Env: env, path: path, contentOff: headerLen + envLen, contentLen: contentLen,
		recovered: true, state: state, warned: warned, cancel: cancel, checked: make([]bool, len(env.Rcpts))}
	return m, nil
}

// parseRecords reads the "D n" and "F n reason" lines that follow the content into a
// state per recipient (n recipients), whether a "W" line says the delay notification
// went, and the reason of an "X" line (cancelmsg).
func parseRecords(b []byte, n int) (state []byte, warned bool, cancel string) {
	state = make([]byte, n)
	lines := bytes.Split(b, []byte{'\n'})
	for j, line := range lines {
		if string(line) == "W" {
			warned = true
			continue
		}
		if r, ok := bytes.CutPrefix(line, []byte("X ")); ok && j < len(lines)-1 {
			cancel = string(r) // only a complete line: a torn one was never acknowledged
			continue
		}
		kind, rest, _ := strings.Cut(string(line), " ")
		nS, _, _ := strings.Cut(rest, " ")
		i, err := strconv.Atoi(nS)
		if err != nil || i < 0 || i >= n {
			continue // a torn last record
		}
		switch kind {
		case "D":
			state[i] = stateDone
		case "F":
			state[i] = stateFailed
		}
	}
	return state, warned, cancel
}
