package server

import (
	"errors"
	"strings"
	"time"

	"courier/internal/imap/wire"
)

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
