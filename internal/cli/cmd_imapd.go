package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"courier/internal/app"
	"courier/internal/auth"
	"courier/internal/imap/server"
	clog "courier/internal/log"
	"courier/internal/store"
	"courier/internal/store/maildirstore"
)

func init() {
	register(&Command{
		Name:  "imapd",
		Usage: "[MAILDIR]",
		Short: "pre-authenticated IMAP session on standard input and output (Courier's imapd after login)",
		Link:  true,
		Run:   runImapd,
	})
}

// runImapd is Courier's imapd after the login stage: the Maildir is $MAILDIR, else the
// argument, else ./Maildir; the session greets "* PREAUTH Ready." and ends silently at the
// end of input. With PROTOCOL=SMAP1 it speaks SMAP instead. Started by the login stage
// after a LOGIN (IMAPLOGINTAG in the environment), it answers that LOGIN instead of
// greeting (see runImapdLoggedIn).
func runImapd(e *Env) int {
	if len(e.Args) > 1 {
		fmt.Fprintf(e.Stderr, "usage: courier imapd [MAILDIR]\n")
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
	log := clog.New(e.Stderr, e.Env("LOGFORMAT"), level).With("service", "imapd", "maildir", dir)
	smap := strings.EqualFold(strings.TrimSpace(e.Env("PROTOCOL")), "SMAP1")
	// The login stage hands over the LOGIN's tag; an SMAP login is answered by the SMAP
	// session's first line instead.
	tag := e.Env("IMAPLOGINTAG")
	if smap {
		tag = ""
	}
	if st, err := os.Stat(dir + "/cur"); err != nil || !st.IsDir() {
		if tag != "" {
			fmt.Fprintf(e.Stdout, "%s NO [UNAVAILABLE] Unable to open your mailbox, try again later.\r\n", tag)
			fmt.Fprintf(e.Stderr, "imapd: %s: not a Maildir (no cur directory)\n", dir)
			return 1
		}
		fmt.Fprintf(e.Stdout, "* BYE Maildir %s: not a Maildir (no cur directory)\r\n", dir)
		return 1
	}
	env := map[string]string{}
	for _, k := range server.SessionSettings() {
		if v := e.Env(k); v != "" {
			env[k] = v
		}
	}
	set, err := server.SettingsFromEnv(env, nil)
	if err != nil {
		fmt.Fprintf(e.Stdout, "* BYE Configuration error\r\n")
		fmt.Fprintf(e.Stderr, "imapd: %v\n", err)
		return 1
	}
	// IMAP_USELOCKS as Courier's imapd reads it: a number, on when not zero.
	locks, _ := strconv.Atoi(e.Env("IMAP_USELOCKS"))
	st, err := maildirstore.Open(dir, &maildirstore.Options{CourierLocks: locks != 0})
	if err != nil {
		if tag != "" {
			fmt.Fprintf(e.Stdout, "%s NO [UNAVAILABLE] Unable to open your mailbox, try again later.\r\n", tag)
		} else {
			fmt.Fprintf(e.Stdout, "* BYE Cannot open the Maildir\r\n")
		}
		fmt.Fprintf(e.Stderr, "imapd: %v\n", err)
		return 1
	}
	user := e.Env("AUTHENTICATED")
	if user == "" {
		user = e.Env("USER")
	}
	if tag != "" {
		return runImapdLoggedIn(e, st, dir, user, tag, set, log)
	}
	defer st.Close()
	ctx := context.Background()
	if smap {
		return runSMAP(ctx, e, st, dir, user, env, log)
	}
	srv := server.New(server.Config{Log: log, Outbox: app.OutboxSender(envConfigDir(e), false)})
	if err := srv.ServeStdio(ctx, e.Stdin, e.Stdout, st, dir, user, set); err != nil {
		fmt.Fprintf(e.Stderr, "imapd: %v\n", err)
		return 1
	}
	return 0
}

// runImapdLoggedIn is imapd started by the login stage after a LOGIN or AUTHENTICATE
// (IMAPLOGINTAG set), as Courier's imaplogin runs it: it answers that command's tag with
// "OK [CAPABILITY …] LOGIN Ok." instead of greeting PREAUTH, and serves the session on st,
// which it closes. When standard input and output are a socket (the client's connection,
// or the login stage's socketpair for TLS), the session has a network session's timeouts,
// and SIGTERM (the server draining) ends it with "* BYE".
func runImapdLoggedIn(e *Env, st store.Store, dir, user, tag string, set *server.Settings, log *slog.Logger) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	li := server.LoggedIn{Tag: tag, User: user, Options: auth.ParseOptions(e.Env("OPTIONS")), Maildir: dir,
		TLS: envFlag(e, "IMAP_TLS"), Remote: e.Env("TCPREMOTEIP")}
	var in io.Reader = e.Stdin
	var out io.Writer = e.Stdout
	if c := stdioConn(e); c != nil {
		defer c.Close()
		in, out = c, c
	}
	srv := server.New(server.Config{Log: log, Outbox: app.OutboxSender(envConfigDir(e), false)})
	if err := srv.ServeLoggedIn(ctx, in, out, st, set, li); err != nil {
		log.Info("session ended", "err", err)
	}
	return 0
}

// envFlag reads a Courier boolean from the environment, as atoi(getenv(name)) != 0.
func envFlag(e *Env, name string) bool {
	n, err := strconv.Atoi(strings.TrimSpace(e.Env(name)))
	return err == nil && n != 0
}

// stdioConn returns standard input as a network connection when standard input and output
// are one socket (what the login stage gives a handed-off session), else nil.
func stdioConn(e *Env) net.Conn {
	in, ok1 := e.Stdin.(*os.File)
	out, ok2 := e.Stdout.(*os.File)
	if !ok1 || !ok2 {
		return nil
	}
	// Stat, not Fd: Fd would switch the descriptor to blocking mode.
	si, err1 := in.Stat()
	so, err2 := out.Stat()
	if err1 != nil || err2 != nil || si.Mode()&os.ModeSocket == 0 || !os.SameFile(si, so) {
		return nil
	}
	c, err := net.FileConn(in)
	if err != nil {
		return nil
	}
	return c
}
