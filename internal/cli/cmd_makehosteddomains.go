package cli

import (
	"path/filepath"

	"courier/internal/delivery"
)

func init() {
	register(&Command{
		Name:  "makehosteddomains",
		Usage: "[-c DIR]",
		Short: "compile hosteddomains (file or directory) into hosteddomains.dat",
		Link:  true,
		Run: func(e *Env) int {
			return runMakeList(e, "makehosteddomains", "hosteddomains", "hosteddomains.dat", 2)
		},
	})
	register(&Command{
		Name:  "makeacceptmailfor",
		Usage: "[-c DIR]",
		Short: "compile esmtpacceptmailfor.dir into esmtpacceptmailfor.dat",
		Link:  true,
		Run: func(e *Env) int {
			return runMakeList(e, "makeacceptmailfor", "esmtpacceptmailfor.dir", "esmtpacceptmailfor.dat", 1)
		},
	})
}

// runMakeList compiles a domain list as Courier's makedat-based scripts do; the running
// server picks the result up by itself.
func runMakeList(e *Env, tool, src, dst string, fields int) int {
	dir, args := authConfigDir(e, e.Args)
	if len(args) > 0 {
		return fail(e, tool, 1, "usage: %s [-c DIR]", tool)
	}
	if _, err := delivery.CompileList(filepath.Join(dir, src), filepath.Join(dir, dst), fields); err != nil {
		return fail(e, tool, 1, "%v", err)
	}
	return 0
}
