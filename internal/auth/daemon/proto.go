// Package daemon speaks courier-authlib's authdaemon socket protocol
// (README_authlib "authpipe protocol", authdaemond.c), both as the server
// (courier authdaemond, answering from an auth.Chain) and as a client (an
// auth.Module that asks a running authdaemond, ours or Courier's).
//
// One request per connection. Optional "NAME=value" lines (TCPREMOTEIP=)
// come first, then one of:
//
//	PRE . <service> <user>\n                 account lookup, no password
//	AUTH <n>\n<n bytes: service\nauthtype\nauthdata>
//	PASSWD <service>\t<user>\t<old>\t<new>\n
//	ENUMERATE\n
//
// PRE and AUTH are answered with "KEY=value" lines ending in ".\n", or
// "FAIL\n"; PASSWD with "OK\n" or "FAIL\n"; ENUMERATE with "# module" comment
// lines, blank lines and "user\tuid\tgid\thome\tmaildir\toptions" lines,
// ending in ".\n". A temporary failure is the connection closing with no
// answer; so is a request the daemon does not understand.
package daemon

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"courier/internal/auth"
)

// Limits on what a request may carry.
const (
	MaxLine    = 8192  // one request line
	MaxAuth    = 16384 // AUTH payload
	MaxEnvVars = 16    // NAME=value lines before the command
)

// ErrProtocol reports a malformed request or reply.
var ErrProtocol = errors.New("authdaemon: protocol error")

// Command names.
const (
	CmdPre       = "PRE"
	CmdAuth      = "AUTH"
	CmdPasswd    = "PASSWD"
	CmdEnumerate = "ENUMERATE"
)

// Request is one parsed authdaemon request.
type Request struct {
	Env     map[string]string // NAME=value lines (TCPREMOTEIP)
	Command string            // CmdPre, CmdAuth, CmdPasswd or CmdEnumerate
	// Fail says the request is well-formed enough to answer FAIL (for
	// example PRE with something other than "." as its first word).
	Fail     bool
	Service  string
	User     string
	AuthType string // AUTH: "login", "cram-md5", ...
	AuthData []byte // AUTH: the rest of the payload
	OldPW    string // PASSWD
	NewPW    string // PASSWD
}

// readLine reads one "\n"-terminated line of at most MaxLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > MaxLine {
			return "", fmt.Errorf("%w: line too long", ErrProtocol)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				return "", fmt.Errorf("%w: unterminated line", ErrProtocol)
			}
			return "", err
		}
		return string(b[:len(b)-1]), nil
	}
}

