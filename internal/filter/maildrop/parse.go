package maildrop

// Parse limits: a filter file larger than MaxFileBytes, or nested deeper than MaxNesting
// (blocks and parentheses together), is refused with a syntax error rather than risking the
// stack or the memory of the delivery agent.
const (
	MaxFileBytes = 4 << 20
	MaxNesting   = 200
)

// Parse parses a filter file. name is used in error messages ("name:line: message").
func Parse(name string, src []byte) (*Program, error) {
	if len(src) > MaxFileBytes {
		return nil, &SyntaxError{File: name, Line: 1, Msg: "filter file too large"}
	}
	p := &parser{lx: newLexer(name, string(src)), file: name}
	stmts, err := p.stmtList(false)
	if err != nil {
		return nil, err
	}
	return &Program{File: name, Stmts: stmts}, nil
}

type parser struct {
	lx    *lexer
	file  string
	buf   []token
	depth int
}

func (p *parser) peekN(n int) (token, error) {
	for len(p.buf) <= n {
		t, err := p.lx.next()
		if err != nil {
			return t, err
		}
		p.buf = append(p.buf, t)
	}
	return p.buf[n], nil
}

func (p *parser) peek() (token, error) { return p.peekN(0) }

func (p *parser) next() (token, error) {
	t, err := p.peek()
	if err != nil {
		return t, err
	}
	p.buf = p.buf[1:]
	return t, nil
}

func (p *parser) errorf(line int, msg string) error {
	return &SyntaxError{File: p.file, Line: line, Msg: msg}
}

