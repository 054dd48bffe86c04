package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"courier/internal/auth"
)

// SMAP on the IMAP port, as Courier's imaplogin does it: with SMAP_CAPABILITY=SMAP1 the
// capability lists SMAP1, and a client that wants SMAP sends its pre-login commands with the
// tag "\SMAP1" and gets SMAP answers (+OK / -ERR). After a successful "\SMAP1 LOGIN" the
// connection belongs to the SMAP session, whose first line answers the login.

// smapTag is the tag that marks a pre-login SMAP command.
const smapTag = `\SMAP1 `

// smapAvailable reports whether this connection may switch to SMAP.
func (ss *session) smapAvailable() bool {
	return ss.set.SMAP && ss.srv.cfg.SMAP != nil && ss.conn != nil
}

// smapCommand runs one "\SMAP1 ..." command.
func (ss *session) smapCommand() {
	ss.r.Skip(len(smapTag))
	words, ok := smapWords(ss.r.Rest())
	if !ok || len(words) == 0 {
		ss.w.WriteString("-ERR Syntax error.\r\n")
		return
	}
	switch strings.ToUpper(words[0]) {
	case "CAPABILITY":
		ss.untagged("CAPABILITY " + ss.capability())
		ss.w.WriteString("+OK CAPABILITY completed\r\n")
	case "LOGOUT":
		ss.w.WriteString("+OK Bye.\r\n")
		ss.state = stateLogout
	case "LOGIN":
		if len(words) != 3 {
			ss.w.WriteString("-ERR Syntax error.\r\n")
			return
		}
		if !ss.plaintextOK() {
			ss.w.WriteString("-ERR Use STARTTLS first.\r\n")
			return
		}
		user, pass := words[1], words[2]
		st := ss.login(user, "SMAP LOGIN", func(ctx context.Context) (*auth.Account, error) {
			return ss.authModule().Authenticate(ctx, &auth.Request{Service: authService, Mech: auth.MechLogin,
				User: user, Password: pass, RemoteIP: ss.remote})
		})
		if st == nil || st.kind != "OK" {
			text := "Login failed."
			if st != nil {
				text = st.text
			}
			ss.w.WriteString("-ERR " + text + "\r\n")
			return
		}
		ss.runSMAP()
	default:
		ss.w.WriteString("-ERR Unknown command.\r\n")
	}
}

// runSMAP hands the logged-in connection to the SMAP session. The session writes into
// ss.w (smap.Serve flushes it to the connection) and reads through smapInput, which keeps
// the idle limit of a logged-in IMAP session.
func (ss *session) runSMAP() {
	if err := ss.flush(); err != nil {
		ss.state = stateLogout
		return
	}
	err := ss.srv.cfg.SMAP(ss.ctx, ss.smapInput(), ss.w, ss.st, SMAPSession{
		User: ss.user, Groups: ss.groups(), Maildir: ss.maildir, Env: ss.smapEnv(),
	})
	ss.flush()
	if err != nil {
		ss.log.Info("smap session", "err", err)
	}
	ss.state = stateLogout
}

// smapEnv is the imapd settings the SMAP session honours, in the form `courier imapd`
// passes them from its environment on standard input.
func (ss *session) smapEnv() map[string]string {
	env := map[string]string{
		"IMAP_KEYWORDS":     "0",
		"IMAP_IDLE_TIMEOUT": strconv.Itoa(int(ss.set.IdleTimeout / time.Second)),
		"APPENDLIMIT":       strconv.FormatInt(ss.set.AppendLimit, 10),
	}
	if ss.set.Keywords {
		env["IMAP_KEYWORDS"] = "1"
	}
	return env
}

// smapInput returns what the SMAP session reads: first the bytes the client sent after
// its login that are already buffered, then the connection, whose read deadline is pushed
// authTimeout ahead before every read. Without that the deadline of the login command
// (preAuthTimeout) would stay and end the session a minute after login; with it the
// session follows the rule of a logged-in IMAP session (RFC 3501 §5.4: at least 30
// minutes without a word from the client), in IDLE and in an upload too.
func (ss *session) smapInput() *bufio.Reader {
	pending, _ := ss.br.Peek(ss.br.Buffered())
	src := io.MultiReader(bytes.NewReader(bytes.Clone(pending)), idleReader{ctx: ss.ctx, c: ss.conn, timeout: authTimeout})
	return bufio.NewReaderSize(src, readBufSize)
}

// idleReader reads from a connection with a fresh read deadline for every read.
type idleReader struct {
	ctx     context.Context
	c       net.Conn
	timeout time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(r.timeout))
	// The server stops a session by setting a past read deadline; if that happened just
	// before ours, ours must not undo it.
	if r.ctx.Err() != nil {
		_ = r.c.SetReadDeadline(time.Now())
	}
	return r.c.Read(p)
}

// smapWords splits an SMAP command line: words separated by spaces, a word in double
// quotes may hold spaces, and "" inside quotes is one quote.
func smapWords(s string) ([]string, bool) {
	var out []string
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		var w strings.Builder
		if s[i] == '"' {
			i++
			for {
				if i >= len(s) {
					return nil, false
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						w.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				w.WriteByte(s[i])
				i++
			}
		} else {
			for i < len(s) && s[i] != ' ' {
				w.WriteByte(s[i])
				i++
			}
		}
		out = append(out, w.String())
	}
	return out, true
}
