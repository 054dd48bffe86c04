// Package queue is the durable mail queue: every accepted message is written to one file in
// the spool directory, fsynced, and only then acknowledged; delivery workers take messages
// from memory (or, after a restart, from the files) and hand each recipient to a Deliverer.
//
// # Files
//
// The spool directory holds one file per message, named by its queue id (base-36 nanoseconds,
// unique per spool). A file is:
//
//	header   "COURIERQ1 S EEEEEEEEEEEEEEEE CCCCCCCCCCCCCCCC KKKKKKKK\n" (55 octets): state S
//	         ('-' while being written, 'C' committed), envelope length E and content length
//	         C in hex, CRC-32C K of envelope and content
//	envelope JSON of Envelope, one line
//	content  the message as stored in a Maildir (lines ending in LF), Received: first
//	records  appended lines "D n" (recipient n delivered), "F n reason" (failed for good),
//	         "W" (the delay notice went) and "X reason" (cancelled: fail what is pending)
//
// Empty files are pre-created spares ("pool"): their directory entries are made durable in
// batches, so accepting a message costs one fdatasync of a file whose name is already on
// disk. The file of a finished message becomes a spare again: it is renamed to a fresh id
// and rewritten by the next message (truncated to that message's length at commit), so
// the spool does not free and allocate an inode and its blocks for every message (on ext4
// without a journal, allocation then scans past every recently freed inode, and with the
// discard mount option every freed block is a synchronous discard). A recycled spare still
// holds its old content until rewritten; the envelope names its queue id ("qid"), so a file
// whose envelope names another id is a spare, never a message, whatever a crash leaves. A message that has to use a fresh file waits for the group commit instead: one
// goroutine fsyncs the directory for every file created since its last fsync (natural
// batching: while one fsync runs, the next batch gathers).
//
// # Invariants (what a crash at any instant can and cannot do)
//
//   - Acknowledged means durable: Commit returns only after the file's data and its
//     directory entry are on disk; the SMTP server answers 250 only after Commit. A file
//     found at start-up with state '-', a short length or a bad checksum was never
//     acknowledged and is removed.
//   - Nothing finished is delivered twice: each recipient's delivery carries a token
//     ("q<id>r<n>", Message.Token) that the Deliverer puts into what it writes (the Maildir
//     file name). "D n" records are an optimisation, written without fsync; after a restart
//     every recipient without a record is first asked of Deliverer.AlreadyDelivered, which
//     looks for the token. A queue file is removed only after all its recipients are
//     delivered (their Maildir files fsynced) or failed, and the removal is made durable by
//     the group commit, so the window in which a recovered message could meet a Maildir
//     file already moved away by a mail reader is a few milliseconds after the removal.
//   - CommitThen's callback runs after the message is durable and before any worker can
//     see it, so a source removed there (a sendmail pickup file) is gone before the
//     message can be delivered; Recovered lists what Open found, for matching leftovers.
//   - Mail for recipients the Deliverer holds (Hold) stays in the queue and never expires;
//     every other recipient fails for good once retried for QueueTime, and its sender is
//     told (Notifier).
//
// One process owns a spool at a time (flock on ".lock"). Scan reads a spool read-only
// without the lock (mailq while the server runs). Workers own a message while they
// deliver it; the Queue's mutex guards only the lists.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Envelope is what SMTP (or sendmail) says about a message besides its content.
type Envelope struct {
	From     string      `json:"from"` // reverse-path; "" is the null sender <>
	Rcpts    []Recipient `json:"rcpts"`
	Body     string      `json:"body,omitempty"`  // BODY=: 7BIT, 8BITMIME
	SMTPUTF8 bool        `json:"utf8,omitempty"`  // SMTPUTF8 was given
	Ret      string      `json:"ret,omitempty"`   // DSN RET=
	EnvID    string      `json:"envid,omitempty"` // DSN ENVID=
	AuthUser string      `json:"auth,omitempty"`  // the AUTH identity of the session
	RemoteIP string      `json:"ip,omitempty"`
	Helo     string      `json:"helo,omitempty"`
	Protocol string      `json:"proto,omitempty"` // ESMTP, ESMTPSA, …
	Time     time.Time   `json:"time"`            // when it was received
	// Pickup names the pickup file (sendmail) the message was made from, so that a file
	// whose removal a crash undid is recognised at the next start and not queued twice.
	Pickup string `json:"pickup,omitempty"`
	// QueueID is the id the message was queued under (its file name when written). Set by
	// Create; a file whose envelope names another id is a recycled spare with stale content.
	QueueID string `json:"qid,omitempty"`
	// RequireTLS says the sender asked for REQUIRETLS (RFC 8689): the message may only be
	// relayed over verified TLS to peers that offer REQUIRETLS too.
	RequireTLS bool `json:"requiretls,omitempty"`
	// RelayClient says the message came by SMTP from a client with relaying privileges
	// (AUTH, or a RELAYCLIENT address): Courier's "authsmtp" message source.
	RelayClient bool `json:"relay,omitempty"`
	// DSNSource, on a delivery status notification, is the message source of the message
	// it reports on, as ESMTP_BLOCKBACKSCATTER names them ("smtp", "authsmtp"); "" when
	// that message was made here (sendmail, a forward).
	DSNSource string `json:"dsnsrc,omitempty"`
}

