package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"courier/internal/store/keywords"
)

// maildirkwUsage is Courier's usage line, printed on standard output with exit code 1.
const maildirkwUsage = "Usage: maildirkw [ options ] maildir [+/-]flag [+/-]flag...\n"

func init() {
	register(&Command{
		Name:  "maildirkw",
		Usage: "[-c] [-l] [-a] [-r] maildir message [keyword...] | [-c] -L maildir",
		Short: "set or list Courier-IMAP message keywords in a maildir",
		Link:  true,
		Run:   runMaildirkw,
	})
}

// gnuGetopt splits args the way GNU getopt does for a string of single-letter flags without
// arguments: options may follow operands (the arguments are permuted) and "--" ends options.
// It returns the flags in order and the operands, or the first unknown flag.
func gnuGetopt(args []string, known string) (flags []byte, operands []string, bad byte) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			if strings.IndexByte(known, a[j]) < 0 {
				return nil, nil, a[j]
			}
			flags = append(flags, a[j])
		}
	}
	return flags, operands, 0
}

// errnoText renders an error the way perror(3) does: the system error text without Go's
// operation and path decoration.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func runMaildirkw(e *Env) int {
	flags, ops, bad := gnuGetopt(e.Args, "clarL")
	if bad != 0 {
		fmt.Fprintf(e.Stderr, "maildirkw: invalid option -- '%c'\n", bad)
		fmt.Fprint(e.Stdout, maildirkwUsage)
		return 1
	}
	var caseSensitive, lock, list bool
	mode := byte(0) // 0 set, 'a' add, 'r' remove: the last of -a/-r wins
	for _, f := range flags {
		switch f {
		case 'c':
			caseSensitive = true
		case 'l':
			lock = true
		case 'a', 'r':
			mode = f
		case 'L':
			list = true
		}
	}
	if list {
		if len(ops) < 1 {
			fmt.Fprint(e.Stdout, maildirkwUsage)
			return 1
		}
		return maildirkwList(e, ops[0], caseSensitive, lock)
	}
	if len(ops) < 2 {
		fmt.Fprint(e.Stdout, maildirkwUsage)
		return 1
	}
	dir, msg, kws := ops[0], ops[1], ops[2:]
	if i := strings.IndexByte(msg, ':'); i >= 0 {
		msg = msg[:i]
	}
	kwDir := filepath.Join(dir, keywords.DirName) + "/"
	if msg == "" || msg == "." || msg == ".." {
		return fail(e, "maildirkw", 1, "%s: Not a directory", kwDir)
	}
	if strings.Contains(msg, "/") {
		return fail(e, "maildirkw", 1, "%s%s: No such file or directory", kwDir, msg)
	}
	if st, err := os.Stat(filepath.Join(dir, "tmp")); err != nil || !st.IsDir() {
		if err == nil {
			err = syscall.ENOTDIR
		}
		fmt.Fprintf(e.Stderr, "%s: %s\n", dir, errnoText(err))
		return 1
	}
	if lock {
		unlock, err := keywords.LockMaildir(dir, 30*time.Second)
		if err != nil {
			return fail(e, "maildirkw", 1, "%v", err)
		}
		defer unlock()
	}
	s := keywords.Open(dir, keywords.Options{CaseSensitive: caseSensitive})
	var err error
	switch mode {
	case 'a':
		err = s.Add(msg, kws...)
	case 'r':
		err = s.Remove(msg, kws...)
	default:
		err = s.Set(msg, kws)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			fmt.Fprintf(e.Stderr, "%s: %s\n", pe.Path, errnoText(pe.Err))
			return 1
		}
		return fail(e, "maildirkw", 1, "%v", err)
	}
	return 0
}

// maildirkwList prints every message that has a keyword record, "base kw kw…", merging and
// tidying the store as a reader does. A maildir that can't be read lists nothing, as Courier.
func maildirkwList(e *Env, dir string, caseSensitive, lock bool) int {
	if lock {
		if unlock, err := keywords.LockMaildir(dir, 30*time.Second); err == nil {
			defer unlock()
		}
	}
	s := keywords.Open(dir, keywords.Options{CaseSensitive: caseSensitive})
	entries, err := s.ReadAll(nil)
	if err != nil {
		fmt.Fprintf(e.Stderr, "maildirkw: %v\n", err)
		return 0
	}
	for _, en := range entries {
		fmt.Fprint(e.Stdout, en.Base)
		for _, k := range en.Keywords {
			fmt.Fprint(e.Stdout, " "+k)
		}
		fmt.Fprintln(e.Stdout)
	}
	return 0
}
