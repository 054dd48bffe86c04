package server

import (
	"errors"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"courier/internal/imap/wire"
)

// updateNotifier is what a mailbox offers (maildirstore's views do) to have a function
// called on each change notification, so that IDLE needs no goroutine of its own to read
// Updates: ok is false when the mailbox gets no notifications.
type updateNotifier interface {
	OnUpdate(fn func()) (cancel func(), ok bool)
}

// cmdIdle: RFC 2177. Changes to the selected mailbox (the store's notifications, from any
// session or process) are reported as they happen until the client sends DONE.
func (ss *session) cmdIdle(bool) *status {
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	ss.w.WriteString("+ entering idle mode\r\n")
	if ss.flush() != nil {
		ss.state = stateLogout
		return nil
	}
	var nt updateNotifier
	if ss.sel != nil {
		var ok bool
		if nt, ok = ss.sel.mb.(updateNotifier); !ok {
			return ss.idleReading()
		}
	}
	if ss.raw == nil {
		return ss.idleReading()
	}
	ss.startIdle(nt)
	return nil // answered when the wait ends (idleInput)
}

// idleWait is an IDLE command on a TCP connection (plain or TLS) while it waits. The
// session's own goroutine waits for the client, in run (at the top of its stack: a
// goroutine's stack shrinks to what it uses at the collector's next pass, and the frames of
// a command's dispatch would keep an idling session's stack twice as large), holding no
// buffers (awaitInput); a change notification (the mailbox's OnUpdate) or the poll timer
// interrupts that wait by moving the read deadline to now, as shutdown does. An idling
// connection thus costs one parked goroutine and no buffer.
type idleWait struct {
	mu       sync.Mutex
	stopped  bool // no wake may move the deadline any more
	woken    bool
	conn     net.Conn
	cancel   func() // ends the OnUpdate subscription
	poll     *time.Timer
	deadline time.Time // the end of the client's 30 minutes (RFC 3501 §5.4)
}

// wake interrupts the session's wait (from the watcher's goroutine or the timer's).
func (iw *idleWait) wake() {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	if !iw.stopped {
		iw.woken = true
		_ = iw.conn.SetReadDeadline(time.Now())
	}
}

func (iw *idleWait) takeWoken() bool {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	w := iw.woken
	iw.woken = false
	return w
}

// stop ends the wakes: once it returns none can move the deadline (which, moved while DONE
// is read, would lose part of the line).
func (iw *idleWait) stop() {
	iw.mu.Lock()
	iw.stopped = true
	iw.mu.Unlock()
	iw.cancel()
	iw.poll.Stop()
}

// startIdle sets up the wait of an IDLE command; nt is nil without a selected mailbox.
func (ss *session) startIdle(nt updateNotifier) {
	iw := &idleWait{conn: ss.conn, cancel: func() {}, deadline: time.Now().Add(authTimeout)}
	if nt != nil {
		iw.cancel, _ = nt.OnUpdate(iw.wake) // without notifications, the poll timer alone
	}
	// A store without notifications is looked at every IMAP_IDLE_TIMEOUT as well.
	iw.poll = time.AfterFunc(ss.set.IdleTimeout, iw.wake)
	ss.idling = iw
}

// endIdle ends the wait of the IDLE command (idempotent).
func (ss *session) endIdle() {
	if ss.idling != nil {
		ss.idling.stop()
		ss.idling = nil
	}
}

// idleTurn does what an idling session has to do before it waits again: report changes
// when woken, say BYE at shutdown. It reports whether the session is to wait for its
// client now.
func (ss *session) idleTurn() (wait bool) {
	defer ss.idleRecover()
	iw := ss.idling
	_ = ss.conn.SetReadDeadline(iw.deadline)
	if ss.ctx.Err() != nil {
		ss.endIdle()
		ss.untagged("BYE Server shutting down")
		ss.flush()
		ss.state = stateLogout
		return false
	}
	if iw.takeWoken() {
		ss.sync(true)
		if ss.flush() != nil {
			ss.endIdle()
			ss.state = stateLogout
			return false
		}
		iw.poll.Reset(ss.set.IdleTimeout)
		return false
	}
	return true
}

