// Package config gives typed, validated access to Courier's NAME=value
// configuration files (parsed by package courierfmt).
//
// A caller declares a [Schema] for each file: the known names, each with a
// [Kind], a default and a one-line description. [New] (or [Load]) checks
// every value in the file and every default against its kind, returning one
// error that lists every bad value as "file:line: NAME: what is wrong", and
// returns a warning, with file:line, for each name the schema does not
// know. Once a file has loaded, the accessors ([Values.Int], [Values.Bool],
// ...) cannot fail: a missing (or, for numbers, booleans, sizes, intervals
// and addresses, empty) value gives the declared default.
//
// Asking for a name that is not in the schema, or with the wrong kind, is a
// programming error and panics, the way regexp.MustCompile does.
//
// Values are immutable after New and safe for concurrent use; the package
// holds no mutable state.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"courier/internal/config/courierfmt"
)

// Kind is the type of a setting's value.
type Kind int

// The kinds of values. The zero Kind is String.
const (
	String    Kind = iota // any text; an explicitly empty value is kept
	Bool                  // 1/0, yes/no, true/false, on/off
	Int                   // decimal integer
	Size                  // bytes, with optional K/M/G suffix
	Duration              // Courier interval: 1w2d3h4m5s, plain number = seconds
	List                  // blank-separated words
	CommaList             // comma-separated items
	Address               // e-mail address or domain
)

var kindNames = [...]string{"string", "bool", "int", "size", "duration", "list", "comma list", "address"}

// String returns the kind's name ("int", "duration", ...).
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Setting declares one known name of a file.
type Setting struct {
	// Name is the variable name, or a prefix followed by "*" to declare a
	// family of names (AUTHSERVICE* covers AUTHSERVICE143, AUTHSERVICE993).
	Name    string
	Kind    Kind
	Default string // used when the name is not set, written as in the file
	Doc     string // one-line description
}

// Schema lists the settings of one file.
type Schema []Setting

// Values is an env file checked against its schema.
type Values struct {
	file     *courierfmt.EnvFile
	exact    map[string]Setting
	patterns []Setting // Name without the "*"
}

// Load reads path with courierfmt.LoadEnv and checks it with [New]. A
// missing file gives an error for which errors.Is(err, fs.ErrNotExist)
// holds; a caller that treats a missing file as empty can use
// New(&courierfmt.EnvFile{Path: path}, schema).
func Load(path string, base func(string) (string, bool), schema Schema) (*Values, []courierfmt.Warning, error) {
	f, err := courierfmt.LoadEnv(path, base)
	if err != nil {
		return nil, nil, err
	}
	return New(f, schema)
}

// New checks f against schema. It returns the file's own warnings plus one
// for each name the schema does not know, and an error listing every value
// (and every default) that does not parse as its kind; on error the Values
// is nil.
func New(f *courierfmt.EnvFile, schema Schema) (*Values, []courierfmt.Warning, error) {
	v := &Values{file: f, exact: make(map[string]Setting, len(schema))}
	var errs []error
	for _, s := range schema {
		if base, ok := strings.CutSuffix(s.Name, "*"); ok {
			s.Name = base
			v.patterns = append(v.patterns, s)
		} else {
			if _, dup := v.exact[s.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: schema: %s declared twice", f.Path, s.Name))
			}
			v.exact[s.Name] = s
		}
		if s.Default != "" {
			if err := check(s.Kind, s.Default); err != nil {
				errs = append(errs, fmt.Errorf("%s: schema: %s: default %w", f.Path, s.Name, err))
			}
		}
	}
	warns := append([]courierfmt.Warning(nil), f.Warnings...)
	last := make(map[string]int, len(f.Vars)) // the last assignment is the one that counts
	for i, va := range f.Vars {
		last[va.Name] = i
	}
	for i, va := range f.Vars {
		s, ok := v.setting(va.Name)
		if !ok || last[va.Name] != i {
			continue
		}
		if err := check(s.Kind, va.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", va.Pos(), va.Name, err))
		}
	}
	for _, va := range f.Vars {
		if _, ok := v.setting(va.Name); !ok {
			msg := "unknown setting " + va.Name
			if hint := v.suggest(va.Name); hint != "" {
				msg += " (did you mean " + hint + "?)"
			}
			warns = append(warns, courierfmt.Warning{File: va.File, Line: va.Line, Msg: msg})
		}
	}
	if len(errs) > 0 {
		return nil, warns, errors.Join(errs...)
	}
	return v, warns, nil
}

