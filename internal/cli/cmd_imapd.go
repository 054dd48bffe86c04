package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"courier/internal/imap/server"
	clog "courier/internal/log"
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

// imapdSettings are the Courier environment variables the stdio session honours.
var imapdSettings = []string{"IMAP_CAPABILITY", "IMAP_CAPABILITY_TLS", "IMAP_KEYWORDS", "IMAP_ACL",
	"SMAP_CAPABILITY", "IMAP_TRASHFOLDERNAME", "IMAP_EMPTYTRASH", "IMAP_MOVE_EXPUNGE_TO_TRASH",
	"IMAP_IDLE_TIMEOUT", "IMAP_DISABLETHREADSORT", "OUTBOX", "APPENDLIMIT", "MAILDIRPATH",
	"IMAP_SHAREDINDEXFILE"}

// runImapd is Courier's imapd after the login stage: the Maildir is $MAILDIR, else the
// argument, else ./Maildir; the session greets "* PREAUTH Ready." and ends silently at the
// end of input. With PROTOCOL=SMAP1 it speaks SMAP instead.
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
	if st, err := os.Stat(dir + "/cur"); err != nil || !st.IsDir() {
		fmt.Fprintf(e.Stdout, "* BYE Maildir %s: not a Maildir (no cur directory)\r\n", dir)
		return 1
	}
	env := map[string]string{}
	for _, k := range imapdSettings {
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
	st, err := maildirstore.Open(dir, nil)
	if err != nil {
		fmt.Fprintf(e.Stdout, "* BYE Cannot open the Maildir\r\n")
		fmt.Fprintf(e.Stderr, "imapd: %v\n", err)
		return 1
	}
	defer st.Close()
	ctx := context.Background()
	user := e.Env("AUTHENTICATED")
	if user == "" {
		user = e.Env("USER")
	}
	if strings.EqualFold(strings.TrimSpace(e.Env("PROTOCOL")), "SMAP1") {
		return runSMAP(ctx, e, st, dir, user, env, log)
	}
	srv := server.New(server.Config{Log: log})
	if err := srv.ServeStdio(ctx, e.Stdin, e.Stdout, st, dir, user, set); err != nil {
		fmt.Fprintf(e.Stderr, "imapd: %v\n", err)
		return 1
	}
	return 0
}
