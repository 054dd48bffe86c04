package cli

import "courier/internal/mda"

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
