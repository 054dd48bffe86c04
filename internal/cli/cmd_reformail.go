package cli

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"courier/internal/filter/reformail"
)

func init() {
	register(&Command{
		Name:  "reformail",
		Usage: "[-f0|-f1] [-c] [-dN] [-a|-A|-i|-I 'H: v'] [-u|-U H:] [-R old: new:] | -x H: | -X H: | -D len file | -s prog [arg...]",
		Short: "reformat a message's header, extract fields, split an mbox, detect duplicates",
		Link:  true,
		Run:   runReformail,
	})
}

// maxReformailInput bounds the message or mailbox reformail reads.
const maxReformailInput = 1 << 30

func runReformail(e *Env) int {
	bad := func() int {
		fmt.Fprintln(e.Stderr, "reformail: Invalid arguments.")
		return 1
	}
	o := &reformail.Options{Now: time.Now(), PID: os.Getpid()}
	o.Host, _ = os.Hostname()
	var extract []reformail.Extraction
	dupLen, dupFile := -1, ""
	var split []string
	args := e.Args
	// value returns an option's value: the rest of the argument, or the next argument.
	value := func(i *int, rest string) (string, bool) {
		if rest != "" {
			return rest, true
		}
		if *i+1 >= len(args) {
			return "", false
		}
		*i++
		return args[*i], true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			break // as Courier's: the first argument that is no option ends them, unread
		}
		opt, rest := a[1], a[2:]
		switch opt {
		case 'c':
			o.Concat = true
		case 'f':
			if rest == "" || rest == "0" {
				o.From0, o.From1 = true, false
			} else {
				o.From0, o.From1 = false, true
			}
		case 'd':
			// only an attached digit counts: "-d" alone is CR LF, and in "-d 1" the "1"
			// ends the options (as Courier's)
			n, err := strconv.Atoi(rest)
			o.CRLF = rest == "" || err != nil || n != 0
		case 'a', 'A', 'i', 'I', 'u', 'U', 'x', 'X':
			v, ok := value(&i, rest)
			if !ok {
				return bad()
			}
			switch opt {
			case 'a':
				o.AddIfMissing = append(o.AddIfMissing, v)
			case 'A':
				o.Add = append(o.Add, v)
			case 'i':
				o.Insert = append(o.Insert, v)
			case 'I':
				o.Replace = append(o.Replace, v)
			case 'u':
				o.KeepFirst = append(o.KeepFirst, v)
			case 'U':
				o.KeepLast = append(o.KeepLast, v)
			case 'x', 'X':
				extract = append(extract, reformail.Extraction{Name: v, WithName: opt == 'X'})
			}
		case 'R':
			old, ok := value(&i, rest)
			if !ok || i+1 >= len(args) {
				return bad()
			}
			i++
			o.Rename = append(o.Rename, [2]string{old, args[i]})
		case 'D':
			v, ok := value(&i, rest)
			n, err := strconv.Atoi(v)
			if !ok || err != nil || i+1 >= len(args) {
				return bad()
			}
			i++
			dupLen, dupFile = n, args[i]
		case 's':
			v, ok := value(&i, rest)
			if !ok {
				return bad()
			}
			split = append([]string{v}, args[i+1:]...)
			i = len(args)
		default:
			return bad()
		}
	}
	data, err := io.ReadAll(io.LimitReader(e.Stdin, maxReformailInput+1))
	if err != nil || len(data) > maxReformailInput {
		return fail(e, "reformail", 1, "reading standard input: %v", err)
	}
	switch {
	case split != nil:
		return reformailSplit(e, data, split)
	case dupFile != "":
		return reformailDuplicate(e, reformail.Parse(data).MessageID(), dupLen, dupFile)
	case extract != nil:
		for _, v := range reformail.Parse(data).Extract(extract) {
			fmt.Fprintln(e.Stdout, v)
		}
		return 0
	}
	out, err := reformail.Reformat(reformail.Parse(data), o)
	if err != nil {
		return bad()
	}
	if _, err := e.Stdout.Write(out); err != nil {
		return fail(e, "reformail", 1, "writing: %v", err)
	}
	return 0
}

// reformailDuplicate is -D: 0 when the Message-ID is in the cache, 1 when it is not (it is
// added) or the message has none.
func reformailDuplicate(e *Env, id string, size int, file string) int {
	if id == "" {
		return 1
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fail(e, "reformail", 75, "%s: %v", file, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fail(e, "reformail", 75, "lock %s: %v", file, err)
	}
	cache, err := io.ReadAll(io.LimitReader(f, maxReformailInput))
	if err != nil {
		return fail(e, "reformail", 75, "read %s: %v", file, err)
	}
	seen, updated := reformail.Seen(cache, id, size)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(updated, 0)
	}
	if err != nil {
		return fail(e, "reformail", 75, "write %s: %v", file, err)
	}
	if seen {
		return 0
	}
	return 1
}

// reformailSplit is -s: the program runs once per message of the mbox, the message on its
// standard input and FILENO counting up ("000" first; a value that is no number stays).
func reformailSplit(e *Env, data []byte, argv []string) int {
	fileno, set := os.LookupEnv("FILENO")
	if e.Getenv != nil {
		fileno = e.Getenv("FILENO")
		set = fileno != ""
	}
	if !set {
		fileno = "000"
	}
	for _, msg := range reformail.Split(data) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "FILENO="+fileno)
		cmd.Stdin = strings.NewReader(string(msg))
		cmd.Stdout, cmd.Stderr = e.Stdout, e.Stderr
		if err := cmd.Run(); err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				return fail(e, "reformail", 1, "%s: %v", argv[0], err)
			}
		}
		if n, err := strconv.Atoi(fileno); err == nil {
			fileno = fmt.Sprintf("%0*d", len(fileno), n+1)
		}
	}
	return 0
}
