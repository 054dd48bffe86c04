package cli

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"unicode/utf16"
	"unicode/utf8"

	"courier/internal/filter/sqwebmail"
	"courier/internal/store/foldername"
)

// maildirmake --checkutf8 / --convutf8 MAILDIR [MAILFILTER]: convert a pre-Unicode maildir,
// whose folder directories are named in IMAP's modified UTF-7 (".R&AOk-sum&AOk-"), to the
// Unicode layout of Courier-IMAP 5 (".Résumé"), together with courierimapsubscribed and a
// SqWebMail-generated .mailfilter. What is printed, in which order, the exit codes and what is
// left on disk were read off Courier's maildirmake (courier-unicode 2.x) running here:
//
//	stdout  "Checking MAILDIR:"
//	stderr  "Error: INBOX.x: does not appear to be valid modified-UTF7" for each bad folder;
//	        if there is any, exit 1 before anything else is read or written
//	stdout  "Mail filter to INBOX.x updated to INBOX.y" per rewritten filter rule
//	stderr  "Error: cannot load MAILFILTER" (a file that is not SqWebMail's: ignored, exit 0),
//	        "Cannot parse MAILFILTER" / "Failed to parse MAILFILTER" (exit 1)
//	stdout  "Subscription to x changed to y" per changed courierimapsubscribed line
//	stderr  "Error: courierimapsubscribed: x: does not appear to be valid modified-UTF7",
//	        "Error: courierimapsubscribed: folder name too long" (a line of 2047 bytes or more,
//	        or a last line without newline); any error so far: exit 1, nothing changed
//	stdout  "Rename INBOX.x to INBOX.y" per folder, in the reverse of the directory's order
//	stderr  "FATAL ERROR RENAMING from to: strerror" (the target exists...): carry on, exit 1
//	stdout  "Updating FILE" (--convutf8) or "Verified FILE" (--checkutf8), subscriptions first
//
// Only folders (".name" directories with a cur/ subdirectory) are looked at; a missing maildir
// is just an empty one. A missing MAILFILTER is ignored, as is the MAILFILTER argument of a
// non-SqWebMail file (after the message above). Renames are rename(2), as Courier's: onto an
// existing folder it fails ("Directory not empty"; "Not a directory" onto a file), so no
// folder or file is ever replaced; only an empty directory in the way is.
//
// Where ours deliberately differs from Courier's:
//   - --checkutf8 writes nothing. Courier leaves courierimapsubscribed.new and MAILFILTER.new
//     behind.
//   - Courier decodes a raw byte >= 0x80 as U+FF00+byte, so a second --convutf8 garbles every
//     converted name (".Résumé" becomes ".Rￃﾩsumￃﾩ"), as does a folder made by a UTF-8 client.
//     Here raw UTF-8 stands for itself, so converted names are left alone; a name that is not
//     valid UTF-8 is an error.
//   - Courier renames to whatever the decoding yields, even a name with "/" (moving a folder
//     into another one, or failing), an encoded "." (a new hierarchy level, or "md/.."), an
//     empty level, a NUL (cutting the name) or a control character. Those are errors here,
//     reported like any bad name, so no folder leaves the maildir or becomes unreachable.
//   - Courier refuses UTF-16 surrogate pairs (characters beyond U+FFFF, such as emoji) as
//     invalid; they are decoded here, as RFC 3501 specifies.
//   - Courier crashes on a filter rule whose folder is not valid modified UTF-7; this reports
//     "Error: MAILFILTER: INBOX.x: does not appear to be valid modified-UTF7" and exits 1.
//   - A filter rule's pattern is checked with Go's regexp parser where Courier asks PCRE; only
//     errors both agree on (unbalanced parentheses or brackets, a missing repeat argument, a
//     bad range, a trailing backslash) drop a rule.

const subscribedFile = "courierimapsubscribed"

type utf8Rename struct{ from, to string }

// pendingFile is a file rewritten by the conversion: its new content, written next to it as
// name+".new" and renamed over it at the end.
type pendingFile struct {
	name    string
	content []byte
	st      fs.FileInfo
}

