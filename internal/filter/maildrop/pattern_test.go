//go:build !lean

package maildrop

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestPatternEngineChoice pins which patterns run on Go's regexp and what they become.
func TestPatternEngineChoice(t *testing.T) {
	for _, c := range []struct{ pcre, goSyntax string }{
		{`^List-Id:.*anchors\.example\.test`, `^List-Id:.*anchors\.example\.test`},
		{`^Subject:\s+(\S+)`, `^Subject:[\t\n\v\f\r ]+([^\t\n\v\f\r ]+)`},
		{`[\s,]x`, `[\t\n\v\f\r ,]x`},
		{`[]a]`, `[\]a]`},
		{`[^]a]`, `[^\]a]`},
		{`[[:alpha:]_]+`, `[[:alpha:]_]+`},
		{`[a[b]`, `[a\[b]`},
		{`\e\x41\x{263A}`, `\x1B\x41\x{263A}`},
		{`a\ b\@c\/d`, `a\ b\@c\/d`},
		{`[ \-1]`, `[ \-1]`},
		{`(?:ab)+?c{2,3}`, `(?:ab)+?c{2,3}`},
		{`[\b]`, `[\x08]`},
		{`x{`, `x\{`},
	} {
		g, ok := pcreToGo(c.pcre)
		if !ok || g != c.goSyntax {
			t.Errorf("pcreToGo(%q) = %q, %v; want %q", c.pcre, g, ok, c.goSyntax)
		}
	}
	for _, p := range []string{
		`(a)\1`, `(?=x)`, `(?<=x)y`, `(?i)x`, `(?<n>x)`, `a++`, `a*+`, `a?+`, `\Qa.b\E`, `\p{L}`,
		`\h`, `\v`, `\R`, `\K`, `\G`, `\Z`, `\0`, `\x`, `\xg`, `[\S]`, `[:alpha:]`, `[[:nope:]]`,
		`[[.a.]]`, `[abc`, `x{,3}`, `(*UTF)x`, `\cA`, "\\\u00e9",
	} {
		if g, ok := pcreToGo(p); ok {
			m, err := compileMatcher(p, false, time.Second)
			if _, isGo := m.(goMatcher); err == nil && isGo {
				t.Errorf("%q runs on Go's regexp as %q", p, g)
			}
		}
	}
	// Patterns that can match nothing stay on the PCRE engine (FindAll differs after an
	// empty match).
	for _, p := range []string{`x*`, `^`, `(a|)`, `\b`, `a?b?`, `(?:)`} {
		m, err := compileMatcher(p, false, time.Second)
		if _, isGo := m.(goMatcher); err != nil || isGo {
			t.Errorf("%q: err %v, on Go's regexp %v", p, err, isGo)
		}
	}
	for _, p := range []string{`a`, `^Subject: .*`, `x+`, `a{2}`, `(a|bc)d?`} {
		m, err := compileMatcher(p, true, time.Second)
		if _, isGo := m.(goMatcher); err != nil || !isGo {
			t.Errorf("%q: err %v, on Go's regexp %v", p, err, isGo)
		}
	}
}

// TestLinearPatternNeedsNoTimeout: the classic catastrophic pattern runs on Go's regexp, in
// linear time, and answers instead of timing out.
func TestLinearPatternNeedsNoTimeout(t *testing.T) {
	msg := "Subject: " + strings.Repeat("a", 5000) + "!\n\nb\n"
	_, _, out, err := run(t, t.TempDir(), "if (/^Subject: (a+)+$/)\n  echo matched\nelse\n  echo no\n", msg, Options{MatchTimeout: 100 * time.Millisecond})
	if err != nil || out != "no\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
}

// TestBadPatternReported: a pattern PCRE refuses is reported and matches nothing, on either
// engine's path.
func TestBadPatternReported(t *testing.T) {
	for _, p := range []string{`(abc`, `a)`, `[[:nope:]]`, `x{3,2}`} {
		_, err := compileMatcher(p, false, time.Second)
		if !errors.Is(err, errBadPattern) {
			t.Errorf("%q: %v, want errBadPattern", p, err)
		}
	}
}