func (p *parser) enter(line int) error {
	p.depth++
	if p.depth > MaxNesting {
		return p.errorf(line, "nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func isOp(t token, op string) bool { return t.kind == tOp && t.op == op }

// stmtList parses statements up to the end of the file or, in a block, up to the closing
// brace (which it consumes). Each statement ends with a newline or ';'; a closing brace must
// stand at the start of a line (after blanks).
func (p *parser) stmtList(block bool) ([]Stmt, error) {
	var out []Stmt
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		switch {
		case t.kind == tSep:
			p.next()
			continue
		case t.kind == tEOF:
			if block {
				return nil, p.errorf(t.line, "missing }")
			}
			return out, nil
		case isOp(t, "}"):
			if !block {
				return nil, p.errorf(t.line, "unexpected }")
			}
			p.next()
			return out, nil
		}
		s, ended, err := p.stmt()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if ended {
			continue
		}
		t, err = p.peek()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tSep:
			p.next()
		case tEOF:
		default:
			return nil, p.errorf(t.line, "syntax error before "+t.String())
		}
	}
}

// stmt parses one statement. ended reports that the statement consumed its terminator (an
// if statement looks past it for else).
func (p *parser) stmt() (Stmt, bool, error) {
	t, err := p.peek()
	if err != nil {
		return nil, false, err
	}
	if err := p.enter(t.line); err != nil {
		return nil, false, err
	}
	defer p.leave()
	switch w := t.word(); w {
	case "if":
		p.next()
		return p.ifStmt(t.line)
	case "while":
		p.next()
		cond, err := p.parenCond()
		if err != nil {
			return nil, false, err
		}
		body, ended, err := p.body(t.line)
		return &whileStmt{line: t.line, cond: cond, body: body}, ended, err
	case "foreach":
		p.next()
		x, err := p.expr()
		if err != nil {
			return nil, false, err
		}
		m, ok := x.(*matchExpr)
		if !ok {
			return nil, false, p.errorf(t.line, "foreach needs a pattern")
		}
		body, ended, err := p.body(t.line)
		return &foreachStmt{line: t.line, m: m, body: body}, ended, err
	case "exception", "dotlock", "flock":
		p.next()
		var arg Expr
		if w != "exception" {
			if arg, err = p.expr(); err != nil {
				return nil, false, err
			}
		}
		if err := p.skipSeps(); err != nil {
			return nil, false, err
		}
		o, err := p.next()
		if err != nil {
			return nil, false, err
		}
		if !isOp(o, "{") {
			return nil, false, p.errorf(o.line, "missing { after "+w)
		}
		body, err := p.stmtList(true)
		return &blockStmt{line: t.line, kind: w, arg: arg, body: body}, false, err
	case "else", "elsif":
		return nil, false, p.errorf(t.line, w+" without if")
	case "exit":
		p.next()
		return &cmdStmt{line: t.line, cmd: w}, false, nil
	case "import":
		p.next()
		n, err := p.next()
		if err != nil {
			return nil, false, err
		}
		if n.kind != tText {
			return nil, false, p.errorf(n.line, "import needs a variable name")
		}
		return &cmdStmt{line: t.line, cmd: w, arg: &textExpr{line: n.line, parts: n.parts}}, false, nil
	case "echo", "log", "logfile", "to", "cc", "xfilter", "system", "include":
		p.next()
		arg, err := p.expr()
		if err != nil {
			return nil, false, err
		}
		return &cmdStmt{line: t.line, cmd: w, arg: arg}, false, nil
	}
	if t.kind == tText {
		if n, err := p.peekN(1); err == nil && isOp(n, "=") {
			p.next()
			p.next()
			v, err := p.assignValue(n.line)
			if err != nil {
				return nil, false, err
			}
			return &assignStmt{line: t.line, name: &textExpr{line: t.line, parts: t.parts}, value: v}, false, nil
		} else if err != nil {
			return nil, false, err
		}
	}
	x, err := p.expr()
	if err != nil {
		return nil, false, err
	}
	return &exprStmt{line: t.line, x: x}, false, nil
}

// assignValue parses the right side of an assignment; an empty one (X=) is the empty text.
func (p *parser) assignValue(line int) (Expr, error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind == tSep || t.kind == tEOF {
		return &textExpr{line: line}, nil
	}
	return p.expr()
}

func (p *parser) skipSeps() error {
	for {
		t, err := p.peek()
		if err != nil {
			return err
		}
		if t.kind != tSep || t.sep != "\n" {
			return nil
		}
		p.next()
	}
}

func (p *parser) parenCond() (Expr, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if !isOp(t, "(") {
		return nil, p.errorf(t.line, "missing ( before condition")
	}
	x, err := p.innerExpr()
	if err != nil {
		return nil, err
	}
	t, err = p.next()
	if err != nil {
		return nil, err
	}
	if !isOp(t, ")") {
		return nil, p.errorf(t.line, "missing )")
	}
	return x, nil
}

// body parses what follows if (...), while (...) or foreach: the end of the line, then either
// a { } block or one statement. It consumes the statement's terminator.
func (p *parser) body(line int) ([]Stmt, bool, error) {
	t, err := p.peek()
	if err != nil {
		return nil, false, err
	}
	if t.kind != tSep || t.sep != "\n" {
		if t.kind == tEOF {
			return nil, false, p.errorf(t.line, "missing statement")
		}
		return nil, false, p.errorf(t.line, "syntax error: the condition must end the line")
	}
	if err := p.skipSeps(); err != nil {
		return nil, false, err
	}
	t, err = p.peek()
	if err != nil {
		return nil, false, err
	}
	if isOp(t, "{") {
		p.next()
		body, err := p.stmtList(true)
		if err != nil {
			return nil, false, err
		}
		return body, true, p.endOfStmt()
	}
	if t.kind == tEOF || isOp(t, "}") {
		return nil, false, p.errorf(t.line, "missing statement")
	}
	s, ended, err := p.stmt()
	if err != nil {
		return nil, false, err
	}
	if !ended {
		if err := p.endOfStmt(); err != nil {
			return nil, false, err
		}
	}
	return []Stmt{s}, true, nil
}

// endOfStmt consumes the newline or ';' that must end a statement (or sees end of file).
func (p *parser) endOfStmt() error {
	t, err := p.peek()
	if err != nil {
		return err
	}
	switch t.kind {
	case tSep:
		p.next()
		return nil
	case tEOF:
		return nil
	}
	return p.errorf(t.line, "syntax error before "+t.String())
}

func (p *parser) ifStmt(line int) (Stmt, bool, error) {
	cond, err := p.parenCond()
	if err != nil {
		return nil, false, err
	}
	then, _, err := p.body(line)
	if err != nil {
		return nil, false, err
	}
	// The body consumed its line end; else or elsif must start the very next line.
	s := &ifStmt{line: line, cond: cond, then: then}
	t, err := p.peek()
	if err != nil {
		return nil, false, err
	}
	switch t.word() {
	case "else":
		p.next()
		els, _, err := p.body(t.line)
		if err != nil {
			return nil, false, err
		}
		s.els, s.hasElse = els, true
	case "elsif":
		p.next()
		if err := p.enter(t.line); err != nil {
			return nil, false, err
		}
		defer p.leave()
		inner, _, err := p.ifStmt(t.line)
		if err != nil {
			return nil, false, err
		}
		s.els, s.hasElse, s.elseIsElif = []Stmt{inner}, true, true
	}
	return s, true, nil
}

// Expressions, lowest precedence first: || && comparisons | & + - * / =~ unary.

// innerExpr parses what stands between parentheses or as a function argument: an expression
// or an assignment NAME=expression. Courier's grammar accepts an assignment there (the
// GDBM vacation recipe of maildropex(7) tests "(prev_time=gdbmfetch($MATCH)) ne """), but
// not elsewhere inside an expression: "X=1 + Q=2" and "B=C=4" stay syntax errors.
func (p *parser) innerExpr() (Expr, error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind == tText {
		n, err := p.peekN(1)
		if err != nil {
			return nil, err
		}
		if isOp(n, "=") {
			p.next()
			p.next()
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			return &assignExpr{line: t.line, name: &textExpr{line: t.line, parts: t.parts}, value: v}, nil
		}
	}
	return p.expr()
}

func (p *parser) expr() (Expr, error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if err := p.enter(t.line); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.binary(0)
}

var precLevels = [][]string{
	{"||"},
	{"&&"},
	{"<", "<=", ">", ">=", "==", "!=", "lt", "le", "gt", "ge", "eq", "ne"},
	{"|"},
	{"&"},
	{"+", "-"},
	{"*", "/"},
}

// opOf returns the binary operator a token stands for ("lt" and friends are words).
func opOf(t token) string {
	if t.kind == tOp {
		return t.op
	}
	if w := t.word(); isTextOp(w) {
		return w
	}
	return ""
}

func (p *parser) binary(level int) (Expr, error) {
	if level == len(precLevels) {
		return p.matchLevel()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		op := opOf(t)
		found := false
		for _, o := range precLevels[level] {
			if o == op {
				found = true
			}
		}
		if !found {
			return l, nil
		}
		p.next()
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{line: t.line, op: op, l: l, r: r}
		if level == 2 {
			// comparisons do not associate: a < b < c is an error
			if n, err := p.peek(); err == nil {
				for _, o := range precLevels[2] {
					if opOf(n) == o {
						return nil, p.errorf(n.line, "comparisons do not associate; use parentheses")
					}
				}
			}
			return l, nil
		}
	}
}

func (p *parser) matchLevel() (Expr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if !isOp(t, "=~") {
			return x, nil
		}
		p.next()
		pt, err := p.next()
		if err != nil {
			return nil, err
		}
		if pt.kind != tPattern {
			return nil, p.errorf(pt.line, "syntax error after =~: a pattern must follow")
		}
		x = &matchExpr{line: t.line, target: x, pat: pt.pat}
	}
}

