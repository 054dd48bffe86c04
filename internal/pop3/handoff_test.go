package pop3_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"courier/internal/auth"
	"courier/internal/pop3"
)

// fakeHandoff answers as its mode says: "refuse" (policy), "broken" (cannot start), "stay"
// (in this process), "hand" (it answers the login itself, as the session process would).
type fakeHandoff struct {
	mu   sync.Mutex
	mode string
	got  *pop3.HandoffSession
	buf  string
}

func (f *fakeHandoff) set(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
}

func (f *fakeHandoff) Serve(_ context.Context, s *pop3.HandoffSession) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch f.mode {
	case "refuse":
		return false, fmt.Errorf("uid 0: %w", auth.ErrDisabled)
	case "broken":
		return false, fmt.Errorf("no home: %w", auth.ErrTempFail)
	case "stay":
		return false, nil
	}
	f.got, f.buf = s, string(s.Buffered)
	fmt.Fprintf(s.Conn, "+OK logged in.\r\n")
	return true, nil
}

func TestHandoffHook(t *testing.T) {
	h := &fakeHandoff{}
	b := startBare(t, loopbackSettings(), func(c *pop3.Config) { c.Handoff = h })
	login := `
		C: USER ` + demoUser + `
		S: +OK Password required.
		C: PASS ` + demoPass
	h.set("refuse")
	c := b.dial()
	c.Transcript(login + `
		S: -ERR [SYS/PERM] Login disabled for this account.`)
	h.set("broken")
	c.Transcript(login + `
		S: -ERR [SYS/TEMP] Unable to open your mailbox, try again later.`)
	h.set("stay")
	c.Transcript(login + `
		S: +OK logged in.
		C: QUIT
		S: +OK Bye-bye.`)

	// Handed off with a pipelined STAT: it goes along, and this process says nothing more.
	h.set("hand")
	c = b.dial()
	if _, err := c.Raw().Write([]byte("USER " + demoUser + "\r\nPASS " + demoPass + "\r\nSTAT\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Expect("+OK Password required.")
	c.Expect("+OK logged in.")
	c.ExpectClosed()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.buf != "STAT\r\n" || h.got.User != demoUser || h.got.TLS || h.got.Remote != "127.0.0.1" || h.got.Maildir != b.maildir {
		t.Errorf("handed off %+v with buffered %q (maildir %s)", h.got, h.buf, b.maildir)
	}
}
