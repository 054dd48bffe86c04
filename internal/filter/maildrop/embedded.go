package maildrop

// Embedded mode (maildrop -m file, -M name): the filter runs for another application, which
// reads its echo output and EXITCODE. It may not deliver, run commands, lock, log or write
// GDBM files, and nothing goes to DEFAULT afterwards. Files included from the maildroprcs
// directory (Courier's /etc/courier/maildroprcs) run without these restrictions.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// resetVars are the variables given back their initial values before a maildroprcs file runs.
var resetVars = []string{"DEFAULT", "HOME", "LOCKEXT", "LOCKSLEEP", "LOCKTIMEOUT", "LOCKREFRESH", "LOGNAME", "PATH", "SENDMAIL", "SHELL"}

// embeddedForbidden are the commands and blocks embedded mode refuses.
var embeddedForbidden = map[string]bool{
	"to": true, "cc": true, "system": true, "xfilter": true, "log": true, "logfile": true,
	"dotlock": true, "flock": true,
}

// CheckEmbedded reports the first statement of p that embedded mode does not allow, as a
// *SyntaxError naming the file and line; nil when the whole file is allowed.
func CheckEmbedded(p *Program) error {
	var bad func(line int, what string) error
	bad = func(line int, what string) error {
		return &SyntaxError{File: p.File, Line: line, Msg: fmt.Sprintf("'%s' disabled in embedded mode", what)}
	}
	var expr func(x Expr) error
	expr = func(x Expr) error {
		switch x := x.(type) {
		case nil:
		case *textExpr:
			for _, part := range x.parts {
				if part.kind == partBacktick {
					return bad(x.line, "`"+part.s+"`")
				}
			}
		case *binaryExpr:
			if err := expr(x.l); err != nil {
				return err
			}
			return expr(x.r)
		case *unaryExpr:
			return expr(x.x)
		case *matchExpr:
			return expr(x.target)
		case *callExpr:
			for _, a := range x.args {
				if err := expr(a); err != nil {
					return err
				}
			}
		case *assignExpr:
			if err := expr(x.name); err != nil {
				return err
			}
			return expr(x.value)
		}
		return nil
	}
	var stmts func(list []Stmt) error
	stmts = func(list []Stmt) error {
		for _, s := range list {
			var err error
			switch s := s.(type) {
			case *assignStmt:
				if err = expr(s.name); err == nil {
					err = expr(s.value)
				}
			case *cmdStmt:
				if embeddedForbidden[s.cmd] {
					return bad(s.line, s.cmd)
				}
				err = expr(s.arg)
			case *ifStmt:
				if err = expr(s.cond); err == nil {
					if err = stmts(s.then); err == nil {
						err = stmts(s.els)
					}
				}
			case *whileStmt:
				if err = expr(s.cond); err == nil {
					err = stmts(s.body)
				}
			case *foreachStmt:
				if err = expr(s.m); err == nil {
					err = stmts(s.body)
				}
			case *blockStmt:
				if embeddedForbidden[s.kind] {
					return bad(s.line, s.kind)
				}
				if err = expr(s.arg); err == nil {
					err = stmts(s.body)
				}
			case *exprStmt:
				err = expr(s.x)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return stmts(p.Stmts)
}

// rcsInclude reports whether an include names a file in the maildroprcs directory, and
// refuses a name there with a period (which could lead out of it).
func (in *Interp) rcsInclude(name string) (bool, error) {
	dir := in.opts.RCSDir
	if dir == "" || !strings.HasPrefix(name, dir+"/") {
		return false, nil
	}
	rest := name[len(dir)+1:]
	if rest == "" || strings.Contains(rest, ".") {
		return false, fmt.Errorf("include %q: a file in %s may not have a period in its name", name, dir)
	}
	for _, k := range resetVars {
		in.vars[k] = in.initial[k]
	}
	return true, nil
}

// ValidEmbeddedName reports whether -M's filter name is acceptable: not empty, not starting
// with a slash, without periods.
func ValidEmbeddedName(name string) bool {
	return name != "" && name[0] != '/' && !strings.Contains(name, ".")
}

// EmbeddedCandidates lists the files -M name looks for in order: name, then for each dash
// from the last, the part before it followed by "-default", and finally "default".
func EmbeddedCandidates(name string) []string {
	out := []string{name}
	prefix := name
	for {
		i := strings.LastIndexByte(prefix, '-')
		if i < 0 {
			break
		}
		prefix = prefix[:i]
		out = append(out, prefix+"-default")
	}
	if name != "default" {
		out = append(out, "default")
	}
	return out
}

// embedded runs maildrop's embedded mode (-m, -M).
func (inv *Invocation) embedded(in *Interp, a *Args, me, user *User, workDir string) int {
	var f fileToRun
	if a.EmbeddedName != "" {
		if !ValidEmbeddedName(a.EmbeddedName) {
			return inv.fail(ExitTempFail, "-M %s: invalid filter name", a.EmbeddedName)
		}
		if inv.Self == nil && me.UID == 0 && user.UID != 0 {
			if err := dropPrivileges(user); err != nil {
				return inv.fail(ExitTempFail, "cannot change to user %s: %v", user.Name, err)
			}
		}
		dir := filepath.Join(workDir, ".mailfilters")
		fi, err := os.Stat(dir)
		if err != nil {
			return inv.fail(ExitTempFail, "%s: %v", dir, err)
		}
		if code := inv.checkOwner(dir, fi, user.UID); code != 0 {
			return code
		}
		for _, c := range EmbeddedCandidates(a.EmbeddedName) {
			p := filepath.Join(dir, c)
			if _, err := os.Lstat(p); err == nil {
				f = fileToRun{path: p, checkPerm: true, owner: user.UID}
				break
			} else if !errors.Is(err, fs.ErrNotExist) {
				return inv.fail(ExitTempFail, "%s: %v", p, err)
			}
		}
		if f.path == "" {
			return inv.fail(ExitTempFail, "unable to open filter file %s", filepath.Join(dir, a.EmbeddedName))
		}
	} else {
		if a.Filter == "" {
			return inv.fail(ExitTempFail, "bad command line arguments: -m needs a filter file")
		}
		f = fileToRun{path: a.Filter}
	}
	p, code := inv.loadFilter(f)
	if code != 0 {
		return code
	}
	if err := CheckEmbedded(p); err != nil {
		fmt.Fprintln(inv.Stderr, err)
		return ExitTempFail
	}
	out, err := in.Run(p)
	if err != nil {
		fmt.Fprintf(inv.Stderr, "maildrop: %v\n", err)
		return ExitTempFail
	}
	if out.Done {
		return out.ExitCode
	}
	return in.exitCode()
}
