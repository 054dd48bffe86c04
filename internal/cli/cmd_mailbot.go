package cli

import "courier/internal/filter/mailbot"

func init() {
	register(&Command{
		Name:  "mailbot",
		Usage: "{-t textfile | -m mimefile} [-d dbfile [-D days]] [-A 'Header: value'] [-s subject] [-faddress] [-n] [program [arg...]]",
		Short: "send an autoreply to the sender of the message on standard input",
		Link:  true,
		Run:   runMailbot,
	})
}

// runMailbot runs mailbot(1); the reply goes to the program named after the options.
func runMailbot(e *Env) int {
	return mailbot.Main(e.Args, e.Stdin, e.Stdout, e.Stderr, e.Getenv)
}
