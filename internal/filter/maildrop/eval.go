package maildrop

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// eval evaluates an expression to text.
func (in *Interp) eval(x Expr) (string, error) {
	switch x := x.(type) {
	case *textExpr:
		return in.text(x)
	case *unaryExpr:
		v, err := in.eval(x.x)
		if err != nil {
			return "", err
		}
		if x.op == "!" {
			return boolText(!truth(v)), nil
		}
		return formatNumber(float64(^int64(toNumber(v)))), nil
	case *binaryExpr:
		return in.binary(x)
	case *matchExpr:
		return in.match(x)
	case *callExpr:
		return in.call(x)
	case *assignExpr:
		name, err := in.eval(x.name)
		if err != nil {
			return "", err
		}
		v, err := in.eval(x.value)
		if err != nil {
			return "", err
		}
		in.vars[name] = v
		return v, nil
	}
	return "", fmt.Errorf("maildrop: unknown expression %T", x)
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (in *Interp) binary(x *binaryExpr) (string, error) {
	l, err := in.eval(x.l)
	if err != nil {
		return "", err
	}
	switch x.op {
	case "||":
		if truth(l) {
			return l, nil
		}
		return in.eval(x.r)
	case "&&":
		if !truth(l) {
			return l, nil
		}
		return in.eval(x.r)
	}
	r, err := in.eval(x.r)
	if err != nil {
		return "", err
	}
	a, b := toNumber(l), toNumber(r)
	switch x.op {
	case "<":
		return boolText(a < b), nil
	case "<=":
		return boolText(a <= b), nil
	case ">":
		return boolText(a > b), nil
	case ">=":
		return boolText(a >= b), nil
	case "==":
		return boolText(a == b), nil
	case "!=":
		return boolText(a != b), nil
	case "lt":
		return boolText(l < r), nil
	case "le":
		return boolText(l <= r), nil
	case "gt":
		return boolText(l > r), nil
	case "ge":
		return boolText(l >= r), nil
	case "eq":
		return boolText(l == r), nil
	case "ne":
		return boolText(l != r), nil
	case "|":
		return formatNumber(float64(toInt(a) | toInt(b))), nil
	case "&":
		return formatNumber(float64(toInt(a) & toInt(b))), nil
	case "+":
		return formatNumber(a + b), nil
	case "-":
		return formatNumber(a - b), nil
	case "*":
		return formatNumber(a * b), nil
	case "/":
		if b == 0 {
			return "0", nil
		}
		return formatNumber(a / b), nil
	}
	return "", fmt.Errorf("maildrop: unknown operator %s", x.op)
}

func toInt(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64 || f < math.MinInt64 {
		return 0
	}
	return int64(f)
}

// toNumber converts text as C's strtod does: leading blanks, then the longest number prefix
// (decimal with fraction and exponent, or 0x hexadecimal); 0 when there is none.
func toNumber(s string) float64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v') {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		j := i + 2
		var v float64
		for j < len(s) && isHex(s[j]) {
			d, _ := strconv.ParseUint(s[j:j+1], 16, 8)
			v = v*16 + float64(d)
			j++
		}
		if j > i+2 {
			if s[start] == '-' {
				v = -v
			}
			return v
		}
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	v, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0
	}
	return v
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// formatNumber prints a number as maildrop does (C's %.22g).
func formatNumber(f float64) string {
	if f == 0 {
		return "0"
	}
	return strconv.FormatFloat(f, 'g', 22, 64)
}

