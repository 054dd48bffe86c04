// Command courier-mda is the lean companion of `courier` for the tools a mail server starts
// once per message: deliverquota and maildrop. It links only the store and the filter
// language, so it starts in a third of the time the full binary needs (Go runs every linked
// package's initialisation before main, and `courier` links all the servers). It answers to
// the name it is called by (install-links points the deliverquota and maildrop links here
// when it sits beside `courier`) or to its first argument; both binaries run the same code
// from internal/mda.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"courier/internal/mda"
)

func main() {
	args := os.Args
	name := filepath.Base(args[0])
	run, ok := mda.Tools[name]
	if !ok && len(args) > 1 {
		name = args[1]
		run, ok = mda.Tools[name]
		args = args[1:]
	}
	if !ok {
		var names []string
		for n := range mda.Tools {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: courier-mda TOOL [args...]   (TOOL: %v)\n", names)
		os.Exit(64)
	}
	os.Exit(run(&mda.Invocation{Args: args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
