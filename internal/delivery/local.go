package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"courier/internal/auth"
	"courier/internal/queue"
	"courier/internal/store/maildir"
)

// LocalOptions configure local delivery.
type LocalOptions struct {
	Auth auth.Module // account lookups
	Log  *slog.Logger
	// MaxHops is the number of Received: headers above which a message is taken to loop
	// (default 100).
	MaxHops int
	// MaxHeader bounds the header block read for loop detection (default 1 MiB).
	MaxHeader int
	// NoSync skips the Maildir fsyncs (benchmarks only).
	NoSync bool
	// ConfigDir is the configuration directory: its aliasdir/ holds the instructions of
	// local addresses that are no account.
	ConfigDir string
	// DefaultDelivery is courierd's DEFAULTDELIVERY: the instructions for an account with
	// no .courier file and no MAILDIR of its own ("" or "./Maildir": HOME/Maildir).
	DefaultDelivery string
	// Forward sends recipient i's copy of m on to addrs (a forwarding .courier line) as a
	// new queued message with the same envelope sender; nil refuses forwarding.
	Forward func(ctx context.Context, m *queue.Message, i int, addrs []string) error
	// ProgramTimeout bounds a | or || command (Courier's localtimeout; default 15 min).
	ProgramTimeout time.Duration
}

// Local delivers queued recipients into their accounts' Maildirs (the account's MAILDIR,
// else HOME/Maildir), adding Return-Path: and Delivered-To: as Courier's courierlocal
// does, or as the account's .courier files say (dotcourier.go). Quota is respected: over
// quota is a temporary failure, retried later. Safe for concurrent use.
type Local struct {
	o LocalOptions

	mu     sync.Mutex
	tokens map[string]map[string]bool // maildir → delivery tokens found (recovery only)
}

// NewLocal returns a local deliverer.
func NewLocal(o LocalOptions) *Local {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxHops <= 0 {
		o.MaxHops = 100
	}
	if o.MaxHeader <= 0 {
		o.MaxHeader = 1 << 20
	}
	if o.ProgramTimeout <= 0 {
		o.ProgramTimeout = 15 * time.Minute
	}
	return &Local{o: o, tokens: map[string]map[string]bool{}}
}

var _ queue.Deliverer = (*Local)(nil)

// account looks up the account of a recipient.
func (l *Local) account(ctx context.Context, r queue.Recipient) (*auth.Account, queue.Result) {
	a, err := l.o.Auth.Lookup(ctx, "esmtp", r.Account)
	if err != nil {
		if auth.IsReject(err) {
			return nil, queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.1.1 no such account %q: %w", r.Account, err)}
		}
		return nil, queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 account lookup: %w", err)}
	}
	return a, queue.Result{}
}

// plan is how one recipient's mail is delivered: into the default Maildir (ins == nil
// and !discard) or by instructions.
type plan struct {
	acct    *auth.Account
	home    string
	md      string        // the default Maildir
	ins     []instruction // from a .courier file or DEFAULTDELIVERY
	discard bool          // a .courier file with no instructions
	def     string        // DEFAULT for a -default file
}