// agree compiles a pattern on both engines and compares their first and all answers on s.
func agree(t *testing.T, p string, icase bool, s string) {
	g, ok := pcreToGo(p)
	if !ok {
		return
	}
	gm, err := compileMatcher(p, icase, time.Second)
	if _, isGo := gm.(goMatcher); err != nil || !isGo {
		return
	}
	pm, err := compilePCRE(p, icase, time.Second)
	if err != nil {
		// regexp2 refuses some escapes PCRE takes as the literal character ("\_").
		return
	}
	gf, _ := gm.first(s)
	pf, err := pm.first(s)
	if err == nil && !reflect.DeepEqual(gf, pf) && !pythonSidesWithGo(t, p, icase, s, [][]string{gf}) {
		t.Fatalf("/%s/ (Go %q, icase %v) on %q: first Go %q, regexp2 %q", p, g, icase, s, gf, pf)
	}
	ga, _ := gm.all(s, 100)
	pa, err := pm.all(s, 100)
	if err == nil && !reflect.DeepEqual(ga, pa) && !(len(ga) == 0 && len(pa) == 0) && !pythonSidesWithGo(t, p, icase, s, ga) {
		t.Fatalf("/%s/ (Go %q, icase %v) on %q: all Go %q, regexp2 %q", p, g, icase, s, ga, pa)
	}
}

// pythonSidesWithGo asks Python's re (ASCII mode: PCRE's semantics without Unicode
// properties, for the syntax both read alike) where Go's regexp and regexp2 disagree, and
// reports whether it finds what Go's regexp found. regexp2 has bugs of its own (it finds no
// match for \D*\w in "0"), so a disagreement alone proves nothing.
func pythonSidesWithGo(t *testing.T, p string, icase bool, s string, goMatches [][]string) bool {
	for _, unsupported := range []string{`\e`, `\x{`, `[:`, `\z`, `\a`} {
		if strings.Contains(p, unsupported) {
			return false
		}
	}
	script := `
import json, re, sys
p, s, icase = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
try:
    r = re.compile(p, re.A | (re.I if icase else 0))
except re.error:
    sys.exit(2)
out = []
for m in r.finditer(s):
    out.append([m.group(0)] + [g if g is not None else "" for g in m.groups()])
print(json.dumps(out))
`
	ic := "0"
	if icase {
		ic = "1"
	}
	out, err := exec.Command("python3", "-c", script, p, s, ic).Output()
	if err != nil {
		return false
	}
	var py [][]string
	if json.Unmarshal(out, &py) != nil {
		return false
	}
	if len(goMatches) == 1 {
		// A first-match comparison.
		if goMatches[0] == nil {
			return len(py) == 0
		}
		return len(py) > 0 && reflect.DeepEqual(py[0], goMatches[0])
	}
	t.Logf("/%s/ on %q: Python %q, Go %q", p, s, py, goMatches)
	return len(py) == 0 && len(goMatches) == 0 || reflect.DeepEqual(py, goMatches)
}

func TestEnginesAgree(t *testing.T) {
	subjects := []string{"", "Subject: hello world", "List-Id: Anchors <list.anchors.example.test>",
		"From: \"A B\" <a.b@example.org>", "aaa bbb\tccc", "x-spam-score: 12.5", "ABC abc AbC", "a]b[c\\d",
		"\x1bx A\u263a"}
	patterns := []string{`^Subject:\s+(\S+)`, `(\w+)@(\w+)\.org`, `[[:upper:]]+`, `[^[:lower:] ]+`,
		`(a|ab)(c|bcd)?`, `b+?`, `\bb\w*`, `[\s,]+(x|c)`, `\d+(\.\d+)?`, `[]a]+`, `\e\w`, `.A`, `(?:a|b)+`,
		`\x{263A}`, `list\.anchors\.example\.test`, `^(\S+):`, `[a-c]{2,}`, `\W+`}
	for _, p := range patterns {
		for _, s := range subjects {
			agree(t, p, false, s)
			agree(t, p, true, s)
		}
	}
}

