package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"

	"courier/internal/auth"
	"courier/internal/auth/daemon"
	"courier/internal/config/courierfmt"
)

func init() {
	register(&Command{
		Name:  "authtest",
		Usage: "[-c DIR] [-s service] userid [ password [ newpassword ] ]",
		Short: "ask authdaemond about an account, test a password or change it",
		Link:  true,
		Run:   runAuthtest,
	})
	register(&Command{
		Name:  "authenumerate",
		Usage: "[-c DIR] [-s] [-o]",
		Short: "list every account authdaemond knows",
		Link:  true,
		Run:   runAuthenumerate,
	})
}

// authdaemonrc reads CONFIG/authdaemonrc; a missing file is empty.
func authdaemonrc(dir string) (map[string]string, error) {
	f, err := courierfmt.LoadEnv(filepath.Join(dir, "authdaemonrc"), nil)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	return f.Map(), nil
}

// authSocket returns the authdaemon socket path: authdaemonvar/socket from
// CONFIG/authdaemonrc, else Debian's default.
func authSocket(dir string) string {
	rc, err := authdaemonrc(dir)
	if err == nil && rc["authdaemonvar"] != "" {
		return filepath.Join(rc["authdaemonvar"], "socket")
	}
	return daemon.DefaultSocket
}

// authStrerror formats an errno the way libc's strerror does.
func authStrerror(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		if s != "" {
			r := []rune(s)
			r[0] = unicode.ToUpper(r[0])
			return string(r)
		}
	}
	return err.Error()
}

func runAuthtest(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	service := "login"
	if len(args) >= 1 && args[0] == "-s" {
		if len(args) < 2 {
			args = nil
		} else {
			service, args = args[1], args[2:]
		}
	}
	if len(args) < 1 || len(args) > 3 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.Stderr, "Usage: authtest [-s service] userid [ password [ newpassword ] ]")
		return 1
	}
	ip := e.Env("TCPREMOTEIP")
	if ip == "" {
		ip = "::1"
	}
	c := &daemon.Client{Socket: authSocket(dir), RemoteIP: ip}
	ctx := context.Background()
	failed := func(err error) int {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			fmt.Fprintf(e.Stderr, "ERR: authdaemon: s_connect() failed: %s\n", authStrerror(err))
			fmt.Fprintln(e.Stderr, "Authentication FAILED: Invalid argument")
			return 1
		}
		if auth.IsReject(err) {
			fmt.Fprintln(e.Stderr, "Authentication FAILED: Operation not permitted")
		} else {
			fmt.Fprintln(e.Stderr, "Authentication FAILED: Input/output error")
		}
		return 1
	}
	if len(args) == 3 {
		if err := c.ChangePassword(ctx, service, args[0], args[1], args[2]); err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) {
				return failed(err)
			}
			fmt.Fprintln(e.Stderr, "Authentication FAILED: Operation not permitted")
			return 1
		}
		fmt.Fprintln(e.Stdout, "Password change succeeded.")
		return 0
	}
	var a *auth.Account
	var err error
	if len(args) == 1 {
		a, err = c.Lookup(ctx, service, args[0])
	} else {
		a, err = c.Authenticate(ctx, &auth.Request{Service: service, Mech: auth.MechLogin, User: args[0], Password: args[1]})
	}
	if err != nil {
		return failed(err)
	}
	none := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	w := e.Stdout
	fmt.Fprintf(w, "Authentication succeeded.\n\n")
	fmt.Fprintf(w, "     Authenticated: %s ", none(a.Address))
	if a.SysUser != "" {
		fmt.Fprintf(w, " (system username: %s)\n", a.SysUser)
	} else {
		fmt.Fprintf(w, " (uid %d, gid %d)\n", a.UID, a.GID)
	}
	fmt.Fprintf(w, "    Home Directory: %s\n", a.Home)
	fmt.Fprintf(w, "           Maildir: %s\n", none(a.Maildir))
	fmt.Fprintf(w, "             Quota: %s\n", none(a.Quota))
	fmt.Fprintf(w, "Encrypted Password: %s\n", none(a.Passwd))
	fmt.Fprintf(w, "Cleartext Password: %s\n", none(a.ClearPasswd))
	fmt.Fprintf(w, "           Options: %s\n", none(a.Options.String()))
	return 0
}

func runAuthenumerate(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	skipShared, withOpts := false, false
	for _, a := range args {
		switch a {
		case "-s":
			skipShared = true
		case "-o":
			withOpts = true
		default:
			fmt.Fprintln(e.Stderr, "Usage: authenumerate [-s] [-o]")
			return 1
		}
	}
	c := &daemon.Client{Socket: authSocket(dir)}
	err := c.Enumerate(context.Background(), func(a *auth.Account) error {
		if skipShared && a.Options.Bool("disableshared") {
			return nil
		}
		uid := fmt.Sprint(a.UID)
		if a.SysUser != "" {
			uid = a.SysUser
		}
		fmt.Fprintf(e.Stdout, "%s\t%s\t%d\t%s\t%s", a.Address, uid, a.GID, a.Home, a.Maildir)
		if withOpts {
			fmt.Fprintf(e.Stdout, "\t%s", a.Options.String())
		}
		fmt.Fprintln(e.Stdout)
		return nil
	})
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			fmt.Fprintf(e.Stderr, "ERR: authdaemon: s_connect() failed: %s\n", authStrerror(err))
		}
		return 1
	}
	return 0
}
