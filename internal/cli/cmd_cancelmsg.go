package cli

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"

	"courier/internal/app"
)

func init() {
	register(&Command{
		Name:  "cancelmsg",
		Usage: "[-c DIR] msgid [\"reason\"]",
		Short: "cancel a queued message: its pending recipients fail and the sender is told",
		Link:  true,
		Run:   runCancelmsg,
	})
	register(&Command{
		Name:  "flush",
		Usage: "[-c DIR] [msgid]",
		Short: "try every queued message (or one) now instead of at its next scheduled time",
		Run:   runFlush,
	})
}

func runCancelmsg(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	if len(args) < 1 || len(args) > 2 || strings.HasPrefix(args[0], "-") {
		return fail(e, "cancelmsg", 1, "usage: cancelmsg msgid [\"reason\"]")
	}
	reason := ""
	if len(args) == 2 {
		reason = args[1]
	}
	return controlRequest(e, "cancelmsg", dir, "CANCEL "+args[0]+" "+reason)
}

func runFlush(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	if len(args) > 1 || (len(args) == 1 && strings.HasPrefix(args[0], "-")) {
		return fail(e, "flush", 1, "usage: courier flush [msgid]")
	}
	req := "FLUSH"
	if len(args) == 1 {
		req += " " + args[0]
	}
	return controlRequest(e, "flush", dir, req)
}

// controlRequest sends one request to the running server's control socket.
func controlRequest(e *Env, tool, dir, req string) int {
	p, err := app.ControlSocket(dir)
	if err != nil {
		return fail(e, tool, 1, "%v", err)
	}
	c, err := net.DialTimeout("unix", p, 5*time.Second)
	if err != nil {
		return fail(e, tool, 1, "the mail server is not running (%v)", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	req = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, req)
	if _, err := fmt.Fprintf(c, "%s\n", req); err != nil {
		return fail(e, tool, 1, "%v", err)
	}
	ans, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fail(e, tool, 1, "no answer from the mail server: %v", err)
	}
	ans = strings.TrimRight(ans, "\r\n")
	if ans == "OK" {
		return 0
	}
	return fail(e, tool, 1, "%s", strings.TrimPrefix(ans, "ERR "))
}
