package queue

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// memDeliverer records deliveries and can be told what to answer.
type memDeliverer struct {
	mu        sync.Mutex
	delivered map[string]int // token → count
	outcome   func(m *Message, i int) Outcome
	content   map[string]string
}

func newMem() *memDeliverer {
	return &memDeliverer{delivered: map[string]int{}, content: map[string]string{}}
}

func (d *memDeliverer) Deliver(ctx context.Context, m *Message, i int) Result {
	if d.outcome != nil {
		if o := d.outcome(m, i); o != Delivered {
			return Result{Outcome: o, Err: fmt.Errorf("told to")}
		}
	}
	r, err := m.Open()
	if err != nil {
		return Result{Outcome: Retry, Err: err}
	}
	b, _ := io.ReadAll(r)
	r.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delivered[m.Token(i)]++
	d.content[m.Token(i)] = string(b)
	return Result{Outcome: Delivered}
}

func (d *memDeliverer) AlreadyDelivered(ctx context.Context, m *Message, i int) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.delivered[m.Token(i)] > 0, nil
}

func (d *memDeliverer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.delivered {
		n += c
	}
	return n
}

func put(t testing.TB, q *Queue, body string, rcpts ...string) string {
	t.Helper()
	env := &Envelope{From: "a@b.test", Time: time.Now()}
	for _, r := range rcpts {
		env.Rcpts = append(env.Rcpts, Recipient{Addr: r, Local: true})
	}
	w, err := q.Create(env)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, body)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return w.ID()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestDeliverAndRemove(t *testing.T) {
	dir := t.TempDir()
	d := newMem()
	q, err := Open(Options{Dir: dir, Deliverer: d})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	id := put(t, q, "Subject: x\n\nhello\n", "u1@x.test", "u2@x.test")
	waitFor(t, "delivery", func() bool { return q.Len() == 0 })
	if d.count() != 2 || d.content["q"+id+"r1"] != "Subject: x\n\nhello\n" {
		t.Fatalf("%v %q", d.delivered, d.content)
	}
	if _, err := os.Stat(filepath.Join(dir, id)); !os.IsNotExist(err) {
		t.Fatalf("message file still there: %v", err)
	}
}

func TestSecondOpenRefused(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, Deliverer: newMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	if _, err := Open(Options{Dir: dir, Deliverer: newMem()}); err == nil {
		t.Fatal("second Open of the same spool succeeded")
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, Deliverer: newMem(), Pool: 2})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := q.Create(&Envelope{Rcpts: []Recipient{{Addr: "x@y", Local: true}}})
	io.WriteString(w, "partial")
	w.Abort()
	q.Close(context.Background())
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if st, _ := e.Info(); e.Name() != lockName && st.Size() != 0 {
			t.Fatalf("left %s (%d bytes)", e.Name(), st.Size())
		}
	}
}

// TestRecovery: messages committed but not delivered come back after a restart; held and
// partly delivered ones keep their state; uncommitted and torn files are removed.
func TestRecovery(t *testing.T) {
	dir := t.TempDir()
	hold := newMem()
	hold.outcome = func(m *Message, i int) Outcome {
		if m.Env.Rcpts[i].Addr == "held@x" {
			return Hold
		}
		return Delivered
	}
	q, err := Open(Options{Dir: dir, Deliverer: hold})
	if err != nil {
		t.Fatal(err)
	}
	id := put(t, q, strings.Repeat("line\n", 10000), "a@x", "held@x")
	waitFor(t, "first delivery", func() bool { return hold.count() == 1 })
	time.Sleep(50 * time.Millisecond)
	q.Close(context.Background())
	// a torn file and an uncommitted one
	os.WriteFile(filepath.Join(dir, "zzzz1"), []byte(magic+"C 0000000000000002 0000000000000010 00000000\n{}"), 0o600)
	os.WriteFile(filepath.Join(dir, "zzzz2"), []byte(magic+"- 0000000000000002 0000000000000000 00000000\n{}\n"), 0o600)

	d2 := newMem()
	q2, err := Open(Options{Dir: dir, Deliverer: d2})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close(context.Background())
	waitFor(t, "recovered delivery", func() bool { return q2.Len() == 0 })
	if d2.delivered["q"+id+"r0"] != 0 || d2.delivered["q"+id+"r1"] != 1 {
		t.Fatalf("after restart: %v", d2.delivered)
	}
	for _, n := range []string{"zzzz1", "zzzz2", id} {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s not removed", n)
		}
	}
}

// TestRecoveryChecksEarlierDelivery: a message whose delivery finished but whose removal
// was lost is not delivered again (AlreadyDelivered finds the token).
func TestRecoveryChecksEarlierDelivery(t *testing.T) {
	dir := t.TempDir()
	d := newMem()
	d.outcome = func(*Message, int) Outcome { return Hold }
	q, _ := Open(Options{Dir: dir, Deliverer: d})
	id := put(t, q, "x\n", "a@x")
	time.Sleep(50 * time.Millisecond)
	q.Close(context.Background())
	// pretend the delivery happened just before the crash
	d.outcome = nil
	d.delivered["q"+id+"r0"] = 1
	q2, _ := Open(Options{Dir: dir, Deliverer: d})
	defer q2.Close(context.Background())
	waitFor(t, "queue empty", func() bool { return q2.Len() == 0 })
	if d.delivered["q"+id+"r0"] != 1 {
		t.Fatalf("delivered again: %v", d.delivered)
	}
}

