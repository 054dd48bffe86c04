package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"courier/internal/app"
	"courier/internal/config/courierfmt"
	"courier/internal/submit"
)

// sendmail exit codes (sysexits.h), as Courier's sendmail uses them.
const (
	exOK       = 0
	exUsage    = 64 // EX_USAGE: a bad option or address argument
	exDataErr  = 65 // EX_DATAERR: the message cannot be taken as it is (too big)
	exNoUser   = 67 // EX_NOUSER: no recipients, or an invalid one
	exTempFail = 75 // EX_TEMPFAIL: nothing was accepted; try again later
)

func init() {
	register(&Command{
		Name: "sendmail",
		Usage: "[-t] [-i|-oi] [-f sender] [-F name] [-N dsn] [-R full|hdrs] [-V envid] [-bcc] [-bp] [-n] " +
			"[-c|-C configdir] [--] [address...]",
		Short: "queue the message on standard input (recipients from the arguments, else from To:/Cc:/Bcc:)",
		Link:  true,
		Run:   runSendmail,
	})
}

// sendmailArgs are the parsed options.
type sendmailArgs struct {
	from       string
	fromSet    bool
	fullName   string
	notify     string
	ret        string
	envid      string
	ignoreDots bool
	bccOnly    bool
	toStdout   bool
	queueRun   bool
	mode       string // "" (-bm), "p" (mailq), "s" (SMTP on stdio)
	configDir  string
	rcpts      []string
}

// parseSendmailArgs reads options as Courier's sendmail does: they end at the first
// argument without a leading "-" or at "-"/"--"; an option's value is attached or is the
// next argument; options it does not know are ignored (sendmail 8's many switches), and so
// are -t (recipients come from the header whenever none are given) and -o other than -oi.
func parseSendmailArgs(args []string) (*sendmailArgs, error) {
	a := &sendmailArgs{}
	i := 0
	for ; i < len(args); i++ {
		s := args[i]
		if len(s) < 2 || s[0] != '-' {
			if s == "-" {
				i++
			}
			break
		}
		if s == "--" {
			i++
			break
		}
		switch {
		case s == "-bcc":
			a.bccOnly = true
			continue
		case strings.HasPrefix(s, "-b"):
			a.mode = s[2:]
			continue
		case s == "-i":
			a.ignoreDots = true
			continue
		case s == "-n":
			a.toStdout = true
			continue
		case strings.HasPrefix(s, "-q"):
			a.queueRun = true
			continue
		case s == "-verp":
			continue // VERP return paths need outbound delivery; accepted, not applied
		}
		c := s[1]
		// options with a value, ours and sendmail 8's (whose values are ignored)
		if !strings.ContainsRune("frFNRVSocCBhLOpX", rune(c)) {
			continue // -t, -v, -m, -U, … ignored as Courier does
		}
		val := s[2:]
		if val == "" {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("option -%c needs a value", c)
			}
			i++
			val = args[i]
		}
		switch c {
		case 'f', 'r':
			a.from, a.fromSet = val, true
		case 'F':
			a.fullName = val
		case 'N':
			n, err := submit.ParseNotify(val)
			if err != nil {
				return nil, err
			}
			a.notify = n
		case 'R':
			switch strings.ToUpper(val + " ")[:1] {
			case "F":
				a.ret = "FULL"
			case "H":
				a.ret = "HDRS"
			default:
				return nil, fmt.Errorf("-R %s: neither full nor hdrs", val)
			}
		case 'V':
			a.envid = val
		case 'S':
			if !strings.EqualFold(val, "NONE") && !strings.EqualFold(val, "STARTTLS") {
				return nil, fmt.Errorf("-S %s: neither NONE nor STARTTLS", val)
			}
			// the SECURITY extension needs outbound delivery; accepted, not applied
		case 'o':
			if val == "i" {
				a.ignoreDots = true
			}
		case 'c', 'C':
			a.configDir = val // -c as every tool of ours, -C as sendmail 8's configuration
		}
	}
	a.rcpts = args[i:]
	return a, nil
}