// Recipient is one delivery of a message.
type Recipient struct {
	Addr  string `json:"addr"`            // the address delivered to, after aliases
	Orig  string `json:"orig,omitempty"`  // the RCPT TO address, when it differs
	Local bool   `json:"local,omitempty"` // delivered here (else held for outbound)
	// Account is the account name to look up for a local delivery ("demo@example.test"
	// for a hosted domain, the bare user name for a domain in locals).
	Account string `json:"acct,omitempty"`
	Notify  string `json:"notify,omitempty"` // DSN NOTIFY=, comma-separated
	ORCPT   string `json:"orcpt,omitempty"`  // DSN ORCPT=
	// Refused, when set, is why the recipient was refused before the message was queued
	// (a sendmail recipient nobody here receives mail for): it fails at once with this
	// reason, so the sender hears of it through a notification instead of never.
	Refused string `json:"refused,omitempty"`
	// Ext is the address extension of a local recipient: "foo-bar" for user-foo-bar, whose
	// instructions are in the account's .courier-foo-bar (or a -default file); for an
	// AliasDir recipient the whole local part.
	Ext string `json:"ext,omitempty"`
	// AliasDir says the instructions are in the configuration's aliasdir/ (a local address
	// that is no account), not in an account's home.
	AliasDir bool `json:"aliasdir,omitempty"`
	// Instr is the delivery instruction of a program or mailbox alias ("| command",
	// "/var/shared/info"), carried out as the mail system's user.
	Instr string `json:"instr,omitempty"`
}

// SameDelivery reports whether r and o deliver the same copy to the same place (a
// recipient named twice, or reached through two aliases, gets one copy).
func (r *Recipient) SameDelivery(o *Recipient) bool {
	return strings.EqualFold(r.Addr, o.Addr) && r.Local == o.Local && r.Instr == o.Instr &&
		r.AliasDir == o.AliasDir && strings.EqualFold(r.Ext, o.Ext)
}

// Wants reports whether the recipient asked to be told of kind ("SUCCESS", "FAILURE" or
// "DELAY"): NOTIFY=NEVER asks for nothing, no NOTIFY= for failures and delays (RFC 3461
// §4.1 leaves the default to the MTA; Courier and Postfix both send both).
func (r *Recipient) Wants(kind string) bool {
	if r.Notify == "" {
		return kind == "FAILURE" || kind == "DELAY"
	}
	for _, k := range strings.Split(r.Notify, ",") {
		if strings.EqualFold(strings.TrimSpace(k), kind) {
			return true
		}
	}
	return false
}

// Outcome is what a Deliverer did with one recipient.
type Outcome int

// Outcomes.
const (
	Delivered Outcome = iota // done; never to be tried again
	Retry                    // temporary failure; try again later
	Failed                   // permanent failure: the sender is notified (Notifier)
	Hold                     // not deliverable by this process (remote); keep queued
)

// Result is an Outcome with the reason.
type Result struct {
	Outcome Outcome
	Err     error
	// Relayed says a Delivered recipient was handed to another server, not delivered
	// here: a NOTIFY=SUCCESS notice then says "relayed" (RFC 3464), or nothing at all when
	// PeerDSN says the other server took the DSN request and will answer it itself
	// (RFC 3461 §5.2.2).
	Relayed bool
	PeerDSN bool
}

// Deliverer delivers one recipient of a message. It must be safe for concurrent use.
type Deliverer interface {
	// Deliver delivers recipient i of m; the delivery must carry m.Token(i) so that
	// AlreadyDelivered can find it after a crash.
	Deliver(ctx context.Context, m *Message, i int) Result
	// AlreadyDelivered reports whether recipient i of m was delivered before a restart.
	AlreadyDelivered(ctx context.Context, m *Message, i int) (bool, error)
}

