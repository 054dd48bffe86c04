package maildrop

import (
	"fmt"
	"sync"
)

// SyntaxError is a parse error in a filter file, with its file name and line.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Program is a parsed filter file.
type Program struct {
	File  string
	Stmts []Stmt
}

// Stmt is one statement.
type Stmt interface{ stmtLine() int }

// Expr is one expression.
type Expr interface{ exprLine() int }

type (
	// assignStmt is NAME=expression.
	assignStmt struct {
		line  int
		name  *textExpr
		value Expr
	}
	// cmdStmt is a statement of a keyword and one argument: echo, log, logfile, to, cc,
	// xfilter, system, include, import, exit (no argument).
	cmdStmt struct {
		line int
		cmd  string
		arg  Expr
	}
	ifStmt struct {
		line       int
		cond       Expr
		then, els  []Stmt
		hasElse    bool
		elseIsElif bool
	}
	whileStmt struct {
		line int
		cond Expr
		body []Stmt
	}
	foreachStmt struct {
		line int
		m    *matchExpr
		body []Stmt
	}
	// blockStmt is exception { }, dotlock expr { } or flock expr { }.
	blockStmt struct {
		line int
		kind string
		arg  Expr
		body []Stmt
	}
	exprStmt struct {
		line int
		x    Expr
	}
)

func (s *assignStmt) stmtLine() int  { return s.line }
func (s *cmdStmt) stmtLine() int     { return s.line }
func (s *ifStmt) stmtLine() int      { return s.line }
func (s *whileStmt) stmtLine() int   { return s.line }
func (s *foreachStmt) stmtLine() int { return s.line }
func (s *blockStmt) stmtLine() int   { return s.line }
func (s *exprStmt) stmtLine() int    { return s.line }

type (
	// textExpr is a text literal made of parts written next to each other.
	textExpr struct {
		line  int
		parts []textPart
	}
	binaryExpr struct {
		line int
		op   string
		l, r Expr
	}
	unaryExpr struct {
		line int
		op   string
		x    Expr
	}
	// matchExpr is /pattern/ against the message (target nil) or expr =~ /pattern/.
	matchExpr struct {
		line   int
		target Expr
		pat    *Pattern
	}
	callExpr struct {
		line int
		name string
		args []Expr
	}
	// assignExpr is NAME=expression written between parentheses or as a function argument,
	// where Courier's grammar allows an assignment: its value is the text assigned.
	assignExpr struct {
		line  int
		name  *textExpr
		value Expr
	}
)

func (e *textExpr) exprLine() int   { return e.line }
func (e *binaryExpr) exprLine() int { return e.line }
func (e *unaryExpr) exprLine() int  { return e.line }
func (e *matchExpr) exprLine() int  { return e.line }
func (e *callExpr) exprLine() int   { return e.line }
func (e *assignExpr) exprLine() int { return e.line }

// Pattern is /Source/:Options,Weight1,Weight2 as written; Source is variable-substituted
// each time the pattern runs.
type Pattern struct {
	Source   string
	Options  string
	Weighted bool
	Weight1  string
	Weight2  string

	mu    sync.Mutex
	cache map[string]matcher // compiled forms by substituted source
}