// check reports whether value parses as kind. Empty values are the default
// for the kinds that treat them so.
func check(k Kind, value string) error {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	var err error
	switch k {
	case Bool:
		_, err = ParseBool(value)
	case Int:
		_, err = ParseInt(value)
	case Size:
		_, err = ParseSize(value)
	case Duration:
		_, err = ParseDuration(value)
	case Address:
		_, err = ParseAddress(value)
	case String, List, CommaList:
	default:
		err = fmt.Errorf("unknown kind %v", k)
	}
	return err
}

// setting finds the declaration covering name: exact, else the longest
// matching prefix pattern.
func (v *Values) setting(name string) (Setting, bool) {
	if s, ok := v.exact[name]; ok {
		return s, true
	}
	best, found := Setting{}, false
	for _, p := range v.patterns {
		if strings.HasPrefix(name, p.Name) && (!found || len(p.Name) > len(best.Name)) {
			best, found = p, true
		}
	}
	return best, found
}

// suggest returns a declared name close to name (a likely typo), or "".
func (v *Values) suggest(name string) string {
	const limit = 3 // suggest names at most two edits away
	best, bestDist := "", limit
	for known := range v.exact {
		if strings.EqualFold(known, name) {
			return known
		}
		d := distance(known, name, limit)
		if d < bestDist || (d == bestDist && d < limit && known < best) {
			best, bestDist = known, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, or max if it is at least max.
func distance(a, b string, max int) int {
	if len(a)-len(b) >= max || len(b)-len(a) >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}

// File returns the parsed file.
func (v *Values) File() *courierfmt.EnvFile { return v.file }

// Lookup returns the assignment of name, if the file has one. It works for
// any name, declared or not.
func (v *Values) Lookup(name string) (courierfmt.Var, bool) { return v.file.Lookup(name) }

// Errorf returns an error about setting name in the form
// "file:line: NAME: message", for checks beyond the kind (a port out of
// range, a file that does not exist). When the value is the default, the
// position is the file name alone.
func (v *Values) Errorf(name, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if va, ok := v.file.Lookup(name); ok {
		return fmt.Errorf("%s: %s: %s", va.Pos(), name, msg)
	}
	return fmt.Errorf("%s: %s (default): %s", v.file.Path, name, msg)
}

// raw returns the effective text of name (value or default) after checking
// the declaration; it panics on a programming error.
func (v *Values) raw(name string, want Kind) string {
	s, ok := v.setting(name)
	if !ok {
		panic(fmt.Sprintf("config: %s: %s is not declared in the schema", v.file.Path, name))
	}
	if s.Kind != want {
		panic(fmt.Sprintf("config: %s: %s is declared as %v, read as %v", v.file.Path, name, s.Kind, want))
	}
	va, ok := v.file.Lookup(name)
	if !ok {
		return s.Default
	}
	if strings.TrimSpace(va.Value) == "" && want != String && want != List && want != CommaList {
		return s.Default
	}
	return va.Value
}

// String returns the value of a String setting. A value set to "" is "".
func (v *Values) String(name string) string { return v.raw(name, String) }

// Bool returns the value of a Bool setting.
func (v *Values) Bool(name string) bool {
	b, _ := ParseBool(v.raw(name, Bool)) // checked by New; "" is false
	return b
}

// Int returns the value of an Int setting.
func (v *Values) Int(name string) int {
	n, _ := ParseInt(v.raw(name, Int))
	return n
}

// Size returns the value of a Size setting, in bytes.
func (v *Values) Size(name string) int64 {
	n, _ := ParseSize(v.raw(name, Size))
	return n
}

// Duration returns the value of a Duration setting.
func (v *Values) Duration(name string) time.Duration {
	d, _ := ParseDuration(v.raw(name, Duration))
	return d
}

// List returns the words of a List setting (nil when empty).
func (v *Values) List(name string) []string { return SplitList(v.raw(name, List)) }

// CommaList returns the items of a CommaList setting (nil when empty).
func (v *Values) CommaList(name string) []string { return SplitCommaList(v.raw(name, CommaList)) }

// Address returns the value of an Address setting, blanks trimmed ("" when
// neither set nor defaulted).
func (v *Values) Address(name string) string { return strings.TrimSpace(v.raw(name, Address)) }
