// Package foldername maps IMAP folder names to Maildir++ folder directory names and back.
//
// On the IMAP wire a personal folder is "INBOX" or "INBOX.<level>.<level>…" in modified UTF-7
// (RFC 3501 §5.1.3); "." is the hierarchy separator and the "INBOX" prefix is matched without
// regard to case. On disk INBOX is the maildir itself ("") and every other folder is a flat
// subdirectory ".<level>.<level>…" of it. Courier-IMAP 5 writes the levels in UTF-8
// (".Persönlich" for "INBOX.Pers&APY-nlich"); Courier before 5.0 wrote them in modified UTF-7
// (".Pers&APY-nlich"). ToDir gives the UTF-8 form, ToLegacyDir the old one, Resolve picks the one
// that exists, and FromDir reads both.
//
// Courier escapes nothing: a name whose level would contain "/" (raw or encoded) or an encoded
// "." is refused, as is an empty level ("INBOX..a", "INBOX.a."). This package also refuses
// control characters (Courier 5.0.13 lets a TAB through, drops DEL and cuts the name at an
// encoded NUL) and directory names longer than MaxDirLen bytes. Because a valid directory name
// starts with "." and contains no "/", and no level is empty, a folder can never resolve to a
// path outside the maildir (nor to "tmp", "new", "cur" or the maildir's parent).
//
// The package holds no state; every function is safe for concurrent use.
package foldername

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Separator is the hierarchy separator of folder names, on the wire and on disk.
const Separator = '.'

// Inbox is the IMAP name of the maildir itself.
const Inbox = "INBOX"

// MaxDirLen is the longest directory name accepted (NAME_MAX on Linux), in bytes.
const MaxDirLen = 255

// ErrInvalidName is wrapped by every error about a name that is not a valid folder name.
var ErrInvalidName = errors.New("invalid mailbox name")

// ErrNotPersonal is wrapped by the error for a name outside the personal namespace (not INBOX
// or INBOX.…), such as a shared-namespace name; the caller may handle those itself.
var ErrNotPersonal = errors.New("not in the personal namespace")

func invalid(name, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidName, truncate(name), fmt.Sprintf(format, args...))
}

// truncate shortens a name for an error message so a 10 kB name does not flood a log.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// IsInbox reports whether an IMAP name (wire or UTF-8 form) names INBOX.
func IsInbox(name string) bool { return strings.EqualFold(name, Inbox) }

// ToDir maps an IMAP folder name in modified UTF-7 (as on the wire) to the directory name
// Courier-IMAP 5 uses: "" for INBOX, ".Sent.2024" for "INBOX.Sent.2024", ".Persönlich" for
// "INBOX.Pers&APY-nlich".
func ToDir(imapName string) (string, error) {
	u, err := DecodeMUTF7(imapName)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidName, truncate(imapName), err)
	}
	return ToDirUTF8(u)
}

// ToDirUTF8 is ToDir for a name already decoded to UTF-8 (IMAP4rev2 / UTF8=ACCEPT clients).
func ToDirUTF8(name string) (string, error) {
	levels, err := splitName(name)
	if err != nil {
		return "", err
	}
	if len(levels) == 0 {
		return "", nil
	}
	dir := "." + strings.Join(levels, ".")
	if len(dir) > MaxDirLen {
		return "", invalid(name, "longer than %d bytes on disk", MaxDirLen)
	}
	return dir, nil
}

// ToLegacyDir maps an IMAP name to the directory name Courier before 5.0 used, with each
// level in modified UTF-7 (".Pers&APY-nlich"). It equals ToDir's answer for ASCII names
// without "&".
func ToLegacyDir(imapName string) (string, error) {
	u, err := DecodeMUTF7(imapName)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidName, truncate(imapName), err)
	}
	levels, err := splitName(u)
	if err != nil {
		return "", err
	}
	if len(levels) == 0 {
		return "", nil
	}
	for i, l := range levels {
		levels[i] = EncodeMUTF7(l)
	}
	dir := "." + strings.Join(levels, ".")
	if len(dir) > MaxDirLen {
		return "", invalid(imapName, "longer than %d bytes on disk", MaxDirLen)
	}
	return dir, nil
}

