package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
	srv := pop3.New(pop3.Config{Log: log})
	if err := srv.ServeMaildrop(ctx, e.Stdin, e.Stdout, md); err != nil {
		fmt.Fprintf(e.Stderr, "pop3d: %v\n", err)
		return 1
	}
	return 0
}
