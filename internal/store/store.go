// Package store defines the mail store every protocol server (IMAP, POP3, SMAP, webmail) and
// local delivery use, without knowing any protocol: a Store per account and a Mailbox per
// open folder. Backends (maildirstore over Maildir++) implement it; storetest holds the
// conformance suite they pass.
//
// Names: folder names are IMAP names on the wire form (modified UTF-7, "." separated,
// "INBOX" for the account's inbox, "INBOX.Sent" below it). A name that could leave the
// account's storage ("..", "/", NUL, control characters, overlong, invalid modified UTF-7) is
// refused with an error wrapping ErrInvalidName.
//
// Invariants every backend keeps:
//   - Durability: a call that changes mail (Append, SetFlags, Copy, Move, Expunge, folder
//     operations) returns only after the change is on disk and fsynced (file, then the
//     directory holding its name). A crash never loses a message that a call reported stored.
//   - UIDs: within one UIDVALIDITY a UID is given to one message only, never reused (not
//     after expunge, not across reopen or restart), and UIDs are handed out in increasing
//     order: a message that arrives later gets a larger UID.
//   - Views: a Mailbox is one session's view of a folder. Changes made through it appear in
//     its view at once (Messages reflects them when the call returns). Changes made by anyone
//     else (another Mailbox, another process, Courier's own programs) appear only when the
//     session calls Sync, so sequence numbers stay stable between Syncs as IMAP requires.
//     Updates signals that Sync has something to report.
//   - Concurrency: a Store may be used by several goroutines; a Mailbox belongs to one
//     session (one goroutine at a time), except Updates, which may be read from anywhere.
//     Backends never hold a lock while calling back into the caller.
//   - Quota: Append, Copy and Move into a folder whose quota would be exceeded fail with an
//     error wrapping ErrOverQuota and change nothing.
package store

import (
	"errors"
	"io"
	"time"
)

// Errors wrapped by backends so callers can choose the protocol response.
var (
	// ErrInvalidName: the folder name is not acceptable (see the package comment).
	ErrInvalidName = errors.New("invalid mailbox name")
	// ErrNotFound: the folder (or message) does not exist.
	ErrNotFound = errors.New("no such mailbox")
	// ErrExists: the folder to create or rename to exists already.
	ErrExists = errors.New("mailbox already exists")
	// ErrNotAllowed: the operation is refused on this folder (deleting or renaming INBOX).
	ErrNotAllowed = errors.New("operation not allowed on this mailbox")
	// ErrOverQuota: the operation would exceed the account's quota.
	ErrOverQuota = errors.New("mail quota exceeded")
	// ErrNoMessage: a UID given does not name a message of the view (expunged meanwhile).
	ErrNoMessage = errors.New("no such message")
	// ErrClosed: the Store or Mailbox was closed.
	ErrClosed = errors.New("mailbox closed")
	// ErrForeign: a Copy or Move target belongs to another Store or backend.
	ErrForeign = errors.New("mailbox of another store")
)

// UID is a message's unique identifier in its folder (RFC 3501 §2.3.1.1); never 0.
type UID uint32

// Flags is a set of system flags (RFC 3501 §2.3.2). \Recent is not one: see Message.Recent.
type Flags uint8

// The system flags.
const (
	Seen     Flags = 1 << iota // \Seen
	Answered                   // \Answered
	Flagged                    // \Flagged
	Deleted                    // \Deleted
	Draft                      // \Draft
)

// FlagOp says how SetFlags combines the given flags and keywords with a message's own.
type FlagOp int

// The operations of SetFlags (IMAP STORE FLAGS, +FLAGS, -FLAGS).
const (
	Replace FlagOp = iota // the message gets exactly the given flags and keywords
	Add                   // the given ones are added
	Remove                // the given ones are removed
)

// Message is what a view knows about one message. Keywords are in byte order; nil means none.
type Message struct {
	UID      UID
	Flags    Flags
	Keywords []string
	Size     int64  // bytes of the message as stored
	ModSeq   uint64 // RFC 7162 mod-sequence of its last change
	Recent   bool   // this view is the first to see it (IMAP \Recent)
}

