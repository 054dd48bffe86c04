package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/queue"
)

// accounts is a tiny auth.Module.
type accounts map[string]*auth.Account

func (a accounts) Name() string { return "test" }
func (a accounts) Lookup(_ context.Context, _, user string) (*auth.Account, error) {
	if acc, ok := a[user]; ok {
		return acc, nil
	}
	return nil, fmt.Errorf("%q: %w", user, auth.ErrNoUser)
}
func (a accounts) Authenticate(context.Context, *auth.Request) (*auth.Account, error) {
	return nil, auth.ErrNotSupported
}
func (a accounts) ChangePassword(context.Context, string, string, string, string) error {
	return auth.ErrNotSupported
}
func (a accounts) Enumerate(context.Context, func(*auth.Account) error) error { return nil }

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRoute(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "me", "mx.example.test\n")
	write(t, dir, "locals", "localhost\n!no.local.test\n.local.test\n*\n")
	write(t, dir, "hosteddomains", "example.test\nalias.test\texample.test\n")
	write(t, dir, "esmtpacceptmailfor.dir/x", "backup.test\n")
	write(t, dir, "aliases/system", "postmaster: demo@example.test\nteam: demo@example.test,\n  bob, out@remote.test\nloop1: loop2\nloop2: loop1\n")
	acc := accounts{"demo@example.test": {Address: "demo@example.test"}, "bob": {Address: "bob"}}
	r := NewResolver(ResolverOptions{ConfigDir: dir, Auth: acc, Hostname: "myhost.test"})
	ctx := context.Background()
	for _, tc := range []struct {
		addr  string
		relay bool
		want  string // "Addr/Local/Account;…" or an error
	}{
		{"demo@example.test", false, "demo@example.test/true/demo@example.test"},
		{"Demo@Example.TEST", false, "Demo@example.test/true/demo@example.test"},
		{"demo@alias.test", false, "demo@example.test/true/demo@example.test"},
		{"nobody@example.test", false, "unknown"},
		{"postmaster@example.test", false, "demo@example.test/true/demo@example.test"},
		{"postmaster", false, "demo@example.test/true/demo@example.test"},
		{"postmaster@localhost", false, "demo@example.test/true/demo@example.test"},
		{"bob@localhost", false, "bob@localhost/true/bob"},
		{"bob@sub.local.test", false, "bob@sub.local.test/true/bob"},
		{"bob@no.local.test", false, "relay"},
		{"team@mx.example.test", false, "relay"}, // me is not in locals
		{"team@localhost", false, "demo@example.test/true/demo@example.test;bob@mx.example.test/true/bob;out@remote.test/false/"},
		{"anyone@backup.test", false, "anyone@backup.test/false/"},
		{"x@elsewhere.test", false, "relay"},
		{"x@elsewhere.test", true, "x@elsewhere.test/false/"},
		{"loop1@localhost", false, "unknown"},
		{"bob@myhost.test", false, "bob@myhost.test/true/bob"}, // "*" in locals is the host name
	} {
		rs, err := r.Route(ctx, tc.addr, tc.relay)
		var got string
		switch {
		case errors.Is(err, ErrUnknownUser):
			got = "unknown"
		case errors.Is(err, ErrRelayDenied):
			got = "relay"
		case err != nil:
			got = err.Error()
		default:
			var parts []string
			for _, x := range rs {
				parts = append(parts, fmt.Sprintf("%s/%v/%s", x.Addr, x.Local, x.Account))
			}
			got = strings.Join(parts, ";")
		}
		if got != tc.want {
			t.Errorf("%s (relay %v): got %s, want %s", tc.addr, tc.relay, got, tc.want)
		}
	}
}

// memMsg builds a queued message in a real queue with a Deliverer that does nothing, so the
// Local deliverer can be driven by hand.
type nop struct{}

func (nop) Deliver(context.Context, *queue.Message, int) queue.Result {
	return queue.Result{Outcome: queue.Hold}
}
func (nop) AlreadyDelivered(context.Context, *queue.Message, int) (bool, error) { return false, nil }

