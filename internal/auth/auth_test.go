package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// fakeModule answers from a map; err, if set, is returned for everything.
type fakeModule struct {
	name  string
	users map[string]string // user → password
	err   error
	calls int
}

func (f *fakeModule) Name() string { return f.name }
func (f *fakeModule) Lookup(_ context.Context, _, user string) (*Account, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if _, ok := f.users[user]; !ok {
		return nil, fmt.Errorf("%s: %w", f.name, ErrNoUser)
	}
	return &Account{Address: user, Options: ParseOptions("disableimap=0")}, nil
}
func (f *fakeModule) Authenticate(ctx context.Context, r *Request) (*Account, error) {
	a, err := f.Lookup(ctx, r.Service, r.User)
	if err != nil {
		return nil, err
	}
	if f.users[r.User] != r.Password {
		return nil, ErrBadPassword
	}
	return a, nil
}
func (f *fakeModule) ChangePassword(context.Context, string, string, string, string) error {
	return ErrNotSupported
}
func (f *fakeModule) Enumerate(_ context.Context, fn func(*Account) error) error {
	for u := range f.users {
		if err := fn(&Account{Address: u}); err != nil {
			return err
		}
	}
	return nil
}

func TestChainOrderAndOutcomes(t *testing.T) {
	a := &fakeModule{name: "a", users: map[string]string{"x": "1"}}
	b := &fakeModule{name: "b", users: map[string]string{"y": "2", "x": "other"}}
	c := NewChain(ParseOptions("disablewebmail=1,disableimap=1"), a, b)
	ctx := context.Background()

	acc, err := c.Authenticate(ctx, &Request{User: "y", Password: "2"})
	if err != nil || acc.Module != "b" {
		t.Fatalf("y: %v %v", acc, err)
	}
	// DEFAULTOPTIONS never override the account's own.
	if !acc.Options.Bool("disablewebmail") || acc.Options.Bool("disableimap") {
		t.Errorf("options %q", acc.Options)
	}
	// Wrong password in a, right one in b: the chain goes on, as authlib.
	if acc, err := c.Authenticate(ctx, &Request{User: "x", Password: "other"}); err != nil || acc.Module != "b" {
		t.Errorf("x/other: %v %v", acc, err)
	}
	if _, err := c.Authenticate(ctx, &Request{User: "x", Password: "bad"}); !errors.Is(err, ErrBadPassword) {
		t.Errorf("bad password: %v", err)
	}
	if _, err := c.Authenticate(ctx, &Request{User: "nobody", Password: "bad"}); !errors.Is(err, ErrNoUser) {
		t.Errorf("no user: %v", err)
	}
	if _, err := c.Lookup(ctx, "imap", "nobody"); !errors.Is(err, ErrNoUser) {
		t.Errorf("lookup: %v", err)
	}
	if err := c.ChangePassword(ctx, "imap", "x", "1", "2"); !errors.Is(err, ErrNoUser) {
		t.Errorf("passwd: %v", err)
	}
	n := 0
	c.Enumerate(ctx, func(*Account) error { n++; return nil })
	if n != 3 {
		t.Errorf("enumerated %d", n)
	}
}

func TestChainTempFailStops(t *testing.T) {
	a := &fakeModule{name: "a", err: fmt.Errorf("db down: %w", ErrTempFail)}
	b := &fakeModule{name: "b", users: map[string]string{"y": "2"}}
	c := NewChain(nil, a, b)
	_, err := c.Authenticate(context.Background(), &Request{User: "y", Password: "2"})
	if !errors.Is(err, ErrTempFail) || IsReject(err) || b.calls != 0 {
		t.Errorf("err %v, b called %d", err, b.calls)
	}
	// An unexpected error is a temporary failure too, never a rejection.
	a.err = errors.New("boom")
	if _, err := c.Lookup(context.Background(), "imap", "y"); !errors.Is(err, ErrTempFail) {
		t.Errorf("unexpected error: %v", err)
	}
}

func TestChainRefusesBadNames(t *testing.T) {
	a := &fakeModule{name: "a", users: map[string]string{}}
	c := NewChain(nil, a)
	for _, u := range []string{"", "a\x00b", "a\nb", "a\rb", "a\tb", string(make([]byte, 10000))} {
		if _, err := c.Authenticate(context.Background(), &Request{User: u, Password: "x"}); !errors.Is(err, ErrNoUser) {
			t.Errorf("%.20q: %v", u, err)
		}
	}
	if a.calls != 0 {
		t.Errorf("module saw %d invalid names", a.calls)
	}
}

func TestOptions(t *testing.T) {
	o := ParseOptions("disableimap=1, group=staff,group=admins,sharedgroup=x,disablepop3=0,mailhost=m.example,flag")
	if !o.Bool("disableimap") || o.Bool("disablepop3") || o.Bool("flag") || o.Bool("missing") {
		t.Errorf("bools %v", o)
	}
	if g := o.All("group"); len(g) != 2 || g[1] != "admins" {
		t.Errorf("groups %v", g)
	}
	if v, _ := o.Get("mailhost"); v != "m.example" {
		t.Errorf("mailhost %q", v)
	}
	if s := ParseOptions("a=1,b=2").String(); s != "a=1,b=2" {
		t.Errorf("String %q", s)
	}
	acc := &Account{Home: "/h/", Options: ParseOptions("disableinsecureimap=1,disablewebmail=y")}
	if acc.ServiceAllowed("imap", false) || !acc.ServiceAllowed("imap", true) || acc.ServiceAllowed("webmail", true) ||
		!acc.ServiceAllowed("pop3", false) {
		t.Error("ServiceAllowed")
	}
	if acc.MaildirPath() != "/h/Maildir" {
		t.Errorf("MaildirPath %q", acc.MaildirPath())
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	th := NewThrottle(ThrottleConfig{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: 4 * time.Second,
		LockoutAfter: 6, LockoutFor: time.Minute, Window: 10 * time.Minute}, clock)
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, w := range want {
		d, err := th.Check("192.0.2.1", "bob")
		if err != nil || d != w {
			t.Fatalf("attempt %d: %v %v, want %v", i, d, err, w)
		}
		th.Failure("192.0.2.1", "bob")
	}
	if _, err := th.Check("192.0.2.1", "alice"); !errors.Is(err, ErrThrottled) {
		t.Errorf("address not locked out: %v", err)
	}
	if _, err := th.Check("198.51.100.7", "BOB"); !errors.Is(err, ErrThrottled) {
		t.Errorf("account not locked out from another address: %v", err)
	}
	if d, err := th.Check("198.51.100.7", "carol"); err != nil || d != 0 {
		t.Errorf("unrelated login delayed: %v %v", d, err)
	}
	now = now.Add(61 * time.Second)
	if d, err := th.Check("192.0.2.1", "bob"); err != nil || d == 0 {
		t.Errorf("after lockout: %v %v", d, err)
	}
	th.Success("192.0.2.1", "bob")
	if d, _ := th.Check("198.51.100.7", "bob"); d != 0 {
		t.Errorf("success did not clear the account: %v", d)
	}
	now = now.Add(11 * time.Minute)
	if d, err := th.Check("192.0.2.1", "x"); d != 0 || err != nil {
		t.Errorf("window did not expire: %v %v", d, err)
	}
	small := NewThrottle(ThrottleConfig{MaxEntries: 10}, clock)
	for i := 0; i < 100; i++ {
		small.Failure(fmt.Sprint("10.0.0.", i), "")
	}
	if small.Len() > 10 {
		t.Errorf("throttle grew to %d", small.Len())
	}
}
