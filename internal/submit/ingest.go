package submit

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

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"courier/internal/delivery"
	"courier/internal/queue"
)

// Router resolves a recipient as the SMTP server's RCPT does (delivery.Resolver).
type Router interface {
	Route(ctx context.Context, addr string, relay bool) ([]queue.Recipient, error)
}

// Spool receives the messages (queue.Queue).
type Spool interface {
	Create(env *queue.Envelope) (*queue.Writer, error)
}

// Settings are read before each file, so a reload applies to the next one.
type Settings struct {
	Hostname string // me: the Received: line and Message-ID
	MaxSize  int64  // sizelimit: largest content accepted; 0: no limit
}

// IngestOptions configure an Ingester.
type IngestOptions struct {
	Dir      string // the pickup directory (holding new/ and bad/)
	Router   Router
	Spool    Spool
	Settings func() Settings
	// Recovered are the envelopes the queue found at its start (queue.Queue.Recovered): a
	// pickup file one of them names is already queued and is removed, not queued again.
	Recovered []*queue.Envelope
	Log       *slog.Logger
	// Rescan is the period of the scan that backs up the directory watch (default 10 s);
	// RetryAfter the wait after a temporary failure (default 1 min).
	Rescan, RetryAfter time.Duration
	Now                func() time.Time
}

// Ingester moves pickup files into the queue. One goroutine does the work, file after
// file, so the order of a directory scan is the order of queueing.
type Ingester struct {
	o       IngestOptions
	log     *slog.Logger
	newDir  string
	badDir  string
	kick    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	stopped chan struct{}
	once    sync.Once

	// owned by the goroutine
	recovered map[string]string    // pickup name → AuthUser of a message queued before the start
	retry     map[string]time.Time // name → not before
	kept      map[string]bool      // queued, but the removal failed: never again
	warned    map[string]bool
}

// staleTmp is the age after which an unfinished ".NAME.tmp" (a sendmail that died) goes,
// Maildir's 36 hours.
const staleTmp = 36 * time.Hour

// MakeDirs creates a pickup directory with new/ and bad/, if missing. shared makes new/
// mode 1733 and the pickup directory 0755 (a server running as root, which can read every
// user's file); otherwise both are private (0700). Existing directories keep their modes:
// they are the administrator's.
func MakeDirs(dir string, shared bool) error {
	top, nd := os.FileMode(0o700), os.FileMode(0o700)
	if shared {
		top, nd = 0o755, 0o733|os.ModeSticky
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{dir, top}, {filepath.Join(dir, NewDir), nd}, {filepath.Join(dir, BadDir), 0o700}} {
		if err := os.Mkdir(d.path, d.mode.Perm()); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
					return fmt.Errorf("submit: %w", err)
				}
				err = os.Mkdir(d.path, d.mode.Perm())
			}
			if errors.Is(err, fs.ErrExist) {
				st, serr := os.Lstat(d.path)
				if serr != nil || !st.IsDir() {
					return fmt.Errorf("submit: %s exists and is not a directory", d.path)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("submit: %w", err)
			}
		}
		// Mkdir applies the umask and never sets the sticky bit.
		if err := os.Chmod(d.path, d.mode); err != nil {
			return fmt.Errorf("submit: %w", err)
		}
	}
	return nil
}

// NewIngester creates the pickup directories when missing (shared ones when running as
// root) and returns an Ingester; Start starts it.
func NewIngester(o IngestOptions) (*Ingester, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Rescan <= 0 {
		o.Rescan = 10 * time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Settings == nil {
		o.Settings = func() Settings { return Settings{MaxSize: 10485760} }
	}
	if err := MakeDirs(o.Dir, os.Geteuid() == 0); err != nil {
		return nil, err
	}
	g := &Ingester{o: o, log: o.Log, newDir: filepath.Join(o.Dir, NewDir), badDir: filepath.Join(o.Dir, BadDir),
		kick: make(chan struct{}, 1), stopped: make(chan struct{}),
		recovered: map[string]string{}, retry: map[string]time.Time{}, kept: map[string]bool{}, warned: map[string]bool{}}
	for _, e := range o.Recovered {
		if e.Pickup != "" {
			g.recovered[e.Pickup] = e.AuthUser
		}
	}
	g.o.Recovered = nil
	return g, nil
}

// Start scans new/ at once, then on every change the directory watch reports and every
// Rescan.
func (g *Ingester) Start() {
	g.ctx, g.cancel = context.WithCancel(context.Background())
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(g.newDir); err != nil {
			w.Close()
		}
	}
	if err != nil {
		g.log.Warn("pickup: cannot watch the directory; scanning it periodically only", "dir", g.newDir, "err", err)
		w = nil
	}
	go g.run(w)
}

