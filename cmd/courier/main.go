// Command courier is the single binary of the Courier mail server suite. It dispatches on the
// name it was called by (a link named sendmail, maildirmake, imapd, … acts as that tool) or on
// its first argument; everything else lives in internal/cli.
package main

import (
	"os"

	"courier/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
