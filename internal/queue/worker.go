package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// next blocks until a message is ready or the queue closes (nil).
func (q *Queue) next() *Message {
	for {
		q.mu.Lock()
		if len(q.ready) > 0 {
			m := q.ready[0]
			q.ready[0] = nil
			q.ready = q.ready[1:]
			more := len(q.ready) > 0
			q.mu.Unlock()
			if more {
				q.signal() // wake another worker
			}
			return m
		}
		q.mu.Unlock()
		select {
		case <-q.closed:
			return nil
		case <-q.wake:
		}
	}
}

func (q *Queue) worker() {
	for {
		select {
		case <-q.closed:
			return
		default:
		}
		m := q.next()
		if m == nil {
			return
		}
		q.process(m)
	}
}

// process tries every pending recipient of m once and files the outcome.
func (q *Queue) process(m *Message) {
	var records []string
	retry, hold := false, false
	var lastErr error
	now := q.o.Now()
	expired := now.Sub(m.Env.Time) > q.o.QueueTime
	q.mu.Lock()
	cancel := m.cancel
	q.mu.Unlock()
	var notices []Notice
	var failed []int // failures waiting for their notification before they are final
	reasons := map[int]string{}
	for i := range m.Env.Rcpts {
		switch m.state[i] {
		case stateDone, stateFailed:
			continue
		}
		if q.ctx.Err() != nil {
			retry = true
			break
		}
		rc := &m.Env.Rcpts[i]
		if m.recovered && !m.checked[i] && rc.Refused == "" {
			done, err := q.o.Deliverer.AlreadyDelivered(q.ctx, m, i)
			if err != nil {
				q.log.Warn("queue: checking an earlier delivery", "id", m.ID, "rcpt", rc.Addr, "err", err)
				retry, lastErr = true, err
				continue
			}
			m.checked[i] = true
			if done {
				q.log.Info("delivered before restart", "id", m.ID, "rcpt", rc.Addr)
				m.state[i] = stateDone
				records = append(records, fmt.Sprintf("D %d\n", i))
				continue
			}
		}
		var res Result
		switch {
		case cancel != "":
			res = Result{Outcome: Failed, Err: errors.New("5.0.0 cancelled: " + cancel)}
		case rc.Refused != "":
			res = Result{Outcome: Failed, Err: errors.New(rc.Refused)}
		default:
			res = q.o.Deliverer.Deliver(q.ctx, m, i)
		}
		if res.Outcome == Retry && expired && q.ctx.Err() == nil {
			// Courier's queuetime: a recipient failing temporarily for this long (a full
			// mailbox, a peer that keeps deferring) fails for good.
			why := "delivery time expired"
			if res.Err != nil {
				why += ": " + res.Err.Error()
			}
			res = Result{Outcome: Failed, Err: errors.New("4.4.7 " + why)}
		}
		switch res.Outcome {
		case Delivered:
			m.state[i] = stateDone
			records = append(records, fmt.Sprintf("D %d\n", i))
			q.log.Debug("delivered", "id", m.ID, "rcpt", rc.Addr)
			if q.notifies(m, i, "SUCCESS") && !(res.Relayed && res.PeerDSN) {
				kind := NoticeDelivered
				if res.Relayed {
					kind = NoticeRelayed
				}
				notices = append(notices, Notice{Rcpt: i, Kind: kind, At: now})
			}
		case Failed:
			reason := "failed"
			if res.Err != nil {
				reason = strings.Map(func(r rune) rune {
					if r < 0x20 || r == 0x7f {
						return ' '
					}
					return r
				}, res.Err.Error())
			}
			failed = append(failed, i)
			reasons[i] = reason
			if q.notifies(m, i, "FAILURE") {
				notices = append(notices, Notice{Rcpt: i, Kind: NoticeFailed, Err: res.Err, At: now})
			}
			q.log.Warn("delivery failed", "id", m.ID, "rcpt", rc.Addr, "err", res.Err)
		case Hold:
			m.state[i] = stateHeld
			hold = true
		default:
			retry, lastErr = true, res.Err
			q.log.Info("delivery deferred", "id", m.ID, "rcpt", rc.Addr, "err", res.Err)
			if !m.warned && now.Sub(m.Env.Time) > q.o.WarnTime && q.notifies(m, i, "DELAY") {
				notices = append(notices, Notice{Rcpt: i, Kind: NoticeDelayed, Err: res.Err, At: now})
			}
		}
	}
	warned := false
	if len(notices) > 0 {
		if err := q.o.Notifier.Notify(q.ctx, m, notices); err != nil {
			// Nothing is final until the sender can be told: the failures stay pending
			// and are tried (and reported) again.
			q.log.Warn("queue: cannot queue the delivery status notification", "id", m.ID, "err", err)
			retry, lastErr, failed = true, err, nil
		} else {
			for _, n := range notices {
				warned = warned || n.Kind == NoticeDelayed
			}
		}
	}
	for _, i := range failed {
		m.state[i] = stateFailed
		records = append(records, fmt.Sprintf("F %d %s\n", i, reasons[i]))
	}
	if warned {
		m.warned = true
		records = append(records, "W\n")
	}
	finished := true
	for _, st := range m.state {
		if st == statePending || st == stateHeld {
			finished = false
		}
	}
	if finished {
		// Every delivery is durable (the Deliverer fsynced it); the records need not be.
		q.retire(m)
		q.dirS.syncLater()
		q.mu.Lock()
		delete(q.msgs, m.ID)
		m.scheduled = false
		q.mu.Unlock()
		return
	}
	if len(records) > 0 {
		q.appendRecords(m, records)
	}
	// held recipients become pending again for the next Flush or start
	for i, st := range m.state {
		if st == stateHeld {
			m.state[i] = statePending
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if lastErr != nil {
		m.lastErr = lastErr.Error()
	}
	if !retry || q.closing {
		_ = hold
		m.scheduled = false
		return
	}
	d := q.o.RetryDelays[min(m.attempts, len(q.o.RetryDelays)-1)]
	m.attempts++
	if m.cancel != "" && cancel == "" {
		// cancelled while this pass ran: Cancel left the scheduling to it, so the next
		// pass, which fails the recipients, comes now rather than after the retry delay.
		d = 0
	}
	m.timer = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		m.timer = nil
		if q.closing {
			m.scheduled = false
			return
		}
		q.ready = append(q.ready, m)
		q.signal()
	})
}

