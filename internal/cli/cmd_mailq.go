package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"

	"courier/internal/app"
	"courier/internal/queue"
)

func init() {
	register(&Command{
		Name:  "mailq",
		Usage: "[-sort] [-batch] [-c DIR]",
		Short: "list the mail queue (Courier's format; -batch: one line per message)",
		Link:  true,
		Run:   runMailq,
	})
}

func runMailq(e *Env) int {
	cfg := e.Env("COURIER_CONFIG")
	if cfg == "" {
		cfg = "/etc/courier"
	}
	sorted, batch := false, false
	for i := 0; i < len(e.Args); i++ {
		switch a := e.Args[i]; a {
		case "-sort", "--sort":
			sorted = true
		case "-batch", "--batch":
			batch = true
		case "-c":
			if i+1 >= len(e.Args) {
				return fail(e, "mailq", 2, "usage: courier mailq [-sort] [-batch] [-c DIR]")
			}
			i++
			cfg = e.Args[i]
		default:
			return fail(e, "mailq", 2, "unknown option %s; usage: courier mailq [-sort] [-batch] [-c DIR]", a)
		}
	}
	return mailq(e, cfg, sorted, batch)
}

// mailq lists the queue of the configuration in cfg. It reads the spool files read-only
// (queue.Scan) and takes no lock, so it works while the server owns the queue. As
// Courier's, it shows everything to root (and to the owner of the spool, the mail
// system's own user); anyone else sees only the messages they submitted.
func mailq(e *Env, cfg string, sorted, batch bool) int {
	dir, err := app.QueueDir(cfg)
	if err != nil {
		return fail(e, "mailq", 1, "%v", err)
	}
	msgs, err := queue.Scan(dir)
	if err != nil {
		return fail(e, "mailq", 1, "%v", err)
	}
	if uid := os.Getuid(); uid != 0 {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil || int(st.Uid) != uid {
			me := currentUser().Username
			kept := msgs[:0]
			for _, m := range msgs {
				if m.Env.AuthUser == me {
					kept = append(kept, m)
				}
			}
			msgs = kept
		}
	}
	// Without -sort the order is the spool's (Scan's: by queue id, which grows with time);
	// -sort orders by the time each message was received, oldest first, as Courier's.
	if sorted {
		sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Env.Time.Before(msgs[j].Env.Time) })
	}
	writeMailq(e.Stdout, msgs, batch)
	return 0
}

// mailqIDWidth is the width of Courier's queue id column (its ids are inode, times and
// pid in hex: 59 characters on a 64-bit system); kept so that the columns line up as
// people and scripts know them.
const mailqIDWidth = 59

// writeMailq prints the listing in Courier's layout:
//
//	Size             Queue ID                         Date
//	User             From
//	Status           Recipient
//
// one block per message with a blank line after it, then "N messages."; with batch, one
// line per message, "size;qid;date;user;from;status;recipient;…", then "messages: N".
func writeMailq(w io.Writer, msgs []queue.Stored, batch bool) {
	line3 := func(a, b, c string) {
		if batch {
			fmt.Fprintf(w, "%s;%s;%s;", a, b, c)
		} else {
			fmt.Fprintf(w, "%16s %-*s %s\n", a, mailqIDWidth, b, c)
		}
	}
	line2 := func(a, b string) {
		if batch {
			fmt.Fprintf(w, "%s;%s;", a, b)
		} else {
			fmt.Fprintf(w, "%-16s %s\n", a, b)
		}
	}
	if !batch {
		line3("Size            ", "Queue ID", "Date")
		line2("User", "From")
		line2("Status", "Recipient")
		line2(strings.Repeat("-", 16), strings.Repeat("-", 57))
	}
	for _, m := range msgs {
		// The size is padded to 16 in the batch format too, as Courier's is.
		line3(fmt.Sprintf("%-16.16s", mailqSize(m.Size)), m.ID, m.Env.Time.Local().Format("Jan 02 15:04"))
		line2(m.Env.AuthUser, m.Env.From)
		for i, r := range m.Env.Rcpts {
			status := ""
			switch {
			case m.Done[i]:
				status = "done"
			case m.Failed[i]:
				status = "fail"
			}
			line2(status, r.Addr)
		}
		fmt.Fprintln(w)
	}
	if batch {
		fmt.Fprintf(w, "messages: %d\n", len(msgs))
	} else {
		fmt.Fprintf(w, "%4d messages.\n", len(msgs))
	}
}

// mailqSize formats a size as Courier's mailq: octets below 1 KiB, then K with one
// decimal, then M with two (truncated, not rounded).
func mailqSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d", n)
	case n < 1024*1024:
		return fmt.Sprintf("%d.%dK", n/1024, n%1024*10/1024)
	}
	return fmt.Sprintf("%d.%02dM", n/(1024*1024), n%(1024*1024)*100/(1024*1024))
}