// NoticeKind is what a Notice reports.
type NoticeKind int

// Notice kinds.
const (
	NoticeFailed    NoticeKind = iota // failed for good
	NoticeDelayed                     // still not delivered after WarnTime; tried again
	NoticeDelivered                   // delivered, and NOTIFY asked to hear of it
	NoticeRelayed                     // passed to a server that does not do DSNs, and NOTIFY asked
)

// Notice is the news of one recipient for the message's sender.
type Notice struct {
	Rcpt int // index into Envelope.Rcpts
	Kind NoticeKind
	// Err is why (failures and delays): the Deliverer's error, whose text begins with an
	// RFC 3463 status code ("5.1.1 no such account …") when it knows one.
	Err error
	At  time.Time // when the attempt was made
}

// Notifier tells senders what became of their messages (delivery status notifications).
// Notify must make the notification durable (queue it) before it returns nil: only then
// does the queue record the failures as final, so a crash between the two repeats a
// notification at worst and never loses one. It is called from delivery workers and must be
// safe for concurrent use. Notices are only ever asked for messages with a sender (not the
// null sender <>, so notifications never beget notifications) and for recipients whose
// NOTIFY asks for them.
type Notifier interface {
	Notify(ctx context.Context, m *Message, notices []Notice) error
}

// rcpt states.
const (
	statePending byte = iota
	stateDone
	stateFailed
	stateHeld
)

// Message is one queued message.
type Message struct {
	ID  string
	Env *Envelope

	path       string
	contentOff int64
	contentLen int64
	recovered  bool // found at start-up: check AlreadyDelivered first

	// owned by the worker processing the message
	state    []byte
	checked  []bool
	attempts int
	warned   bool // the delay notification was sent ("W" record)

	// guarded by Queue.mu
	scheduled bool // in the ready list, being processed, or waiting for a timer
	timer     *time.Timer
	lastErr   string
	cancel    string // cancelmsg's reason: the next pass fails every pending recipient
}

// Token is the delivery token of recipient i: unique to this message and recipient, made
// of letters and digits only so that it fits in a Maildir file name.
func (m *Message) Token(i int) string { return "q" + m.ID + "r" + strconv.Itoa(i) }

// Size is the length of the content.
func (m *Message) Size() int64 { return m.contentLen }

// Open returns the content.
func (m *Message) Open() (io.ReadCloser, error) {
	f, err := os.Open(m.path)
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", m.ID, err)
	}
	return &sectionCloser{io.NewSectionReader(f, m.contentOff, m.contentLen), f}, nil
}

type sectionCloser struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionCloser) Close() error { return s.f.Close() }

