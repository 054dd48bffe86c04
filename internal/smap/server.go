// Package smap is Courier's SMAP1 ("Simple Mail Access Protocol") server: the line-based
// protocol Courier-IMAP's imapd speaks instead of IMAP when PROTOCOL=SMAP1 (Cone is its
// client). It answers as Courier 5 does, byte for byte: "+OK text" and "-ERR text" replies
// ending each command, "* …" untagged lines before them, "{.N}"/"{n/N}" framed contents,
// "\n" line ends. Folders are SMAP paths (see names.go), message numbers are positions in
// the open folder's view, and a message's SMAP UID is a string.
//
// A session is one goroutine. It reads one command line at a time (at most MaxLine bytes
// count; the rest of a longer line is dropped), runs it and flushes its output before it
// waits for the next line. The open folder is a store.Mailbox view; changes others make
// are reported (EXPUNGE, EXISTS, FETCH FLAGS) only by the commands that report them in
// Courier (NOOP, EXPUNGE, MOVE, IDLE), so message numbers change only there. The session
// holds no lock while it writes to the client. An ADD upload is streamed to the store as it
// arrives, never held whole, and APPENDLIMIT bounds what is stored. SOPEN keeps Courier's
// snapshots (courierimapsnapshots/, see snapshot.go); a quiet NOOP after SOPEN saves one.
//
// Switching to SMAP on the IMAP port (Courier's imaplogin/imapd): the IMAP greeting and
// CAPABILITY list "SMAP1" when SMAP_CAPABILITY is set. A client that wants SMAP sends its
// pre-login IMAP commands with the tag "\SMAP1" ("\SMAP1 LOGIN user pass",
// "\SMAP1 STARTTLS", "\SMAP1 AUTHENTICATE CRAM-MD5", "\SMAP1 CAPABILITY"); with that tag the
// server answers "+OK …"/"-ERR …" instead of "tag OK"/"tag NO", and a successful login
// starts this session (Serve), whose first line "+OK SMAP1 LOGIN Ok." is the answer to the
// LOGIN. Without SMAP_CAPABILITY the "\SMAP1" tag is refused like any bad command.
package smap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"courier/internal/store"
	"courier/internal/store/acl"
)

// ACLStore reads and writes folder ACLs by directory name ("" for INBOX); *acl.Store is
// one.
type ACLStore interface {
	Read(dirName string) (acl.ACL, error)
	Write(dirName string, a acl.ACL) error
}

// Config is what a session needs besides the store.
type Config struct {
	// User is the login name (Courier's AUTHENTICATED), used for ACL identifiers.
	User string
	// Groups are the account's groups (authlib's group= option), for ACL identifiers.
	Groups []string
	// ACL stores folder ACLs; nil means every folder has Courier's default ACL (the owner
	// may do everything) and SETACL/DELETEACL fail.
	ACL ACLStore
	// Env holds the IMAP_* settings in force: IMAP_KEYWORDS (keywords on when set and not "0", as with Courier),
	// IMAP_ENHANCEDIDLE (report changes during IDLE at once), IMAP_IDLE_TIMEOUT (seconds
	// between checks during plain IDLE, default 60), APPENDLIMIT (the largest message ADD
	// stores, in bytes; default 64 MiB, as IMAP APPEND).
	Env map[string]string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Log receives session events; nil discards them.
	Log *slog.Logger
	// Sendmail sends a message added with MAILFROM/RCPTTO (ADD's send-and-save). nil means
	// sending is not available and such an ADD fails.
	Sendmail func(ctx context.Context, from string, rcpts []string, notify string, msg io.Reader) error
}

// session is one SMAP session.
type session struct {
	ctx context.Context
	cfg Config
	st  store.Store
	r   *bufio.Reader
	w   *bufio.Writer
	log *slog.Logger

	keywords bool

	mb     store.Mailbox   // the open folder, nil when none
	mbName string          // its IMAP name
	msgs   []store.Message // the view as the client knows it (message n is msgs[n-1])
	rights string          // the user's rights on the open folder
	snap   snapshots       // SOPEN snapshots of the open folder (snapshot.go)

	add         addState
	appendLimit int64 // APPENDLIMIT: the largest message ADD stores
	err         error // first write error
}

// errQuit ends a session after LOGOUT.
var errQuit = errors.New("smap: logout")

// DefaultAppendLimit is the largest message ADD stores when APPENDLIMIT is not set: the
// default of IMAP APPEND, so both protocols on one account take the same messages.
const DefaultAppendLimit = 64 << 20

