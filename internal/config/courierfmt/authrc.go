package courierfmt

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// authrcMarker is the sysconftool marker authlib requires at the end of its
// configuration files.
const authrcMarker = "##NAME: MARKER:"

// LoadAuthRC opens path and parses it with [ParseAuthRC]. A missing file
// gives an error for which errors.Is(err, fs.ErrNotExist) holds.
func LoadAuthRC(path string) (*EnvFile, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("load authlib config: %w", err)
	}
	defer f.Close()
	return ParseAuthRC(path, f)
}

// ParseAuthRC parses authlib's "NAME value" format (authldaprc, authmysqlrc,
// authpgsqlrc, authsqliterc), read from r; path is used in messages. As in
// authlib, a line whose first non-blank character is "#" is a comment, the
// name is the first blank-delimited word, and the value is the rest of the
// line with surrounding blanks removed; there are no quotes, escapes,
// continuation lines or expansion ("$(local_part)" in SQL clauses is left for
// the module). authlib refuses a file without the "##NAME: MARKER:" line
// (sysconftool's end marker); here that is a warning.
func ParseAuthRC(path string, r io.Reader) (*EnvFile, error) {
	lr := newLineReader(path, r)
	out := &EnvFile{Path: path}
	marker := false
	for {
		line, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		t := bytes.TrimLeft(line, " \t\v\f")
		if len(t) == 0 || t[0] == '#' {
			if bytes.HasPrefix(line, []byte(authrcMarker)) {
				marker = true
			}
			continue
		}
		i := bytes.IndexAny(t, " \t\v\f")
		if i < 0 {
			i = len(t)
		}
		name := string(t[:i])
		value := strings.Trim(string(t[i:]), " \t\v\f")
		out.Vars = append(out.Vars, Var{Name: name, Value: value, File: path, Line: lr.n})
	}
	if !marker {
		out.Warnings = append(out.Warnings, Warning{File: path,
			Msg: fmt.Sprintf("no %q line (authlib refuses such a file; run sysconftool after an upgrade)", authrcMarker+"0")})
	}
	return out, nil
}
