package cli

import (
	"os"
	"strings"

	"courier/internal/filter/maildrop"
	"courier/internal/store/maildir"
)

func init() {
	register(&Command{
		Name:  "maildrop",
		Usage: "[-f sender] [-A 'Header: value'] [-V level] [-d user | filterfile [arg...] | -m filterfile [arg...] | -M name [arg...]]",
		Short: "filter the message on standard input with a maildrop recipe and deliver it",
		Link:  true,
		Run:   runMaildrop,
	})
}

func runMaildrop(e *Env) int {
	return maildrop.Main(&maildrop.Invocation{
		Args: e.Args, Stdin: e.Stdin, Stdout: e.Stdout, Stderr: e.Stderr,
		Env: environMap(e), ConfigDir: maildirmakeConfigDir(e), PasswdFile: e.Env("COURIER_PASSWD"),
		Host: maildir.HostName(),
	})
}

// environMap returns the environment the tool runs with.
func environMap(e *Env) map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 {
			m[kv[:i]] = kv[i+1:]
		}
	}
	if e.Getenv != nil {
		// in-process runs (tests) see only what their Getenv provides for the names maildrop
		// cares about
		for _, k := range []string{"HOME", "SHELL", "LOGNAME", "MAILDIRQUOTA", "MAILDROPDEFAULT", "PATH", "COURIER_CONFIG"} {
			if v := e.Getenv(k); v != "" {
				m[k] = v
			} else {
				delete(m, k)
			}
		}
	}
	return m
}
