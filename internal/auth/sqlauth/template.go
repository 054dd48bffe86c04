package sqlauth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL flavour of a database: how placeholders are written,
// how strings are concatenated and which quotes make a string literal.
type Dialect int

// The three databases authlib supports.
const (
	SQLite Dialect = iota
	PostgreSQL
	MySQL
)

// String names the dialect.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "pgsql"
	case MySQL:
		return "mysql"
	}
	return "dialect" + strconv.Itoa(int(d))
}

// ErrTemplate reports a custom clause that cannot be turned into a
// parameterised query.
var ErrTemplate = errors.New("sqlauth: bad query template")

// MaxTemplateParams bounds the placeholders in one clause.
const MaxTemplateParams = 64

// Query is a clause compiled to SQL text with placeholders, and the names of
// the values bound to them, in order.
type Query struct {
	SQL    string
	Params []string
}

// Args returns the bound values for q: each parameter's value from vals, ""
// for a name vals lacks (authlib expands an unknown $(name) to nothing).
func (q Query) Args(vals map[string]string) []any {
	out := make([]any, len(q.Params))
	for i, p := range q.Params {
		out[i] = vals[p]
	}
	return out
}

// builder accumulates SQL text and parameters.
type builder struct {
	d      Dialect
	sql    strings.Builder
	params []string
}

// placeholder returns the marker for the next parameter, name.
func (b *builder) placeholder(name string) (string, error) {
	if len(b.params) >= MaxTemplateParams {
		return "", fmt.Errorf("%w: more than %d parameters", ErrTemplate, MaxTemplateParams)
	}
	b.params = append(b.params, name)
	if b.d == PostgreSQL {
		return "$" + strconv.Itoa(len(b.params)), nil
	}
	return "?", nil
}

// concat joins SQL expressions into one string expression.
func (b *builder) concat(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	if b.d == MySQL {
		return "CONCAT(" + strings.Join(parts, ", ") + ")"
	}
	return "(" + strings.Join(parts, " || ") + ")"
}

// Compile turns an authlib clause with $(name) references into SQL with
// bound parameters. authlib pastes the (escaped) values into the SQL text;
// we never do: a reference outside quotes becomes a placeholder, and a string
// literal holding references, such as '$(local_part)@$(domain)', becomes a
// concatenation of its literal pieces and placeholders, so the statement
// means what authlib's would while the values stay data.
//
// String literals are '...' with ” doubling; in MySQL also "..." and
// backslash escapes (MySQL's default sql_mode, which authlib's sample
// clauses rely on when they write "" for an empty string). A reference
// inside a quoted identifier ("..." outside MySQL, `...`) cannot be a
// parameter and is refused. A "$" not followed by "(" is kept as it is; an
// unterminated "$(" takes the rest of the clause as the name, as authlib.
func Compile(d Dialect, clause string) (Query, error) {
	b := &builder{d: d}
	s := clause
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			name, n := refName(s[i:])
			ph, err := b.placeholder(name)
			if err != nil {
				return Query{}, err
			}
			b.sql.WriteString(ph)
			i += n
		case c == '\'' || (c == '"' && d == MySQL):
			n, err := b.literal(s[i:])
			if err != nil {
				return Query{}, err
			}
			i += n
		case c == '"' || c == '`':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return Query{}, fmt.Errorf("%w: unterminated %c in %.60q", ErrTemplate, c, clause)
			}
			ident := s[i : i+end+2]
			if strings.Contains(ident, "$(") {
				return Query{}, fmt.Errorf("%w: $(...) inside quoted identifier %.60q", ErrTemplate, ident)
			}
			b.sql.WriteString(ident)
			i += end + 2
		default:
			b.sql.WriteByte(c)
			i++
		}
	}
	return Query{SQL: b.sql.String(), Params: b.params}, nil
}

// refName reads "$(name)" at the start of s and returns name and the bytes
// used.
func refName(s string) (string, int) {
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return s[2:], len(s)
	}
	return s[2:end], end + 1
}

// literal copies the string literal at the start of s, splitting it at
// $(name) references, and returns the bytes used.
func (b *builder) literal(s string) (int, error) {
	q := s[0]
	var parts []string
	bare := "" // the placeholder, when the literal is exactly one reference
	start := 1 // start of the current literal piece's body
	flush := func(end int) {
		if end > start {
			parts = append(parts, "'"+requote(s[start:end], q)+"'")
		}
	}
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && b.d == MySQL:
			i += 2
		case c == q && i+1 < len(s) && s[i+1] == q:
			i += 2
		case c == q:
			flush(i)
			switch {
			case len(parts) == 0:
				b.sql.WriteString("''")
			case len(parts) == 1 && bare != "":
				// '$(name)' alone: the bare placeholder, whose type the
				// database infers from the context as it would the literal's.
				b.sql.WriteString(bare)
			default:
				b.sql.WriteString(b.concat(parts))
			}
			return i + 1, nil
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			flush(i)
			name, n := refName(s[i:])
			if strings.IndexByte(name, q) >= 0 {
				return 0, fmt.Errorf("%w: unterminated $( in a string literal", ErrTemplate)
			}
			ph, err := b.placeholder(name)
			if err != nil {
				return 0, err
			}
			bare = ph
			if b.d == PostgreSQL {
				// A parameter beside || has no type for the planner to infer.
				ph = "CAST(" + ph + " AS text)"
			}
			parts = append(parts, ph)
			i += n
			start = i
		default:
			i++
		}
	}
	return 0, fmt.Errorf("%w: unterminated string literal", ErrTemplate)
}

// requote rewrites the body of a literal quoted with q so it can sit between
// single quotes: a MySQL "..." body has its doubled "" undone and its bare '
// doubled.
func requote(body string, q byte) string {
	if q == '\'' {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			b.WriteByte(c)
			b.WriteByte(body[i+1])
			i++
		case c == '"' && i+1 < len(body) && body[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '\'':
			b.WriteString("''")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
