package main

// The session loop. Each client is one goroutine that runs sessions back to back until the
// run's end: connect, LOGIN, [LIST], [STATUS], SELECT, [FETCH], [FETCH2], [STORE], [DELETE],
// [EXPUNGE], [SEARCH], [APPEND], LOGOUT, each optional command with its mix percentage, as
// imaptest's default states do (SEARCH is ours: imaptest's default mix has none).
//
// What each command is (our own choices; imaptest's exact commands differ in detail):
//
//	login   LOGIN user pass
//	list    LIST "" "*"                                  (expects at least one * LIST)
//	status  STATUS mailbox (MESSAGES UNSEEN UIDNEXT)     (expects * STATUS)
//	select  SELECT mailbox                               (expects * n EXISTS)
//	fetch   FETCH a:b (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE), b-a < 10, random
//	                                                     (expects one FETCH per message in a:b)
//	fetch2  FETCH n (UID BODY.PEEK[]), one random message (expects its BODY[])
//	store   STORE a:b +FLAGS or -FLAGS (\Seen | \Flagged | $Bench), b-a < 5
//	delete  STORE n +FLAGS.SILENT (\Deleted), one random message
//	expunge EXPUNGE
//	search  UID SEARCH SUBJECT "word", a random word of the corpus' subjects (expects * SEARCH)
//	append  APPEND mailbox (\Seen) {n}, a message of the -append-mbox corpus
//	logout  LOGOUT                                       (expects * BYE)
//
// With delete, expunge and append at 100% every session removes one message and adds one, so
// the mailbox stays near its starting size for any run length.
//
// Timing: a command counts when it completes (tagged OK and the checks pass) before the run's
// end. No command is started after the end; one that is in flight then completes as "late"
// (not counted), and every connection's deadline is the end plus -grace, so a stalled server
// cannot hold the run open. A connection error ends the session (the client reconnects); a
// NO or BAD ends it only for LOGIN and SELECT.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"courier/bench/imap/internal/imapc"
)

// Error kinds, the columns of the error report.
const (
	errNO       = iota // tagged NO
	errExpunged        // tagged NO because a message was expunged by another session (RFC 2180 §4.1)
	errBAD             // tagged BAD
	errCheck           // completed OK but the response was not what the command must return
	errIO              // connection refused, reset or closed, or a malformed response
	errTimeout         // no completion within -timeout (or by the end plus -grace)
	nErrKinds
)

var errKindNames = [nErrKinds]string{"NO", "expunged", "BAD", "check", "io", "timeout"}

// opConnect is the connection set-up (TCP + greeting), reported beside the commands but not
// counted in the total, which is imaptest's (commands only).
const opConnect = nOps

// opStats is one command's figures from one client.
type opStats struct {
	lat     []time.Duration // completions within the window
	errs    [nErrKinds]int
	late    int // completed OK after the end: not counted
	skipped int // not sent because the mailbox was empty
}

// checkError is a response that completed OK but lacked what the command must return.
type checkError struct{ msg string }

func (e *checkError) Error() string { return e.msg }

func checkf(format string, a ...any) error { return &checkError{fmt.Sprintf(format, a...)} }

// config is what every client shares.
type config struct {
	addr, user, pass, mailbox string
	mix                       Mix
	start, end                time.Time
	grace, timeout            time.Duration
	msgs                      [][]byte // APPEND sources (CRLF line ends)
	words                     []string // SEARCH SUBJECT words
	errs                      *errLog
}

// errLog keeps the first few distinct error texts of each command for the report, so that
// one command's flood does not hide another's.
type errLog struct {
	mu    sync.Mutex
	seen  map[string]int
	order []string
	perOp map[op]int
	max   int // distinct texts kept per command
}

func newErrLog(max int) *errLog {
	return &errLog{seen: map[string]int{}, perOp: map[op]int{}, max: max}
}

func (l *errLog) add(o op, err error) {
	msg := o.String() + ": " + err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[msg]; ok {
		l.seen[msg]++
		return
	}
	if l.perOp[o] >= l.max {
		return
	}
	l.perOp[o]++
	l.seen[msg] = 1
	l.order = append(l.order, msg)
}