// splitName checks a UTF-8 IMAP name and returns its levels below INBOX (none for INBOX).
func splitName(name string) ([]string, error) {
	if !utf8.ValidString(name) {
		return nil, invalid(name, "not valid UTF-8")
	}
	if IsInbox(name) {
		return nil, nil
	}
	if len(name) <= len(Inbox) || !strings.EqualFold(name[:len(Inbox)], Inbox) || name[len(Inbox)] != Separator {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidName, truncate(name), ErrNotPersonal)
	}
	rest := name[len(Inbox)+1:]
	if len(rest) >= MaxDirLen { // "." + rest must fit
		return nil, invalid(name, "longer than %d bytes on disk", MaxDirLen)
	}
	levels := strings.Split(rest, string(Separator))
	for _, l := range levels {
		if err := checkLevel(name, l); err != nil {
			return nil, err
		}
	}
	return levels, nil
}

// checkLevel validates one decoded hierarchy level.
func checkLevel(name, l string) error {
	if l == "" {
		return invalid(name, "empty hierarchy level")
	}
	for _, r := range l {
		switch {
		case r == '/':
			return invalid(name, "contains \"/\"")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return invalid(name, "contains control character U+%04X", r)
		case r == utf8.RuneError:
			// A literal U+FFFD is fine; invalid UTF-8 was caught before.
		}
	}
	return nil
}

// FromDir maps a folder directory name (".Sent.2024", "" or "." for INBOX) to its IMAP name
// in modified UTF-7 ("INBOX.Sent.2024"). A directory name that is printable ASCII, contains "&"
// and is valid modified UTF-7 is taken for the pre-5.0 on-disk form and decoded; anything else
// is read as UTF-8.
func FromDir(dirName string) (string, error) {
	u, err := FromDirUTF8(dirName)
	if err != nil {
		return "", err
	}
	return EncodeMUTF7(u), nil
}

// FromDirUTF8 is FromDir returning the IMAP name in UTF-8 ("INBOX.Persönlich").
func FromDirUTF8(dirName string) (string, error) {
	if dirName == "" || dirName == "." {
		return Inbox, nil
	}
	if dirName[0] != Separator {
		return "", invalid(dirName, "a folder directory name starts with \".\"")
	}
	if len(dirName) > MaxDirLen {
		return "", invalid(dirName, "longer than %d bytes", MaxDirLen)
	}
	rest := dirName[1:]
	if strings.IndexByte(rest, '&') >= 0 {
		if dec, err := DecodeMUTF7(rest); err == nil {
			rest = dec
		}
	}
	name := Inbox + "." + rest
	if !utf8.ValidString(rest) {
		return "", invalid(dirName, "not valid UTF-8")
	}
	for _, l := range strings.Split(rest, string(Separator)) {
		if err := checkLevel(dirName, l); err != nil {
			return "", err
		}
	}
	return name, nil
}

// ValidDir checks that dirName is a folder directory name FromDir accepts ("" is INBOX).
func ValidDir(dirName string) error {
	_, err := FromDirUTF8(dirName)
	return err
}

// Parent returns the directory name of the hierarchy level above dirName: ".a" for ".a.b", ""
// (INBOX) for ".a" and for "".
func Parent(dirName string) string {
	i := strings.LastIndexByte(dirName, Separator)
	if i <= 0 {
		return ""
	}
	return dirName[:i]
}

// Path joins a maildir and a folder directory name after checking the name, so the result
// always lies inside maildir.
func Path(maildir, dirName string) (string, error) {
	if err := ValidDir(dirName); err != nil {
		return "", err
	}
	if dirName == "" || dirName == "." {
		return maildir, nil
	}
	return filepath.Join(maildir, dirName), nil
}

// Resolve maps an IMAP name (modified UTF-7) to the directory name to use inside maildir: the
// Courier-IMAP 5 (UTF-8) form if that directory exists, else the pre-5.0 (modified UTF-7) form
// if that one exists, else the UTF-8 form (for a folder about to be created).
func Resolve(maildir, imapName string) (string, error) {
	dir, err := ToDir(imapName)
	if err != nil {
		return "", err
	}
	if dir == "" {
		return "", nil
	}
	if _, err := os.Lstat(filepath.Join(maildir, dir)); err == nil {
		return dir, nil
	}
	legacy, err := ToLegacyDir(imapName)
	if err != nil || legacy == dir {
		return dir, nil //nolint:nilerr // a name too long in the legacy form has no legacy folder
	}
	if st, err := os.Stat(filepath.Join(maildir, legacy)); err == nil && st.IsDir() {
		return legacy, nil
	}
	return dir, nil
}
