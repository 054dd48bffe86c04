package cli

import (
	"errors"
	"path/filepath"
	"strings"

	"courier/internal/auth/userdb"
)

func init() {
	register(&Command{
		Name:  "makeuserdb",
		Usage: "[-c DIR] [-f file]",
		Short: "compile the userdb text file (or directory) into its index",
		Link:  true,
		Run:   runMakeuserdb,
	})
}

func runMakeuserdb(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	src := filepath.Join(dir, "userdb")
	if len(args) >= 2 && args[0] == "-f" {
		src = strings.TrimRight(args[1], "/")
		args = args[2:]
	}
	if len(args) > 0 {
		return fail(e, "makeuserdb", 1, "usage: makeuserdb [-f file]")
	}
	if _, err := userdb.Make(src); err != nil {
		switch {
		case errors.Is(err, userdb.ErrPermissions):
			return fail(e, "makeuserdb", 1, "%s: MAY NOT HAVE GROUP OR WORLD PERMISSIONS!!", src)
		case strings.Contains(err.Error(), "no such file"):
			return fail(e, "makeuserdb", 2, "%s: not found.", src)
		}
		return fail(e, "makeuserdb", 1, "%v", err)
	}
	return 0
}
