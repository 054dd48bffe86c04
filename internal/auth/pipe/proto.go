package pipe

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"courier/internal/auth"
)

// Limits on what the program may answer.
const (
	MaxLine       = 8192 // one reply line
	MaxReplyLines = 64   // KEY=value lines in one PRE/AUTH reply
)

// ErrProtocol reports a reply that does not follow the authpipe protocol;
// it is a temporary failure (the program is restarted).
var ErrProtocol = errors.New("authpipe: protocol error")

// readLine reads one "\n"-terminated line of at most MaxLine bytes, without
// the newline. End of input before the newline is an error.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > MaxLine+1 {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, MaxLine)
		}
		if err == nil {
			return strings.TrimSuffix(string(b[:len(b)-1]), "\r"), nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return "", fmt.Errorf("authpipe: reading reply: %w", err)
	}
}

// ParseAccount reads the reply to PRE or AUTH: "FAIL" (auth.ErrNoUser), or
// KEY=value lines (USERNAME, UID, GID, HOME, ADDRESS, NAME, MAILDIR, QUOTA,
// PASSWD, PASSWD2, OPTIONS; others are ignored) ending with ".". HOME and
// one of UID or USERNAME are required, as authlib's client requires them.
// Anything else is ErrProtocol.
func ParseAccount(r *bufio.Reader) (*auth.Account, error) {
	a := &auth.Account{Module: ModuleName}
	var haveHome, haveID bool
	for n := 0; ; n++ {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if n == 0 && line == "FAIL" {
			return nil, fmt.Errorf("authpipe: FAIL: %w", auth.ErrNoUser)
		}
		if line == "." {
			if !haveHome || !haveID {
				return nil, fmt.Errorf("%w: reply lacks HOME or UID/USERNAME", ErrProtocol)
			}
			return a, nil
		}
		if n >= MaxReplyLines {
			return nil, fmt.Errorf("%w: more than %d reply lines", ErrProtocol, MaxReplyLines)
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%w: reply line %.40q", ErrProtocol, line)
		}
		switch k {
		case "USERNAME":
			a.SysUser, haveID = v, true
		case "UID":
			if a.UID, err = strconv.Atoi(v); err != nil || a.UID < 0 {
				return nil, fmt.Errorf("%w: UID=%.20q", ErrProtocol, v)
			}
			haveID = true
		case "GID":
			if a.GID, err = strconv.Atoi(v); err != nil || a.GID < 0 {
				return nil, fmt.Errorf("%w: GID=%.20q", ErrProtocol, v)
			}
		case "HOME":
			a.Home, haveHome = v, true
		case "ADDRESS":
			a.Address = v
		case "NAME":
			a.FullName = v
		case "MAILDIR":
			a.Maildir = v
		case "QUOTA":
			a.Quota = v
		case "PASSWD":
			a.Passwd = v
		case "PASSWD2":
			a.ClearPasswd = v
		case "OPTIONS":
			a.Options = auth.ParseOptions(v)
		}
	}
}

// ParseStatus reads the reply to PASSWD: "OK" is nil, "FAIL"
// auth.ErrBadPassword, anything else ErrProtocol.
func ParseStatus(r *bufio.Reader) error {
	line, err := readLine(r)
	if err != nil {
		return err
	}
	switch line {
	case "OK":
		return nil
	case "FAIL":
		return fmt.Errorf("authpipe: FAIL: %w", auth.ErrBadPassword)
	}
	return fmt.Errorf("%w: PASSWD reply %.40q", ErrProtocol, line)
}

// ParseEnumerated parses one ENUMERATE line,
// "name\tuid\tgid\thome\tmaildir\toptions" (the last two may be missing or
// empty). A uid that is not a number is a user name (USERNAME).
func ParseEnumerated(line string) (*auth.Account, error) {
	f := strings.Split(line, "\t")
	if len(f) < 4 || f[0] == "" {
		return nil, fmt.Errorf("%w: ENUMERATE line %.60q", ErrProtocol, line)
	}
	a := &auth.Account{Address: f[0], Home: f[3], Module: ModuleName}
	if n, err := strconv.Atoi(f[1]); err == nil && n >= 0 {
		a.UID = n
	} else {
		a.SysUser = f[1]
	}
	gid, err := strconv.Atoi(f[2])
	if err != nil || gid < 0 {
		return nil, fmt.Errorf("%w: ENUMERATE gid %.20q", ErrProtocol, f[2])
	}
	a.GID = gid
	if len(f) > 4 {
		a.Maildir = f[4]
	}
	if len(f) > 5 && f[5] != "" {
		a.Options = auth.ParseOptions(f[5])
	}
	return a, nil
}

// readEnumerate reads ENUMERATE reply lines until ".", skipping blank and
// "#" lines, and calls fn for each account. fn's error stops the walk and
// is returned as it is (the rest of the reply is then unread).
func readEnumerate(r *bufio.Reader, fn func(*auth.Account) error) (fnErr, protoErr error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		switch {
		case line == ".":
			return nil, nil
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		a, err := ParseEnumerated(line)
		if err != nil {
			return nil, err
		}
		if err := fn(a); err != nil {
			return err, nil
		}
	}
}
