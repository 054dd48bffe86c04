package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"courier/internal/mda"
)

func init() {
	register(&Command{
		Name:  "install-links",
		Usage: "DIR",
		Short: "make links named after each tool (sendmail, maildirmake, imapd, …) in DIR",
		Run:   runInstallLinks,
	})
}

// selfExecutable is the binary the links point to; tests replace it.
var selfExecutable = os.Executable

func runInstallLinks(e *Env) int {
	if len(e.Args) != 1 {
		return fail(e, "install-links", 2, "usage: courier install-links DIR")
	}
	dir := e.Args[0]
	self, err := selfExecutable()
	if err != nil {
		return fail(e, "install-links", 1, "cannot find own executable: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(e, "install-links", 1, "%v", err)
	}
	// the per-message tools go to the lean companion binary when it was installed beside us
	lean := filepath.Join(filepath.Dir(self), "courier-mda")
	if fi, err := os.Stat(lean); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		lean = ""
	}
	n := 0
	for _, c := range Commands() {
		if !c.Link {
			continue
		}
		p := filepath.Join(dir, c.Name)
		if fi, err := os.Lstat(p); err == nil {
			if fi.Mode()&fs.ModeSymlink == 0 {
				fmt.Fprintf(e.Stderr, "install-links: %s exists and is not a link; left alone\n", p)
				continue
			}
			if err := os.Remove(p); err != nil {
				return fail(e, "install-links", 1, "%v", err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fail(e, "install-links", 1, "%v", err)
		}
		target := self
		if _, ok := mda.Tools[c.Name]; ok && lean != "" {
			target = lean
		}
		if err := os.Symlink(target, p); err != nil {
			return fail(e, "install-links", 1, "%v", err)
		}
		n++
	}
	fmt.Fprintf(e.Stdout, "%d links to %s in %s\n", n, self, dir)
	return 0
}
