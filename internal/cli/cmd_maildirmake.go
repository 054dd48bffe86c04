package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"courier/internal/fsutil"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

// maildirmake, as Courier's (maildirmake(1)): what goes to stdout and stderr, the exit codes
// and the quirks below were read off Courier 1.x running here.
//   - Options are parsed up to the first argument that is not one; later arguments are
//     ignored. "-q", "-f", "-F", "-s" take a value, attached ("-q5S") or next; "--add" and
//     "--del" take the next argument. Anything else starting with "-" prints the usage (on
//     stdout) and exits 1. A repeated option replaces the earlier one.
//   - --add (which wins over --del) and --del only edit shared-maildirs.
//   - With -q the target (maildir, or folder with -f) is created if missing, with every
//     directory getting the same permissions and, for a folder, no maildirfolder file (so the
//     folder carries its own quota); an existing target just gets its quota (in the maildir
//     at the top, as for any quota). A quota that is not parseable prints a warning; a zero
//     quota changes nothing.
//   - --checkutf8 and --convutf8 MAILDIR [MAILFILTER] convert a pre-Unicode maildir; see
//     maildirmake_utf8.go.
func init() {
	register(&Command{
		Name:  "maildirmake",
		Usage: "[-S] [-q quota] [-f folder | -F folder] [-s read|write[,group]] [--add name=path | --del name] maildir | --checkutf8|--convutf8 maildir [mailfilter]",
		Short: "create maildirs and maildir folders, set quotas, attach shared maildirs",
		Link:  true,
		Run:   runMaildirmake,
	})
}

func runMaildirmake(e *Env) int {
	usage := func() int {
		fmt.Fprintln(e.Stdout, "Usage: maildirmake [ options ] maildir")
		return 1
	}
	var (
		sharable           bool
		quotaStr           string
		hasQuota           bool
		folder, folderLoc  string
		hasFolder, isLocal bool
		shareMode          string
		hasShare           bool
		add, del           string
		hasAdd, hasDel     bool
		md                 string
	)
	args := e.Args
	value := func(i *int, a, flag string) (string, bool) {
		if len(a) > len(flag) {
			return a[len(flag):], true
		}
		if *i+1 >= len(args) {
			return "", false
		}
		*i++
		return args[*i], true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "" || a[0] != '-' {
			md = a
			break
		}
		var ok bool
		switch {
		case a == "-S":
			sharable, ok = true, true
		case strings.HasPrefix(a, "-q"):
			quotaStr, ok = value(&i, a, "-q")
			hasQuota = true
		case strings.HasPrefix(a, "-f"):
			folder, ok = value(&i, a, "-f")
			hasFolder, isLocal = true, false
		case strings.HasPrefix(a, "-F"):
			folderLoc, ok = value(&i, a, "-F")
			hasFolder, isLocal = true, true
		case strings.HasPrefix(a, "-s"):
			shareMode, ok = value(&i, a, "-s")
			hasShare = true
		case a == "--add":
			add, ok = value(&i, a, a)
			hasAdd = true
		case a == "--del":
			del, ok = value(&i, a, a)
			hasDel = true
		case a == "--checkutf8" || a == "--convutf8":
			// Acted on at once, with the options before it ignored (maildirmake_utf8.go).
			if i+1 >= len(args) {
				return usage()
			}
			filter := ""
			if i+2 < len(args) {
				filter = args[i+2]
			}
			return runConvUTF8(e, args[i+1], filter, a == "--convutf8")
		}
		if !ok {
			return usage()
		}
	}
	if md == "" {
		return usage()
	}
	if hasAdd {
		nick, path, ok := strings.Cut(add, "=")
		if !ok || !strings.HasPrefix(path, "/") {
			return usage()
		}
		global := filepath.Join(maildirmakeConfigDir(e), maildir.GlobalSharedFile)
		err := maildir.AddShared(md, nick, path, global)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, maildir.ErrNickExists):
			fmt.Fprintf(e.Stderr, "%s.\n", err)
			return 2
		case errors.Is(err, maildir.ErrInvalidNick):
			fmt.Fprintf(e.Stderr, "%s\n", err)
			return 1
		}
		fmt.Fprintf(e.Stderr, "%s\n", perrorText(err))
		return 1
	}
	if hasDel {
		err := maildir.DelShared(md, del)
		if errors.Is(err, maildir.ErrNickNotFound) {
			fmt.Fprintf(e.Stderr, "%s.\n", err)
			return 1
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "%s: %s\n", md, strerror(err))
			return 1
		}
		return 0
	}
	if hasShare && !hasFolder {
		return usage()
	}
	mode := maildir.Private
	if sharable {
		mode = maildir.Sharable
	}
	if hasShare {
		mode = maildir.SharedRead
		write, group := false, false
		for _, w := range strings.Split(shareMode, ",") {
			switch w {
			case "write":
				write = true
			case "group":
				group = true
			}
		}
		switch {
		case write && group:
			mode = maildir.SharedWriteGroup
		case write:
			mode = maildir.SharedWrite
		case group:
			mode = maildir.SharedReadGroup
		}
	}
	target := md
	if hasFolder {
		name := folder
		if isLocal {
			name = folderLoc
			if !utf8Locale(e) && !isASCII(name) {
				fmt.Fprintf(e.Stderr, "Cannot convert %s to maildir encoding\n", name)
				return 1
			}
		}
		if strings.HasPrefix(name, ".") {
			fmt.Fprintf(e.Stdout, "Invalid folder name: %s\n", name)
			return 1
		}
		target = md + "/." + name
		// Courier would mkdir through a "/" in the name; we never leave the maildir.
		if strings.Contains(strings.TrimRight(name, "/"), "/") {
			fmt.Fprintf(e.Stderr, "maildirmake: %s: %s\n", target, strerror(syscall.ENOENT))
			return 1
		}
		target = strings.TrimRight(target, "/")
	}
	if hasQuota {
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			if err := maildir.CreateUniform(target, mode, hasFolder); err != nil {
				fmt.Fprintf(e.Stderr, "maildirmake: %s: %s\n", target, strerror(err))
				return 1
			}
		}
		spec, ok := quota.ParseSpec(quotaStr)
		if !ok {
			fmt.Fprintf(e.Stderr, "WARN: quota string '%s' not parseable\n", quotaStr)
		}
		if !spec.IsZero() {
			if _, err := quota.Set(quota.Root(target), spec, nil); err != nil {
				fmt.Fprintf(e.Stderr, "maildirmake: %s\n", err)
				return 1
			}
		}
		return 0
	}
	var err error
	if hasFolder {
		err = maildir.CreateFolderPath(target, mode)
	} else {
		err = maildir.Create(md, mode, false)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "maildirmake: %s: %s\n", errPath(err, target), strerror(err))
		return 1
	}
	return 0
}

// maildirmakeConfigDir is Courier's configuration directory (COURIER_CONFIG or /etc/courier).
func maildirmakeConfigDir(e *Env) string {
	if d := e.Env("COURIER_CONFIG"); d != "" {
		return d
	}
	return "/etc/courier"
}

func utf8Locale(e *Env) bool {
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if s := e.Env(v); s != "" {
			s = strings.ToLower(s)
			return strings.Contains(s, "utf-8") || strings.Contains(s, "utf8")
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// errPath returns the path an error is about (a *fs.PathError's), or def.
func errPath(err error, def string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.New
	}
	return def
}

// perrorText formats err as C's perror(path) would: "path: No such file or directory".
func perrorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + strerror(err)
	}
	return err.Error()
}

// strerror returns glibc's text for the errno inside err.
func strerror(err error) string { return fsutil.Strerror(err) }
