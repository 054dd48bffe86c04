// Command courier-authpam checks one password with PAM for the authpam
// module (internal/auth/pam), so that the mail server itself stays free of
// cgo. It reads three lines on standard input, the PAM service name
// ("imap", "pop3", "esmtp", "webmail"...), the user name and the password,
// runs pam_authenticate and pam_acct_mgmt as courier-authlib's authpam
// does (no PAM session is opened), and prints one line:
//
//	OK              the password is good and the account usable
//	FAIL <reason>   PAM refused (wrong password, unknown user, expired...)
//	ERROR <reason>  PAM could not answer (bad request, missing service...)
//
// The exit status is 0 for OK, 1 for FAIL and 2 for ERROR. Flags:
//
//	-confdir DIR    read PAM service files from DIR instead of /etc/pam.d
//	                (pam_start_confdir, Linux-PAM 1.4 and later)
//	-rhost HOST     set PAM_RHOST (the client's address)
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxInput bounds what is read from standard input.
const maxInput = 4096

// Outcome is the answer for one request.
type Outcome int

// The three answers.
const (
	OK Outcome = iota
	Fail
	Error
)

func main() {
	confDir := flag.String("confdir", "", "directory of PAM service files (default /etc/pam.d)")
	rhost := flag.String("rhost", "", "remote host for PAM_RHOST")
	flag.Parse()
	service, user, password, err := readRequest(os.Stdin)
	if err != nil {
		answer(Error, err.Error())
	}
	out, reason := check(service, user, password, *confDir, *rhost)
	answer(out, reason)
}

// answer prints the result line and exits.
func answer(o Outcome, reason string) {
	reason = strings.NewReplacer("\n", " ", "\r", " ").Replace(reason)
	switch o {
	case OK:
		fmt.Println("OK")
		os.Exit(0)
	case Fail:
		fmt.Println("FAIL " + reason)
		os.Exit(1)
	}
	fmt.Println("ERROR " + reason)
	os.Exit(2)
}

// readRequest reads the service, user and password lines.
func readRequest(r io.Reader) (service, user, password string, err error) {
	br := bufio.NewReader(io.LimitReader(r, maxInput))
	var f [3]string
	for i := range f {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", "", "", fmt.Errorf("request: line %d: %v", i+1, err)
		}
		f[i] = strings.TrimSuffix(line, "\n")
		if strings.ContainsAny(f[i], "\x00\r") {
			return "", "", "", fmt.Errorf("request: line %d: forbidden character", i+1)
		}
	}
	if f[0] == "" || strings.ContainsAny(f[0], "/ ") || f[1] == "" {
		return "", "", "", fmt.Errorf("request: bad service or user")
	}
	return f[0], f[1], f[2], nil
}