func (l *errLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.order))
	for i, m := range l.order {
		out[i] = m
		if n := l.seen[m]; n > 1 {
			out[i] = fmt.Sprintf("%s (x%d)", m, n)
		}
	}
	return out
}

// client is one simulated user.
type client struct {
	cfg      *config
	rnd      *rand.Rand
	st       [nOps + 1]opStats // + opConnect
	sessions int
	now      func() time.Time
}

func newClient(cfg *config, id int, seed uint64) *client {
	return &client{cfg: cfg, rnd: rand.New(rand.NewPCG(seed, uint64(id)+1)), now: time.Now}
}

// run loops sessions until the end.
func (cl *client) run() {
	for cl.now().Before(cl.cfg.end) {
		if !cl.session() {
			// The connection could not be made: do not spin against a refusing server.
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// classify returns the error kind and whether the session must end.
func classify(err error) (kind int, fatal bool) {
	var se *imapc.StatusError
	var ce *checkError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		if se.Status == "BAD" {
			return errBAD, false
		}
		if t := strings.ToLower(se.Text); strings.Contains(t, "[expungeissued]") || strings.Contains(t, "expunged") {
			return errExpunged, false
		}
		return errNO, false
	case errors.As(err, &ce):
		return errCheck, false
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout, true
	default:
		return errIO, true
	}
}

// session runs one session; it reports false when no connection could be made.
func (cl *client) session() bool {
	cfg := cl.cfg
	t0 := cl.now()
	c, err := imapc.Dial(cfg.addr, imapc.Options{Timeout: min(cfg.timeout, time.Until(cfg.end.Add(cfg.grace)))})
	st := &cl.st[opConnect]
	if err != nil {
		if cl.now().Before(cfg.end) {
			kind, _ := classify(err)
			st.errs[kind]++
			cfg.errs.add(opConnect, err)
		}
		return false
	}
	defer c.Close()
	if cl.now().Before(cfg.end) {
		st.lat = append(st.lat, cl.now().Sub(t0))
	}
	cl.sessions++
	// do runs one command with its timing and error accounting; false ends the session.
	do := func(o op, f func() error) bool {
		now := cl.now()
		if !now.Before(cfg.end) {
			return false
		}
		_ = c.NetConn().SetDeadline(minTime(now.Add(cfg.timeout), cfg.end.Add(cfg.grace)))
		err := f()
		done := cl.now()
		s := &cl.st[o]
		if err == nil {
			if done.Before(cfg.end) {
				s.lat = append(s.lat, done.Sub(now))
			} else {
				s.late++
			}
			return true
		}
		kind, fatal := classify(err)
		if kind == errTimeout && !done.Before(cfg.end.Add(cfg.grace)) && now.Before(cfg.end) {
			// Cut off by the end of the run's grace: still a stall worth reporting.
			fatal = true
		}
		s.errs[kind]++
		cfg.errs.add(o, err)
		if o == opLogin || o == opSelect {
			return false
		}
		return !fatal
	}
	pct := func(o op) bool { return cfg.mix[o] >= 100 || (cfg.mix[o] > 0 && cl.rnd.IntN(100) < cfg.mix[o]) }
	// rangeOf picks a random a:b of at most n messages, or reports an empty mailbox.
	rangeOf := func(o op, n int) (int, int, bool) {
		if c.Exists <= 0 {
			cl.st[o].skipped++
			return 0, 0, false
		}
		a := 1 + cl.rnd.IntN(c.Exists)
		return a, min(c.Exists, a+cl.rnd.IntN(n)), true
	}

	if !do(opLogin, func() error { return c.Login(cfg.user, cfg.pass) }) {
		return true
	}
	if pct(opList) && !do(opList, func() error {
		res, err := c.Cmd(`LIST "" "*"`, true)
		if err == nil && !hasPrefix(res.Untagged, "* LIST ") {
			return checkf("no * LIST in reply")
		}
		return err
	}) {
		return true
	}
	if pct(opStatus) && !do(opStatus, func() error {
		res, err := c.Cmd("STATUS "+imapc.Quote(cfg.mailbox)+" (MESSAGES UNSEEN UIDNEXT)", true)
		if err == nil && !hasPrefix(res.Untagged, "* STATUS ") {
			return checkf("no * STATUS in reply")
		}
		return err
	}) {
		return true
	}
	if !do(opSelect, func() error { _, err := c.Select(cfg.mailbox); return err }) {
		return true
	}
	if pct(opFetch) {
		if a, b, ok := rangeOf(opFetch, 10); ok && !do(opFetch, func() error {
			res, err := c.Cmd(fmt.Sprintf("FETCH %d:%d (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)", a, b), true)
			if err == nil {
				if got := fetched(res.Untagged, a, b, "RFC822.SIZE"); got != b-a+1 {
					return checkf("FETCH %d:%d returned %d of %d messages", a, b, got, b-a+1)
				}
			}
			return err
		}) {
			return true
		}
	}
	if pct(opFetch2) {
		if a, _, ok := rangeOf(opFetch2, 1); ok && !do(opFetch2, func() error {
			res, err := c.Cmd(fmt.Sprintf("FETCH %d (UID BODY.PEEK[])", a), true)
			if err == nil && fetched(res.Untagged, a, a, "BODY[]") != 1 {
				return checkf("FETCH %d (BODY.PEEK[]) returned no BODY[]", a)
			}
			return err
		}) {
			return true
		}
	}
	if pct(opStore) {
		if a, b, ok := rangeOf(opStore, 5); ok && !do(opStore, func() error {
			sign := "+"
			if cl.rnd.IntN(2) == 0 {
				sign = "-"
			}
			flag := [...]string{`\Seen`, `\Flagged`, `$Bench`}[cl.rnd.IntN(3)]
			// No check of the untagged FETCH FLAGS: RFC 3501 §6.4.6 says SHOULD, and Dovecot
			// sends none for a message whose flags the STORE did not change.
			_, err := c.Cmd(fmt.Sprintf("STORE %d:%d %sFLAGS (%s)", a, b, sign, flag), false)
			return err
		}) {
			return true
		}
	}
	if pct(opDelete) {
		if a, _, ok := rangeOf(opDelete, 1); ok && !do(opDelete, func() error {
			_, err := c.Cmd(fmt.Sprintf(`STORE %d +FLAGS.SILENT (\Deleted)`, a), false)
			return err
		}) {
			return true
		}
	}
	if pct(opExpunge) && !do(opExpunge, func() error { _, err := c.Cmd("EXPUNGE", false); return err }) {
		return true
	}
	if pct(opSearch) && !do(opSearch, func() error {
		w := cfg.words[cl.rnd.IntN(len(cfg.words))]
		res, err := c.Cmd("UID SEARCH SUBJECT "+imapc.Quote(w), true)
		if err == nil && !hasPrefix(res.Untagged, "* SEARCH") {
			return checkf("no * SEARCH in reply")
		}
		return err
	}) {
		return true
	}
	if pct(opAppend) && !do(opAppend, func() error {
		return c.Append(cfg.mailbox, `\Seen`, cfg.msgs[cl.rnd.IntN(len(cfg.msgs))])
	}) {
		return true
	}
	do(opLogout, c.Logout)
	return true
}

// fetched counts the distinct messages in a:b with an untagged FETCH that carries item
// (a server may add unsolicited FETCH responses for other messages, e.g. flag changes made
// by other sessions, and these are not counted).
func fetched(untagged []string, a, b int, item string) int {
	seen := map[int]bool{}
	for _, l := range untagged {
		f := strings.SplitN(l, " ", 4)
		if len(f) < 4 || f[0] != "*" || !strings.EqualFold(f[2], "FETCH") || !strings.Contains(f[3], item) {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err == nil && n >= a && n <= b {
			seen[n] = true
		}
	}
	return len(seen)
}

func hasPrefix(lines []string, p string) bool {
	for _, l := range lines {
		if len(l) >= len(p) && strings.EqualFold(l[:len(p)], p) {
			return true
		}
	}
	return false
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