// planFor finds out how recipient r's mail is delivered (dot-courier(5)).
func (l *Local) planFor(ctx context.Context, r queue.Recipient) (*plan, queue.Result) {
	if r.Instr != "" {
		ins := parseInstructions([]byte(r.Instr))
		if len(ins) != 1 || ins[0].kind == instrForward || (ins[0].kind == instrMailbox && !filepath.IsAbs(ins[0].text)) {
			return nil, queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.3.5 <%s>: bad program or mailbox alias %q", r.Addr, r.Instr)}
		}
		return &plan{home: "/", ins: ins}, queue.Result{}
	}
	if r.AliasDir {
		dir := filepath.Join(l.o.ConfigDir, "aliasdir")
		p, def, err := findExtFile(dir, r.Ext)
		if err != nil {
			return nil, instrErr(r, err)
		}
		b, err := readInstructions(p)
		if err != nil {
			return nil, instrErr(r, err)
		}
		ins := parseInstructions(b)
		return &plan{home: dir, ins: ins, discard: len(ins) == 0, def: def}, queue.Result{}
	}
	a, res := l.account(ctx, r)
	if a == nil {
		return nil, res
	}
	pl := &plan{acct: a, home: a.Home, md: a.MaildirPath()}
	var p, def string
	var err error
	switch {
	case r.Ext != "" && a.Home != "":
		p, def, err = findExtFile(a.Home, r.Ext)
		if err != nil {
			return nil, instrErr(r, err)
		}
	case r.Ext != "":
		return nil, queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.1.1 <%s>: the account has no home for .courier files", r.Addr)}
	case a.Home != "":
		p = filepath.Join(a.Home, ".courier")
	}
	if p != "" {
		b, err := readInstructions(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && r.Ext == "":
			// no $HOME/.courier: the default delivery
		case err != nil:
			return nil, instrErr(r, err)
		case len(b) > 0:
			pl.ins, pl.def = parseInstructions(b), def
			pl.discard = len(pl.ins) == 0
			return pl, queue.Result{}
		}
	}
	if a.Maildir == "" {
		if dd := strings.TrimSpace(l.o.DefaultDelivery); dd != "" && dd != "./Maildir" && dd != "./Maildir/" {
			pl.ins = parseInstructions([]byte(dd))
		}
	}
	if pl.ins == nil && pl.md == "" {
		return nil, queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.3.0 account %q has no home or maildir", r.Account)}
	}
	return pl, queue.Result{}
}

// instrErr is the result of a .courier file that cannot be used: missing means no such
// address (for good), anything else is retried.
func instrErr(r queue.Recipient, err error) queue.Result {
	if errors.Is(err, fs.ErrNotExist) {
		return queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.1.1 <%s>: no such address", r.Addr)}
	}
	return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 delivery instructions for <%s>: %w", r.Addr, err)}
}

// ids returns the uid and gid of an account's own user: its system user's, or UID/GID.
func (l *Local) ids(a *auth.Account) (uid, gid int, ok bool) {
	if a.SysUser != "" {
		u, err := user.Lookup(a.SysUser)
		if err != nil {
			return 0, 0, false
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		return uid, gid, err1 == nil && err2 == nil
	}
	return a.UID, a.GID, a.UID != 0
}

// Deliver implements queue.Deliverer.
func (l *Local) Deliver(ctx context.Context, m *queue.Message, i int) queue.Result {
	r := m.Env.Rcpts[i]
	if !r.Local {
		return queue.Result{Outcome: queue.Hold, Err: errors.New("4.4.0 outbound delivery is not available yet")}
	}
	pl, res := l.planFor(ctx, r)
	if pl == nil {
		return res
	}
	content, err := m.Open()
	if err != nil {
		return queue.Result{Outcome: queue.Retry, Err: err}
	}
	defer content.Close()
	br := bufio.NewReaderSize(content, 16<<10)
	hdr, err := readHeader(br, l.o.MaxHeader)
	if err != nil {
		return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 reading %s: %w", m.ID, err)}
	}
	if why := l.loops(hdr, r.Addr); why != "" {
		return queue.Result{Outcome: queue.Failed, Err: errors.New("5.4.6 " + why)}
	}
	switch {
	case pl.discard:
		l.o.Log.Info("delivery: discarded by delivery instructions with none", "id", m.ID, "rcpt", r.Addr)
		return queue.Result{Outcome: queue.Delivered}
	case pl.ins != nil:
		d := &dotRun{l: l, m: m, i: i, acct: pl.acct, home: pl.home, ext: r.Ext, def: pl.def}
		_, res := d.run(ctx, pl.ins, 0)
		return res
	}
	md := pl.md
	if _, err := os.Stat(filepath.Join(md, maildir.New)); errors.Is(err, os.ErrNotExist) {
		if err := maildir.Create(md, maildir.Private, true); err != nil {
			return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.0 creating %s: %w", md, err)}
		}
	}
	var pre bytes.Buffer
	pre.WriteString("Return-Path: <" + m.Env.From + ">\n")
	pre.WriteString("Delivered-To: " + r.Addr + "\n")
	body := io.MultiReader(&pre, bytes.NewReader(hdr), br)
	_, err = maildir.DeliverTo(md, body, &maildir.DeliverOptions{Unique: "_" + m.Token(i), NoSync: l.o.NoSync})
	if err != nil {
		if errors.Is(err, maildir.ErrOverQuota) {
			return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.2 mailbox full: %w", err)}
		}
		return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.0 %w", err)}
	}
	return queue.Result{Outcome: queue.Delivered}
}

// readHeader returns the header block (up to and including the blank line), at most max
// octets; the reader is left after what was returned.
func readHeader(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for len(out) < max {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			return out, nil
		}
	}
	return out, nil
}

