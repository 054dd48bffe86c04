package server_test

import (
	"strings"
	"testing"
	"time"
)

// selectAll selects INBOX on c and reads up to the tagged OK.
func selectAll(t *testing.T, c interface {
	Send(string)
	ReadLine() (string, error)
}, tag string) {
	t.Helper()
	c.Send(tag + " SELECT INBOX")
	untilTagged(t, c, tag)
}

// TestSessionsSeeEachOtherAtSync: two sessions of one server process share the folder's
// index (maildirstore), yet each sees the other's flag change, expunge and append only when
// it may be told (NOOP), with its sequence numbers stable until then.
func TestSessionsSeeEachOtherAtSync(t *testing.T) {
	s, md := start(t, nil)
	for i := 1; i <= 3; i++ {
		put(t, md, i, "Subject: m"+string(rune('0'+i))+"\n\nx\n")
	}
	a := login(t, s)
	b := login(t, s)
	selectAll(t, a, "a1")
	selectAll(t, b, "b1")
	b.Send(`b2 STORE 1 +FLAGS (\Flagged)`)
	b.ExpectMatch(`^\* 1 FETCH \(FLAGS \(\\Flagged`)
	b.Expect("b2 OK STORE completed.")
	b.Send(`b3 STORE 2 +FLAGS.SILENT (\Deleted)`)
	b.Expect("b3 OK STORE completed.")
	b.Send("b4 EXPUNGE")
	b.Expect("* 2 EXPUNGE")
	untilTagged(t, b, "b4")
	b.Send("b5 APPEND INBOX {13+}")
	b.Send("Subject: y\r\n")
	b.ExpectMatch(`^b5 OK \[APPENDUID [0-9]+ 4\]`)
	// a's sequence numbers are those of its last sync: message 3 is still UID 3, and FETCH
	// sends no EXPUNGE (RFC 3501 §7.4.1)
	a.Wait = 2 * time.Second
	a.Send("a2 FETCH 3 (UID)")
	a.Expect("* 3 FETCH (UID 3)")
	a.Expect("a2 OK FETCH completed.")
	// message 2, expunged by b, reads as Courier's stand-in, and the FETCH succeeds
	a.Send("a2b FETCH 2 (UID RFC822.SIZE ENVELOPE BODY.PEEK[])")
	a.Expect(`* 2 FETCH (UID 2 RFC822.SIZE 129 ENVELOPE (NIL "message unavailable" (("System Administrator" NIL "root" "localhost")) (("System Administrator" NIL "root" "localhost")) (("System Administrator" NIL "root" "localhost")) NIL NIL NIL NIL NIL) BODY[] {129}`)
	a.Expect("From: System Administrator <root@localhost>")
	a.Expect("Subject: message unavailable")
	a.Expect("")
	a.Expect("This message is no longer available on the server.")
	a.Expect(")")
	a.Expect("a2b OK FETCH completed.")
	a.Send("a3 NOOP")
	got := map[string]bool{}
	for _, l := range untilTagged(t, a, "a3") {
		got[l] = true
	}
	for _, want := range []string{"* 2 EXPUNGE", "* 3 EXISTS"} {
		if !got[want] {
			t.Errorf("NOOP after the other session's changes: no %q in %v", want, got)
		}
	}
	flagged := false
	for l := range got {
		flagged = flagged || strings.HasPrefix(l, `* 1 FETCH (FLAGS (\Flagged`)
	}
	if !flagged {
		t.Errorf("NOOP: no FETCH FLAGS of message 1 in %v", got)
	}
	a.Send("a4 FETCH 2:3 (UID)")
	a.Expect("* 2 FETCH (UID 3)")
	a.Expect("* 3 FETCH (UID 4)")
	a.Expect("a4 OK FETCH completed.")
	// the other session's own changes are not reported back to it
	b.Send("b6 NOOP")
	for _, l := range untilTagged(t, b, "b6") {
		if strings.Contains(l, "EXPUNGE") || strings.Contains(l, "FETCH") {
			t.Errorf("b's NOOP reported its own change: %q", l)
		}
	}
}

// untilTagged reads c's responses up to the tagged one (which must be OK) and returns the
// untagged ones.
func untilTagged(t *testing.T, c interface{ ReadLine() (string, error) }, tag string) []string {
	t.Helper()
	var out []string
	for {
		l, err := c.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				t.Fatalf("%s", l)
			}
			return out
		}
		out = append(out, l)
	}
}
