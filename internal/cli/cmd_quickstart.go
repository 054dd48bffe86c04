package cli

import (
	"context"
	"fmt"

	"courier/internal/app"
	"courier/internal/quickstart"
)

func init() {
	register(&Command{
		Name:  "quickstart",
		Usage: "[--dir DIR] [--port-base N] [--listen ADDR] [--domain D] [--password PW]",
		Short: "set up (first run) and run a complete self-contained server in DIR",
		Run:   runQuickstart,
	})
}

func runQuickstart(e *Env) int {
	fs := newFlags(e, "quickstart")
	dir := fs.String("dir", "courier-data", "directory holding everything: etc, mail, spool, run, tls")
	base := fs.Int("port-base", 10000, "each service listens on this plus its standard port")
	listen := fs.String("listen", "127.0.0.1", "address to listen on")
	domain := fs.String("domain", "example.test", "the mail domain; its account is demo@DOMAIN")
	password := fs.String("password", "", "demo's password (generated when empty)")
	if err := fs.Parse(e.Args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail(e, "quickstart", 2, "unexpected argument %q", fs.Arg(0))
	}
	res, err := quickstart.Setup(quickstart.Options{
		Dir: *dir, PortBase: *base, Listen: *listen, Domain: *domain, Password: *password,
	})
	if err != nil {
		return fail(e, "quickstart", 1, "%v", err)
	}
	if !res.Created {
		fmt.Fprintf(e.Stderr, "quickstart: reusing %s (flags other than --dir apply only to a new directory)\n", res.Dir)
	}
	a, err := app.New(app.Options{ConfigDir: res.ConfigDir, Version: Version, Stdout: e.Stdout, Stderr: e.Stderr, Getenv: e.Env})
	if err != nil {
		return fail(e, "quickstart", 1, "%v", err)
	}
	a.CatchSignals() // a signal right after the listeners open must drain, not kill
	if err := a.Start(); err != nil {
		return fail(e, "quickstart", 1, "%v", err)
	}
	guide, err := quickstart.WriteGuide(res, guideServices(a))
	if err != nil {
		a.Shutdown(context.Background())
		return fail(e, "quickstart", 1, "%v", err)
	}
	fmt.Fprintf(e.Stdout, "\n%s\n", guide)
	if err := a.Wait(context.Background()); err != nil {
		return fail(e, "quickstart", 1, "%v", err)
	}
	return 0
}

func guideServices(a *app.App) []quickstart.Service {
	var out []quickstart.Service
	missing := map[string]bool{}
	for _, m := range a.Missing() {
		missing[m] = true
	}
	for _, name := range app.ServiceNames() {
		if missing[name] {
			out = append(out, quickstart.Service{Name: name})
			continue
		}
		if ad := a.Addr(name); ad != "" {
			out = append(out, quickstart.Service{Name: name, Addr: ad, Available: true})
		}
	}
	return out
}