// appendRecords notes per-recipient outcomes in the message file. They are written without
// fsync: losing them costs an AlreadyDelivered check after a crash, never a duplicate.
func (q *Queue) appendRecords(m *Message, records []string) {
	f, err := os.OpenFile(m.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		q.log.Warn("queue: recording outcomes", "id", m.ID, "err", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(records, "")); err != nil {
		q.log.Warn("queue: recording outcomes", "id", m.ID, "err", err)
	}
}

// notifies reports whether recipient i of m is to be told of kind: there is a Notifier, the
// message has a sender to tell (never the null sender), and NOTIFY asks for it.
func (q *Queue) notifies(m *Message, i int, kind string) bool {
	return q.o.Notifier != nil && m.Env.From != "" && m.Env.Rcpts[i].Wants(kind)
}

// retire takes a finished message's file out of the spool: renamed to a fresh id, it
// becomes a spare for the next message when the pool has room (see the package comment),
// else it is removed. Either change is made durable by the directory's group commit.
func (q *Queue) retire(m *Message) {
	q.recycledMu.Lock()
	room := len(q.pool)+len(q.recycled) < cap(q.pool)
	q.recycledMu.Unlock()
	// A file written before envelopes named their id could not be told from a message
	// once renamed: only files that carry their id are recycled.
	if room && m.Env.QueueID == m.ID {
		id := q.newID()
		path := filepath.Join(q.o.Dir, id)
		err := os.Rename(m.path, path)
		if err == nil {
			var f *os.File
			if f, err = os.OpenFile(path, os.O_RDWR, 0); err == nil {
				q.recycledMu.Lock()
				q.recycled = append(q.recycled, &spare{id: id, f: f, recycled: true})
				q.recycledMu.Unlock()
				q.signalPool()
				return
			}
			m.path = path
		}
		q.log.Warn("queue: recycling a delivered message's file", "id", m.ID, "err", err)
	}
	if err := os.Remove(m.path); err != nil {
		q.log.Error("queue: removing a delivered message", "id", m.ID, "err", err)
	}
}