// Options configure a Queue.
type Options struct {
	Dir       string // the spool directory; created if missing
	Log       *slog.Logger
	Deliverer Deliverer
	Workers   int // delivery goroutines; default 16
	Pool      int // pre-created spare files; default 256
	// RetryDelays are the waits after the 1st, 2nd … temporary failure; the last repeats.
	// Default: Courier's retryalpha/beta/gamma schedule (5m 5m 5m 15m 5m 5m 30m …), simplified.
	RetryDelays []time.Duration
	// NoSync skips every fsync (benchmarks only: it gives up the guarantees above).
	NoSync bool
	// Notifier, when set, is told of failures, delays and requested successes.
	Notifier Notifier
	// QueueTime is how long a recipient that keeps failing temporarily (over quota, a
	// peer that answers 4xx) is retried before it fails for good with 4.4.7 (Courier's
	// queuetime; default one week). Held recipients (Hold) do not expire.
	QueueTime time.Duration
	// WarnTime is how long after its arrival a message still not delivered to some
	// recipient gets one delay notification (Courier's warntime; default 4 hours).
	WarnTime time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Queue is an open spool.
type Queue struct {
	o    Options
	log  *slog.Logger
	lock *os.File
	dirS *dirSyncer

	idMu   sync.Mutex
	lastID int64

	pool    chan *spare
	poolLow chan struct{}
	// recycledMu guards recycled: finished messages' files, renamed to fresh ids, waiting
	// for the directory fsync that makes those names durable before they join the pool
	recycledMu sync.Mutex
	recycled   []*spare
	ctx        context.Context
	cancel     context.CancelFunc
	bg         sync.WaitGroup
	closed     chan struct{}
	closeMu    sync.Once
	creating   sync.WaitGroup

	mu      sync.Mutex
	found   []*Envelope // what recover read, until Recovered takes it
	msgs    map[string]*Message
	ready   []*Message
	wake    chan struct{}
	closing bool
}

type spare struct {
	id string
	f  *os.File
	// recycled: the file holds a finished message's bytes, which the next one overwrites
	// and then cuts to its own length
	recycled bool
}

const (
	headerLen = 55
	magic     = "COURIERQ1 "
	lockName  = ".lock"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by Create after Close.
var ErrClosed = errors.New("queue: closed")

// Open opens (creating if needed) the spool, recovers the messages found in it, and starts
// the delivery workers.
func Open(o Options) (*Queue, error) {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Pool <= 0 {
		o.Pool = 256
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if len(o.RetryDelays) == 0 {
		m := time.Minute
		o.RetryDelays = []time.Duration{5 * m, 5 * m, 5 * m, 15 * m, 5 * m, 5 * m, 30 * m, 5 * m, 5 * m, 60 * m, 5 * m, 5 * m, 120 * m}
	}
	if o.QueueTime <= 0 {
		o.QueueTime = 7 * 24 * time.Hour
	}
	if o.WarnTime <= 0 {
		o.WarnTime = 4 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Deliverer == nil {
		return nil, errors.New("queue: no Deliverer")
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(o.Dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("queue: %s is in use by another process: %w", o.Dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		o: o, log: o.Log, lock: lock,
		dirS:    newDirSyncer(o.Dir, o.NoSync),
		pool:    make(chan *spare, o.Pool),
		poolLow: make(chan struct{}, 1),
		ctx:     ctx, cancel: cancel,
		closed: make(chan struct{}),
		msgs:   map[string]*Message{},
		wake:   make(chan struct{}, 1),
	}
	q.bg.Add(1)
	go func() { defer q.bg.Done(); q.dirS.run(q.closed) }()
	if err := q.recover(); err != nil {
		close(q.closed)
		q.bg.Wait()
		cancel()
		lock.Close()
		return nil, err
	}
	q.bg.Add(1)
	go func() { defer q.bg.Done(); q.refill() }()
	q.signalPool()
	for range o.Workers {
		q.bg.Add(1)
		go func() { defer q.bg.Done(); q.worker() }()
	}
	return q, nil
}

// Dir returns the spool directory.
func (q *Queue) Dir() string { return q.o.Dir }

// newID returns a fresh queue id.
func (q *Queue) newID() string {
	q.idMu.Lock()
	defer q.idMu.Unlock()
	n := time.Now().UnixNano()
	if n <= q.lastID {
		n = q.lastID + 1
	}
	q.lastID = n
	return strconv.FormatInt(n, 36)
}

// createFile makes a new empty message file with a fresh id.
func (q *Queue) createFile() (*spare, error) {
	for range 100 {
		id := q.newID()
		f, err := os.OpenFile(filepath.Join(q.o.Dir, id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("queue: create: %w", err)
		}
		return &spare{id: id, f: f}, nil
	}
	return nil, errors.New("queue: cannot find a free id")
}

func (q *Queue) signalPool() {
	select {
	case q.poolLow <- struct{}{}:
	default:
	}
}

// refill keeps the pool of spare files full: it creates what is missing, makes the names
// durable with one directory fsync, and only then offers them.
func (q *Queue) refill() {
	for {
		select {
		case <-q.closed:
			return
		case <-q.poolLow:
		}
		q.recycledMu.Lock()
		batch := q.recycled
		q.recycled = nil
		q.recycledMu.Unlock()
		for n := cap(q.pool) - len(q.pool) - len(batch); n > 0; n-- {
			s, err := q.createFile()
			if err != nil {
				q.log.Error("queue: creating spare files", "err", err)
				break
			}
			batch = append(batch, s)
		}
		if len(batch) == 0 {
			continue
		}
		if err := q.dirS.sync(); err != nil {
			q.log.Error("queue: fsync spool directory", "err", err)
			for _, s := range batch {
				s.f.Close()
				os.Remove(s.f.Name())
			}
			continue
		}
		for _, s := range batch {
			select {
			case q.pool <- s:
			default:
				s.f.Close() // stays on disk as an empty spare, adopted at the next start
			}
		}
	}
}

// dirSyncer is the group commit: sync requests that arrive while an fsync of the directory
// runs are all answered by the next one.
type dirSyncer struct {
	dir     string
	noSync  bool
	reqs    chan chan error
	stopped chan struct{} // closed when run has returned
}

func newDirSyncer(dir string, noSync bool) *dirSyncer {
	return &dirSyncer{dir: dir, noSync: noSync, reqs: make(chan chan error, 1024), stopped: make(chan struct{})}
}

func (s *dirSyncer) run(stop <-chan struct{}) {
	defer close(s.stopped)
	for {
		var batch []chan error
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-stop:
			// answer whatever is still waiting
			for {
				select {
				case r := <-s.reqs:
					err := s.fsync()
					if r != nil {
						r <- err
					}
				default:
					return
				}
			}
		}
	gather:
		for {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		err := s.fsync()
		for _, r := range batch {
			if r != nil {
				r <- err
			}
		}
	}
}

func (s *dirSyncer) fsync() error {
	if s.noSync {
		return nil
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("queue: fsync %s: %w", s.dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("queue: fsync %s: %w", s.dir, err)
	}
	return nil
}

// sync waits until an fsync of the directory that started after the call has finished.
func (s *dirSyncer) sync() error {
	c := make(chan error, 1)
	select {
	case s.reqs <- c:
	case <-s.stopped:
		return s.fsync()
	}
	select {
	case err := <-c:
		return err
	case <-s.stopped:
		return s.fsync()
	}
}

// syncLater asks for an fsync without waiting for it.
func (s *dirSyncer) syncLater() {
	select {
	case s.reqs <- nil:
	default:
	}
}

// Writer receives the content of one message.
type Writer struct {
	q        *Queue
	id       string
	f        *os.File
	env      *Envelope
	envLen   int64
	n        int64
	crc      uint32
	buf      []byte
	fresh    bool // the file's name is not yet known durable
	recycled bool // the file holds an older message's bytes past what this one writes
	flushed  bool // the buffer start (the header) has been written
	finished bool
	err      error
}

// Create starts a message. The envelope must be complete; content follows with Write.
func (q *Queue) Create(env *Envelope) (*Writer, error) {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return nil, ErrClosed
	}
	q.creating.Add(1)
	q.mu.Unlock()
	var s *spare
	fresh := false
	select {
	case s = <-q.pool:
		if len(q.pool) < cap(q.pool)*3/4 {
			q.signalPool()
		}
	default:
		var err error
		if s, err = q.createFile(); err != nil {
			q.creating.Done()
			return nil, err
		}
		fresh = true
		q.signalPool()
	}
	env.QueueID = s.id
	ej, err := json.Marshal(env)
	if err != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		q.creating.Done()
		return nil, fmt.Errorf("queue: envelope: %w", err)
	}
	ej = append(ej, '\n')
	w := &Writer{q: q, id: s.id, f: s.f, env: env, envLen: int64(len(ej)), fresh: fresh, recycled: s.recycled, buf: make([]byte, 0, 32<<10)}
	w.buf = append(w.buf, make([]byte, headerLen)...)
	w.buf = append(w.buf, ej...)
	w.crc = crc32.Update(0, crcTable, ej)
	return w, nil
}

// ID returns the queue id the message will have.
func (w *Writer) ID() string { return w.id }

// Write appends content.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.crc = crc32.Update(w.crc, crcTable, p)
	w.n += int64(len(p))
	if len(w.buf)+len(p) > cap(w.buf) {
		if err := w.flush(); err != nil {
			return 0, err
		}
		if len(p) > cap(w.buf) {
			if _, err := w.f.Write(p); err != nil {
				w.err = fmt.Errorf("queue: write %s: %w", w.id, err)
				return 0, w.err
			}
			return len(p), nil
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.f.Write(w.buf); err != nil {
		w.err = fmt.Errorf("queue: write %s: %w", w.id, err)
		return w.err
	}
	w.flushed = true
	w.buf = w.buf[:0]
	return nil
}

func header(state byte, envLen, contentLen int64, crc uint32) []byte {
	h := fmt.Appendf(nil, "%s%c %016x %016x %08x\n", magic, state, envLen, contentLen, crc)
	if len(h) != headerLen {
		panic("queue: header length")
	}
	return h
}

// Commit makes the message durable and queues it for delivery. Only after Commit returns
// nil may the message be acknowledged.
func (w *Writer) Commit() error { return w.CommitThen(nil) }

// CommitThen is Commit, running then (when not nil) after the message is durable and
// before any delivery of it can start. The pickup ingester removes the message's source
// file there: whatever a crash leaves, the source never outlives a delivered message.
func (w *Writer) CommitThen(then func()) error {
	if w.finished {
		return errors.New("queue: message already finished")
	}
	w.finished = true
	defer w.q.creating.Done()
	fail := func(err error) error {
		w.f.Close()
		os.Remove(w.f.Name())
		return err
	}
	if w.err != nil {
		return fail(w.err)
	}
	h := header('C', w.envLen, w.n, w.crc)
	if !w.flushed {
		// the header is still in the buffer: a small message goes out in one write
		copy(w.buf, h)
		h = nil
	}
	if err := w.flush(); err != nil {
		return fail(err)
	}
	if h != nil {
		if _, err := w.f.WriteAt(h, 0); err != nil {
			return fail(fmt.Errorf("queue: write %s: %w", w.id, err))
		}
	}
	if w.recycled {
		// the older message's tail would read as this one's delivery records
		if err := w.f.Truncate(headerLen + w.envLen + w.n); err != nil {
			return fail(fmt.Errorf("queue: truncate %s: %w", w.id, err))
		}
	}
	if !w.q.o.NoSync {
		if err := syscall.Fdatasync(int(w.f.Fd())); err != nil {
			return fail(fmt.Errorf("queue: fdatasync %s: %w", w.id, err))
		}
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("queue: close %s: %w", w.id, err)
	}
	if w.fresh {
		if err := w.q.dirS.sync(); err != nil {
			os.Remove(w.f.Name())
			return err
		}
	}
	m := &Message{ID: w.id, Env: w.env, path: w.f.Name(), contentOff: headerLen + w.envLen, contentLen: w.n,
		state: make([]byte, len(w.env.Rcpts))}
	if then != nil {
		then()
	}
	w.q.add(m, true)
	return nil
}

// Abort drops the message; nothing of it stays.
func (w *Writer) Abort() {
	if w.finished {
		return
	}
	w.finished = true
	w.f.Close()
	os.Remove(w.f.Name())
	w.q.creating.Done()
}

// add registers a message and, if ready, schedules it.
func (q *Queue) add(m *Message, ready bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs[m.ID] = m
	if ready {
		m.scheduled = true
		q.ready = append(q.ready, m)
		q.signal()
	}
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Len returns the number of messages in the queue (being delivered, waiting, or held).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// Info describes one queued message (for mailq).
type Info struct {
	ID      string
	From    string
	Rcpts   []Recipient
	Size    int64
	Time    time.Time
	LastErr string
}

// List returns the messages in the queue.
func (q *Queue) List() []Info {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Info, 0, len(q.msgs))
	for _, m := range q.msgs {
		out = append(out, Info{ID: m.ID, From: m.Env.From, Rcpts: m.Env.Rcpts, Size: m.contentLen, Time: m.Env.Time, LastErr: m.lastErr})
	}
	return out
}

// Recovered returns the envelopes of the messages Open found in the spool, as they were
// then: a message delivered since is still listed, which is what a caller matching them
// against its own leftovers needs (workers start inside Open). The first call takes the
// list; later calls return nil.
func (q *Queue) Recovered() []*Envelope {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.found
	q.found = nil
	return f
}

// Flush retries now every message that is waiting or held.
func (q *Queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs {
		if m.timer != nil && m.timer.Stop() {
			m.timer = nil
			m.scheduled = false
		}
		if !m.scheduled {
			m.scheduled = true
			q.ready = append(q.ready, m)
		}
	}
	q.signal()
}

// Close stops accepting messages, waits for the deliveries in progress (until ctx ends;
// they are cancelled then), and releases the spool. Messages left are delivered by the
// next Open.
func (q *Queue) Close(ctx context.Context) error {
	q.closeMu.Do(func() {
		q.mu.Lock()
		q.closing = true
		for _, m := range q.msgs {
			if m.timer != nil {
				m.timer.Stop()
			}
		}
		q.mu.Unlock()
		done := make(chan struct{})
		go func() { q.creating.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
		// stop the workers: they finish their current message first unless ctx ends
		stop := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				q.cancel()
			case <-stop:
			}
		}()
		close(q.closed)
		q.signal()
		q.bg.Wait()
		close(stop)
		q.cancel()
		for {
			select {
			case s := <-q.pool:
				s.f.Close()
				continue
			default:
			}
			break
		}
		q.lock.Close()
	})
	return nil
}