// Stop ends the ingestion after the file in progress and waits for it.
func (g *Ingester) Stop() {
	g.once.Do(func() {
		if g.cancel == nil {
			close(g.stopped)
			return
		}
		g.cancel()
		<-g.stopped
	})
}

// Poke asks for a scan now.
func (g *Ingester) Poke() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func (g *Ingester) run(w *fsnotify.Watcher) {
	defer close(g.stopped)
	var events chan fsnotify.Event
	var errs chan error
	if w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	tick := time.NewTicker(g.o.Rescan)
	defer tick.Stop()
	g.scan()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-g.kick:
		case <-tick.C:
		case ev := <-events:
			if strings.HasPrefix(filepath.Base(ev.Name), ".") || !ev.Has(fsnotify.Create) {
				continue
			}
		case err := <-errs:
			g.log.Warn("pickup: directory watch", "err", err)
			continue
		}
		g.scan()
	}
}

// scan processes every file of new/ that is due.
func (g *Ingester) scan() {
	ents, err := os.ReadDir(g.newDir)
	if err != nil {
		g.log.Error("pickup: cannot read the directory", "dir", g.newDir, "err", err)
		return
	}
	now := g.o.Now()
	present := make(map[string]bool, len(ents))
	for _, e := range ents {
		if g.ctx.Err() != nil {
			return
		}
		name := e.Name()
		present[name] = true
		if strings.HasPrefix(name, ".") {
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleTmp {
				g.log.Info("pickup: removing an unfinished file", "file", name)
				os.Remove(filepath.Join(g.newDir, name))
			}
			continue
		}
		if t, ok := g.retry[name]; ok && now.Before(t) {
			continue
		}
		if g.kept[name] {
			g.removeQueued(name) // its message is queued; only the removal is left
			continue
		}
		g.ingest(name)
	}
	for n := range g.retry {
		if !present[n] {
			delete(g.retry, n)
		}
	}
	for n := range g.warned {
		if !present[n] {
			delete(g.warned, n)
		}
	}
}

// later leaves a file for a later scan after a temporary failure.
func (g *Ingester) later(name string, err error) {
	if !g.warned[name] {
		g.warned[name] = true
		g.log.Warn("pickup: cannot queue the file now; will retry", "file", name, "err", err)
	}
	g.retry[name] = g.o.Now().Add(g.o.RetryAfter)
}

// ingest queues one file, refuses it, or leaves it for later.
func (g *Ingester) ingest(name string) {
	path := filepath.Join(g.newDir, name)
	// No symbolic link is followed and no FIFO waited on: the directory is world-writable.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, unix.ELOOP):
			g.discard(name, "a symbolic link")
		default:
			g.later(name, err)
		}
		return
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		g.later(name, fmt.Errorf("fstat: %w", err))
		return
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		g.discard(name, "not a regular file")
		return
	case st.Nlink != 1:
		// a hard link to somebody else's file would make us read, and mail, it
		g.discard(name, "a file with other links")
		return
	}
	owner := userName(st.Uid)
	set := g.o.Settings()
	if set.MaxSize > 0 && st.Size > set.MaxSize+int64(headerLen)+maxEnvelope {
		g.reject(name, fmt.Sprintf("message too big (the limit is %d octets)", set.MaxSize))
		return
	}
	env, off, clen, err := Parse(f, st.Size)
	if errors.Is(err, ErrMalformed) {
		g.reject(name, err.Error())
		return
	}
	if err != nil {
		g.later(name, err)
		return
	}
	if set.MaxSize > 0 && clen > set.MaxSize {
		g.reject(name, fmt.Sprintf("message too big: %d octets (the limit is %d)", clen, set.MaxSize))
		return
	}
	if env.OnBehalf != "" {
		// Only the server's own sessions may speak for an account; anybody else claiming one
		// is trying to pass as somebody.
		if int64(st.Uid) != int64(os.Geteuid()) {
			g.reject(name, fmt.Sprintf("onbehalf %q in a file owned by %s, not by the server", env.OnBehalf, owner))
			return
		}
		owner = env.OnBehalf
	}
	if u, ok := g.recovered[name]; ok && u == owner {
		// A crash came between the queue's commit and the removal of this file.
		g.log.Info("pickup: file already queued before a restart; removing it", "file", name)
		delete(g.recovered, name)
		g.removeQueued(name)
		return
	}
	rcpts, refused, err := g.resolve(env)
	if err != nil {
		g.later(name, err)
		return
	}
	if len(refused) > 0 {
		g.log.Info("pickup: recipients refused; the sender gets a notification", "file", name, "from", env.From, "refused", strings.Join(refused, "; "))
	}
	content := io.NewSectionReader(f, off, clen)
	eight, err := has8bit(content)
	if err != nil {
		g.later(name, err)
		return
	}
	now := g.o.Now()
	t := env.Time
	if t.After(now) {
		t = now
	}
	qenv := &queue.Envelope{From: env.From, Rcpts: rcpts, Ret: env.Ret, EnvID: env.EnvID, AuthUser: owner,
		Protocol: "local", Time: t, Pickup: name, SMTPUTF8: !ascii(env.From)}
	for _, r := range env.Rcpts {
		qenv.SMTPUTF8 = qenv.SMTPUTF8 || !ascii(r.Addr)
	}
	if eight {
		qenv.Body = "8BITMIME"
	}
	w, err := g.o.Spool.Create(qenv)
	if err != nil {
		g.later(name, err)
		return
	}
	host := set.Hostname
	if host == "" {
		host = "localhost"
	}
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		w.Abort()
		g.later(name, err)
		return
	}
	err = writeContent(w, content, received{host: host, user: owner, uid: st.Uid, id: w.ID(), now: now, date: env.Time})
	if errors.Is(err, ErrHeaderTooBig) {
		w.Abort()
		g.reject(name, err.Error())
		return
	}
	if err != nil {
		w.Abort()
		g.later(name, err)
		return
	}
	id := w.ID()
	if err := w.CommitThen(func() { g.removeQueued(name) }); err != nil {
		g.later(name, err)
		return
	}
	delete(g.retry, name)
	g.log.Info("message queued", "id", id, "pickup", name, "from", env.From, "rcpts", len(rcpts), "size", clen, "user", owner)
}

