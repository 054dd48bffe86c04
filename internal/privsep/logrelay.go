package privsep

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
)

// maxLogLine bounds one line of a child's standard error kept in memory; a longer line is
// logged in pieces.
const maxLogLine = 16 << 10

// logRelay logs a child's standard error on the parent's logger, one record per line, so
// that a session's events carry the connection id of the login stage. The child logs in
// JSON (the caller sets LOGFORMAT=json): such a record keeps its level, message and
// attributes (in the group "session"). Any other line (a panic, a message printed before the logger existed) is
// logged as text at warning level.
type logRelay struct {
	log *slog.Logger
	buf []byte
}

// Write implements io.Writer; os/exec calls it from one goroutine.
func (r *logRelay) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			if len(r.buf) > maxLogLine {
				r.emit(r.buf)
				r.buf = r.buf[:0]
			}
			return len(p), nil
		}
		r.emit(r.buf[:i])
		r.buf = r.buf[i+1:]
	}
}

// flush logs an unterminated last line.
func (r *logRelay) flush() {
	if len(r.buf) > 0 {
		r.emit(r.buf)
		r.buf = nil
	}
}

func (r *logRelay) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var rec map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber() // durations and counts stay integers
	if line[0] != '{' || dec.Decode(&rec) != nil {
		r.log.Warn("session process", "stderr", string(line))
		return
	}
	level := slog.LevelInfo
	if s, ok := rec["level"].(string); ok {
		_ = level.UnmarshalText([]byte(strings.ToUpper(s)))
	}
	msg, _ := rec["msg"].(string)
	delete(rec, "level")
	delete(rec, "msg")
	delete(rec, "time")
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		attrs = append(attrs, k, rec[k])
	}
	// The child's attributes go in a group of their own: its service=imapd must not read
	// as a second value of the login stage's service=imaps.
	r.log.Log(context.Background(), level, msg, slog.Group("session", attrs...))
}
