package cli

import (
	"fmt"

	"courier/internal/filter/maildrop"
	"courier/internal/mda"
)

func init() {
	register(&Command{
		Name:  "maildrop",
		Usage: "[-f sender] [-A 'Header: value'] [-V level] [-d user | filterfile [arg...] | -m filterfile [arg...] | -M name [arg...]]",
		Short: "filter the message on standard input with a maildrop recipe and deliver it",
		Link:  true,
		Run:   func(e *Env) int { return mda.Maildrop(e.mda()) },
	})
}

// mda returns the invocation the per-message tools of internal/mda take.
func (e *Env) mda() *mda.Invocation {
	return &mda.Invocation{Args: e.Args, Stdin: e.Stdin, Stdout: e.Stdout, Stderr: e.Stderr, Getenv: e.Getenv}
}

func init() {
	register(&Command{
		Name:  "maildrop-pcre",
		Usage: "",
		Short: "internal: runs the maildrop patterns Go's regexp cannot for courier-mda (a pipe protocol on stdin/stdout)",
		Run: func(e *Env) int {
			if err := maildrop.ServePCRE(e.Stdin, e.Stdout); err != nil {
				fmt.Fprintln(e.Stderr, err)
				return 1
			}
			return 0
		},
	})
}