func runSendmail(e *Env) int {
	a, err := parseSendmailArgs(e.Args)
	if err != nil {
		return fail(e, "sendmail", exUsage, "%v", err)
	}
	cfg := a.configDir
	if cfg == "" {
		if cfg = e.Env("COURIER_CONFIG"); cfg == "" {
			cfg = "/etc/courier"
		}
	}
	switch a.mode {
	case "", "m":
	case "p":
		return mailq(e, cfg, false, false)
	case "s":
		return sendmailBS(e, cfg)
	default:
		return fail(e, "sendmail", exUsage, "-b%s is not supported", a.mode)
	}
	if a.queueRun && len(a.rcpts) == 0 {
		// The server owns the queue and retries on its own schedule; a queue run asked
		// for here has nothing to do.
		return exOK
	}
	me := currentUser()
	domain := mailDomain(cfg)
	// The return path (sendmail(1), RETURN ADDRESS).
	sender := a.from
	if a.fromSet {
		sender = strings.TrimSpace(sender)
		if strings.HasPrefix(sender, "<") && strings.HasSuffix(sender, ">") {
			sender = sender[1 : len(sender)-1]
		}
	} else {
		sender = firstEnv(e, "MAILSUSER", "MAILUSER", "LOGNAME", "USER")
		if sender == "" {
			sender = me.Username
		}
		if h := firstEnv(e, "MAILSHOST", "MAILHOST"); h != "" {
			sender += "@" + h
		}
	}
	if sender != "" && !strings.Contains(sender, "@") && domain != "" {
		sender += "@" + domain
	}
	if sender != "" {
		if err := submit.CheckAddr(sender); err != nil {
			return fail(e, "sendmail", exUsage, "sender: %v", err)
		}
	}
	// The From: field (sendmail(1), SENDER ADDRESS). -F wins over MAILNAME and NAME.
	name := a.fullName
	if name == "" {
		name = firstEnv(e, "MAILNAME", "NAME")
	}
	ho := submit.HeaderOptions{
		User: firstEnv(e, "MAILUSER", "LOGNAME", "USER"), Host: firstEnv(e, "MAILHOST"), Name: name,
		NewName: name, NewUser: firstEnv(e, "MAILUSER"), NewHost: firstEnv(e, "MAILHOST"),
		Rcpts: len(a.rcpts) == 0, BccOnly: a.bccOnly,
	}
	if ho.User == "" {
		ho.User = me.Username
	}
	if ho.Host == "" {
		ho.Host = domain
	}
	if ho.Name == "" {
		ho.Name, _, _ = strings.Cut(me.Name, ",") // the GECOS full name
	}

	// Courier's sendmail always behaves as with -oi: a line holding only "." is part of the
	// message (its manual says so and it ignores -i). We do the same rather than sendmail
	// 8's and Postfix's "." terminator, so a script written for Courier never has its
	// mail cut short; -i/-oi are accepted and change nothing.
	rd := submit.NewReader(e.Stdin, true)
	block, sep, err := rd.ReadHeader()
	if errors.Is(err, submit.ErrHeaderTooBig) {
		return fail(e, "sendmail", exDataErr, "%v", err)
	}
	if err != nil {
		return fail(e, "sendmail", exTempFail, "%v", err)
	}
	hdr, hrcpts, bad := submit.RewriteHeader(submit.SplitFields(block), ho)
	if a.toStdout {
		e.Stdout.Write(hdr)
		if sep {
			e.Stdout.Write([]byte("\n"))
		}
		if _, err := rd.WriteTo(e.Stdout); err != nil {
			return fail(e, "sendmail", exTempFail, "%v", err)
		}
		return exOK
	}
	for _, b := range bad {
		fmt.Fprintf(e.Stderr, "sendmail: %s: not an address; ignored\n", b)
	}
	var rcpts []string
	if len(a.rcpts) > 0 {
		for _, r := range a.rcpts {
			r = strings.TrimSpace(r)
			if strings.HasPrefix(r, "<") && strings.HasSuffix(r, ">") {
				r = r[1 : len(r)-1]
			}
			if err := submit.CheckAddr(r); err != nil {
				return fail(e, "sendmail", exNoUser, "%s: invalid address.", r)
			}
			rcpts = append(rcpts, r)
		}
	} else {
		rcpts = hrcpts
	}
	if len(rcpts) == 0 {
		return fail(e, "sendmail", exNoUser, "no recipients")
	}
	env := &submit.Envelope{From: sender, Ret: a.ret, EnvID: a.envid, Time: time.Now()}
	for _, r := range rcpts {
		env.Rcpts = append(env.Rcpts, submit.Rcpt{Addr: r, Notify: a.notify})
	}
	if err := env.Validate(); err != nil {
		return fail(e, "sendmail", exUsage, "%v", err)
	}
	dir, err := app.PickupDir(cfg)
	if err != nil {
		return fail(e, "sendmail", exTempFail, "%v", err)
	}
	d, err := submit.NewDrop(dir, env, app.SizeLimit(cfg))
	if errors.Is(err, fs.ErrNotExist) {
		return fail(e, "sendmail", exTempFail, "%v (the mail server makes %s at its first start)", err, filepath.Join(dir, submit.NewDir))
	}
	if err != nil {
		return fail(e, "sendmail", exTempFail, "%v", err)
	}
	_, err = d.Write(hdr)
	if err == nil && sep {
		_, err = d.Write([]byte("\n"))
	}
	if err == nil {
		_, err = rd.WriteTo(d)
	}
	if err != nil {
		d.Abort()
		if errors.Is(err, submit.ErrTooBig) {
			return fail(e, "sendmail", exDataErr, "message too big (the limit is %d octets)", app.SizeLimit(cfg))
		}
		return fail(e, "sendmail", exTempFail, "%v", err)
	}
	if err := d.Commit(); err != nil {
		return fail(e, "sendmail", exTempFail, "%v", err)
	}
	return exOK
}

// currentUser is the invoking user (getpwuid), or a stand-in named by the uid when the
// passwd database has no entry (a container's arbitrary uid).
func currentUser() *user.User {
	if u, err := user.Current(); err == nil {
		return u
	}
	uid := strconv.Itoa(os.Getuid())
	return &user.User{Uid: uid, Username: "uid" + uid}
}

// firstEnv returns the first non-empty variable of names.
func firstEnv(e *Env, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(e.Env(n)); v != "" {
			return v
		}
	}
	return ""
}

// mailDomain is the domain added to bare user names: defaultdomain, else me, else the
// host name (courier(8): defaultdomain defaults to me, me to the host name).
func mailDomain(cfg string) string {
	for _, n := range []string{"defaultdomain", "me"} {
		if v, err := courierfmt.ReadFirstLine(filepath.Join(cfg, n)); err == nil && v != "" {
			return v
		}
	}
	h, _ := os.Hostname()
	return h
}
