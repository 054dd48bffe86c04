package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// POP3SizeListFile is Courier pop3d's cache of message sizes and POP3 UIDs.
const POP3SizeListFile = "courierpop3dsizelist"

// ErrCorruptSizeList is wrapped by ReadPOP3SizeList's error for a malformed file.
var ErrCorruptSizeList = errors.New("corrupt courierpop3dsizelist")

// POP3Entry is one message of courierpop3dsizelist.
type POP3Entry struct {
	Name        string // file name in cur/, with its ":2,…" info as pop3d saw it
	Size        int64  // size with CRLF line ends, as POP3 reports it
	UID         uint64 // POP3 UID number ("UID<n>-<uidvalidity>" on the wire)
	UIDValidity uint64
	UTF8        bool // the message needs UTF8 (RFC 6856)
}

// POP3SizeList is the content of courierpop3dsizelist: line 1 "/3 <nextuid> <uidvalidity>",
// then "<name> <size> <uid>:<uidvalidity>:<utf8 0|1>" per message (format version 3).
type POP3SizeList struct {
	NextUID     uint64
	UIDValidity uint64
	Entries     []POP3Entry
}

// ReadPOP3SizeList reads the file of maildir dir.
func ReadPOP3SizeList(dir string) (*POP3SizeList, error) {
	b, err := os.ReadFile(filepath.Join(dir, POP3SizeListFile))
	if err != nil {
		return nil, fmt.Errorf("maildir: sizelist: %w", err)
	}
	l, err := ParsePOP3SizeList(b)
	if err != nil {
		return nil, fmt.Errorf("maildir: %s: %w", filepath.Join(dir, POP3SizeListFile), err)
	}
	return l, nil
}

// ParsePOP3SizeList parses courierpop3dsizelist content (version 3).
func ParsePOP3SizeList(b []byte) (*POP3SizeList, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	if !sc.Scan() {
		return nil, ErrCorruptSizeList
	}
	head := strings.Fields(sc.Text())
	if len(head) != 3 || head[0] != "/3" {
		return nil, ErrCorruptSizeList
	}
	nu, err1 := strconv.ParseUint(head[1], 10, 64)
	uv, err2 := strconv.ParseUint(head[2], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, ErrCorruptSizeList
	}
	l := &POP3SizeList{NextUID: nu, UIDValidity: uv}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, ErrCorruptSizeList
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		parts := strings.Split(f[2], ":")
		if err != nil || len(parts) != 3 {
			return nil, ErrCorruptSizeList
		}
		uid, err1 := strconv.ParseUint(parts[0], 10, 64)
		v, err2 := strconv.ParseUint(parts[1], 10, 64)
		if err1 != nil || err2 != nil || (parts[2] != "0" && parts[2] != "1") {
			return nil, ErrCorruptSizeList
		}
		l.Entries = append(l.Entries, POP3Entry{Name: f[0], Size: size, UID: uid, UIDValidity: v, UTF8: parts[2] == "1"})
	}
	return l, nil
}

// Bytes formats the list as Courier's pop3d writes it.
func (l *POP3SizeList) Bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "/3 %d %d\n", l.NextUID, l.UIDValidity)
	for _, e := range l.Entries {
		u := 0
		if e.UTF8 {
			u = 1
		}
		fmt.Fprintf(&b, "%s %d %d:%d:%d\n", e.Name, e.Size, e.UID, e.UIDValidity, u)
	}
	return b.Bytes()
}

// WritePOP3SizeList replaces the file of maildir dir atomically.
func WritePOP3SizeList(dir string, l *POP3SizeList, now time.Time) error {
	return writeAtomic(dir, POP3SizeListFile, l.Bytes(), 0o644, now, HostName(), true)
}