// Serve runs one SMAP session until LOGOUT or end of input (then it returns nil silently,
// like Courier). The caller owns st.
//
// out may be a *bufio.Writer: Serve then writes into it directly, and each flush reaches
// the writer below it. Any other writer gets a buffer of Serve's own.
//
// Serve sets no deadlines: a caller on a network connection enforces its idle limit
// through in (the IMAP server pushes the read deadline 30 minutes ahead of every read, as
// for a logged-in IMAP session). When a read times out, Serve says
// "* BYE Disconnected for inactivity." and returns the error; when it times out because
// ctx was cancelled (the server stopping), Serve says goodbye and returns nil.
func Serve(ctx context.Context, in *bufio.Reader, out io.Writer, st store.Store, cfg Config) error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// A buffer wrapped around the caller's buffer would make our flushes stop in the
	// caller's, where nothing flushes them until the session ends.
	w, ok := out.(*bufio.Writer)
	if !ok {
		w = bufio.NewWriterSize(out, 16<<10)
	}
	s := &session{ctx: ctx, cfg: cfg, st: st, r: in, w: w, log: cfg.Log}
	s.keywords = cfg.Env["IMAP_KEYWORDS"] != "" && cfg.Env["IMAP_KEYWORDS"] != "0"
	s.appendLimit = DefaultAppendLimit
	if n, err := strconv.ParseInt(strings.TrimSpace(cfg.Env["APPENDLIMIT"]), 10, 64); err == nil && n > 0 {
		s.appendLimit = n
	}
	defer s.closeFolder()
	s.writes("+OK SMAP1 LOGIN Ok.\n")
	for {
		if err := s.flush(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return s.readFailed(err)
		}
		if err := s.command(line); err != nil {
			if errors.Is(err, errQuit) {
				return s.flush()
			}
			if errors.Is(err, io.EOF) {
				_ = s.flush()
				return nil
			}
			return s.readFailed(err)
		}
		if s.err != nil {
			return s.err
		}
	}
}

// readFailed ends the session after the client's input failed. A read that timed out is
// the caller's idle limit, or the server stopping (it cuts reads short): the client is
// told which, as an IMAP client is.
func (s *session) readFailed(err error) error {
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() {
		return err
	}
	if s.ctx.Err() != nil {
		s.writes("* BYE Courier-SMAP server shutting down\n")
		_ = s.flush()
		return nil // a shutdown, not a failure
	}
	s.writes("* BYE Disconnected for inactivity.\n")
	_ = s.flush()
	return err
}

// readLine reads one command line without its end. An overlong line is cut to MaxLine
// bytes and the rest dropped. At the end of input an unterminated last line still counts.
func (s *session) readLine() (string, error) {
	var b []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(b) < MaxLine+1 {
			n := min(len(chunk), MaxLine+1-len(b))
			b = append(b, chunk[:n]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) > 0 {
				return cutLine(strings.TrimSuffix(string(b), "\n")), nil
			}
			return "", err
		}
		return cutLine(strings.TrimSuffix(string(b), "\n")), nil
	}
}

// command runs one command line. A panic in a command is a bug: it is logged and the
// client gets an error instead of a dead server.
func (s *session) command(line string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("smap: panic in command", "panic", p)
			s.writes("-ERR Internal error.\n")
			err = nil
		}
	}()
	w := &words{s: line}
	verb := upper(w.next())
	if verb == "ADD" {
		return s.cmdAdd(w)
	}
	s.add.reset()
	switch verb {
	case "LOGOUT":
		s.writes("* BYE Courier-SMAP server shutting down\n+OK LOGOUT completed\n")
		return errQuit
	case "RSET":
		s.writes("+OK Reset\n")
	case "GETACL", "ACL":
		s.cmdGetACL(verb, w)
	case "SETACL", "DELETEACL":
		s.cmdSetACL(verb, w)
	case "LIST":
		s.cmdList(w)
	case "STATUS":
		s.cmdStatus(w)
	case "CREATE":
		s.cmdCreate(w)
	case "MKDIR":
		s.cmdMkdir(w, "c", "+OK Folder created\n")
	case "RMDIR":
		s.cmdMkdir(w, "x", "+OK Folder deleted\n")
	case "DELETE":
		s.cmdDelete(w)
	case "RENAME":
		s.cmdRename(w)
	case "OPEN", "SOPEN":
		s.cmdOpen(verb, w)
	case "CLOSE":
		s.closeFolder()
		s.writes("+OK Folder closed\n")
	case "NOOP":
		// Only a real NOOP saves a snapshot, and, as in Courier, only one that found the
		// folder quiet: a NOOP that reports changes leaves it to the next.
		if !s.noop() {
			s.saveSnapshot()
		}
		s.writes("+OK Folder updated\n")
	case "IDLE":
		return s.cmdIdle()
	default:
		if s.mb == nil {
			// Courier: every other command needs an open folder.
			s.writes("-ERR Syntax error.\n")
			return nil
		}
		switch verb {
		case "EXPUNGE":
			s.cmdExpunge(w)
		case "STORE":
			s.cmdStore(w)
		case "FETCH":
			s.cmdFetch(w)
		case "COPY", "MOVE":
			s.cmdCopy(verb == "MOVE", w)
		case "SEARCH":
			s.cmdSearch(w)
		default:
			s.writes("-ERR Syntax error.\n")
		}
	}
	return nil
}