// FuzzEnginesAgree: for any pattern Go's regexp takes, Go's regexp and regexp2 find the same
// matches with the same groups in ASCII text (non-ASCII text differs on purpose: regexp2's
// \w, \d and \b are Unicode, PCRE's and Go's are ASCII).
func FuzzEnginesAgree(f *testing.F) {
	for _, s := range []string{`^Subject:\s+(\S+)`, `(\w+)@(\w+)\.org`, `[^[:lower:] ]+`, `(a|ab)(c|bcd)?`,
		`[\s,]+(x|c)`, `a{2,3}?b`, `(x(y)?)+z`, `[[:punct:]]\d`} {
		f.Add(s, "Subject: xyz aab abcd a@b.org ABC 12.5, x", false)
	}
	f.Fuzz(func(t *testing.T, p, s string, icase bool) {
		if len(p) > 200 || len(s) > 500 {
			return
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 || s[i] == '\n' {
				return
			}
		}
		for i := 0; i < len(p); i++ {
			// Letters that fold to non-ASCII (k to the Kelvin sign, s to the long s) are the
			// same in ASCII text; leave out non-ASCII pattern bytes altogether.
			if p[i] >= 0x80 {
				return
			}
		}
		agree(t, p, icase, s)
	})
}

// TestServePCRE runs the pipe protocol against ServePCRE: matches, a bad pattern, a timeout.
func TestServePCRE(t *testing.T) {
	var req bytes.Buffer
	w := newTestWriter(&req)
	for _, q := range []*pcreRequest{
		{op: 'C', pattern: `(a)\1`},
		{op: 'F', pattern: `(a)\1`, text: "xaay"},
		{op: 'A', max: 10, pattern: `(?=a)a`, text: "aXa"},
		{op: 'F', pattern: `(abc`},
		{op: 'F', pattern: `^(a+)+(?!b)$`, text: strings.Repeat("a", 40) + "!", timeout: 20 * time.Millisecond},
		{op: 'F', icase: true, pattern: `(?=A)(a)`, text: "xa"},
	} {
		if err := writeRequest(w, q); err != nil {
			t.Fatal(err)
		}
	}
	var ans bytes.Buffer
	if err := ServePCRE(&req, &ans); err != nil {
		t.Fatal(err)
	}
	r := newTestReader(&ans)
	want := []struct {
		ms  [][]string
		err error
	}{
		{nil, nil},
		{[][]string{{"aa", "a"}}, nil},
		{[][]string{{"a"}, {"a"}}, nil},
		{nil, errBadPattern},
		{nil, errMatchTimeout},
		{[][]string{{"a", "a"}}, nil},
	}
	for i, w := range want {
		ms, err := readAnswer(r)
		if !errors.Is(err, w.err) || (w.err == nil && err != nil) || !reflect.DeepEqual(ms, w.ms) {
			t.Errorf("answer %d: %q, %v; want %q, %v", i, ms, err, w.ms, w.err)
		}
	}
	if _, err := readAnswer(r); !errors.Is(err, io.EOF) {
		t.Errorf("after the last answer: %v", err)
	}
}

func TestPCREQuantifier(t *testing.T) {
	for in, want := range map[string]string{
		`a{00}`: `a{0}`, `a{02,}`: `a{2,}`, `a{1,003}`: `a{1,3}`, `a{,3}`: "", `a{x}`: `a\{x}`,
		`a{2`: `a\{2`, `a{2,3`: `a\{2,3`, `a{1001}`: "", `a{999999}`: "", `a{3,2}`: `a{3,2}`,
		`a{2}+`: "",
	} {
		got, ok := pcreToGo(in)
		if want == "" && ok || want != "" && (!ok || got != want) {
			t.Errorf("pcreToGo(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// FuzzPCREProtocol: whatever arrives on the pipe, the readers return an error or a value,
// never panic, and ServePCRE stops with an error or at the end.
func FuzzPCREProtocol(f *testing.F) {
	var b bytes.Buffer
	w := newTestWriter(&b)
	writeRequest(w, &pcreRequest{op: 'F', icase: true, timeout: time.Second, max: 3, pattern: `(a)\1`, text: "aa"}) //nolint:errcheck
	writeMatches(w, [][]string{{"aa", "a"}})                                                                        //nolint:errcheck
	f.Add(b.Bytes())
	f.Add([]byte("E\x03bad"))
	f.Add([]byte("M\xff\xff\xff\xff\x0f"))
	f.Add([]byte("C\x00\x00\x00\x05(abc\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newTestReader(bytes.NewReader(in))
		for i := 0; i < 8; i++ {
			if _, err := readAnswer(r); err != nil {
				break
			}
		}
		r = newTestReader(bytes.NewReader(in))
		for i := 0; i < 8; i++ {
			if _, err := readRequest(r); err != nil {
				break
			}
		}
		ServePCRE(bytes.NewReader(in), io.Discard) //nolint:errcheck
	})
}