// resolve routes every recipient as SMTP RCPT does for a session that may relay (a local
// user may send anywhere, as with Courier's sendmail). Addresses refused for good are
// returned in refused and also in out, marked Refused, so that the queue fails them with a
// notification to the sender; a temporary failure is the error.
func (g *Ingester) resolve(env *Envelope) (out []queue.Recipient, refused []string, err error) {
	for _, r := range env.Rcpts {
		rs, err := g.o.Router.Route(g.ctx, r.Addr, true)
		switch {
		case errors.Is(err, delivery.ErrUnknownUser), errors.Is(err, delivery.ErrRelayDenied):
			// Queued all the same, failed at once: the queue tells the sender (a DSN), as
			// Courier's sendmail would have told it on the spot.
			code := "5.1.1"
			if errors.Is(err, delivery.ErrRelayDenied) {
				code = "5.7.1"
			}
			refused = append(refused, "<"+r.Addr+">: "+err.Error())
			out = append(out, queue.Recipient{Addr: r.Addr, Notify: r.Notify, Refused: code + " " + strings.TrimPrefix(err.Error(), "delivery: ")})
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("<%s>: %w", r.Addr, err)
		}
		for _, x := range rs {
			x.Notify = r.Notify
			if len(rs) > 1 {
				x.Notify = "NEVER" // a private list (makealiases(8))
			}
			if x.Addr != r.Addr {
				x.Orig = r.Addr
			}
			dup := false
			for _, y := range out {
				if y.SameDelivery(&x) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, x)
			}
		}
	}
	return out, refused, nil
}

// removeQueued removes a file whose message the queue holds, durably. It runs inside
// CommitThen, before the message can be delivered; if it fails the name is remembered so
// that this process never queues the file again.
func (g *Ingester) removeQueued(name string) {
	if err := os.Remove(filepath.Join(g.newDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		g.kept[name] = true
		g.log.Error("pickup: cannot remove a queued file", "file", name, "err", err)
		return
	}
	delete(g.kept, name)
	if err := syncDir(g.newDir); err != nil {
		g.log.Error("pickup: removal of a queued file not known durable", "file", name, "err", err)
	}
}

// discard removes an entry that is no pickup file at all (a link, a FIFO…): nothing was
// submitted through it, and moving it would carry its target along.
func (g *Ingester) discard(name, why string) {
	g.log.Warn("pickup: removing an entry that is not a pickup file", "file", name, "why", why)
	if err := os.Remove(filepath.Join(g.newDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		g.log.Error("pickup: cannot remove", "file", name, "err", err)
		g.retry[name] = g.o.Now().Add(time.Hour)
	}
}

// reject moves a file the server will not queue to bad/, beside NAME.why with the reason.
// Nothing is bounced yet (DSNs do not exist); an administrator can move the file back to
// new/ to try again, and it keeps its owner, hence its user.
func (g *Ingester) reject(name, why string) {
	g.log.Warn("pickup: file refused; moved to bad/", "file", name, "why", why)
	if err := os.WriteFile(filepath.Join(g.badDir, name+".why"), []byte(why+"\n"), 0o600); err != nil {
		g.log.Error("pickup: writing the reason", "file", name, "err", err)
	}
	if err := os.Rename(filepath.Join(g.newDir, name), filepath.Join(g.badDir, name)); err != nil {
		g.log.Error("pickup: cannot move a refused file to bad/", "file", name, "err", err)
		g.retry[name] = g.o.Now().Add(time.Hour)
		return
	}
	// bad/ first: the file must never be in neither directory on disk.
	if err := syncDir(g.badDir); err != nil {
		g.log.Error("pickup: fsync", "err", err)
	}
	if err := syncDir(g.newDir); err != nil {
		g.log.Error("pickup: fsync", "err", err)
	}
}

// userName names the owner of a file: the account name, or "#uid" when there is none.
func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil && u.Username != "" {
		return u.Username
	}
	return "#" + id
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func has8bit(r io.Reader) (bool, error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c >= 0x80 {
				return true, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("submit: reading the content: %w", err)
		}
	}
}

// received is what the trace field and the added fields say.
type received struct {
	host, user string
	uid        uint32
	id         string
	now, date  time.Time
}

// commentSafe makes a string fit inside a header comment.
func commentSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '(' || r == ')' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}

