// Package authlib holds what courier-authlib's configurable modules
// (authsqlite, authpgsql, authmysql, authldap) share: the reader for their
// "NAME value" configuration files, which behaves like authlib's
// config_file class, the splitting of a login id into $(local_part) and
// $(domain), and authcryptpasswd's choice of hash for a new password.
//
// Nothing here keeps package-level mutable state.
package authlib

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"courier/internal/auth/pwhash"
)

// Limits that keep a hostile or broken file from using unbounded memory.
const (
	MaxFileSize  = 1 << 20 // the whole file
	MaxValueSize = 1 << 16 // one setting, continuation lines included
)

// Marker is the sysconftool line authlib requires; a file without it is
// refused ("probably forgot to run sysconftool after an upgrade").
const Marker = "##NAME: MARKER:"

// ErrNoMarker reports a file without the Marker line.
var ErrNoMarker = errors.New("marker line not found (run sysconftool after an upgrade)")

// RCFile is one parsed authlib module configuration file.
type RCFile struct {
	Path    string
	ModTime time.Time
	vals    map[string]string
}

// LoadRC reads and parses path. A missing file gives an error for which
// errors.Is(err, fs.ErrNotExist) holds.
func LoadRC(path string) (*RCFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authlib config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("authlib config: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("authlib config %s: not a regular file", path)
	}
	rc, err := ParseRC(path, f)
	if err != nil {
		return nil, err
	}
	rc.ModTime = st.ModTime()
	return rc, nil
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// trim removes C whitespace from both ends.
func trim(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// ParseRC parses authlib's format, as config_file::open_and_load_file does:
//
//   - a line whose first non-blank character is "#", or a blank line, is
//     skipped; a line starting with "##NAME: MARKER:" is the end marker,
//     without which the file is refused (ErrNoMarker);
//   - the name is the first blank-delimited word; the value is the rest of
//     the line without leading and trailing blanks (CR counts as a blank);
//   - a value ending in "\" continues on the next line: the backslash becomes
//     a space and the next line, trimmed the same way, is appended (comment
//     syntax does not apply to continuation lines);
//   - when a name is set twice the FIRST setting wins (authlib stores the
//     settings with std::map::insert, which keeps the existing entry).
func ParseRC(path string, r io.Reader) (*RCFile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("authlib config %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("authlib config %s: larger than %d bytes", path, MaxFileSize)
	}
	rc := &RCFile{Path: path, vals: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFileSize+1)
	marker := false
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		t := trim(line)
		if len(t) == 0 || t[0] == '#' {
			if bytes.HasPrefix(line, []byte(Marker)) {
				marker = true
			}
			continue
		}
		i := 0
		for i < len(t) && !isSpace(t[i]) {
			i++
		}
		name := string(t[:i])
		var val []byte
		rest := t[i:]
		for {
			rest = trim(rest)
			if len(rest) == 0 {
				break
			}
			cont := rest[len(rest)-1] == '\\'
			val = append(val, rest...)
			if cont {
				val[len(val)-1] = ' '
			}
			if len(val) > MaxValueSize {
				return nil, fmt.Errorf("authlib config %s:%d: %s: value longer than %d bytes", path, lineNo, name, MaxValueSize)
			}
			if !cont {
				break
			}
			if !sc.Scan() {
				break
			}
			lineNo++
			rest = sc.Bytes()
		}
		if _, dup := rc.vals[name]; !dup {
			rc.vals[name] = string(val)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("authlib config %s: %w", path, err)
	}
	if !marker {
		return nil, fmt.Errorf("authlib config %s: %w", path, ErrNoMarker)
	}
	return rc, nil
}

// Get returns a setting and whether it is present.
func (rc *RCFile) Get(name string) (string, bool) {
	v, ok := rc.vals[name]
	return v, ok
}

// String returns a setting, or def when it is absent (a setting present but
// empty stays empty, as in authlib).
func (rc *RCFile) String(name, def string) string {
	if v, ok := rc.vals[name]; ok {
		return v
	}
	return def
}

// Int reads a setting the way authlib's "istringstream >> int" does: leading
// blanks, an optional sign, digits; anything after the digits is ignored. An
// absent setting gives def; a present one without digits is an error.
func (rc *RCFile) Int(name string, def int) (int, error) {
	v, ok := rc.vals[name]
	if !ok {
		return def, nil
	}
	n, ok := LeadingInt(v)
	if !ok {
		return 0, fmt.Errorf("authlib config %s: cannot parse the %s setting %q", rc.Path, name, v)
	}
	return n, nil
}

// Names returns the names set in the file (for diagnostics and tests).
func (rc *RCFile) Names() []string {
	out := make([]string, 0, len(rc.vals))
	for k := range rc.vals {
		out = append(out, k)
	}
	return out
}

// LeadingInt parses a decimal number at the start of s after blanks, as C++
// stream extraction does, ignoring what follows it. Values beyond ±2^31 are
// refused.
func LeadingInt(s string) (int, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	n := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		if n > 1<<31 {
			return 0, false
		}
		i++
	}
	if i == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// SplitLogin returns $(local_part) and $(domain) for a login id as authlib's
// parse_custom_query does: the local part is everything before the first
// "@", the domain everything after it, or defaultDomain when there is no
// "@".
func SplitLogin(login, defaultDomain string) (local, domain string) {
	if i := strings.IndexByte(login, '@'); i >= 0 {
		return login[:i], login[i+1:]
	}
	return login, defaultDomain
}

// WithDefaultDomain appends "@"+defaultDomain to a login id that has no "@",
// as the default queries of authlib's SQL and LDAP modules do.
func WithDefaultDomain(login, defaultDomain string) string {
	if defaultDomain != "" && !strings.Contains(login, "@") {
		return login + "@" + defaultDomain
	}
	return login
}

// CryptNew hashes a new password for a password change, keeping the scheme
// of the old stored value as authlib's authcryptpasswd does for the forms it
// knows ({MD5}, {MD5RAW}, {SHA}, {SSHA}, {SHA256}, {SHA512}, "$1$"), and
// also for the salted SHA-2 LDAP forms, SHA-crypt, bcrypt and argon2id. An
// empty old value gives MD5-crypt, authcryptpasswd's default; DES crypt and
// anything unrecognised are upgraded to SHA-512-crypt rather than kept
// weak. A "{CRYPT}" prefix on the old value is kept.
func CryptNew(newPassword, old string) (string, error) {
	prefix := ""
	if len(old) >= 7 && strings.EqualFold(old[:7], "{CRYPT}") {
		prefix = old[:7]
	}
	s := pwhash.Identify(old)
	switch s {
	case pwhash.MD5CryptScheme, pwhash.SHA256CryptScheme, pwhash.SHA512CryptScheme, pwhash.BcryptScheme,
		pwhash.Argon2idScheme, pwhash.LDAPMD5Scheme, pwhash.LDAPMD5RawScheme, pwhash.LDAPSHAScheme,
		pwhash.LDAPSSHAScheme, pwhash.LDAPSHA256Scheme, pwhash.LDAPSHA512Scheme, pwhash.LDAPSSHA256Scheme,
		pwhash.LDAPSSHA512Scheme:
	case "":
		if old == "" {
			s = pwhash.MD5CryptScheme
		} else {
			s = pwhash.SHA512CryptScheme
		}
	default:
		s = pwhash.SHA512CryptScheme
	}
	h, err := pwhash.Hash(s, newPassword)
	if err != nil {
		return "", fmt.Errorf("hash new password: %w", err)
	}
	if strings.HasPrefix(h, "{") {
		prefix = ""
	}
	return prefix + h, nil
}

// ParseID reads a uid or gid column the way authlib does ("istringstream >>
// uid_t"): a leading decimal number, 0 when there is none. Negative values
// are 0 too (authlib then refuses the account).
func ParseID(s string) int {
	n, ok := LeadingInt(s)
	if !ok || n < 0 {
		return 0
	}
	return n
}

// DummyHash is verified for unknown users so that the time a failed login
// takes does not reveal whether the account exists: an MD5-crypt hash, the
// form most authlib databases hold, of a random string.
const DummyHash = "$1$Qc7ZbK2v$3s0dCwz1n8wYx0Vf6lXcL."

// Decoy verifies a password for a login that cannot succeed (unknown user, no
// stored password) at the cost of a real one. It remembers the last crypted
// password its module read from the database, so the decoy costs what the
// accounts' own scheme costs (a sha512-crypt or bcrypt database would
// otherwise answer "no such user" several times faster than "wrong
// password"); until then it verifies DummyHash. The zero value is ready.
type Decoy struct {
	last atomic.Pointer[string]
}

// Remember notes a stored crypted password seen in the database.
func (d *Decoy) Remember(stored string) {
	if stored == "" || pwhash.Identify(stored) == "" {
		return
	}
	if p := d.last.Load(); p != nil && *p == stored {
		return
	}
	d.last.Store(&stored)
}

// Verify spends the time a real verification of password would take.
func (d *Decoy) Verify(password string) {
	h := DummyHash
	if p := d.last.Load(); p != nil {
		h = *p
	}
	pwhash.Verify(h, password)
}
