package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

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
}

// Local delivers queued recipients into their accounts' Maildirs (the account's MAILDIR,
// else HOME/Maildir), adding Return-Path: and Delivered-To: as Courier's courierlocal
// does. Quota is respected: over quota is a temporary failure, retried later.
// .courier files, mbox and program deliveries come later. Safe for concurrent use.
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
	return &Local{o: o, tokens: map[string]map[string]bool{}}
}

var _ queue.Deliverer = (*Local)(nil)

// maildirOf looks up the account of a recipient.
func (l *Local) maildirOf(ctx context.Context, r queue.Recipient) (string, queue.Result) {
	a, err := l.o.Auth.Lookup(ctx, "esmtp", r.Account)
	if err != nil {
		if auth.IsReject(err) {
			return "", queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.1.1 no such account %q: %w", r.Account, err)}
		}
		return "", queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.3.0 account lookup: %w", err)}
	}
	md := a.MaildirPath()
	if md == "" {
		return "", queue.Result{Outcome: queue.Failed, Err: fmt.Errorf("5.3.0 account %q has no home or maildir", r.Account)}
	}
	return md, queue.Result{}
}

// Deliver implements queue.Deliverer.
func (l *Local) Deliver(ctx context.Context, m *queue.Message, i int) queue.Result {
	r := m.Env.Rcpts[i]
	if !r.Local {
		return queue.Result{Outcome: queue.Hold, Err: errors.New("4.4.0 outbound delivery is not available yet")}
	}
	md, res := l.maildirOf(ctx, r)
	if md == "" {
		return res
	}
	if _, err := os.Stat(filepath.Join(md, maildir.New)); errors.Is(err, os.ErrNotExist) {
		if err := maildir.Create(md, maildir.Private, true); err != nil {
			return queue.Result{Outcome: queue.Retry, Err: fmt.Errorf("4.2.0 creating %s: %w", md, err)}
		}
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
// Maildir's new/ and cur/ file names (read once per Maildir and remembered).
func (l *Local) AlreadyDelivered(ctx context.Context, m *queue.Message, i int) (bool, error) {
	r := m.Env.Rcpts[i]
	if !r.Local {
		return false, nil
	}
	md, res := l.maildirOf(ctx, r)
	if md == "" {
		if res.Outcome == queue.Failed {
			return false, nil
		}
		return false, res.Err
	}
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
	return set[m.Token(i)], nil
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