func runConvUTF8(e *Env, md, mailfilter string, doit bool) int {
	fmt.Fprintf(e.Stdout, "Checking %s:\n", md)
	status := 0

	var renames []utf8Rename
	for _, name := range utf8FolderDirs(md) {
		from := "INBOX" + name
		to, ok := convertFolderNameUTF8(from)
		if !ok {
			fmt.Fprintf(e.Stderr, "Error: %s: does not appear to be valid modified-UTF7\n", from)
			status = 1
			continue
		}
		if to != from {
			// Courier prepends to its list: renames come out in reverse directory order.
			renames = append([]utf8Rename{{from, to}}, renames...)
		}
	}
	if status != 0 {
		return status
	}

	var files []*pendingFile
	var filterFile *pendingFile
	if mailfilter != "" {
		var st int
		filterFile, st = convertMailfilter(e, mailfilter)
		status |= st
	}

	var subsFile *pendingFile
	subsPath := md + "/" + subscribedFile
	if data, err := os.ReadFile(subsPath); err == nil {
		content, st := convertSubscriptions(e, data)
		status |= st
		fi, err := os.Stat(subsPath)
		if err != nil {
			fmt.Fprintf(e.Stderr, "%s\n", perrorText(err))
			return 1
		}
		subsFile = &pendingFile{name: subsPath, content: content, st: fi}
		files = append(files, subsFile)
	}
	if filterFile != nil {
		files = append(files, filterFile)
	}
	if status != 0 {
		return status
	}

	if doit {
		// Write every new file before touching any folder: a failure here changes nothing.
		for i, f := range files {
			if err := writePendingFile(f); err != nil {
				fmt.Fprintf(e.Stderr, "%s\n", perrorText(err))
				for _, g := range files[:i+1] {
					os.Remove(g.name + ".new")
				}
				return 1
			}
		}
	}

	for _, r := range renames {
		fmt.Fprintf(e.Stdout, "Rename %s to %s\n", r.from, r.to)
		if !doit {
			continue
		}
		from := md + "/" + r.from[strings.IndexByte(r.from, '.'):]
		to := md + "/" + r.to[strings.IndexByte(r.to, '.'):]
		// rename(2) itself, as Courier: it never replaces a non-empty directory (Go's
		// os.Rename would refuse any existing directory, with another error text).
		if err := syscall.Rename(from, to); err != nil {
			fmt.Fprintf(e.Stderr, "FATAL ERROR RENAMING %s to %s: %s\n", from, to, strerror(err))
			status = 1
		}
	}

	for _, f := range files {
		if !doit {
			fmt.Fprintf(e.Stdout, "Verified %s\n", f.name)
			continue
		}
		fmt.Fprintf(e.Stdout, "Updating %s\n", f.name)
		if err := os.Rename(f.name+".new", f.name); err != nil {
			fmt.Fprintf(e.Stderr, "FATAL ERROR RENAMING %s to %s: %s\n", f.name+".new", f.name, strerror(err))
			status = 1
		}
	}
	return status
}

// utf8FolderDirs lists the folder directories of md (".name" with a cur/ inside) in the
// directory's own order, as readdir(3) returns them.
func utf8FolderDirs(md string) []string {
	d, err := os.Open(md)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []string
	for _, n := range names {
		if len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		if syscall.Access(md+"/"+n+"/cur/.", 1 /* X_OK */) != nil {
			continue
		}
		out = append(out, n)
	}
	return out
}

