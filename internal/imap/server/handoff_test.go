package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"courier/internal/auth"
	"courier/internal/imap/server"
	"courier/internal/netx"
	"courier/internal/store"
	"courier/internal/store/maildir"
	"courier/internal/store/maildirstore"
	"courier/internal/testutil"
)

// anyPassword accepts every login; the account's home is the test's directory.
type anyPassword struct{ home string }

func (m anyPassword) Name() string { return "test" }
func (m anyPassword) Lookup(context.Context, string, string) (*auth.Account, error) {
	return nil, auth.ErrNoUser
}
func (m anyPassword) Authenticate(_ context.Context, r *auth.Request) (*auth.Account, error) {
	return &auth.Account{Address: r.User, UID: 4242, GID: 4242, Home: m.home}, nil
}
func (m anyPassword) ChangePassword(context.Context, string, string, string, string) error {
	return errors.New("no")
}
func (m anyPassword) Enumerate(context.Context, func(*auth.Account) error) error { return nil }

// fakeHandoff decides by login name: refuse@ (policy), broken@ (cannot start), stay@ (in
// this process); anyone else is "handed off": it answers the LOGIN itself on the
// connection, as the session process would.
type fakeHandoff struct {
	mu   sync.Mutex
	got  *server.HandoffSession
	buf  string
	done bool
}

func (f *fakeHandoff) Serve(_ context.Context, s *server.HandoffSession) (bool, error) {
	switch s.User {
	case "refuse@example.test":
		return false, fmt.Errorf("uid 0: %w", auth.ErrDisabled)
	case "broken@example.test":
		return false, fmt.Errorf("no home: %w", auth.ErrTempFail)
	case "stay@example.test":
		return false, nil
	}
	f.mu.Lock()
	f.got, f.buf = s, string(s.Buffered)
	f.mu.Unlock()
	if s.Started != nil {
		s.Started(1)
	}
	fmt.Fprintf(s.Conn, "%s OK handed off\r\n", s.Tag)
	return true, nil
}

func TestHandoffHook(t *testing.T) {
	home := t.TempDir()
	if err := maildir.Create(filepath.Join(home, "Maildir"), maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	h := &fakeHandoff{}
	set, err := server.SettingsFromEnv(map[string]string{"PLAINTEXT_LOGIN_FROM": "127.0.0.0/8", "SMAP_CAPABILITY": "SMAP1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{
		Auth: anyPassword{home: home},
		Open: func(_ context.Context, _ *auth.Account, p string) (store.Store, error) {
			return maildirstore.Open(p, nil)
		},
		Settings: func(string) (*server.Settings, error) { return set, nil },
		SMAP: func(context.Context, *bufio.Reader, io.Writer, store.Store, server.SMAPSession) error {
			t.Error("an SMAP session ran in-process")
			return nil
		},
		Handoff: h,
	})
	s := testutil.Start(t, testutil.Options{Handlers: map[string]netx.Handler{"imap": srv}})
	dial := func() *testutil.Conn {
		c := testutil.Dial(t, s.MustAddr(t, "imap"))
		c.ExpectMatch(`^\* OK \[CAPABILITY `)
		return c
	}
	c := dial()
	c.Transcript(`
		C: a LOGIN refuse@example.test pw
		S: a NO [CONTACTADMIN] Login disabled for this account.
		C: b LOGIN broken@example.test pw
		S: b NO [UNAVAILABLE] Unable to open your mailbox, try again later.
		C: c LOGIN stay@example.test pw
		S~ ^c OK \[CAPABILITY IMAP4rev1 .*\] LOGIN Ok\.$
		C: d LOGOUT
		S~ ^\* BYE
		S: d OK LOGOUT completed
	`)

	// Handed off: what the client pipelined goes along, the session process answers, and
	// this process writes nothing more (not even for the NOOP it read).
	c = dial()
	if _, err := c.Raw().Write([]byte("e CAPABILITY\r\nf LOGIN bob@example.test pw\r\ng NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	c.ExpectMatch(`^\* CAPABILITY `)
	c.ExpectMatch(`^e OK `)
	c.Expect("f OK handed off")
	c.ExpectClosed()
	h.mu.Lock()
	if h.buf != "g NOOP\r\n" || h.got.Tag != "f" || h.got.SMAP || h.got.TLS || h.got.Remote != "127.0.0.1" ||
		h.got.Maildir != filepath.Join(home, "Maildir") || h.got.Service != "imap" {
		t.Errorf("handed off %+v with buffered %q", h.got, h.buf)
	}
	h.mu.Unlock()

	// SMAP: no tag; the session process's first line answers.
	c = dial()
	c.Send(`\SMAP1 LOGIN smap@example.test pw`)
	c.Expect(" OK handed off")
	c.ExpectClosed()
	h.mu.Lock()
	if !h.got.SMAP || h.got.Tag != "" {
		t.Errorf("SMAP handoff %+v", h.got)
	}
	h.mu.Unlock()
}