// text evaluates a text literal: substitution, backtick commands, concatenation.
func (in *Interp) text(x *textExpr) (string, error) {
	if len(x.parts) == 1 && x.parts[0].kind == partSingle {
		return x.parts[0].s, nil
	}
	var b strings.Builder
	for _, p := range x.parts {
		switch p.kind {
		case partSingle:
			b.WriteString(p.s)
		case partDouble, partWord:
			b.WriteString(in.subst(p.s))
		case partBacktick:
			if in.restricted {
				return "", in.fatal(x.line, fmt.Errorf("'`%s`' disabled in embedded mode", p.s))
			}
			out, code, err := in.runShell(in.subst(p.s), in.msg.Bytes(), nil, true)
			if err != nil {
				return "", in.fatal(x.line, fmt.Errorf("`%s`: %w", p.s, err))
			}
			in.vars["RETURNCODE"] = strconv.Itoa(code)
			s := strings.ReplaceAll(string(out), "\n", " ")
			b.WriteString(strings.Trim(s, " "))
		}
	}
	return b.String(), nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// subst replaces $NAME and ${NAME} by the variable's value; "\$" stays as it is, unexpanded,
// and a '$' followed by anything else is kept.
func (in *Interp) subst(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == '$' {
			b.WriteString("\\$")
			i++
			continue
		}
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if s[i+1] == '{' {
			j := strings.IndexByte(s[i+2:], '}')
			if j >= 0 {
				b.WriteString(in.vars[s[i+2:i+2+j]])
				i += 2 + j
				continue
			}
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		if j == i+1 {
			b.WriteByte(c)
			continue
		}
		b.WriteString(in.vars[s[i+1:j]])
		i = j - 1
	}
	return b.String()
}

// compile returns the compiled form of a pattern after substitution, or nil (after saying
// why on standard error) for a pattern that does not compile: it matches nothing. Any other
// error (the lean build's PCRE helper missing) stops the filter.
func (in *Interp) compile(p *Pattern, line int) (matcher, error) {
	src := in.subst(p.Source)
	p.mu.Lock()
	defer p.mu.Unlock()
	if re, ok := p.cache[src]; ok {
		return re, nil
	}
	re, err := compileShared(src, !strings.ContainsRune(p.Options, 'D'), in.opts.MatchTimeout)
	if errors.Is(err, errBadPattern) {
		// Courier's maildrop reports a pattern PCRE refuses and goes on as if it did not
		// match: the filter file parsed, and its other rules still apply.
		fmt.Fprintf(in.opts.Stderr, "Invalid regular expression /%s/: %v\n%s(%d): Syntax error in /pattern/.\n", src, err, in.file, line)
		return nil, nil
	}
	if err != nil {
		return nil, in.fatal(line, err)
	}
	if p.cache == nil || len(p.cache) > 64 {
		p.cache = map[string]matcher{}
	}
	p.cache[src] = re
	return re, nil
}

// sharedRegexps keeps compiled patterns across runs in one process: local delivery runs a
// filter file once per message, parsing it anew each time, and compiling its patterns was
// a tenth of an in-process delivery's CPU. Matchers are safe for concurrent use.
var sharedRegexps struct {
	sync.Mutex
	m map[regexpKey]matcher
}

type regexpKey struct {
	src     string
	icase   bool
	timeout time.Duration
}

// maxSharedRegexps bounds the cache; a filter that builds patterns from message text
// would otherwise grow it without end.
const maxSharedRegexps = 512

// compileShared compiles src, or returns the copy compiled before.
func compileShared(src string, icase bool, timeout time.Duration) (matcher, error) {
	k := regexpKey{src, icase, timeout}
	sharedRegexps.Lock()
	re := sharedRegexps.m[k]
	sharedRegexps.Unlock()
	if re != nil {
		return re, nil
	}
	re, err := compileMatcher(src, icase, timeout)
	if err != nil {
		return nil, err
	}
	sharedRegexps.Lock()
	if sharedRegexps.m == nil || len(sharedRegexps.m) >= maxSharedRegexps {
		sharedRegexps.m = map[regexpKey]matcher{}
	}
	sharedRegexps.m[k] = re
	sharedRegexps.Unlock()
	return re, nil
}

// subjectLines returns the lines a match looks at: the message's (by the h and b options) or
// the lines of the target text.
func (in *Interp) subjectLines(m *matchExpr) ([]string, error) {
	if m.target != nil {
		v, err := in.eval(m.target)
		if err != nil {
			return nil, err
		}
		return strings.Split(v, "\n"), nil
	}
	hdr := strings.ContainsRune(m.pat.Options, 'h')
	body := strings.ContainsRune(m.pat.Options, 'b')
	if !hdr && !body {
		hdr = true
	}
	var out []string
	for _, l := range in.msg.search() {
		if l.header && hdr || !l.header && body {
			out = append(out, l.text)
		}
	}
	return out, nil
}

// timeoutErr reports a match that ran out of time.
func (in *Interp) timeoutErr(line int, p *Pattern, err error) error {
	in.opts.Logger.Warn("maildrop: pattern match stopped: it ran longer than the time limit",
		"file", in.file, "line", line, "pattern", p.Source, "limit", in.opts.MatchTimeout, "err", err)
	return fmt.Errorf("%s:%d: pattern /%s/ stopped after %v: %w", in.file, line, p.Source, in.opts.MatchTimeout, ErrTimeout)
}

func (in *Interp) setMatch(gs []string) {
	in.vars["MATCH"] = gs[0]
	for i := 1; i < len(gs); i++ {
		in.vars["MATCH"+strconv.Itoa(i)] = gs[i]
	}
}

// matchErr turns a matcher's error into the filter's: a timeout, or a fatal error.
func (in *Interp) matchErr(line int, p *Pattern, err error) error {
	if errors.Is(err, errMatchTimeout) {
		return in.timeoutErr(line, p, err)
	}
	return in.fatal(line, err)
}

// match runs a pattern. Unweighted, a match against the message is worth 2 and one against
// text 1 (what Courier's maildrop 2.9 returns); weighted, the n-th matching line adds
// weight1*weight2^(n-1). MATCH and MATCHn are set from the first match (the last one when
// weighted).
func (in *Interp) match(m *matchExpr) (string, error) {
	re, err := in.compile(m.pat, m.line)
	if err != nil {
		return "", err
	}
	if re == nil {
		return "0", nil
	}
	lines, err := in.subjectLines(m)
	if err != nil {
		return "", err
	}
	w1, w2 := toNumber(m.pat.Weight1), toNumber(m.pat.Weight2)
	score, cur := 0.0, w1
	found := false
	for _, l := range lines {
		if err := in.check(m.line); err != nil {
			return "", err
		}
		mt, err := re.first(validUTF8(l))
		if err != nil {
			return "", in.matchErr(m.line, m.pat, err)
		}
		if mt == nil {
			continue
		}
		found = true
		in.setMatch(mt)
		if !m.pat.Weighted {
			break
		}
		score += cur
		cur *= w2
	}
	switch {
	case m.pat.Weighted:
		return formatNumber(score), nil
	case !found:
		return "0", nil
	case m.target == nil:
		return "2", nil
	}
	return "1", nil
}

// foreachMatches lists what a foreach iterates over: the first match of each message line,
// or every match in each line of a text.
func (in *Interp) foreachMatches(m *matchExpr) ([]string, error) {
	re, err := in.compile(m.pat, m.line)
	if err != nil || re == nil {
		return nil, err
	}
	lines, err := in.subjectLines(m)
	if err != nil {
		return nil, err
	}
	var out []string
	const maxMatches = 1 << 20
	for _, l := range lines {
		if err := in.check(m.line); err != nil {
			return nil, err
		}
		var ms [][]string
		if m.target == nil {
			var g []string
			if g, err = re.first(validUTF8(l)); g != nil {
				ms = [][]string{g}
			}
		} else {
			ms, err = re.all(validUTF8(l), maxMatches-len(out))
		}
		for _, g := range ms {
			in.setMatch(g)
			out = append(out, g[0])
		}
		if err != nil {
			return nil, in.matchErr(m.line, m.pat, err)
		}
	}
	return out, nil
}

// call evaluates a function.
func (in *Interp) call(c *callExpr) (string, error) {
	if c.name == "gdbmfetch" {
		return in.gdbmFetch(c)
	}
	args := make([]string, len(c.args))
	for i, a := range c.args {
		v, err := in.eval(a)
		if err != nil {
			return "", err
		}
		args[i] = v
	}
	switch c.name {
	case "escape":
		return escape(args[0]), nil
	case "gdbmopen":
		mode := ""
		if len(args) > 1 {
			mode = args[1]
		}
		return in.gdbmOpen(args[0], mode), nil
	case "gdbmclose":
		in.gdbm = nil
		return "", nil
	case "gdbmstore":
		return in.gdbmStore(args[0], args[1]), nil
	case "getaddr":
		var b strings.Builder
		for _, a := range addressList(args[0]) {
			b.WriteString(a)
			b.WriteByte('\n')
		}
		return b.String(), nil
	case "hasaddr":
		return boolText(in.hasaddr(args[0])), nil
	case "length":
		return strconv.Itoa(len(args[0])), nil
	case "lookup":
		return in.lookup(c, args)
	case "substr":
		return substr(args), nil
	case "time":
		return strconv.FormatInt(in.opts.Now().Unix(), 10), nil
	case "tolower":
		return asciiMap(args[0], 'A', 'Z', 'a'-'A'), nil
	case "toupper":
		return asciiMap(args[0], 'a', 'z', 'A'-'a'), nil
	}
	return "", fmt.Errorf("maildrop: unknown function %s", c.name)
}

func asciiMap(s string, lo, hi byte, delta int) string {
	b := []byte(s)
	for i, c := range b {
		if c >= lo && c <= hi {
			b[i] = byte(int(c) + delta)
		}
	}
	return string(b)
}

// escape puts a backslash before each character that is special to patterns or shells.
func escape(s string) string {
	const special = "|!$()[]\\+*?.&;`'-~<>^{}\""
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func substr(args []string) string {
	s := args[0]
	start := toInt(toNumber(args[1]))
	if start < 0 || start >= int64(len(s)) {
		return ""
	}
	s = s[start:]
	if len(args) > 2 {
		n := toInt(toNumber(args[2]))
		if n < 0 {
			return ""
		}
		if n < int64(len(s)) {
			s = s[:n]
		}
	}
	return s
}

// hasaddr looks for an address in the To, Cc, Resent-To and Resent-Cc headers.
func (in *Interp) hasaddr(addr string) bool {
	for _, l := range in.topHeaders() {
		i := strings.IndexByte(l, ':')
		if i < 0 {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(l[:i])) {
		case "to", "cc", "resent-to", "resent-cc":
			for _, a := range addressList(l[i+1:]) {
				if strings.EqualFold(a, addr) {
					return true
				}
			}
		}
	}
	return false
}

// topHeaders returns the message's own header fields, unfolded.
func (in *Interp) topHeaders() []string {
	data := string(in.msg.Bytes())
	var out []string
	for _, line := range strings.SplitAfter(data, "\n") {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += " " + line
			continue
		}
		out = append(out, line)
	}
	return out
}

// lookup reads patterns from a file, one a line, and reports whether any matches the text.
func (in *Interp) lookup(c *callExpr, args []string) (string, error) {
	data, err := os.ReadFile(in.path(args[1]))
	if err != nil {
		return "", in.fatal(c.line, fmt.Errorf("lookup: %w", err))
	}
	opts := ""
	if len(args) > 2 {
		opts = args[2]
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimLeft(strings.TrimRight(line, "\r"), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		re, err := compileShared(line, !strings.ContainsRune(opts, 'D'), in.opts.MatchTimeout)
		if err != nil {
			return "", in.fatal(c.line, fmt.Errorf("lookup %s: bad pattern %q: %w", args[1], line, err))
		}
		for _, l := range strings.Split(args[0], "\n") {
			g, err := re.first(validUTF8(l))
			if err != nil {
				return "", in.matchErr(c.line, &Pattern{Source: line}, err)
			}
			if g != nil {
				return "1", nil
			}
		}
	}
	return "0", nil
}