// writePendingFile writes f.name+".new" with the permissions (and, as root, the owner) of
// f.name.
func writePendingFile(f *pendingFile) error {
	tmp := f.name + ".new"
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = fh.Write(f.content)
	if err2 := fh.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Chmod(tmp, f.st.Mode().Perm()|f.st.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	}
	if err == nil && os.Geteuid() == 0 {
		if sys, ok := f.st.Sys().(*syscall.Stat_t); ok {
			err = os.Chown(tmp, int(sys.Uid), int(sys.Gid))
		}
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// convertSubscriptions converts courierimapsubscribed, reading it as Courier's fgets() loop
// with a 2048-byte buffer does.
func convertSubscriptions(e *Env, data []byte) ([]byte, int) {
	const bufSize = 2048
	var out bytes.Buffer
	status := 0
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n')
		if n < 0 || n >= bufSize-1 {
			// No newline within what fgets() returns.
			take := len(data)
			if take > bufSize-1 {
				take = bufSize - 1
			}
			data = data[take:]
			fmt.Fprintf(e.Stderr, "Error: courierimapsubscribed: folder name too long\n")
			status = 1
			continue
		}
		line := string(data[:n])
		data = data[n+1:]
		conv, ok := convertFolderNameUTF8(line)
		if !ok {
			fmt.Fprintf(e.Stderr, "Error: courierimapsubscribed: %s: does not appear to be valid modified-UTF7\n", line)
			status = 1
			continue
		}
		out.WriteString(conv)
		out.WriteByte('\n')
		if conv != line {
			fmt.Fprintf(e.Stdout, "Subscription to %s changed to %s\n", line, conv)
		}
	}
	return out.Bytes(), status
}

// convertFolderNameUTF8 converts a pre-Unicode folder name ("INBOX.R&AOk-sum&AOk-", or any
// other "."-separated name) to UTF-8 ("INBOX.Résumé"), one hierarchy level at a time. It fails
// for a level that is not modified UTF-7 or whose decoding is not a safe folder name level.
func convertFolderNameUTF8(name string) (string, bool) {
	levels := strings.Split(name, ".")
	for i, l := range levels {
		conv, ok := convertLevelUTF8(l)
		if !ok {
			return "", false
		}
		levels[i] = conv
	}
	return strings.Join(levels, "."), true
}

// convertLevelUTF8 decodes one hierarchy level. Like Courier it accepts sloppy modified UTF-7
// (printable ASCII in BASE64, adjacent shift sequences, left-over or non-zero padding bits)
// and passes other bytes below 0x80 through. Unlike Courier, raw UTF-8 outside the shift
// sequences stands for itself (a converted name stays as it is) and a level that is not valid
// UTF-8 is an error; see the comment at the top for the other places where it is stricter.
func convertLevelUTF8(l string) (string, bool) {
	if !utf8.ValidString(l) {
		return "", false
	}
	if strings.IndexByte(l, '&') < 0 {
		return l, true
	}
	var b strings.Builder
	for i := 0; i < len(l); {
		c := l[i]
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		end := strings.IndexByte(l[i:], '-')
		if end < 0 {
			return "", false
		}
		seq := l[i : i+end]
		i += end + 1
		if seq == "" {
			b.WriteByte('&')
			continue
		}
		// Courier ignores leftover bits, so this does too.
		units, _, _, bad := foldername.Base64Units(seq)
		if bad >= 0 {
			return "", false
		}
		for k := 0; k < len(units); k++ {
			r := rune(units[k])
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || k+1 >= len(units) {
					return "", false
				}
				r = utf16.DecodeRune(r, rune(units[k+1]))
				if r == utf8.RuneError {
					return "", false
				}
				k++
			}
			b.WriteRune(r)
		}
	}
	conv := b.String()
	if conv == l {
		return conv, true
	}
	return conv, safeLevelUTF8(conv)
}

// safeLevelUTF8 reports whether a converted level may name a folder directory level: not
// empty, and no "/", "." or control character.
func safeLevelUTF8(l string) bool {
	if l == "" {
		return false
	}
	for _, r := range l {
		if r == '/' || r == '.' || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// convertMailfilter loads a SqWebMail-generated filter, converts its folder references and
// returns the regenerated filter (nil when there is nothing to rewrite) and the exit status.
func convertMailfilter(e *Env, path string) (*pendingFile, int) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0 // like a missing file: ignored
	}
	rules, err := sqwebmail.Load(data)
	if err != nil {
		fmt.Fprintf(e.Stderr, "Error: cannot load %s\n", path)
	}
	status := 0
	for i := range rules {
		r := &rules[i]
		if !strings.HasPrefix(r.Folder(), "INBOX.") {
			continue
		}
		conv, ok := convertFolderNameUTF8(r.Folder())
		if !ok {
			fmt.Fprintf(e.Stderr, "Error: %s: %s: does not appear to be valid modified-UTF7\n", path, r.Folder())
			status = 1
			continue
		}
		if conv == r.Folder() {
			continue
		}
		fmt.Fprintf(e.Stdout, "Mail filter to %s updated to %s\n", r.Folder(), conv)
		r.SetFolder(conv)
	}
	if err != nil {
		return nil, status
	}

	// The sender address and the maildir come from the generated recipe itself.
	var from, tomaildir string
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "FROM='"); ok {
			q := strings.IndexByte(rest, '\'')
			if q < 0 {
				fmt.Fprintf(e.Stderr, "Cannot parse %s\n", path)
				status = 1
			} else {
				var b strings.Builder
				s := rest[:q]
				for j := 0; j < len(s); j++ {
					if s[j] == '\\' && j+1 < len(s) {
						j++
					}
					b.WriteByte(s[j])
				}
				from = b.String()
			}
		}
		if rest, ok := strings.CutPrefix(line, "to \""); ok {
			if q := strings.Index(rest, "/.\""); q < 0 {
				fmt.Fprintf(e.Stderr, "Cannot parse %s\n", path)
				status = 1
				tomaildir = rest
			} else {
				tomaildir = rest[:q]
			}
		}
	}
	if from == "" || tomaildir == "" {
		fmt.Fprintf(e.Stderr, "Failed to parse %s\n", path)
		status = 1
	}
	fi, err := os.Stat(path)
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s\n", perrorText(err))
		return nil, 1
	}
	return &pendingFile{name: path, content: sqwebmail.Save(rules, tomaildir, from), st: fi}, status
}