// loops reports why a message is looping, or "".
func (l *Local) loops(hdr []byte, addr string) string {
	hops := 0
	for _, line := range bytes.Split(hdr, []byte{'\n'}) {
		name, val, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || name[0] == ' ' || name[0] == '\t' {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("Received")):
			hops++
		case bytes.EqualFold(name, []byte("Delivered-To")):
			if strings.EqualFold(strings.TrimSpace(string(val)), addr) {
				return "mail loop: already delivered to " + addr
			}
			hops++
		}
	}
	if hops > l.o.MaxHops {
		return fmt.Sprintf("too many hops (%d): mail loop?", hops)
	}
	return ""
}

// AlreadyDelivered implements queue.Deliverer: it looks for the delivery token in the
// new/ and cur/ file names of the Maildirs the recipient's mail goes to (read once per
// Maildir and remembered). Programs, mbox files and forwards keep no token: a crash
// between one of those and the queue's record repeats it, as Courier repeats a .courier
// file from its start.
func (l *Local) AlreadyDelivered(ctx context.Context, m *queue.Message, i int) (bool, error) {
	r := m.Env.Rcpts[i]
	if !r.Local {
		return false, nil
	}
	pl, res := l.planFor(ctx, r)
	if pl == nil {
		if res.Outcome == queue.Failed {
			return false, nil
		}
		return false, res.Err
	}
	var dirs []string
	if pl.ins == nil {
		dirs = append(dirs, pl.md)
	}
	for _, in := range pl.ins {
		if in.kind != instrMailbox {
			continue
		}
		p := in.text
		if !filepath.IsAbs(p) {
			p = filepath.Join(pl.home, p)
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			dirs = append(dirs, filepath.Clean(p))
		}
	}
	for _, md := range dirs {
		found, err := l.hasToken(md, m.Token(i))
		if found || err != nil {
			return found, err
		}
	}
	return false, nil
}

// hasToken reports whether a file of Maildir md carries the delivery token tok.
func (l *Local) hasToken(md, tok string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set, ok := l.tokens[md]
	if !ok {
		set = map[string]bool{}
		for _, sub := range []string{maildir.New, maildir.Cur} {
			ents, err := os.ReadDir(filepath.Join(md, sub))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, fmt.Errorf("delivery: scanning %s: %w", md, err)
			}
			for _, e := range ents {
				if tok := tokenOf(e.Name()); tok != "" {
					set[tok] = true
				}
			}
		}
		l.tokens[md] = set
	}
	return set[tok], nil
}

// tokenOf extracts "q…r…" from a Maildir name "time.MusecPpid…_q…r…[_rN].host,…".
func tokenOf(name string) string {
	i := strings.Index(name, "_q")
	if i < 0 {
		return ""
	}
	s := name[i+1:]
	if j := strings.IndexAny(s, "._"); j >= 0 {
		s = s[:j]
	}
	return s
}