// writeContent writes the queued content: a Received: field, Date: and Message-ID: when
// the header has none (Courier's submit adds them for local mail), the header, the body;
// CRLF becomes LF.
func writeContent(w io.Writer, src io.Reader, rc received) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	fmt.Fprintf(bw, "Received: by %s (from user %s, uid %d)\n  with local\n  id %s; %s\n",
		rc.host, commentSafe(rc.user), rc.uid, rc.id, rc.now.Format(time.RFC1123Z))
	br := bufio.NewReaderSize(src, 64<<10)
	var hdr []byte
	sawDate, sawID := false, false
	var body []byte // the first body line, read while looking for the header's end
	for {
		line, err := readLine(br, MaxHeader-len(hdr))
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(line) == 0 {
			break
		}
		line = crlf(line)
		if string(line) == "\n" {
			body = line
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(hdr) > 0 {
			hdr = append(hdr, line...)
			continue
		}
		n := fieldName(line)
		if n == "" {
			body = line
			break
		}
		sawDate = sawDate || strings.EqualFold(n, "Date")
		sawID = sawID || strings.EqualFold(n, "Message-ID")
		hdr = append(hdr, line...)
		if line[len(line)-1] != '\n' {
			hdr = append(hdr, '\n') // the content ended inside the header
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if !sawDate {
		d := rc.date
		if d.IsZero() || d.After(rc.now.Add(24*time.Hour)) {
			d = rc.now
		}
		fmt.Fprintf(bw, "Date: %s\n", d.Format(time.RFC1123Z))
	}
	if !sawID {
		fmt.Fprintf(bw, "Message-ID: <courier.%s@%s>\n", rc.id, rc.host)
	}
	bw.Write(hdr)
	if body != nil && string(body) != "\n" {
		bw.WriteString("\n") // the header (ours at least) ends in a blank line before a body
	}
	bw.Write(body)
	if err := copyLF(bw, br); err != nil {
		return err
	}
	return bw.Flush()
}

// readLine reads one line of at most max octets (ErrHeaderTooBig beyond).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		p, err := br.ReadSlice('\n')
		line = append(line, p...)
		if len(line) > max {
			return nil, ErrHeaderTooBig
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

// crlf turns a line's CRLF ending into LF.
func crlf(l []byte) []byte {
	if n := len(l); n >= 2 && l[n-2] == '\r' && l[n-1] == '\n' {
		l[n-2] = '\n'
		return l[:n-1]
	}
	return l
}

// copyLF copies src to dst turning every CRLF into LF, across buffer boundaries too.
func copyLF(dst io.Writer, src io.Reader) error {
	buf := make([]byte, 64<<10)
	pendingCR := false
	for {
		n, err := src.Read(buf)
		p := buf[:n]
		if n > 0 {
			var out []byte
			if pendingCR {
				pendingCR = false
				if p[0] != '\n' {
					out = append(out, '\r')
				}
			}
			if p[len(p)-1] == '\r' {
				pendingCR = true
				p = p[:len(p)-1]
			}
			out = append(out, bytes.ReplaceAll(p, []byte("\r\n"), []byte("\n"))...)
			if _, werr := dst.Write(out); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			if pendingCR {
				_, werr := dst.Write([]byte{'\r'})
				return werr
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("submit: reading the content: %w", err)
		}
	}
}
