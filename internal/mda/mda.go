// Package mda holds the per-message delivery tools that a mail server runs once for every
// message (deliverquota and maildrop), shared by the full `courier` binary and the lean
// `courier-mda` binary. They live apart from internal/cli because a tool started per message
// pays for the initialisation of every package linked into its binary: `courier` links the
// servers, metrics, SQL and LDAP clients (about 6–8 ms before main runs here), while a binary
// built from this package alone starts in under 3 ms, which is what lets a process per message
// keep up with Courier's C programs.
package mda

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"courier/internal/filter/maildrop"
	"courier/internal/store/maildir"
)

// Invocation is one run of a tool: its arguments (without the tool's name), standard
// streams and environment.
type Invocation struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv returns an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// Dir is the working directory relative paths start from; empty means the process's.
	// Local delivery runs deliverquota in-process with the account's home here, where a
	// process of its own would have started.
	Dir string
	// NoSync skips fsyncs (tests and benchmarks that say so only).
	NoSync bool
}

// path resolves p against Dir.
func (inv *Invocation) path(p string) string {
	if inv.Dir == "" || p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(inv.Dir, p)
}

// Env returns the named environment variable.
func (inv *Invocation) Env(name string) string {
	if inv.Getenv != nil {
		return inv.Getenv(name)
	}
	return os.Getenv(name)
}

// ConfigDir is the configuration directory: $COURIER_CONFIG, else /etc/courier.
func (inv *Invocation) ConfigDir() string {
	if d := inv.Env("COURIER_CONFIG"); d != "" {
		return d
	}
	return "/etc/courier"
}

// Tools names the tools this package runs, by the name each answers to.
var Tools = map[string]func(*Invocation) int{
	"deliverquota": Deliverquota,
	"maildrop":     Maildrop,
}

// Maildrop runs maildrop(1) on the message on standard input.
func Maildrop(inv *Invocation) int {
	return maildrop.Main(&maildrop.Invocation{
		Args: inv.Args, Stdin: inv.Stdin, Stdout: inv.Stdout, Stderr: inv.Stderr,
		Env: inv.environ(), ConfigDir: inv.ConfigDir(), PasswdFile: inv.Env("COURIER_PASSWD"),
		Host: maildir.HostName(),
	})
}

// environ returns the environment the tool runs with.
func (inv *Invocation) environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 {
			m[kv[:i]] = kv[i+1:]
		}
	}
	if inv.Getenv != nil {
		// in-process runs (tests) see only what their Getenv provides for the names maildrop
		// cares about
		for _, k := range []string{"HOME", "SHELL", "LOGNAME", "MAILDIRQUOTA", "MAILDROPDEFAULT", "PATH", "COURIER_CONFIG"} {
			if v := inv.Getenv(k); v != "" {
				m[k] = v
			} else {
				delete(m, k)
			}
		}
	}
	return m
}