// idleInput ends the wait of awaitInput (err its result): input is the client's DONE, which
// ends the command; a deadline moved by a wake means another turn.
func (ss *session) idleInput(err error) {
	defer ss.idleRecover()
	iw := ss.idling
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(iw.deadline) {
			return // woken, or shutting down: idleTurn tells which
		}
		// Inactivity past the deadline or a broken connection: the session ends, as when
		// the reading goroutine of idleReading fails.
		ss.endIdle()
		ss.state = stateLogout
		return
	}
	ss.endIdle()
	_ = ss.conn.SetReadDeadline(iw.deadline)
	if err := ss.r.Begin(); err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			ss.tagged(bad("", "Expected DONE."))
			return
		}
		ss.state = stateLogout
		return
	}
	if !strings.EqualFold(strings.TrimSpace(ss.r.Rest()), "DONE") {
		ss.tagged(bad("", "Expected DONE."))
		return
	}
	// Changes notified just before DONE are reported by the next command that reports
	// changes (NOOP, IDLE, …), as they would have been had they come a moment later.
	ss.tagged(ok("", "IDLE completed"))
}

// idleRecover turns a bug in an idling session into BAD, as command's recover does.
func (ss *session) idleRecover() {
	if p := recover(); p != nil {
		ss.log.Error("imap idle panicked", "panic", p, "stack", string(debug.Stack()))
		ss.endIdle()
		ss.tagged(bad("", "Internal server error."))
	}
}

// idleReading is IDLE with a goroutine reading the client's DONE while this one waits for
// the mailbox's notifications (stdio sessions, connections without a TCP socket to wait on,
// mailboxes without OnUpdate).
func (ss *session) idleReading() *status {
	done := make(chan lineResult, 1)
	if ss.conn != nil {
		_ = ss.conn.SetReadDeadline(time.Now().Add(authTimeout))
	}
	go func() {
		err := ss.r.Begin()
		var line string
		if err == nil {
			line = ss.r.Rest()
		}
		done <- lineResult{line, err}
	}()
	var updates <-chan struct{}
	if ss.sel != nil {
		updates = ss.sel.mb.Updates()
	}
	// A store without notifications is looked at every IMAP_IDLE_TIMEOUT as well.
	poll := time.NewTicker(ss.set.IdleTimeout)
	defer poll.Stop()
	for {
		select {
		case res := <-done:
			if res.err != nil {
				var we *wire.Error
				if errors.As(res.err, &we) {
					return bad("", "Expected DONE.")
				}
				ss.state = stateLogout
				return nil
			}
			if !strings.EqualFold(strings.TrimSpace(res.line), "DONE") {
				return bad("", "Expected DONE.")
			}
			return ok("", "IDLE completed")
		case <-updates:
			ss.sync(true)
			if ss.flush() != nil {
				ss.waitReader(done)
				ss.state = stateLogout
				return nil
			}
		case <-poll.C:
			ss.sync(true)
			if ss.flush() != nil {
				ss.waitReader(done)
				ss.state = stateLogout
				return nil
			}
		case <-ss.ctx.Done():
			ss.untagged("BYE Server shutting down")
			ss.flush()
			ss.waitReader(done)
			ss.state = stateLogout
			return nil
		}
	}
}

// lineResult is what the reading goroutine of IDLE found.
type lineResult struct {
	line string
	err  error
}

// waitReader waits for the reading goroutine after the connection broke. (A stdio session's
// reader cannot be interrupted; the process ends with it.)
func (ss *session) waitReader(done <-chan lineResult) {
	if ss.conn == nil {
		return
	}
	_ = ss.conn.SetReadDeadline(time.Now())
	<-done
}
