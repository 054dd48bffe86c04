package cli

import (
	"context"
	"flag"

	"courier/internal/app"
)

func init() {
	register(&Command{
		Name:  "serve",
		Usage: "[-c DIR]",
		Short: "run every service the configuration in DIR enables (default /etc/courier)",
		Run:   runServe,
	})
}

// configDir is the -c flag every tool takes: the flag, else COURIER_CONFIG, else /etc/courier.
func configDir(e *Env, fs *flag.FlagSet) *string {
	def := e.Env("COURIER_CONFIG")
	if def == "" {
		def = "/etc/courier"
	}
	return fs.String("c", def, "configuration directory")
}

func newFlags(e *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	return fs
}

func runServe(e *Env) int {
	fs := newFlags(e, "serve")
	dir := configDir(e, fs)
	if err := fs.Parse(e.Args); err != nil {
		return 2
	}
	a, err := app.New(app.Options{ConfigDir: *dir, Version: Version, Stdout: e.Stdout, Stderr: e.Stderr, Getenv: e.Env})
	if err != nil {
		return fail(e, "serve", 1, "%v", err)
	}
	if err := a.Run(context.Background()); err != nil {
		return fail(e, "serve", 1, "%v", err)
	}
	return 0
}
