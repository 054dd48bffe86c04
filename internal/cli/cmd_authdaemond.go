package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"courier/internal/auth"
	"courier/internal/auth/daemon"
	"courier/internal/auth/userdb"
)

func init() {
	register(&Command{
		Name:  "authdaemond",
		Usage: "[-c DIR] [start]",
		Short: "serve the authdaemon socket (authmodulelist from CONFIG/authdaemonrc) in the foreground",
		Link:  true,
		Run:   runAuthdaemond,
	})
}

// BuildAuthChain makes the module chain authdaemonrc describes: modules in
// authmodulelist order (authuserdb reads CONFIG/userdb) and DEFAULTOPTIONS.
// Modules not implemented yet are reported in the returned warnings.
func buildAuthChain(dir string, rc map[string]string) (*auth.Chain, []string) {
	list := rc["authmodulelist"]
	if _, set := rc["authmodulelist"]; !set {
		list = "authuserdb"
	}
	var mods []auth.Module
	var warnings []string
	for _, name := range strings.Fields(list) {
		switch name {
		case "authuserdb":
			mods = append(mods, userdb.New(filepath.Join(dir, "userdb")))
		default:
			warnings = append(warnings, fmt.Sprintf("module %s is not available yet; skipped", name))
		}
	}
	return auth.NewChain(auth.ParseOptions(rc["DEFAULTOPTIONS"]), mods...), warnings
}

func runAuthdaemond(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	if len(args) > 1 || (len(args) == 1 && args[0] != "start") {
		return fail(e, "authdaemond", 2, "usage: authdaemond [-c DIR] [start]")
	}
	rc, err := authdaemonrc(dir)
	if err != nil {
		return fail(e, "authdaemond", 1, "%v", err)
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, nil))
	chain, warnings := buildAuthChain(dir, rc)
	for _, w := range warnings {
		log.Warn("authdaemond: " + w)
	}
	debug, _ := strconv.Atoi(rc["DEBUG_LOGIN"])
	daemons, _ := strconv.Atoi(rc["daemons"])
	sock := authSocket(dir)
	l, err := daemon.Listen(sock)
	if err != nil {
		return fail(e, "authdaemond", 1, "%v", err)
	}
	defer l.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(e.Stdout, "listening authdaemon %s\n", sock)
	srv := &daemon.Server{Auth: chain, Logger: log, Debug: debug, MaxConns: max(daemons*8, 16)}
	if err := srv.Serve(ctx, l); err != nil {
		return fail(e, "authdaemond", 1, "%v", err)
	}
	return 0
}
