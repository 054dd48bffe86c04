package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	clog "courier/internal/log"
	"courier/internal/pop3"
	"courier/internal/pop3/pop3maildir"
)

func init() {
	register(&Command{
		Name:  "pop3d",
		Usage: "[MAILDIR]",
		Short: "pre-authenticated POP3 session on standard input and output (courierpop3d)",
		Link:  true,
		Run:   runPop3d,
	})
}

// runPop3d is courierpop3d after login: the Maildir is $MAILDIR, else the argument, else
// ./Maildir; the session greets "+OK logged in." in the TRANSACTION state and ends silently
// at the end of input. Session events go to standard error, as Courier's INFO lines do.
// Started on a network connection (TCPREMOTEIP set, standard input and output one socket),
// as the login stage starts it for a handed-off session, it behaves as a network session
// (see runPop3dLoggedIn).
func runPop3d(e *Env) int {
	if len(e.Args) > 1 {
		fmt.Fprintf(e.Stderr, "usage: courier pop3d [MAILDIR]\n")
		return 2
	}
	dir := e.Env("MAILDIR")
	if dir == "" && len(e.Args) == 1 {
		dir = e.Args[0]
	}
	if dir == "" {
		dir = "./Maildir"
	}
	level := e.Env("LOGLEVEL")
	if level == "" {
		level = "warn"
	}
	log := clog.New(e.Stderr, e.Env("LOGFORMAT"), level).With("service", "pop3d", "maildir", dir)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		fmt.Fprintf(e.Stdout, "-ERR chdir %s failed\r\n", dir)
		fmt.Fprintf(e.Stderr, "pop3d: %s: not a directory\n", dir)
		return 1
	}
	ctx := context.Background()
	md, err := pop3maildir.Open(ctx, dir, nil)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(e.Stdout, "-ERR Maildir invalid (no 'cur' directory)\r\n")
		} else {
			fmt.Fprintf(e.Stdout, "-ERR Cannot open the Maildir\r\n")
		}
		fmt.Fprintf(e.Stderr, "pop3d: %s: %v\n", filepath.Clean(dir), err)
		return 1
	}
	if remote := e.Env("TCPREMOTEIP"); remote != "" {
		if c := stdioConn(e); c != nil {
			return runPop3dLoggedIn(e, c, md, remote, log)
		}
	}
	srv := pop3.New(pop3.Config{Log: log})
	if err := srv.ServeMaildrop(ctx, e.Stdin, e.Stdout, md); err != nil {
		fmt.Fprintf(e.Stderr, "pop3d: %v\n", err)
		return 1
	}
	return 0
}

// runPop3dLoggedIn serves a session the login stage handed off, on the socket c (the
// client's connection or the login stage's socketpair): the network session's idle timeout
// applies, an unterminated last line is not run, and SIGTERM (the server draining) ends the
// session, deleting nothing. The service's settings come from the environment.
func runPop3dLoggedIn(e *Env, c net.Conn, md pop3.Maildrop, remote string, log *slog.Logger) int {
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	env := map[string]string{}
	for _, k := range pop3.SessionSettings() {
		env[k] = e.Env(k)
	}
	set, err := pop3.SettingsFromEnv(env, nil)
	if err != nil {
		fmt.Fprintf(e.Stderr, "pop3d: %v\n", err)
		md.Close()
		return 1
	}
	user := e.Env("AUTHENTICATED")
	srv := pop3.New(pop3.Config{Log: log})
	if err := srv.ServeLoggedIn(ctx, c, md, set, pop3.LoggedIn{User: user, Remote: remote}); err != nil {
		log.Info("session ended", "err", err)
	}
	return 0
}
