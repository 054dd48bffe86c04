// Package userdb reads and writes Courier's userdb: the text source
// (/etc/courier/userdb, a file or a directory of files, never readable by
// group or world) whose lines are
//
//	name<TAB>field=value|field=value...
//
// (man makeuserdb(8), userdb(8)), and our own compiled index that makeuserdb
// builds from it. As in Courier, the index comes in two files: NAME.dat
// (mode 0644) with every field whose name does not end in "pw", and
// NAMEshadow.dat (mode 0600) with the password fields. Both are written
// atomically (temporary file, fsync, rename, fsync of the directory), so
// readers never see a half-written index; Module picks up a new index on
// the next request.
//
// Lines "uid=<TAB>name" map a numeric uid back to an account; they are kept
// in the index but are not accounts.
package userdb

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax reports a malformed userdb line.
var ErrSyntax = errors.New("userdb: syntax error")

// Field is one field=value of a record. HasValue is false for a bare
// "field" without "=" (Courier keeps such fields as they are).
type Field struct {
	Name     string
	Value    string
	HasValue bool
}

// String formats the field as in the file.
func (f Field) String() string {
	if !f.HasValue {
		return f.Name
	}
	return f.Name + "=" + f.Value
}

// Record is one account line.
type Record struct {
	Name   string
	Fields []Field
	File   string // source file, for messages and edits
	Line   int    // 1-based line in File
}

// ParseLine parses one non-comment line (without its newline).
func ParseLine(line string) (*Record, error) {
	name, rest, ok := strings.Cut(line, "\t")
	if !ok || name == "" {
		return nil, fmt.Errorf("%w: expected name<TAB>fields", ErrSyntax)
	}
	if strings.ContainsAny(line, "\x00\n") {
		return nil, fmt.Errorf("%w: control character in line", ErrSyntax)
	}
	r := &Record{Name: name}
	if rest == "" {
		return r, nil
	}
	for _, f := range strings.Split(rest, "|") {
		n, v, has := strings.Cut(f, "=")
		r.Fields = append(r.Fields, Field{Name: n, Value: v, HasValue: has})
	}
	return r, nil
}

// String formats the record as a userdb line (without newline).
func (r *Record) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	b.WriteByte('\t')
	for i, f := range r.Fields {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Get returns the value of the first field called name.
func (r *Record) Get(name string) (string, bool) {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Set replaces the field called name (keeping its place) or appends it.
func (r *Record) Set(f Field) {
	for i := range r.Fields {
		if r.Fields[i].Name == f.Name {
			r.Fields[i] = f
			return
		}
	}
	r.Fields = append(r.Fields, f)
}

// Unset removes every field called name; it reports whether one was there.
func (r *Record) Unset(name string) bool {
	out := r.Fields[:0]
	found := false
	for _, f := range r.Fields {
		if f.Name == name {
			found = true
			continue
		}
		out = append(out, f)
	}
	r.Fields = out
	return found
}

// IsUIDMap reports whether this is a "uid=<TAB>name" reverse-map line.
func (r *Record) IsUIDMap() bool { return strings.HasSuffix(r.Name, "=") }

// IsShadowField reports whether a field belongs in the shadow index: its name
// ends in "pw" (makeuserdb's rule).
func IsShadowField(name string) bool { return strings.HasSuffix(name, "pw") }

// ValidValue reports whether s may be stored as a field name or value: no
// "|" and no newline (the userdb tool's rule), no NUL.
func ValidValue(s string) bool { return !strings.ContainsAny(s, "|\n\x00") }