func (p *parser) unary() (Expr, error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if isOp(t, "!") || isOp(t, "~") {
		p.next()
		if err := p.enter(t.line); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{line: t.line, op: t.op, x: x}, nil
	}
	return p.primary()
}

// functions and their argument counts (min, max).
var functions = map[string][2]int{
	"escape":    {1, 1},
	"gdbmclose": {0, 0},
	"gdbmfetch": {1, 3},
	"gdbmopen":  {1, 2},
	"gdbmstore": {2, 2},
	"getaddr":   {1, 1},
	"hasaddr":   {1, 1},
	"length":    {1, 1},
	"lookup":    {2, 3},
	"substr":    {2, 3},
	"time":      {0, 0},
	"tolower":   {1, 1},
	"toupper":   {1, 1},
}

func (p *parser) primary() (Expr, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tPattern:
		return &matchExpr{line: t.line, pat: t.pat}, nil
	case tText:
		w := t.word()
		if n, ok := functions[w]; ok {
			return p.call(t, w, n)
		}
		return &textExpr{line: t.line, parts: t.parts}, nil
	case tOp:
		if t.op == "(" {
			x, err := p.innerExpr()
			if err != nil {
				return nil, err
			}
			c, err := p.next()
			if err != nil {
				return nil, err
			}
			if !isOp(c, ")") {
				return nil, p.errorf(c.line, "missing )")
			}
			return x, nil
		}
	case tEOF, tSep:
		return nil, p.errorf(t.line, "syntax error: expression expected at "+t.String())
	}
	return nil, p.errorf(t.line, "syntax error at "+t.String())
}

// call parses name(args) or, for a one-argument function, name followed by a text literal.
func (p *parser) call(t token, name string, n [2]int) (Expr, error) {
	c := &callExpr{line: t.line, name: name}
	nt, err := p.peek()
	if err != nil {
		return nil, err
	}
	if !isOp(nt, "(") {
		if n[0] == 0 {
			return c, nil
		}
		if n[0] == 1 && (nt.kind == tText || nt.kind == tPattern) {
			x, err := p.unary()
			if err != nil {
				return nil, err
			}
			c.args = []Expr{x}
			return c, nil
		}
		return nil, p.errorf(nt.line, "missing ( after "+name)
	}
	p.next()
	if nt2, err := p.peek(); err == nil && isOp(nt2, ")") {
		p.next()
	} else {
		for {
			x, err := p.innerExpr()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, x)
			d, err := p.next()
			if err != nil {
				return nil, err
			}
			if isOp(d, ")") {
				break
			}
			if !isOp(d, ",") {
				return nil, p.errorf(d.line, "missing ) after the arguments of "+name)
			}
		}
	}
	if len(c.args) < n[0] || len(c.args) > n[1] {
		return nil, p.errorf(t.line, "wrong number of arguments to "+name)
	}
	return c, nil
}