// isEnvName reports whether s is an environment variable name.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ReadRequest parses one request from r.
func ReadRequest(r *bufio.Reader) (*Request, error) {
	req := &Request{Env: map[string]string{}}
	var line string
	for n := 0; ; n++ {
		var err error
		line, err = readLine(r)
		if err != nil {
			return nil, err
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok || !isEnvName(name) || strings.Contains(name, " ") {
			break
		}
		if n >= MaxEnvVars {
			return nil, fmt.Errorf("%w: too many variables", ErrProtocol)
		}
		req.Env[name] = val
	}
	verb, rest, _ := strings.Cut(line, " ")
	switch verb {
	case CmdPre:
		req.Command = CmdPre
		f := strings.Fields(rest)
		if len(f) < 3 {
			return nil, fmt.Errorf("%w: PRE needs . service user", ErrProtocol)
		}
		req.Service = f[1]
		// The user is the rest of the line after the service.
		i := strings.Index(rest, f[1]) + len(f[1])
		req.User = strings.TrimLeft(rest[i:], " ")
		req.Fail = f[0] != "."
		return req, nil
	case CmdAuth:
		req.Command = CmdAuth
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 0 || n > MaxAuth {
			return nil, fmt.Errorf("%w: AUTH length %q", ErrProtocol, rest)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("%w: AUTH payload: %v", ErrProtocol, err)
		}
		parts := bytes.SplitN(buf, []byte("\n"), 3)
		if len(parts) < 3 {
			req.Fail = true
			return req, nil
		}
		req.Service, req.AuthType, req.AuthData = string(parts[0]), strings.ToLower(string(parts[1])), parts[2]
		return req, nil
	case CmdPasswd:
		req.Command = CmdPasswd
		f := strings.Split(strings.TrimSuffix(rest, "\t"), "\t")
		if len(f) != 4 {
			req.Fail = true
			return req, nil
		}
		req.Service, req.User, req.OldPW, req.NewPW = f[0], f[1], f[2], f[3]
		return req, nil
	case CmdEnumerate:
		req.Command = CmdEnumerate
		return req, nil
	}
	return nil, fmt.Errorf("%w: unknown command %.32q", ErrProtocol, verb)
}

// AuthRequest turns an AUTH request into an auth.Request; false means the
// payload does not fit its authtype (answered FAIL).
func (q *Request) AuthRequest() (*auth.Request, bool) {
	ar := &auth.Request{Service: q.Service, Mech: auth.Mechanism(q.AuthType), RemoteIP: q.Env["TCPREMOTEIP"]}
	data := string(q.AuthData)
	switch ar.Mech {
	case auth.MechLogin:
		user, pw, ok := strings.Cut(data, "\n")
		if !ok {
			return nil, false
		}
		ar.User, ar.Password = user, strings.TrimSuffix(pw, "\n")
		return ar, true
	case auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256:
		chB64, respB64, ok := strings.Cut(data, "\n")
		if !ok {
			return nil, false
		}
		ch, err1 := base64.StdEncoding.DecodeString(strings.TrimSpace(chB64))
		resp, err2 := base64.StdEncoding.DecodeString(strings.TrimSpace(respB64))
		if err1 != nil || err2 != nil {
			return nil, false
		}
		i := bytes.LastIndexByte(resp, ' ')
		if i <= 0 {
			return nil, false
		}
		ar.Challenge, ar.User, ar.Response = ch, string(resp[:i]), string(resp[i+1:])
		return ar, true
	}
	return nil, false
}

// clean removes line breaks from a reply value.
func clean(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// FormatAccount writes the reply for PRE and AUTH in authdaemond's order.
func FormatAccount(a *auth.Account) []byte {
	var b bytes.Buffer
	if a.SysUser != "" {
		fmt.Fprintf(&b, "USERNAME=%s\n", clean(a.SysUser))
	} else {
		fmt.Fprintf(&b, "UID=%d\n", a.UID)
	}
	fmt.Fprintf(&b, "GID=%d\nHOME=%s\n", a.GID, clean(a.Home))
	for _, kv := range [][2]string{{"ADDRESS", a.Address}, {"NAME", a.FullName}, {"MAILDIR", a.Maildir},
		{"QUOTA", a.Quota}, {"PASSWD", a.Passwd}, {"PASSWD2", a.ClearPasswd}, {"OPTIONS", a.Options.String()}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], clean(kv[1]))
		}
	}
	b.WriteString(".\n")
	return b.Bytes()
}

// ParseAccount reads a PRE/AUTH reply. "FAIL" gives auth.ErrNoUser; a reply
// cut short (no final ".") gives auth.ErrTempFail.
func ParseAccount(r *bufio.Reader) (*auth.Account, error) {
	a := &auth.Account{Module: "authdaemon"}
	first := true
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, fmt.Errorf("authdaemon: reply: %v: %w", err, auth.ErrTempFail)
		}
		if first && line == "FAIL" {
			return nil, fmt.Errorf("authdaemon: %w", auth.ErrNoUser)
		}
		first = false
		if line == "." {
			return a, nil
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("authdaemon: reply line %.40q: %w", line, auth.ErrTempFail)
		}
		switch k {
		case "USERNAME":
			a.SysUser = v
		case "UID":
			a.UID, _ = strconv.Atoi(v)
		case "GID":
			a.GID, _ = strconv.Atoi(v)
		case "HOME":
			a.Home = v
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

// FormatEnumerated formats one ENUMERATE line.
func FormatEnumerated(a *auth.Account) string {
	uid := strconv.Itoa(a.UID)
	if a.SysUser != "" {
		uid = a.SysUser
	}
	f := []string{a.Address, uid, strconv.Itoa(a.GID), a.Home, a.Maildir, a.Options.String()}
	for i := range f {
		f[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(f[i])
	}
	return strings.Join(f, "\t") + "\n"
}