// writes queues output; the first write error is kept and ends the session.
func (s *session) writes(str string) {
	if s.err != nil {
		return
	}
	if _, err := s.w.WriteString(str); err != nil {
		s.err = fmt.Errorf("smap: write: %w", err)
	}
}

func (s *session) write(b []byte) {
	if s.err != nil {
		return
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("smap: write: %w", err)
	}
}

func (s *session) flush() error {
	if s.err != nil {
		return s.err
	}
	if err := s.w.Flush(); err != nil {
		s.err = fmt.Errorf("smap: write: %w", err)
	}
	return s.err
}

// errText is the strerror text Courier prints for a failure.
func errText(err error) string {
	switch {
	case errors.Is(err, errSyntax), errors.Is(err, store.ErrInvalidName):
		return "Invalid argument"
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNoMessage):
		return "No such file or directory"
	case errors.Is(err, store.ErrExists):
		return "File exists"
	case errors.Is(err, store.ErrOverQuota):
		return "Disk quota exceeded"
	case errors.Is(err, store.ErrNotAllowed), errors.Is(err, errDenied):
		return "Operation not permitted"
	default:
		return "Input/output error"
	}
}

// errDenied is a refusal for lack of ACL rights (EPERM).
var errDenied = errors.New("smap: permission denied")

func (s *session) accessDenied(right string) {
	s.writes(`-ERR Access denied: ACL "` + right + "\" is required\n")
}

// ids returns the ACL identifiers of the session's user on the account's own folders.
func (s *session) ids() []string {
	return acl.Identifiers(s.cfg.User, s.cfg.Groups, true)
}

// readACL returns a folder's ACL (Courier's default when no ACL store is configured).
func (s *session) readACL(name string) (acl.ACL, error) {
	if s.cfg.ACL == nil {
		return acl.Default(), nil
	}
	a, err := s.cfg.ACL.Read(dirOf(name))
	if err != nil {
		return nil, fmt.Errorf("smap: read ACL of %q: %w", name, err)
	}
	return a, nil
}

// rightsOf returns the user's rights on a folder (or hierarchy node).
func (s *session) rightsOf(name string) (string, error) {
	a, err := s.readACL(name)
	if err != nil {
		return "", err
	}
	return a.Compute(s.ids()...), nil
}

// filterRights keeps the letters of want that rights has (Courier's rights_buf).
func filterRights(rights, want string) string {
	var b strings.Builder
	for _, c := range want {
		if strings.ContainsRune(rights, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// folder reads a folder path from w and maps it to an IMAP name.
func (s *session) folder(w *words) (string, error) {
	p, err := w.path()
	if err != nil {
		return "", err
	}
	return imapName(p)
}

// uidString is a message's SMAP UID. Courier uses the maildir file name without its flags;
// a Mailbox that can name its files (maildirstore) implements Keyer, others get
// "<uidvalidity>.<uid>", unique and stable as long as the UIDVALIDITY is.
func uidString(mb store.Mailbox, uid store.UID) string {
	if k, ok := mb.(Keyer); ok {
		if key, err := k.MessageKey(uid); err == nil {
			return key
		}
	}
	return strconv.FormatUint(uint64(mb.Status().UIDValidity), 10) + "." + strconv.FormatUint(uint64(uid), 10)
}

// newUIDStrings returns the SMAP UIDs of messages just stored into dst (by ADD, COPY or
// MOVE), for "* ADD "UID=…"" and "* COPY n "NEWUID=…"". They must be the UIDs a later FETCH
// shows, as in Courier, whose ADD and COPY print the new file's name that FETCH prints too.
// A store shows what was stored through a view only at the view's next Sync, and until then
// a Keyer cannot name the new files, so dst (a view opened for this command alone) is
// brought up to date first.
func (s *session) newUIDStrings(dst store.Mailbox, uids []store.UID) []string {
	if k, ok := dst.(Keyer); ok && len(uids) > 0 {
		if _, err := k.MessageKey(uids[len(uids)-1]); err != nil {
			if _, err := dst.Sync(); err != nil {
				s.log.Warn("smap: sync after storing", "folder", dst.Name(), "err", err)
			}
		}
	}
	out := make([]string, len(uids))
	for i, u := range uids {
		out[i] = uidString(dst, u)
	}
	return out
}

// Keyer is implemented by a Mailbox that has a stable string name for each message, such as
// a maildir file name without its ":2,…" flags: SMAP shows it as the message's UID.
type Keyer interface {
	MessageKey(uid store.UID) (string, error)
}
