package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release name printed by `courier version`.
const Version = "0.1.0-dev"

func init() {
	register(&Command{
		Name:  "version",
		Usage: "",
		Short: "print the version of this build",
		Run: func(e *Env) int {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						rev = " " + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(e.Stdout, "courier %s%s (%s %s/%s)\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return 0
		},
	})
}
