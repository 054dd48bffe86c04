package cli

import (
	"errors"
	"fmt"
	"strings"

	"courier/internal/store/acl"
	"courier/internal/store/foldername"
)

// maildiraclUsage is Courier's usage line, printed on standard output with exit code 1.
const maildiraclUsage = "Usage: maildiracl [ options ] maildir [INBOX[.folder] [identifier rights]]\n"

func init() {
	register(&Command{
		Name:  "maildiracl",
		Usage: "-reset maildir | -list maildir INBOX[.folder] | -set maildir INBOX[.folder] [-]identifier [+|-]rights | -delete maildir INBOX[.folder] [-]identifier | -compute maildir INBOX[.folder] identifier...",
		Short: "list, set and compute Courier-IMAP access control lists of maildir folders",
		Link:  true,
		Run:   runMaildiracl,
	})
}

func runMaildiracl(e *Env) int {
	usage := func() int { fmt.Fprint(e.Stdout, maildiraclUsage); return 1 }
	if len(e.Args) < 2 {
		return usage()
	}
	cmd, dir, args := e.Args[0], e.Args[1], e.Args[2:]
	s := acl.Open(dir)
	if cmd == "-reset" {
		if err := s.Reset(); err != nil {
			return fail(e, "maildiracl", 1, "%v", err)
		}
		return 0
	}
	need := map[string]int{"-list": 1, "-set": 3, "-delete": 2, "-compute": 2}[cmd]
	if need == 0 || len(args) < need {
		return usage()
	}
	folder := args[0]
	// Courier wants "INBOX" spelled exactly so here; other names are an error about the name,
	// invalid ones under INBOX an error about the maildir.
	if folder != foldername.Inbox && !strings.HasPrefix(folder, foldername.Inbox+".") {
		fmt.Fprintf(e.Stderr, "%s: Invalid argument\n", folder)
		return 1
	}
	dirName, err := foldername.Resolve(dir, folder)
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: Invalid argument\n", dir)
		return 1
	}
	report := func(err error) int {
		switch {
		case errors.Is(err, acl.ErrOwnerRights):
			fmt.Fprintln(e.Stderr, err)
		case errors.Is(err, acl.ErrAdministrators):
			fmt.Fprintf(e.Stderr, "%s: Invalid argument\n", dir)
		case errors.Is(err, acl.ErrIdentifier):
			fmt.Fprintf(e.Stderr, "maildiracl: Invalid argument\n")
		default:
			fmt.Fprintf(e.Stderr, "maildiracl: %v\n", err)
		}
		return 1
	}
	switch cmd {
	case "-list":
		a, err := s.Read(dirName)
		if err != nil {
			return report(err)
		}
		for _, en := range a {
			fmt.Fprintf(e.Stdout, "%s\t%s\n", en.Identifier, en.Rights)
		}
	case "-set":
		if err := s.Set(dirName, args[1], args[2]); err != nil {
			return report(err)
		}
	case "-delete":
		if err := s.Delete(dirName, args[1]); err != nil {
			return report(err)
		}
	case "-compute":
		rights, err := s.Compute(dirName, args[1:]...)
		if err != nil {
			return report(err)
		}
		fmt.Fprintln(e.Stdout, rights)
	}
	return 0
}
