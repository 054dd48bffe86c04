package queue

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recNotifier records notices and can be told to fail.
type recNotifier struct {
	mu      sync.Mutex
	got     []Notice
	senders []string
	fail    bool
}

func (n *recNotifier) Notify(_ context.Context, m *Message, ns []Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return errors.New("told to fail")
	}
	n.got = append(n.got, ns...)
	for range ns {
		n.senders = append(n.senders, m.Env.From)
	}
	return nil
}

func (n *recNotifier) notices() []Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Notice(nil), n.got...)
}

func putEnv(t testing.TB, q *Queue, env *Envelope) string {
	t.Helper()
	w, err := q.Create(env)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: x\n\nbody\n")
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return w.ID()
}

// TestNotifyWhatWasAskedFor: a failure is reported unless NOTIFY says otherwise; a
// success only when NOTIFY=SUCCESS; NEVER and the null sender get nothing; a refused
// recipient fails without a delivery attempt.
func TestNotifyWhatWasAskedFor(t *testing.T) {
	d := newMem()
	d.outcome = func(m *Message, i int) Outcome {
		if strings.HasPrefix(m.Env.Rcpts[i].Addr, "bad") {
			return Failed
		}
		return Delivered
	}
	n := &recNotifier{}
	q, err := Open(Options{Dir: t.TempDir(), Deliverer: d, Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	putEnv(t, q, &Envelope{From: "s@x", Time: time.Now(), Rcpts: []Recipient{
		{Addr: "bad1@x", Local: true},                                // failure: default NOTIFY
		{Addr: "bad2@x", Local: true, Notify: "NEVER"},               // nothing
		{Addr: "bad3@x", Local: true, Notify: "SUCCESS"},             // nothing
		{Addr: "ok1@x", Local: true},                                 // nothing
		{Addr: "ok2@x", Local: true, Notify: "SUCCESS,FAILURE"},      // success
		{Addr: "gone@x", Local: true, Refused: "5.1.1 no such user"}, // failure, not tried
	}})
	putEnv(t, q, &Envelope{From: "", Time: time.Now(), Rcpts: []Recipient{{Addr: "bad4@x", Local: true}}})
	waitFor(t, "both messages", func() bool { return q.Len() == 0 })
	got := map[string]NoticeKind{}
	for _, no := range n.notices() {
		got[[]string{"bad1@x", "bad2@x", "bad3@x", "ok1@x", "ok2@x", "gone@x"}[no.Rcpt]] = no.Kind
	}
	want := map[string]NoticeKind{"bad1@x": NoticeFailed, "ok2@x": NoticeDelivered, "gone@x": NoticeFailed}
	if len(got) != len(want) || len(n.notices()) != 3 {
		t.Fatalf("notices %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	for _, no := range n.notices() {
		if no.Rcpt == 5 && (no.Err == nil || no.Err.Error() != "5.1.1 no such user") {
			t.Errorf("refused recipient's reason %v", no.Err)
		}
	}
	if d.count() != 2 {
		t.Errorf("%d deliveries, want ok1 and ok2 only", d.count())
	}
}

// TestFailureWaitsForItsNotice: a failure is final only once its notice is queued; while
// the Notifier fails, the message stays and the recipient is tried again.
func TestFailureWaitsForItsNotice(t *testing.T) {
	d := newMem()
	d.outcome = func(*Message, int) Outcome { return Failed }
	n := &recNotifier{fail: true}
	q, err := Open(Options{Dir: t.TempDir(), Deliverer: d, Notifier: n, RetryDelays: []time.Duration{20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	putEnv(t, q, &Envelope{From: "s@x", Time: time.Now(), Rcpts: []Recipient{{Addr: "bad@x", Local: true}}})
	time.Sleep(100 * time.Millisecond)
	if q.Len() != 1 {
		t.Fatal("the message left the queue although its failure was never reported")
	}
	n.mu.Lock()
	n.fail = false
	n.mu.Unlock()
	waitFor(t, "the failure reported", func() bool { return q.Len() == 0 })
	if len(n.notices()) != 1 {
		t.Errorf("%d notices", len(n.notices()))
	}
}

// TestQueueTimeAndWarnTime: a local recipient failing temporarily gets one delay notice
// after WarnTime (kept across a restart by the "W" record) and fails for good with 4.4.7
// after QueueTime; a recipient held for outbound delivery never expires here.
func TestQueueTimeAndWarnTime(t *testing.T) {
	dir := t.TempDir()
	d := newMem()
	d.outcome = func(m *Message, i int) Outcome {
		if m.Env.Rcpts[i].Local {
			return Retry
		}
		return Hold
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(dt time.Duration) { mu.Lock(); now = now.Add(dt); mu.Unlock() }
	n := &recNotifier{}
	open := func() *Queue {
		q, err := Open(Options{Dir: dir, Deliverer: d, Notifier: n, Now: clock, WarnTime: time.Hour, QueueTime: 24 * time.Hour,
			RetryDelays: []time.Duration{time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := open()
	id := putEnv(t, q, &Envelope{From: "s@x", Time: clock(), Rcpts: []Recipient{{Addr: "full@x", Local: true}, {Addr: "far@y"}}})
	time.Sleep(50 * time.Millisecond)
	if len(n.notices()) != 0 {
		t.Fatalf("notices before WarnTime: %v", n.notices())
	}
	advance(2 * time.Hour)
	q.Flush()
	waitFor(t, "the delay notice", func() bool { return len(n.notices()) == 1 })
	if no := n.notices()[0]; no.Kind != NoticeDelayed || no.Rcpt != 0 {
		t.Errorf("notice %+v", no)
	}
	q.Close(context.Background())
	if b, _ := os.ReadFile(filepath.Join(dir, id)); !strings.HasSuffix(string(b), "W\n") {
		t.Errorf("no W record: %q", b[len(b)-20:])
	}
	q = open() // a restart does not warn again
	defer q.Close(context.Background())
	time.Sleep(100 * time.Millisecond)
	if len(n.notices()) != 1 {
		t.Fatalf("warned again after a restart: %v", n.notices())
	}
	advance(24 * time.Hour)
	q.Flush()
	waitFor(t, "the expiry", func() bool { return len(n.notices()) == 2 })
	no := n.notices()[1]
	if no.Kind != NoticeFailed || no.Rcpt != 0 || no.Err == nil || !strings.HasPrefix(no.Err.Error(), "4.4.7 delivery time expired") {
		t.Errorf("expiry notice %+v", no)
	}
	if q.Len() != 1 {
		t.Error("the held remote recipient left the queue")
	}
}

// relayer answers Delivered as a relay would: to a peer that does DSNs for "dsn@…".
type relayer struct{}

func (relayer) Deliver(_ context.Context, m *Message, i int) Result {
	return Result{Outcome: Delivered, Relayed: true, PeerDSN: strings.HasPrefix(m.Env.Rcpts[i].Addr, "dsn@")}
}
func (relayer) AlreadyDelivered(context.Context, *Message, int) (bool, error) { return false, nil }

// TestRelayedSuccess: NOTIFY=SUCCESS for a recipient handed to a peer that takes DSN
// requests is the peer's to answer (RFC 3461 §5.2.2); to one that does not, ours says
// "relayed".
func TestRelayedSuccess(t *testing.T) {
	n := &recNotifier{}
	q, err := Open(Options{Dir: t.TempDir(), Deliverer: relayer{}, Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	putEnv(t, q, &Envelope{From: "s@x", Time: time.Now(), Rcpts: []Recipient{{Addr: "dsn@far", Notify: "SUCCESS"}, {Addr: "old@far", Notify: "SUCCESS"}}})
	waitFor(t, "delivery", func() bool { return q.Len() == 0 })
	if got := n.notices(); len(got) != 1 || got[0].Rcpt != 1 || got[0].Kind != NoticeRelayed {
		t.Errorf("notices %+v", got)
	}
}

// TestCancelRecord: the "X reason" record survives a restart; a torn last line does not count.
func TestCancelRecord(t *testing.T) {
	state, warned, cancel := parseRecords([]byte("D 0\nW\nX no longer wanted\n"), 2)
	if state[0] != stateDone || state[1] != statePending || !warned || cancel != "no longer wanted" {
		t.Errorf("%v %v %q", state, warned, cancel)
	}
	if _, _, cancel := parseRecords([]byte("D 0\nX torn"), 2); cancel != "" {
		t.Errorf("a torn X record counted: %q", cancel)
	}
}

// TestCancelDuringPass: a cancel that arrives while a delivery attempt is under way takes
// effect right after it, not at the next retry (an hour later here).
func TestCancelDuringPass(t *testing.T) {
	n := &recNotifier{}
	d := newMem()
	inPass := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	d.outcome = func(m *Message, i int) Outcome {
		once.Do(func() {
			close(inPass)
			<-release
		})
		return Retry
	}
	q, err := Open(Options{Dir: t.TempDir(), Deliverer: d, Notifier: n, RetryDelays: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	id := putEnv(t, q, &Envelope{From: "s@x", Time: time.Now(), Rcpts: []Recipient{{Addr: "far@remote.test"}}})
	<-inPass
	if err := q.Cancel(id, "sent by mistake", nil); err != nil {
		t.Fatal(err)
	}
	close(release)
	waitFor(t, "the cancelled message to leave the queue", func() bool { return q.Len() == 0 })
	if got := n.notices(); len(got) != 1 || got[0].Kind != NoticeFailed || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "sent by mistake") {
		t.Errorf("notices %+v", got)
	}
}