func TestRetry(t *testing.T) {
	dir := t.TempDir()
	d := newMem()
	var mu sync.Mutex
	fails := 2
	d.outcome = func(*Message, int) Outcome {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return Retry
		}
		return Delivered
	}
	q, _ := Open(Options{Dir: dir, Deliverer: d, RetryDelays: []time.Duration{10 * time.Millisecond}})
	defer q.Close(context.Background())
	put(t, q, "x\n", "a@x")
	waitFor(t, "delivery after retries", func() bool { return q.Len() == 0 })
	if d.count() != 1 {
		t.Fatal(d.delivered)
	}
}

// TestCommitLatency reports the distribution of Create+Write+Commit on one goroutine and on
// 20; the group commit and the spare files keep it near one fdatasync.
func TestStressCommitLatency(t *testing.T) {
	if os.Getenv("COURIER_STRESS") != "full" {
		t.Skip("a measurement; runs with COURIER_STRESS=full (make stress)")
	}
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, Deliverer: newMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	body := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 64)
	for _, g := range []int{1, 20} {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		for range g {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 / g * 2 {
					t0 := time.Now()
					put(t, q, body, "a@x")
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("%d writers: %d msgs %.0f/s p50 %v p99 %v max %v", g, len(lat), float64(len(lat))/el.Seconds(),
			lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	}
}

// TestRecycledSpares: a finished message's file is reused for the next messages under
// fresh ids; what the next one writes is cut to its own length, and neither a restart nor
// mailq ever takes a recycled file's stale content for a message.
func TestRecycledSpares(t *testing.T) {
	dir := t.TempDir()
	d := newMem()
	q, err := Open(Options{Dir: dir, Deliverer: d, Pool: 4})
	if err != nil {
		t.Fatal(err)
	}
	// with the pool full, the message takes a spare and its file then fills the gap
	waitFor(t, "the pool", func() bool { return len(q.pool) == cap(q.pool) })
	big := strings.Repeat("a long line of the first message\n", 3000)
	id0 := put(t, q, big, "a@x")
	waitFor(t, "first delivery", func() bool { return q.Len() == 0 })
	if _, err := os.Stat(filepath.Join(dir, id0)); !os.IsNotExist(err) {
		t.Fatalf("the delivered message's file keeps its name: %v", err)
	}
	// the stale copy now waits, renamed, as a spare: neither mailq nor a restart sees it
	stale := 0
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if st, _ := e.Info(); e.Name() != lockName && st.Size() > int64(len(big)) {
			stale++
		}
	}
	if stale != 1 {
		t.Fatalf("%d recycled files with the old content, want 1", stale)
	}
	if got, err := Scan(dir); err != nil || len(got) != 0 {
		t.Fatalf("mailq sees %d messages (%v), want none", len(got), err)
	}
	var ids []string
	for i := range 12 {
		ids = append(ids, put(t, q, fmt.Sprintf("Subject: %d\n\nshort\n", i), "b@x", "c@x"))
		waitFor(t, "delivery", func() bool { return q.Len() == 0 })
	}
	for i, id := range ids {
		want := fmt.Sprintf("Subject: %d\n\nshort\n", i)
		if d.content["q"+id+"r0"] != want || d.content["q"+id+"r1"] != want {
			t.Fatalf("message %d delivered as %q / %q", i, d.content["q"+id+"r0"], d.content["q"+id+"r1"])
		}
	}
	// a message left in a recycled file survives a restart with its own records only
	hold := newMem()
	hold.outcome = func(*Message, int) Outcome { return Hold }
	q.Close(context.Background())
	q, err = Open(Options{Dir: dir, Deliverer: hold, Pool: 4})
	if err != nil {
		t.Fatal(err)
	}
	idHeld := put(t, q, "held\n", "h@x")
	time.Sleep(50 * time.Millisecond)
	q.Close(context.Background())

	// a crash that kept a rename but not the rewrite leaves a committed message's bytes
	// under a fresh name: a spare, not a message
	data, err := os.ReadFile(filepath.Join(dir, idHeld))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zzzzzz9"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := Scan(dir); len(got) != 1 || got[0].ID != idHeld {
		t.Fatalf("mailq after restart: %+v, want only %s", got, idHeld)
	}
	d2 := newMem()
	q2, err := Open(Options{Dir: dir, Deliverer: d2, Pool: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close(context.Background())
	waitFor(t, "recovered delivery", func() bool { return q2.Len() == 0 })
	if d2.count() != 1 || d2.content["q"+idHeld+"r0"] != "held\n" {
		t.Fatalf("after restart: %v %q", d2.delivered, d2.content)
	}
}
