package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"courier/internal/auth/daemon"
	"courier/internal/config/courierfmt"
	"courier/internal/delivery"
	"courier/internal/fsutil"
)

func init() {
	register(&Command{
		Name:  "makealiases",
		Usage: "[-c DIR] [-protocol=PROTO] [-alias=FILE] [-src=PATH] [-tmp=FILE] [-chk] [-dump] [module]",
		Short: "compile the aliases file or directory into aliases.dat (-dump prints it, -chk checks the addresses)",
		Link:  true,
		Run:   runMakealiases,
	})
}

func runMakealiases(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	var src, alias, protocol string
	dump, chk := false, false
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "-src="):
			src = strings.TrimPrefix(a, "-src=")
		case strings.HasPrefix(a, "-alias="):
			alias = strings.TrimPrefix(a, "-alias=")
		case strings.HasPrefix(a, "-tmp="), strings.HasPrefix(a, "-xaliasdir="), strings.HasPrefix(a, "-xaliastmpdir="):
			// Our aliases.dat is written beside itself and renamed; program aliases need
			// no files of their own.
		case strings.HasPrefix(a, "-protocol="):
			protocol = strings.TrimPrefix(a, "-protocol=")
			switch protocol {
			case "esmtp", "local", "uucp":
			default:
				fmt.Fprintf(e.Stdout, "%s is not a valid protocol.\n", protocol)
				return 1
			}
		case a == "-dump":
			dump = true
		case a == "-chk":
			chk = true
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(e.Stderr, "Usage: makealiases [ options ] module\n")
			return 1
		default:
			// the rewriting module (local, esmtp): ours has one canonical form
		}
	}
	base := "aliases"
	if protocol != "" {
		base += "-" + protocol
	}
	if src == "" {
		src = filepath.Join(dir, base)
	}
	if alias == "" {
		alias = filepath.Join(dir, base+".dat")
	}
	me := meOf(dir)
	ls, warns, err := courierfmt.ReadControl(src)
	for _, w := range warns {
		fmt.Fprintf(e.Stderr, "makealiases: %s\n", w.String())
	}
	if err != nil {
		return fail(e, "makealiases", 1, "%v", err)
	}
	at := delivery.ParseAliases(ls, me, nil)
	switch {
	case dump:
		if err := at.Dump(e.Stdout, me); err != nil {
			return fail(e, "makealiases", 1, "%v", err)
		}
		return 0
	case chk:
		return checkAliases(e, dir, at, me)
	}
	var b bytes.Buffer
	if err := at.WriteCompiled(&b); err != nil {
		return fail(e, "makealiases", 1, "%v", err)
	}
	if err := fsutil.WriteFileAtomic(alias, b.Bytes(), 0o644); err != nil {
		return fail(e, "makealiases", 1, "%v", err)
	}
	return 0
}

// checkAliases routes every local address an alias reaches, as -chk does, and prints the
// ones nobody receives mail for.
func checkAliases(e *Env, dir string, at *delivery.Aliases, me string) int {
	r := delivery.NewResolver(delivery.ResolverOptions{ConfigDir: dir, Auth: &daemon.Client{Socket: authSocket(dir)}, Hostname: me})
	bad := 0
	for _, k := range at.Keys {
		for _, t := range at.Expanded(k, me) {
			if strings.HasPrefix(t, "|") || strings.HasPrefix(t, "/") {
				continue
			}
			_, err := r.Route(context.Background(), t, true)
			switch {
			case errors.Is(err, delivery.ErrUnknownUser):
				fmt.Fprintf(e.Stdout, "%s: %s: unknown user\n", k, t)
				bad++
			case err != nil:
				fmt.Fprintf(e.Stdout, "%s: %s: %v\n", k, t, err)
				bad++
			}
		}
	}
	if bad > 0 {
		return 1
	}
	return 0
}

// meOf is the me control file, else the host name.
func meOf(dir string) string {
	if me, err := courierfmt.ReadFirstLine(filepath.Join(dir, "me")); err == nil && me != "" {
		return strings.ToLower(me)
	}
	h, _ := os.Hostname()
	return strings.ToLower(h)
}
