package app

// The control socket: cancelmsg and "courier flush" ask the running server, which alone owns
// the queue, through a Unix socket beside the queue directory (DIR/spool/control in a
// quickstart installation, /var/spool/courier/control otherwise). Anybody may connect; the
// kernel says who did (SO_PEERCRED): root and the server's own user may flush and cancel
// anything, any other user may cancel only the mail it submitted with sendmail.
//
// Protocol: one request line, one answer line. "FLUSH" or "FLUSH qid"; "CANCEL qid
// reason…". The answer is "OK" or "ERR why".

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"courier/internal/queue"
)

// ControlSocket returns the path of the control socket for the configuration in configDir.
func ControlSocket(configDir string) (string, error) {
	q, err := queueDir(configDir)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(filepath.Clean(q)), "control"), nil
}

// startControl serves the control socket for the core's queue. A failure is logged and
// leaves mail service running.
func (a *App) startControl(c *smtpCore) {
	p, err := ControlSocket(a.cfg.Dir)
	if err != nil {
		a.log.Error("control: cannot start", "err", err)
		return
	}
	if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSocket != 0 {
		os.Remove(p) // left by an earlier run; the queue's own lock says none runs now
	}
	ln, err := net.Listen("unix", p)
	if err != nil {
		a.log.Error("control: cannot listen", "socket", p, "err", err)
		return
	}
	// Anybody may ask; SO_PEERCRED says who asked.
	if err := os.Chmod(p, 0o666); err != nil {
		a.log.Warn("control: chmod", "socket", p, "err", err)
	}
	c.control = ln
	log := a.log.With("service", "control")
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveControl(conn.(*net.UnixConn), c.queue, log)
		}
	}()
}

func serveControl(conn *net.UnixConn, q *queue.Queue, log interface {
	Info(string, ...any)
}) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	uid, err := peerUID(conn)
	if err != nil {
		fmt.Fprintf(conn, "ERR cannot tell who you are: %v\n", err)
		return
	}
	line, err := bufio.NewReaderSize(conn, 4096).ReadString('\n')
	if err != nil {
		fmt.Fprintf(conn, "ERR no request\n")
		return
	}
	verb, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
	privileged := uid == 0 || uid == os.Geteuid()
	answer := func(err error) {
		if err != nil {
			fmt.Fprintf(conn, "ERR %s\n", strings.TrimPrefix(err.Error(), "queue: "))
			return
		}
		fmt.Fprintf(conn, "OK\n")
	}
	switch strings.ToUpper(verb) {
	case "FLUSH":
		if !privileged {
			answer(errors.New("only the superuser may flush the queue"))
			return
		}
		if id := strings.TrimSpace(rest); id != "" {
			answer(q.FlushOne(id))
		} else {
			q.Flush()
			answer(nil)
		}
		log.Info("control: flush", "uid", uid, "id", strings.TrimSpace(rest))
	case "CANCEL":
		id, reason, _ := strings.Cut(strings.TrimSpace(rest), " ")
		name := ""
		if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
			name = u.Username
		}
		err := q.Cancel(id, reason, func(env *queue.Envelope) bool { return mayCancel(privileged, name, env) })
		answer(err)
		log.Info("control: cancel", "uid", uid, "id", id, "err", err)
	default:
		answer(fmt.Errorf("unknown request %q", verb))
	}
}

// mayCancel says whether a caller may cancel the message of env: root and the server's
// user may cancel anything; another user only what it submitted with sendmail (the pickup
// names the file's owner in AuthUser, with Protocol "local").
func mayCancel(privileged bool, name string, env *queue.Envelope) bool {
	return privileged || (name != "" && env.Protocol == "local" && env.AuthUser == name)
}

// peerUID is the uid of the process at the other end (SO_PEERCRED).
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return int(cred.Uid), nil
}
