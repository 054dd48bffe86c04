package maildir

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReadUIDHeader returns the UIDVALIDITY and the next UID of the folder's courierimapuiddb
// from its first line alone (one short read, where ReadUIDDB parses every entry): enough to
// tell whether anyone handed out UIDs since the values were last seen, since every
// assignment raises the next UID.
func ReadUIDHeader(dir string) (uidValidity, nextUID uint32, err error) {
	f, err := os.Open(filepath.Join(dir, UIDDBFile))
	if err != nil {
		return 0, 0, fmt.Errorf("maildir: uiddb: %w", err)
	}
	defer f.Close()
	var buf [128]byte
	n, err := io.ReadFull(f, buf[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, 0, fmt.Errorf("maildir: uiddb: %w", err)
	}
	b := buf[:n]
	if bytes.IndexByte(b, '\n') < 0 && n == len(buf) {
		return 0, 0, fmt.Errorf("maildir: uiddb: %w", ErrCorruptUIDDB)
	}
	v, next, _, err := parseHeader(b)
	if err != nil {
		return 0, 0, fmt.Errorf("maildir: uiddb: %w", err)
	}
	return v, next, nil
}