func queued(t *testing.T, content string, rcpts ...queue.Recipient) *queue.Message {
	t.Helper()
	dir := t.TempDir()
	q, err := queue.Open(queue.Options{Dir: dir, Deliverer: nop{}, Pool: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	w, err := q.Create(&queue.Envelope{From: "s@x.test", Rcpts: rcpts, Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, content)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	q.Close(context.Background())
	// reopen to get the Message back as recovery sees it
	var got *queue.Message
	cap := &capture{got: &got}
	q2, err := queue.Open(queue.Options{Dir: dir, Deliverer: cap, Pool: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q2.Close(context.Background()) })
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		cap.mu.Lock()
		g := got
		cap.mu.Unlock()
		if g != nil {
			break
		}
	}
	cap.mu.Lock()
	defer cap.mu.Unlock()
	if got == nil {
		t.Fatal("message not recovered")
	}
	return got
}

func TestLocalDeliver(t *testing.T) {
	home := t.TempDir()
	md := filepath.Join(home, "Maildir")
	acc := accounts{"u@x.test": {Address: "u@x.test", Home: home}}
	l := NewLocal(LocalOptions{Auth: acc})
	ctx := context.Background()
	m := queued(t, "Received: from a\nSubject: hi\n\nbody\n", queue.Recipient{Addr: "u@x.test", Local: true, Account: "u@x.test"},
		queue.Recipient{Addr: "far@remote.test"})
	if ok, err := l.AlreadyDelivered(ctx, m, 0); ok || err != nil {
		t.Fatal(ok, err)
	}
	if res := l.Deliver(ctx, m, 0); res.Outcome != queue.Delivered {
		t.Fatal(res)
	}
	if res := l.Deliver(ctx, m, 1); res.Outcome != queue.Hold {
		t.Fatal(res)
	}
	ents, _ := os.ReadDir(filepath.Join(md, "new"))
	if len(ents) != 1 || !strings.Contains(ents[0].Name(), "_"+m.Token(0)) {
		t.Fatalf("%v", ents)
	}
	b, _ := os.ReadFile(filepath.Join(md, "new", ents[0].Name()))
	if string(b) != "Return-Path: <s@x.test>\nDelivered-To: u@x.test\nReceived: from a\nSubject: hi\n\nbody\n" {
		t.Fatalf("%q", b)
	}
	// a fresh Local (after a restart) finds the token
	if ok, err := NewLocal(LocalOptions{Auth: acc}).AlreadyDelivered(ctx, m, 0); !ok || err != nil {
		t.Fatal("earlier delivery not found", err)
	}
	// over quota: temporary failure
	os.WriteFile(filepath.Join(md, "maildirsize"), []byte("10S\n"), 0o600)
	if res := l.Deliver(ctx, m, 0); res.Outcome != queue.Retry {
		t.Fatalf("over quota: %v", res)
	}
}

func TestLocalLoops(t *testing.T) {
	home := t.TempDir()
	acc := accounts{"u@x.test": {Address: "u@x.test", Home: home}}
	l := NewLocal(LocalOptions{Auth: acc, MaxHops: 3})
	ctx := context.Background()
	r := queue.Recipient{Addr: "u@x.test", Local: true, Account: "u@x.test"}
	m := queued(t, "Delivered-To: U@x.test\nSubject: loop\n\nx\n", r)
	if res := l.Deliver(ctx, m, 0); res.Outcome != queue.Failed {
		t.Fatalf("Delivered-To loop: %v", res)
	}
	m2 := queued(t, strings.Repeat("Received: x\n", 4)+"\nx\n", r)
	if res := l.Deliver(ctx, m2, 0); res.Outcome != queue.Failed {
		t.Fatalf("hop count: %v", res)
	}
	m3 := queued(t, "Subject: ok\n\nx\n", queue.Recipient{Addr: "gone@x.test", Local: true, Account: "gone@x.test"})
	if res := l.Deliver(ctx, m3, 0); res.Outcome != queue.Failed {
		t.Fatalf("no account: %v", res)
	}
}

type capture struct {
	mu  sync.Mutex
	got **queue.Message
}

func (c *capture) Deliver(_ context.Context, m *queue.Message, _ int) queue.Result {
	c.mu.Lock()
	*c.got = m
	c.mu.Unlock()
	return queue.Result{Outcome: queue.Hold}
}
func (c *capture) AlreadyDelivered(context.Context, *queue.Message, int) (bool, error) {
	return false, nil
}