// Status is a folder's state as a view sees it.
type Status struct {
	UIDValidity   uint32
	UIDNext       UID
	HighestModSeq uint64
	Messages      int
	Recent        int
	Unseen        int
}

// AppendOptions are the properties of a message being appended. The zero value appends an
// unflagged message dated now.
type AppendOptions struct {
	Flags    Flags
	Keywords []string
	Date     time.Time // internal date; zero means now
}

// Changes is what Sync reports: what others did since the view's previous Sync.
type Changes struct {
	New      []Message // arrived, in UID order
	Updated  []Message // flags, keywords changed (new state)
	Expunged []UID     // gone; already removed from the view
}

// Empty reports whether nothing changed.
func (c *Changes) Empty() bool {
	return len(c.New) == 0 && len(c.Updated) == 0 && len(c.Expunged) == 0
}

// Content is an open message: readable sequentially or at offsets. Close releases it.
type Content interface {
	io.ReaderAt
	io.ReadCloser
	Size() int64
}

// FolderInfo names one folder of a listing.
type FolderInfo struct {
	Name string // IMAP name, modified UTF-7
}

// Quota is an account's quota and usage; a zero limit means no limit of that kind.
type Quota struct {
	LimitBytes, LimitMessages int64
	Bytes, Messages           int64
}

// Store is one account's mail.
type Store interface {
	// Open returns a new view of the folder.
	Open(name string) (Mailbox, error)
	// List returns every folder, INBOX first, the others sorted by name.
	List() ([]FolderInfo, error)
	// Create makes a folder (only that one; parents are implied by the names).
	Create(name string) error
	// Rename renames a folder and every folder below it.
	Rename(from, to string) error
	// Delete removes a folder and its messages (not the folders below it).
	Delete(name string) error
	// Subscriptions returns the subscribed names, Subscribe and Unsubscribe change them.
	Subscriptions() ([]string, error)
	Subscribe(name string) error
	Unsubscribe(name string) error
	// Quota returns the account's quota and usage.
	Quota() (Quota, error)
	// Close releases the Store; open Mailboxes must be closed first.
	Close() error
}

// Mailbox is one session's view of one folder. See the package comment for when changes
// appear in it.
type Mailbox interface {
	// Name returns the folder's IMAP name.
	Name() string
	// Status returns the view's counters.
	Status() Status
	// Messages returns the view's messages in UID order (a copy the caller may keep).
	Messages() []Message
	// Message returns one message of the view.
	Message(uid UID) (Message, bool)
	// InternalDate returns a message's internal date (RFC 3501 §2.3.3).
	InternalDate(uid UID) (time.Time, error)
	// OpenMessage opens a message's content.
	OpenMessage(uid UID) (Content, error)
	// Append stores a message and returns its UID. It appears in this view at the next Sync.
	Append(r io.Reader, opt AppendOptions) (UID, error)
	// SetFlags changes flags and keywords of the given messages and returns their new state.
	// UIDs no longer in the folder are skipped.
	SetFlags(uids []UID, op FlagOp, flags Flags, keywords []string) ([]Message, error)
	// Copy copies messages to dst (a Mailbox of the same Store) with their flags and
	// keywords and returns the new UIDs, in the order of uids. They appear in dst's view
	// at its next Sync.
	Copy(uids []UID, dst Mailbox) ([]UID, error)
	// Move is Copy followed by the removal from this view (RFC 6851).
	Move(uids []UID, dst Mailbox) ([]UID, error)
	// Expunge removes the given messages, or with nil every message flagged \Deleted,
	// and returns the UIDs removed.
	Expunge(uids []UID) ([]UID, error)
	// Updates is signalled (coalescing: one pending signal at most) when others may have
	// changed the folder; the session then calls Sync.
	Updates() <-chan struct{}
	// Sync brings the view up to date and reports what others changed.
	Sync() (Changes, error)
	// Close releases the view (and saves the backend's caches).
	Close() error
}
