package main

// Usage:
//
//	mixload -addr 127.0.0.1:10143 -user U -pass P [-clients 10] [-duration 30s]
//	        [-mailbox INBOX] [-mix "Logi 100% List 50% ..."] [-append-mbox FILE] [-label L]
//
// It prints a table and then one line of JSON (the last line of its output), and exits 0
// when the run completed, whatever the server's errors (they are in the report), 2 on bad
// arguments and 1 when the run could not start (no connection, LOGIN or SELECT failed).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"courier/bench/imap/internal/imapc"
)

func main() {
	os.Exit(mainArgs(os.Args[1:], os.Stdout, os.Stderr))
}

func mainArgs(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mixload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:10143", "server host:port (loopback only)")
	user := fs.String("user", "", "login name")
	pass := fs.String("pass", "", "password")
	mailbox := fs.String("mailbox", "INBOX", "mailbox the sessions SELECT, STATUS and APPEND to")
	clients := fs.Int("clients", 10, "concurrent clients")
	duration := fs.Duration("duration", 30*time.Second, "measured run time")
	grace := fs.Duration("grace", 10*time.Second, "how long commands in flight at the end may take before their connections are cut")
	timeout := fs.Duration("timeout", 30*time.Second, "per-command timeout (an error of kind timeout)")
	mixSpec := fs.String("mix", DefaultMix, `command mix: "name=percent,..." or imaptest's "Logi 100% List 50% ..."`)
	mboxPath := fs.String("append-mbox", "", "mbox file whose messages APPEND sends (default: a few built-in messages)")
	words := fs.String("search-words", "budget,meeting,invoice,release,schedule,report,project,customer", "words for UID SEARCH SUBJECT, one picked at random")
	seed := fs.Uint64("seed", 1, "random seed (client i uses seed, i)")
	prime := fs.Bool("prime", true, "before the clock starts, open the mailbox once (SELECT + FETCH 1:* (FLAGS)) so index building is not timed")
	label := fs.String("label", "", "label for the report")
	jsonOnly := fs.Bool("json", false, "print only the JSON line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mixload: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	mix, err := ParseMix(*mixSpec)
	if err != nil {
		fmt.Fprintf(stderr, "mixload: -mix: %v\n", err)
		return 2
	}
	if *clients < 1 || *duration <= 0 || *grace <= 0 || *timeout <= 0 {
		fmt.Fprintln(stderr, "mixload: -clients, -duration, -grace and -timeout must be positive")
		return 2
	}
	a, err := imapc.Loopback(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "mixload: %v\n", err)
		return 2
	}
	msgs := builtinMessages()
	if *mboxPath != "" {
		if msgs, err = readMbox(*mboxPath); err != nil {
			fmt.Fprintf(stderr, "mixload: %v\n", err)
			return 2
		}
	}
	var ws []string
	for _, w := range strings.Split(*words, ",") {
		if w = strings.TrimSpace(w); w != "" {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		fmt.Fprintln(stderr, "mixload: -search-words is empty")
		return 2
	}
	cfg := &config{addr: a, user: *user, pass: *pass, mailbox: *mailbox, mix: mix,
		grace: *grace, timeout: *timeout, msgs: msgs, words: ws, errs: newErrLog(3)}
	if *prime {
		if err := primeMailbox(cfg); err != nil {
			fmt.Fprintf(stderr, "mixload: cannot start: %v\n", err)
			return 1
		}
	}
	rep := run(cfg, *clients, *duration, *seed)
	rep.Label, rep.Addr, rep.Mix = *label, a, mix.String()
	if !*jsonOnly {
		rep.table(stdout)
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintln(stdout, string(b))
	return 0
}

// primeMailbox opens the mailbox once, untimed, so the first SELECT's index building (every
// server builds one) is not part of the measurement, as the anchors' imaptest runs did.
func primeMailbox(cfg *config) error {
	c, err := imapc.Dial(cfg.addr, imapc.Options{Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(10 * time.Minute))
	if err := c.Login(cfg.user, cfg.pass); err != nil {
		return err
	}
	if _, err := c.Select(cfg.mailbox); err != nil {
		return err
	}
	if c.Exists > 0 {
		if _, err := c.Cmd("FETCH 1:* (FLAGS)", false); err != nil {
			return err
		}
	}
	return c.Logout()
}

// run starts the clients, waits for the end and merges their figures.
func run(cfg *config, clients int, d time.Duration, seed uint64) *Report {
	cfg.start = time.Now()
	cfg.end = cfg.start.Add(d)
	load := loadavg()
	// A last resort: every connection's deadline is end+grace, so this never fires unless
	// the client itself is stuck.
	watchdog := time.AfterFunc(d+cfg.grace+time.Minute, func() {
		fmt.Fprintln(os.Stderr, "mixload: clients did not stop a minute after the grace period; exiting")
		os.Exit(3)
	})
	defer watchdog.Stop()
	cls := make([]*client, clients)
	var wg sync.WaitGroup
	for i := range cls {
		cls[i] = newClient(cfg, i, seed)
		wg.Add(1)
		go func(cl *client) {
			defer wg.Done()
			cl.run()
		}(cls[i])
	}
	wg.Wait()
	return merge(cfg, cls, d, load, time.Since(cfg.start))
}

// Report is the run's result, also its JSON form.
type Report struct {
	Label        string     `json:"label"`
	Addr         string     `json:"addr"`
	Clients      int        `json:"clients"`
	DurationS    float64    `json:"duration_s"`
	WallS        float64    `json:"wall_s"` // including the wait for commands in flight at the end
	Load1        float64    `json:"load1_before"`
	Mix          string     `json:"mix"`
	Sessions     int        `json:"sessions"`
	OpsTotal     int        `json:"ops_total"`
	OpsPerS      float64    `json:"ops_per_s"`
	Errors       int        `json:"errors"`
	ErrorsByKind ErrorKinds `json:"errors_by_kind"`
	Ops          []OpReport `json:"ops"`
	FirstErrors  []string   `json:"first_errors,omitempty"`
}

// ErrorKinds counts errors by kind.
type ErrorKinds struct {
	NO       int `json:"no"`
	Expunged int `json:"no_expunged"` // NO citing a message another session expunged (RFC 2180 §4.1)
	BAD      int `json:"bad"`
	Check    int `json:"check"`
	IO       int `json:"io"`
	Timeout  int `json:"timeout"`
}

func (e *ErrorKinds) add(k [nErrKinds]int) {
	e.NO += k[errNO]
	e.Expunged += k[errExpunged]
	e.BAD += k[errBAD]
	e.Check += k[errCheck]
	e.IO += k[errIO]
	e.Timeout += k[errTimeout]
}

// OpReport is one command's row.
type OpReport struct {
	Name    string  `json:"name"`
	Count   int     `json:"count"`
	PerS    float64 `json:"per_s"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
	Errors  int     `json:"errors"`
	Late    int     `json:"late,omitempty"`
	Skipped int     `json:"skipped,omitempty"`
}

func merge(cfg *config, cls []*client, d time.Duration, load float64, wall time.Duration) *Report {
	r := &Report{Clients: len(cls), DurationS: d.Seconds(), WallS: round(wall.Seconds(), 2), Load1: load}
	for o := op(0); o <= opConnect; o++ {
		var lat []time.Duration
		var k [nErrKinds]int
		row := OpReport{Name: o.String()}
		for _, cl := range cls {
			s := &cl.st[o]
			lat = append(lat, s.lat...)
			for i, n := range s.errs {
				k[i] += n
				row.Errors += n
			}
			row.Late += s.late
			row.Skipped += s.skipped
		}
		slices.Sort(lat)
		row.Count = len(lat)
		row.PerS = round(float64(len(lat))/d.Seconds(), 1)
		row.P50ms = ms(pctile(lat, 0.50))
		row.P99ms = ms(pctile(lat, 0.99))
		if len(lat) > 0 {
			row.MaxMs = ms(lat[len(lat)-1])
		}
		r.Ops = append(r.Ops, row)
		r.ErrorsByKind.add(k)
		r.Errors += row.Errors
		if o != opConnect {
			r.OpsTotal += row.Count
		}
	}
	for _, cl := range cls {
		r.Sessions += cl.sessions
	}
	r.OpsPerS = round(float64(r.OpsTotal)/d.Seconds(), 1)
	r.FirstErrors = cfg.errs.list()
	return r
}

// pctile is the nearest-rank percentile of sorted durations.
func pctile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

func (r *Report) table(w io.Writer) {
	fmt.Fprintf(w, "mixload %s addr=%s clients=%d duration=%.0fs wall=%.1fs load1=%.2f sessions=%d\n",
		r.Label, r.Addr, r.Clients, r.DurationS, r.WallS, r.Load1, r.Sessions)
	fmt.Fprintf(w, "mix %s\n", r.Mix)
	fmt.Fprintf(w, "%-8s %8s %9s %8s %8s %9s %7s %5s\n", "command", "count", "ops/s", "p50 ms", "p99 ms", "max ms", "errors", "late")
	for _, o := range r.Ops {
		fmt.Fprintf(w, "%-8s %8d %9.1f %8.2f %8.2f %9.2f %7d %5d\n", o.Name, o.Count, o.PerS, o.P50ms, o.P99ms, o.MaxMs, o.Errors, o.Late)
	}
	fmt.Fprintf(w, "%-8s %8d %9.1f %36d   (connect not in total)\n", "total", r.OpsTotal, r.OpsPerS, r.Errors)
	k := r.ErrorsByKind
	fmt.Fprintf(w, "errors: NO=%d NO-expunged=%d BAD=%d check=%d io=%d timeout=%d\n", k.NO, k.Expunged, k.BAD, k.Check, k.IO, k.Timeout)
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

func loadavg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

// readMbox splits an mbox file into messages with CRLF line ends: a message starts at a
// "From " line at the start of the file or after an empty line; ">From " quoting (mboxrd:
// any number of ">") loses one ">"; the empty line that ends each message is dropped.
func readMbox(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMbox(f)
}

func parseMbox(r io.Reader) ([][]byte, error) {
	var msgs [][]byte
	var cur *bytes.Buffer
	prevEmpty := true
	flush := func() {
		if cur == nil {
			return
		}
		b := bytes.TrimSuffix(cur.Bytes(), []byte("\r\n")) // the separating empty line
		if len(bytes.TrimSpace(b)) > 0 {
			msgs = append(msgs, append([]byte(nil), b...))
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		l := strings.TrimSuffix(sc.Text(), "\r")
		if prevEmpty && strings.HasPrefix(l, "From ") {
			flush()
			cur = new(bytes.Buffer)
			prevEmpty = false
			continue
		}
		prevEmpty = l == ""
		if cur == nil {
			return nil, fmt.Errorf("not an mbox (no leading From line)")
		}
		if strings.HasPrefix(strings.TrimLeft(l, ">"), "From ") && strings.HasPrefix(l, ">") {
			l = l[1:]
		}
		cur.WriteString(l)
		cur.WriteString("\r\n")
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	if len(msgs) == 0 {
		return nil, fmt.Errorf("mbox holds no message")
	}
	return msgs, nil
}

// builtinMessages are APPEND sources when no mbox is given: small plain-text messages.
func builtinMessages() [][]byte {
	var out [][]byte
	for i := 1; i <= 8; i++ {
		body := strings.Repeat(fmt.Sprintf("Line %d of a benchmark message body, plain text.\r\n", i), 20*i)
		out = append(out, []byte(fmt.Sprintf("From: Bench <bench@example.test>\r\nTo: demo@example.test\r\n"+
			"Subject: mixload message %d\r\nDate: Mon, 1 Jan 2024 08:00:00 +0000\r\n"+
			"Message-ID: <mixload-%d@example.test>\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n%s", i, i, body)))
	}
	return out
}
