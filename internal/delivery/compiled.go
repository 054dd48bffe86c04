package delivery

// The compiled domain lists of makehosteddomains and makeacceptmailfor: Courier's scripts
// run makedat over hosteddomains (file or directory) and esmtpacceptmailfor.dir into GDBM
// files the server reads, so edits count once compiled. Ours write the checked lines, in
// order, into a text file that begins with ListMagic; the resolver reads it when it is ours
// and the source text otherwise (a GDBM file left by Courier is not read).

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"courier/internal/config/courierfmt"
	"courier/internal/fsutil"
)

// ListMagic is the first line of a list compiled by our makehosteddomains or
// makeacceptmailfor.
const ListMagic = "#courier-list 1"

// CompileList reads the control file or directory src, checks every line (one domain, or
// for hosteddomains "alias domain"), and writes dst atomically. fields is the most words a
// line may have.
func CompileList(src, dst string, fields int) (int, error) {
	ls, _, err := courierfmt.ReadControl(src)
	if err != nil {
		return 0, err
	}
	var b bytes.Buffer
	b.WriteString(ListMagic + "\n")
	n := 0
	for _, l := range ls {
		f := strings.Fields(l.Text)
		if len(f) == 0 || len(f) > fields {
			return 0, fmt.Errorf("%s: %q is not a domain", l.Pos(), strings.TrimSpace(l.Text))
		}
		for _, d := range f {
			if strings.ContainsAny(d, "@/,;:") {
				return 0, fmt.Errorf("%s: %q is not a domain", l.Pos(), d)
			}
		}
		b.WriteString(strings.ToLower(strings.Join(f, "\t")) + "\n")
		n++
	}
	if err := fsutil.WriteFileAtomic(dst, b.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return n, nil
}

// isCompiledList reports whether p begins with ListMagic.
func isCompiledList(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(ListMagic))
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == ListMagic
}
