package delivery

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"courier/internal/mda"
)

// deliverquotaArgs recognises a command that runs our deliverquota ("deliverquota",
// "/usr/lib/courier/bin/deliverquota", "courier deliverquota", with arguments) and returns
// deliverquota's arguments. As for maildrop, a named program that exists and is another
// file than this binary (or courier-mda beside it) is someone else's.
func deliverquotaArgs(command, path, self string) ([]string, bool) {
	w, ok := splitCommand(command)
	if !ok {
		return nil, false
	}
	switch filepath.Base(w[0]) {
	case "deliverquota":
		if !isSelf(w[0], path, self) {
			return nil, false
		}
		return w[1:], true
	case "courier":
		if len(w) < 2 || w[1] != "deliverquota" || !isSelf(w[0], path, self) {
			return nil, false
		}
		return w[2:], true
	}
	return nil, false
}

// deliverquotaHook runs a "| deliverquota …" line (Courier's usual way to get quota
// warnings: DEFAULTDELIVERY="| deliverquota -w 90 ./Maildir") without a process: in-process
// from the account's home, or as the lean courier-mda with the account's credential when
// the server is root and the account has its own user. handled is false for any other
// command.
func (d *dotRun) deliverquotaHook(ctx context.Context, command string) (code int, handled bool, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, false, nil
	}
	env := d.env()
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	args, ok := deliverquotaArgs(command, pathEnv, self)
	if !ok {
		return 0, false, nil
	}
	if cred := d.credential(); cred != nil {
		code, err := d.execTool(ctx, self, "deliverquota", args, env, cred)
		return code, true, err
	}
	in, err := d.open()
	if err != nil {
		return 0, true, err
	}
	defer in.Close()
	dir := d.home
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = "/"
	}
	var out limitedBuffer
	out.max = maxMaildropStderr
	start := time.Now()
	code = mda.Deliverquota(&mda.Invocation{
		Args: args, Stdin: in, Stdout: &out, Stderr: &out, Dir: dir, NoSync: d.l.o.NoSync,
		Getenv: func(k string) string {
			if k == "COURIER_CONFIG" {
				return d.l.o.ConfigDir
			}
			return ""
		},
	})
	if code != 0 {
		d.l.o.Log.Warn("delivery: deliverquota in-process", "id", d.m.ID, "rcpt", d.m.Env.Rcpts[d.i].Addr, "exit", code, "output", strings.TrimSpace(out.String()))
	} else {
		d.l.o.Log.Debug("delivery: deliverquota in-process", "id", d.m.ID, "rcpt", d.m.Env.Rcpts[d.i].Addr, "took", time.Since(start))
	}
	return code, true, nil
}
