package queue

import (
	"fmt"
	"os"
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
	for i := range m.Env.Rcpts {
		switch m.state[i] {
		case stateDone, stateFailed:
			continue
		}
		if q.ctx.Err() != nil {
			retry = true
			break
		}
		if m.recovered && !m.checked[i] {
			done, err := q.o.Deliverer.AlreadyDelivered(q.ctx, m, i)
			if err != nil {
				q.log.Warn("queue: checking an earlier delivery", "id", m.ID, "rcpt", m.Env.Rcpts[i].Addr, "err", err)
				retry, lastErr = true, err
				continue
			}
			m.checked[i] = true
			if done {
				q.log.Info("delivered before restart", "id", m.ID, "rcpt", m.Env.Rcpts[i].Addr)
				m.state[i] = stateDone
				records = append(records, fmt.Sprintf("D %d\n", i))
				continue
			}
		}
		res := q.o.Deliverer.Deliver(q.ctx, m, i)
		switch res.Outcome {
		case Delivered:
			m.state[i] = stateDone
			records = append(records, fmt.Sprintf("D %d\n", i))
			q.log.Debug("delivered", "id", m.ID, "rcpt", m.Env.Rcpts[i].Addr)
		case Failed:
			m.state[i] = stateFailed
			reason := "failed"
			if res.Err != nil {
				reason = strings.Map(func(r rune) rune {
					if r < 0x20 || r == 0x7f {
						return ' '
					}
					return r
				}, res.Err.Error())
			}
			records = append(records, fmt.Sprintf("F %d %s\n", i, reason))
			q.log.Warn("delivery failed", "id", m.ID, "rcpt", m.Env.Rcpts[i].Addr, "err", res.Err)
		case Hold:
			m.state[i] = stateHeld
			hold = true
		default:
			retry, lastErr = true, res.Err
			q.log.Info("delivery deferred", "id", m.ID, "rcpt", m.Env.Rcpts[i].Addr, "err", res.Err)
		}
	}
	finished := true
	for _, st := range m.state {
		if st == statePending || st == stateHeld {
			finished = false
		}
	}
	if finished {
		// Every delivery is durable (the Deliverer fsynced it); the records need not be.
		if err := os.Remove(m.path); err != nil {
			q.log.Error("queue: removing a delivered message", "id", m.ID, "err", err)
		}
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
