package queue

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Errors of Cancel.
var (
	ErrNoSuchMessage = errors.New("queue: no such message")
	ErrNotYours      = errors.New("queue: the message is not yours")
)

// Cancel marks every pending recipient of message id as failed with reason (cancelmsg):
// at its next pass, which Cancel schedules at once, the recipients fail without another
// delivery attempt and the sender is notified as for any failure. A pass already under
// way finishes first, so recipients it delivers stay delivered (Courier's cancelmsg also
// loses against a delivery in progress). allowed decides from the envelope whether the
// caller may cancel the message. The mark is recorded in the message file ("X reason"),
// so a restart does not forget it.
func (q *Queue) Cancel(id, reason string, allowed func(*Envelope) bool) error {
	reason = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(reason))
	if reason == "" {
		reason = "Message cancelled."
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs[id]
	if m == nil {
		return fmt.Errorf("%w: %s", ErrNoSuchMessage, id)
	}
	if allowed != nil && !allowed(m.Env) {
		return fmt.Errorf("%w: %s", ErrNotYours, id)
	}
	f, err := os.OpenFile(m.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("queue: cancel %s: %w", id, err)
	}
	_, err = f.WriteString("X " + reason + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("queue: cancel %s: %w", id, err)
	}
	m.cancel = reason
	if m.timer != nil && m.timer.Stop() {
		m.timer = nil
		m.scheduled = false
	}
	if !m.scheduled {
		m.scheduled = true
		q.ready = append(q.ready, m)
		q.signal()
	}
	return nil
}

// Get returns what the queue knows of message id, and whether it is there.
func (q *Queue) Get(id string) (Info, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs[id]
	if m == nil {
		return Info{}, false
	}
	return Info{ID: m.ID, From: m.Env.From, Rcpts: m.Env.Rcpts, Size: m.contentLen, Time: m.Env.Time, LastErr: m.lastErr}, true
}

// FlushOne retries message id now (courier flush QID).
func (q *Queue) FlushOne(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs[id]
	if m == nil {
		return fmt.Errorf("%w: %s", ErrNoSuchMessage, id)
	}
	if m.timer != nil && m.timer.Stop() {
		m.timer = nil
		m.scheduled = false
	}
	if !m.scheduled {
		m.scheduled = true
		q.ready = append(q.ready, m)
		q.signal()
	}
	return nil
}
