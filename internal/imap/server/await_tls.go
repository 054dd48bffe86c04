package server

import (
	"errors"
	"os"
	"time"
)

// A TLS session waits for its client as a plain one does (awaitInput): holding no buffer and
// reading nothing, on the TCP socket under the TLS connection, so that an idle TLS
// connection costs its tls.Conn and one parked goroutine, no more.
//
// But crypto/tls reads ahead. Besides the plaintext of a record that did not fit in the
// session's reader, it may hold records read from the socket together with the last one,
// whole or in part (a client that pipelines DONE and its next command as two records sent
// at once, say). An empty socket then does not mean that no input is there, and waiting on it
// would hang such a session. tls.Conn does not tell what it holds, so tlsHolds asks it: a read
// with the deadline in the past takes what the connection holds (plaintext, or a whole record,
// which it decrypts) and fails at once with a timeout where it would have to read the socket,
// which it then does not touch (the runtime checks the deadline before any system call). A
// read that times out leaves a tls.Conn as it was (a timeout is a temporary error to it, and
// the bytes of a record it has read so far stay in it), unlike a write that times out.

// past is a read deadline that has passed.
var past = time.Unix(1, 0)

// awaitTLSInput is awaitInput over TLS: deadline is the read deadline the caller set.
func (ss *session) awaitTLSInput(deadline time.Time) error {
	if ss.tlsHolds(deadline) {
		return nil
	}
	ss.putBufs()
	err := ss.raw.Read(ss.peek)
	ss.getBufs()
	if err != nil {
		return err
	}
	// A record, or part of one, has arrived: read it, under the caller's deadline, which
	// IDLE's wakes may still move (a read that times out loses nothing over TLS, see above).
	// A record without application data (a key update, say) makes this read wait for the
	// next one, holding the buffers meanwhile.
	_, err = ss.br.Peek(1)
	return err
}

// tlsHolds reports whether the TLS connection holds input already, or an error (the end of
// input, a broken record) for the caller's read to meet: it reads into the session's reader
// what the connection holds, without reading the socket, and puts deadline back. While it
// runs, IDLE's wakes, which move the deadline to now, wait; one that came before it is kept.
func (ss *session) tlsHolds(deadline time.Time) bool {
	if iw := ss.idling; iw != nil {
		iw.mu.Lock()
		defer iw.mu.Unlock()
		if iw.woken {
			deadline = time.Now()
		}
	}
	_ = ss.conn.SetReadDeadline(past)
	_, err := ss.br.Peek(1)
	_ = ss.conn.SetReadDeadline(deadline)
	if ss.ctx.Err() != nil {
		// The shutdown's move of the deadline may have come while it was in the past.
		_ = ss.conn.SetReadDeadline(time.Now())
	}
	return err == nil || !errors.Is(err, os.ErrDeadlineExceeded)
}
