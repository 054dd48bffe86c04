// Package maildrop implements the filtering language of Courier's maildrop
// (maildropfilter(7)): a lexer and parser that turn a filter file into a Program, and an
// interpreter that runs it against one message, delivering it to maildirs (through
// internal/store/maildir, quota honoured), mbox files (dot-lock and flock), programs and
// forwarding addresses. Embedded mode (-m file, -M name from $HOME/.mailfilters with its
// "-default" fallbacks) runs a filter that may not deliver, run commands, lock or log, except
// in files included from the maildroprcs directory of the configuration (/etc/courier).
//
// Invariants and safety:
//   - A filter file is parsed whole before anything runs; a bad file is a *SyntaxError naming
//     "file:line", never a panic. Parsing is bounded (MaxFileBytes, MaxNesting).
//   - Patterns run on Go's regexp (linear time) when it reads them as PCRE does, else on
//     github.com/dlclark/regexp2 (PCRE-like, backtracking; see pattern.go); each match has a
//     time limit and the whole run a watchdog. Running out of time returns an error wrapping ErrTimeout,
//     which exception does not trap: the caller delivers to DEFAULT.
//   - include is bounded in depth; a shell is started only where the recipe asks for one
//     (backticks, system, xfilter, "| program").
//   - An Interp holds no package-level state; one Interp serves one message at a time.
package maildrop
