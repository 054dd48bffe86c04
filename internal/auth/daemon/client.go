package daemon

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"courier/internal/auth"
)

// DefaultSocket is where Debian's authdaemond listens (authdaemonvar/socket).
const DefaultSocket = "/run/courier/authdaemon/socket"

// Client asks an authdaemond over its Unix socket; it is an auth.Module, so
// a server can use a running authdaemond (ours or Courier's) as its chain.
type Client struct {
	Socket  string        // DefaultSocket if empty
	Timeout time.Duration // per request; 30s if zero
	// RemoteIP is sent as TCPREMOTEIP when a request carries none.
	RemoteIP string
}

// Name implements auth.Module.
func (c *Client) Name() string { return "authdaemon" }

// roundTrip sends one request and returns a reader on the reply.
func (c *Client) roundTrip(ctx context.Context, req string, fn func(*bufio.Reader) error) error {
	sock := c.Socket
	if sock == "" {
		sock = DefaultSocket
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return fmt.Errorf("authdaemon: connect: %v: %w", err, auth.ErrTempFail)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write([]byte(req)); err != nil {
		return fmt.Errorf("authdaemon: send: %v: %w", err, auth.ErrTempFail)
	}
	return fn(bufio.NewReader(conn))
}

// prefix returns the TCPREMOTEIP line.
func (c *Client) prefix(ip string) string {
	if ip == "" {
		ip = c.RemoteIP
	}
	if ip == "" || strings.ContainsAny(ip, "\r\n") {
		return ""
	}
	return "TCPREMOTEIP=" + ip + "\n"
}

// safe reports whether s can be sent inside a request line.
func safe(s string) bool { return !strings.ContainsAny(s, "\x00\r\n\t") }

// Lookup implements auth.Module with PRE.
func (c *Client) Lookup(ctx context.Context, service, user string) (*auth.Account, error) {
	if !auth.ValidUser(user) || !safe(service) || strings.Contains(service, " ") || service == "" {
		return nil, fmt.Errorf("authdaemon: lookup %.64q: %w", user, auth.ErrNoUser)
	}
	var a *auth.Account
	err := c.roundTrip(ctx, c.prefix("")+"PRE . "+service+" "+user+"\n", func(r *bufio.Reader) error {
		var err error
		a, err = ParseAccount(r)
		return err
	})
	return a, err
}

// Authenticate implements auth.Module with AUTH.
func (c *Client) Authenticate(ctx context.Context, req *auth.Request) (*auth.Account, error) {
	if !auth.ValidUser(req.User) || !safe(req.Service) || req.Service == "" {
		return nil, fmt.Errorf("authdaemon: %.64q: %w", req.User, auth.ErrNoUser)
	}
	var data string
	switch req.Mech {
	case auth.MechLogin, "":
		if strings.ContainsAny(req.Password, "\n\x00") {
			return nil, fmt.Errorf("authdaemon: %.64q: %w", req.User, auth.ErrBadPassword)
		}
		data = "login\n" + req.User + "\n" + req.Password + "\n"
	case auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256:
		if _, err := hex.DecodeString(req.Response); err != nil {
			return nil, fmt.Errorf("authdaemon: %.64q: %w", req.User, auth.ErrBadPassword)
		}
		data = string(req.Mech) + "\n" + base64.StdEncoding.EncodeToString(req.Challenge) + "\n" +
			base64.StdEncoding.EncodeToString([]byte(req.User+" "+req.Response)) + "\n"
	default:
		return nil, fmt.Errorf("authdaemon: mechanism %q: %w", req.Mech, auth.ErrNotSupported)
	}
	payload := req.Service + "\n" + data
	var a *auth.Account
	err := c.roundTrip(ctx, c.prefix(req.RemoteIP)+"AUTH "+strconv.Itoa(len(payload))+"\n"+payload, func(r *bufio.Reader) error {
		var err error
		a, err = ParseAccount(r)
		return err
	})
	if err != nil {
		if auth.IsReject(err) {
			return nil, fmt.Errorf("authdaemon: %.64q: %w", req.User, auth.ErrBadPassword)
		}
		return nil, err
	}
	return a, nil
}

// ChangePassword implements auth.Module with PASSWD.
func (c *Client) ChangePassword(ctx context.Context, service, user, oldPassword, newPassword string) error {
	if !auth.ValidUser(user) || !safe(service) || !safe(oldPassword) || !safe(newPassword) {
		return fmt.Errorf("authdaemon: change password %.64q: %w", user, auth.ErrBadPassword)
	}
	return c.roundTrip(ctx, "PASSWD "+service+"\t"+user+"\t"+oldPassword+"\t"+newPassword+"\n", func(r *bufio.Reader) error {
		line, err := readLine(r)
		switch {
		case err != nil:
			return fmt.Errorf("authdaemon: passwd reply: %v: %w", err, auth.ErrTempFail)
		case line == "OK":
			return nil
		case line == "FAIL":
			return fmt.Errorf("authdaemon: change password %.64q: %w", user, auth.ErrBadPassword)
		}
		return fmt.Errorf("authdaemon: passwd reply %.40q: %w", line, auth.ErrTempFail)
	})
}

// Enumerate implements auth.Module with ENUMERATE. A listing that ends
// without "." is a temporary failure (accounts already passed to fn stay
// passed).
func (c *Client) Enumerate(ctx context.Context, fn func(*auth.Account) error) error {
	return c.roundTrip(ctx, "ENUMERATE\n", func(r *bufio.Reader) error {
		for {
			line, err := readLine(r)
			if err != nil {
				return fmt.Errorf("authdaemon: enumeration cut short: %v: %w", err, auth.ErrTempFail)
			}
			if line == "." {
				return nil
			}
			if line == "" || line[0] == '#' {
				continue
			}
			f := strings.Split(line, "\t")
			for len(f) < 6 {
				f = append(f, "")
			}
			a := &auth.Account{Address: f[0], Home: f[3], Maildir: f[4], Options: auth.ParseOptions(f[5]), Module: "authdaemon"}
			if uid, err := strconv.Atoi(f[1]); err == nil {
				a.UID = uid
			} else {
				a.SysUser = f[1]
			}
			a.GID, _ = strconv.Atoi(f[2])
			if err := fn(a); err != nil {
				return err
			}
		}
	})
}

var _ auth.Module = (*Client)(nil)
