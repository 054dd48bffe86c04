package smap

import (
	"fmt"
	"strings"

	"courier/internal/store/foldername"
)

// Folder names. SMAP names a folder by a path of words, each one hierarchy level in UTF-8:
// "INBOX" for the inbox, "INBOX Sent 2024" below it, "public …" for shared folders. No
// character is reserved, so Courier escapes the bytes that mean something on disk
// (".", "/", ":", "\") as a backslash and three octal digits inside the level's directory
// name: the SMAP folder "INBOX x.y" is the directory ".x\056y", which IMAP clients see as
// "INBOX.x\056y". The store takes IMAP names, so levels are escaped the same way and then
// encoded in modified UTF-7. A level with a control character is refused (Courier 5.0.13
// stores one raw; foldername refuses such names, and so do we).

// publicRoot is the first word of a shared-folder path.
const publicRoot = "public"

func mustEscape(c byte) bool { return c == '.' || c == '/' || c == ':' || c == '\\' }

// escapeLevel escapes one SMAP level for use inside an IMAP name.
func escapeLevel(l string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return "", errSyntax
		case mustEscape(c):
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// unescapeLevel reverses escapeLevel; a backslash not followed by three octal digits stays.
func unescapeLevel(l string) string {
	if strings.IndexByte(l, '\\') < 0 {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] == '\\' && isOct(l, i+1) {
			v := (l[i+1]-'0')<<6 | (l[i+2]-'0')<<3 | (l[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(l[i])
	}
	return b.String()
}

func isOct(s string, i int) bool {
	if i+3 > len(s) {
		return false
	}
	for _, c := range []byte(s[i : i+3]) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return s[i] <= '3'
}

// imapName maps a personal SMAP path to the store's IMAP name. The path must start with
// "INBOX"; anything else is refused (shared folders are handled by the callers).
func imapName(path []string) (string, error) {
	if len(path) == 0 || path[0] != foldername.Inbox {
		return "", errSyntax
	}
	parts := []string{foldername.Inbox}
	for _, l := range path[1:] {
		e, err := escapeLevel(l)
		if err != nil {
			return "", err
		}
		parts = append(parts, foldername.EncodeMUTF7(e))
	}
	name := strings.Join(parts, string(foldername.Separator))
	if _, err := foldername.ToDir(name); err != nil {
		return "", errSyntax
	}
	return name, nil
}

// smapPath maps an IMAP name from the store to its SMAP path.
func smapPath(name string) ([]string, error) {
	u, err := foldername.DecodeMUTF7(name)
	if err != nil {
		return nil, fmt.Errorf("smap: folder %q: %w", name, err)
	}
	levels := strings.Split(u, string(foldername.Separator))
	if !foldername.IsInbox(levels[0]) {
		return nil, fmt.Errorf("smap: folder %q: not personal", name)
	}
	levels[0] = foldername.Inbox
	for i := 1; i < len(levels); i++ {
		levels[i] = unescapeLevel(levels[i])
	}
	return levels, nil
}

// dirOf returns the folder's directory name for the ACL store ("" for INBOX).
func dirOf(name string) string {
	d, err := foldername.ToDir(name)
	if err != nil {
		return ""
	}
	return d
}
