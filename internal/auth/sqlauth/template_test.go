package sqlauth

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	cases := []struct {
		d      Dialect
		in     string
		sql    string
		params []string
	}{
		{SQLite, "SELECT a FROM t WHERE l = '$(local_part)' AND d = '$(domain)'",
			"SELECT a FROM t WHERE l = ? AND d = ?", []string{"local_part", "domain"}},
		{PostgreSQL, "SELECT a FROM t WHERE l = '$(local_part)' AND d = '$(domain)'",
			"SELECT a FROM t WHERE l = $1 AND d = $2", []string{"local_part", "domain"}},
		{SQLite, "WHERE id = '$(local_part)@$(domain)'",
			"WHERE id = (? || '@' || ?)", []string{"local_part", "domain"}},
		{PostgreSQL, "WHERE id = 'x$(local_part)'",
			"WHERE id = ('x' || CAST($1 AS text))", []string{"local_part"}},
		{MySQL, "WHERE id = '$(local_part)@$(domain)' AND s=\"$(service)\"",
			"WHERE id = CONCAT(?, '@', ?) AND s=?", []string{"local_part", "domain", "service"}},
		{MySQL, `SELECT "", 'it''s', 'a\'$(x)' FROM t`,
			`SELECT '', 'it''s', CONCAT('a\'', ?) FROM t`, []string{"x"}},
		{MySQL, `SELECT "say ""hi"" it's $(x)"`,
			`SELECT CONCAT('say "hi" it''s ', ?)`, []string{"x"}},
		{SQLite, "a $ b $x $(unterminated",
			"a $ b $x ?", []string{"unterminated"}},
		{SQLite, `SELECT "col" FROM t WHERE x = $(service)`,
			`SELECT "col" FROM t WHERE x = ?`, []string{"service"}},
		{PostgreSQL, "UPDATE p SET c='$(newpass)', k='$(newpass_crypt)' WHERE l='$(local_part)'",
			"UPDATE p SET c=$1, k=$2 WHERE l=$3", []string{"newpass", "newpass_crypt", "local_part"}},
	}
	for _, c := range cases {
		q, err := Compile(c.d, c.in)
		if err != nil {
			t.Errorf("%v %q: %v", c.d, c.in, err)
			continue
		}
		if q.SQL != c.sql || !reflect.DeepEqual(q.Params, c.params) {
			t.Errorf("%v %q:\n got %q %q\nwant %q %q", c.d, c.in, q.SQL, q.Params, c.sql, c.params)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, in := range []string{
		"WHERE a = 'unterminated",
		`SELECT "$(x)" FROM t`,
		"SELECT `$(x)` FROM t",
		"WHERE a = '$(x'",
		"SELECT \"open",
		strings.Repeat("$(x)", MaxTemplateParams+1),
	} {
		if _, err := Compile(SQLite, in); !errors.Is(err, ErrTemplate) {
			t.Errorf("Compile(%q) err = %v", in, err)
		}
	}
}

func TestArgs(t *testing.T) {
	q := Query{Params: []string{"a", "missing", "a"}}
	got := q.Args(map[string]string{"a": "v"})
	if !reflect.DeepEqual(got, []any{"v", "", "v"}) {
		t.Errorf("Args = %v", got)
	}
}

// FuzzCompile checks that no clause panics, and that a value never reaches
// the SQL text: every $( in the output is gone.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"SELECT a FROM t WHERE l = '$(local_part)'",
		`'$(a)''$(b)'"$(c)"`,
		`'\'$(x)\\'`,
		"$($($(",
		"'''''",
		`"""`,
		"`$(x)`",
		"$(a)$(b)'$(c)x$(d)'",
		"$'0$()'00000",
	} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, d uint8) {
		dl := Dialect(d % 3)
		q, err := Compile(dl, s)
		if err != nil {
			return
		}
		if len(q.Params) > MaxTemplateParams {
			t.Fatalf("%d params", len(q.Params))
		}
		// A "$" the clause kept as it was may now stand before the "(" that opens a
		// concatenation ("$'a$(x)'" → "$('a' || ?)"): that is not a reference.
		out := q.SQL
		for _, glued := range []string{"$('", "$(?", "$(CAST("} {
			out = strings.ReplaceAll(out, glued, "")
		}
		if strings.Count(out, "$(") > strings.Count(s, "$(")-len(q.Params) {
			t.Fatalf("reference left in %q from %q", q.SQL, s)
		}
	})
}
