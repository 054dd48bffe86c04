package pop3

import (
	"context"
	"errors"
	"io"
)

// ErrGone is wrapped by Maildrop.Open when the message file vanished during the session
// (another client deleted it).
var ErrGone = errors.New("pop3: message is gone")

// Message is one message of a maildrop as a session sees it.
type Message struct {
	UID  string // the UIDL value, unique and stable across sessions (RFC 1939 §7)
	Size int64  // the size as sent: every LF counts as CRLF (RFC 1939 §5 LIST)
	UTF8 bool   // the headers carry 8-bit text (RFC 6856)
}

// Maildrop is the mail store as POP3 consumes it: a fixed list of messages taken when the
// session starts (RFC 1939 §5: numbers never change during a session), read access, and the
// two changes POP3 makes. Indexes are 0-based. A Maildrop belongs to one session.
type Maildrop interface {
	// Messages lists the messages in POP3 order; message number n is Messages()[n-1].
	Messages() []Message
	// Open returns the raw message (LF line ends as stored); the caller closes it.
	Open(i int) (io.ReadCloser, error)
	// Seen records that message i was downloaded (RETR), as the Maildir \Seen flag.
	Seen(i int) error
	// Delete removes the messages (UPDATE state, RFC 1939 §6). It returns how many it
	// removed; one that had vanished already is not an error.
	Delete(idx []int) (int, error)
	// Close releases the maildrop.
	Close() error
}

// Prefetcher is implemented by maildrops that can start reading a message before it is
// asked for. The session hints the next messages while a client downloads one after the
// other, so the disk works while the network sends. Prefetch must not block.
type Prefetcher interface {
	Prefetch(i int)
}

// Opener opens the maildrop at a Maildir path once a user is authenticated.
type Opener interface {
	OpenMaildrop(ctx context.Context, path string) (Maildrop, error)
}

// OpenerFunc adapts a function to Opener.
type OpenerFunc func(ctx context.Context, path string) (Maildrop, error)

// OpenMaildrop implements Opener.
func (f OpenerFunc) OpenMaildrop(ctx context.Context, path string) (Maildrop, error) {
	return f(ctx, path)
}
