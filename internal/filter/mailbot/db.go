package mailbot

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"courier/internal/fsutil"
)

// MaxDBEntries bounds the database; the oldest entries are dropped beyond it.
const MaxDBEntries = 100000

// CheckAndRecord reports whether an autoreply to addr may be sent now: true when the
// database has no reply to addr within interval of now, in which case now is recorded for
// addr. Entries older than interval are dropped while the file is rewritten.
func CheckAndRecord(path, addr string, interval time.Duration, now time.Time) (bool, error) {
	key := strings.ToLower(strings.TrimSpace(addr))
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false, fmt.Errorf("mailbot database lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("mailbot database lock %s: %w", path, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	entries, err := readDB(path)
	if err != nil {
		return false, err
	}
	if t, ok := entries[key]; ok && now.Sub(time.Unix(t, 0)) < interval && !time.Unix(t, 0).After(now) {
		return false, nil
	}
	entries[key] = now.Unix()
	for k, t := range entries {
		if now.Sub(time.Unix(t, 0)) >= interval && k != key {
			delete(entries, k)
		}
	}
	if err := writeDB(path, entries); err != nil {
		return false, err
	}
	return true, nil
}

// readDB reads the database; a missing file is empty, malformed lines are skipped.
func readDB(path string) (map[string]int64, error) {
	m := map[string]int64{}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailbot database: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		ts, addr, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || addr == "" {
			continue
		}
		m[addr] = n
	}
	return m, nil
}

// writeDB replaces the database atomically.
func writeDB(path string, m map[string]int64) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	if len(keys) > MaxDBEntries {
		keys = keys[:MaxDBEntries]
	}
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%d %s\n", m[k], k)
	}
	if err := fsutil.WriteFileAtomic(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("mailbot database: %w", err)
	}
	return nil
}
