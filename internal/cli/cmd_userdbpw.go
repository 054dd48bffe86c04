package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"courier/internal/auth/pwhash"
)

func init() {
	register(&Command{
		Name:  "userdbpw",
		Usage: "[-md5 | -hmac-md5 | -hmac-sha1 | -hmac-sha256 | -sha512 | -bcrypt | -scram-sha256]",
		Short: "read a password on standard input and print its hash for userdb",
		Link:  true,
		Run:   runUserdbpw,
	})
}

func runUserdbpw(e *Env) int {
	mk := func(pw string) (string, error) { return pwhash.Hash(pwhash.DESCryptScheme, pw) }
	if len(e.Args) > 1 {
		return fail(e, "userdbpw", 1, "invalid argument.")
	}
	if len(e.Args) == 1 {
		switch e.Args[0] {
		case "-md5":
			mk = func(pw string) (string, error) { return pwhash.Hash(pwhash.MD5CryptScheme, pw) }
		case "-sha512":
			mk = func(pw string) (string, error) { return pwhash.Hash(pwhash.SHA512CryptScheme, pw) }
		case "-bcrypt":
			mk = func(pw string) (string, error) { return pwhash.Hash(pwhash.BcryptScheme, pw) }
		case "-scram-sha256":
			mk = pwhash.SCRAMSHA256
		case "-hmac-md5", "-hmac-sha1", "-hmac-sha256":
			h, _ := pwhash.ParseHMACHash(strings.TrimPrefix(e.Args[0], "-"))
			mk = func(pw string) (string, error) { return pwhash.HMACContext(h, pw) }
		default:
			return fail(e, "userdbpw", 1, "invalid argument.")
		}
	}
	var pw string
	if f, ok := e.Stdin.(*os.File); ok && authIsTerminal(f) {
		var ok bool
		if pw, ok = readPasswordTTY(f, e.Stderr); !ok {
			return 1
		}
	} else {
		// Not a terminal: one line, as Courier's userdbpw reads it.
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return 1
		}
		pw = strings.TrimSuffix(line, "\n")
	}
	h, err := mk(pw)
	if err != nil {
		return fail(e, "userdbpw", 1, "%v", err)
	}
	fmt.Fprintln(e.Stdout, h)
	return 0
}

// readPasswordTTY prompts twice without echo until both entries agree.
func readPasswordTTY(f *os.File, prompt io.Writer) (string, bool) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err == nil {
		noecho := *old
		noecho.Lflag &^= unix.ECHO
		unix.IoctlSetTermios(fd, unix.TCSETS, &noecho)
		defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	}
	r := bufio.NewReader(f)
	read := func(p string) (string, bool) {
		fmt.Fprint(prompt, p)
		line, err := r.ReadString('\n')
		fmt.Fprintln(prompt)
		if err != nil && line == "" {
			return "", false
		}
		return strings.TrimSuffix(line, "\n"), true
	}
	for {
		a, ok := read("Password: ")
		if !ok {
			return "", false
		}
		b, ok := read("Reenter password: ")
		if !ok {
			return "", false
		}
		if a == b {
			return a, true
		}
		fmt.Fprint(prompt, "Passwords don't match.\n\n")
	}
}
