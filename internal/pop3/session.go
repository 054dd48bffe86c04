package pop3

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"time"

	"courier/internal/auth"
	"courier/internal/netx"
)

// state is a session's RFC 1939 state.
type state int

const (
	stateAuthorization state = iota
	stateTransaction
	stateDone // after QUIT (UPDATE has run) or a fatal error
)

// session is one client's conversation.
type session struct {
	srv     *Server
	set     *Settings
	ctx     context.Context
	log     *slog.Logger
	conn    *netx.Conn // nil for a pre-authenticated session on standard input and output
	stdio   bool
	remote  string
	r       *bufio.Reader
	w       *bufio.Writer
	out     io.Writer // what w writes to (growWriter); nil when output is discarded
	werr    error     // the first write error; the session ends on it
	state   state
	started time.Time

	user      string // name given by USER, waiting for PASS
	loginName string // the authenticated login name
	account   *auth.Account
	utf8      bool // UTF8 was sent (RFC 6856)

	md      Maildrop
	msgs    []Message
	deleted []bool
	seen    []int // messages downloaded with RETR, to be marked seen at the end
	quit    bool  // QUIT ran the UPDATE state
	// prefetched is the highest message index hinted to a Prefetcher (-1: none).
	prefetched int

	// counters for the logout line, as Courier logs them
	topBytes, retrBytes, rcvd, sent int64
}

// Courier's replies, kept in one place.
const (
	errInvalidCommand = "-ERR Invalid command."
	errInvalidMessage = "-ERR Invalid message number."
)

// dispatch runs one command; false ends the session.
func (ss *session) dispatch(c Command) bool {
	// Commands valid in both states (RFC 2449 CAPA, RFC 6856 UTF8 and LANG).
	switch c.Name {
	case "CAPA":
		ss.cmdCAPA()
		return true
	case "UTF8":
		ss.cmdUTF8()
		return true
	case "LANG":
		ss.cmdLANG(c)
		return true
	case "QUIT":
		ss.cmdQUIT()
		return true
	}
	if ss.state == stateAuthorization {
		switch c.Name {
		case "USER":
			ss.cmdUSER(c)
		case "PASS":
			ss.cmdPASS(c)
		case "AUTH":
			ss.cmdAUTH(c)
		case "STLS":
			return ss.cmdSTLS()
		default:
			ss.reply(errInvalidCommand)
		}
		return true
	}
	switch c.Name {
	case "STAT":
		ss.cmdSTAT()
	case "LIST":
		ss.cmdLIST(c)
	case "UIDL":
		ss.cmdUIDL(c)
	case "RETR":
		ss.cmdRETR(c)
	case "TOP":
		ss.cmdTOP(c)
	case "DELE":
		ss.cmdDELE(c)
	case "RSET":
		ss.cmdRSET()
	case "NOOP":
		ss.reply("+OK Yup.")
	default:
		ss.reply(errInvalidCommand)
	}
	return true
}

// open enters the TRANSACTION state on md.
func (ss *session) open(md Maildrop) {
	ss.md = md
	ss.msgs = md.Messages()
	ss.deleted = make([]bool, len(ss.msgs))
	ss.prefetched = -1
	ss.state = stateTransaction
}

// message resolves a message-number argument to an index of a message not deleted. Courier
// answers a missing, unreadable, out-of-range or deleted number alike.
func (ss *session) message(args []string) (int, bool) {
	if len(args) == 0 {
		ss.reply(errInvalidMessage)
		return 0, false
	}
	n, ok := parseNumber(args[0])
	if !ok || n == 0 || int(n) > len(ss.msgs) || ss.deleted[n-1] {
		ss.reply(errInvalidMessage)
		return 0, false
	}
	return int(n) - 1, true
}
