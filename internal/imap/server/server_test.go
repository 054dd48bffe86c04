package server_test

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/store/maildir"
	"courier/internal/testutil"
)

// start runs a quickstart installation and returns it with the demo Maildir's path.
func start(t *testing.T, edit func(t testing.TB, conf string)) (*testutil.Server, string) {
	t.Helper()
	s := testutil.Start(t, testutil.Options{Edit: edit})
	return s, filepath.Join(s.Dir, "mail", "example.test", "demo", "Maildir")
}

// put delivers a message into a Maildir's new/ under a name that sorts in delivery order.
func put(t testing.TB, md string, n int, text string) {
	t.Helper()
	name := fmt.Sprintf("%d.M%dP1.test", 1600000000+n, n)
	if err := os.WriteFile(filepath.Join(md, "tmp", name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(md, "tmp", name), filepath.Join(md, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// login connects and logs in as demo.
func login(t *testing.T, s *testutil.Server) *testutil.Conn {
	t.Helper()
	c := testutil.Dial(t, s.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK \[CAPABILITY IMAP4rev1 .*\] `)
	c.Send("L1 LOGIN " + s.Account + " " + s.Password)
	c.ExpectMatch(`^L1 OK \[CAPABILITY IMAP4rev1 .*\] LOGIN Ok\.$`)
	return c
}

func TestGreetingAndLogin(t *testing.T) {
	s, _ := start(t, nil)
	c := testutil.Dial(t, s.MustAddr(t, "imap"))
	g := c.ExpectMatch(`^\* OK \[CAPABILITY `)
	for _, w := range []string{"IMAP4rev1", "STARTTLS", "AUTH=PLAIN", "SASL-IR", "LITERAL+", "IDLE", "MOVE", "UIDPLUS"} {
		if !strings.Contains(g, " "+w) {
			t.Errorf("greeting lacks %s: %s", w, g)
		}
	}
	if strings.Contains(g, "LOGINDISABLED") {
		t.Errorf("loopback may log in without TLS in quickstart: %s", g)
	}
	c.Transcript(`
		C: a SELECT INBOX
		S: a BAD Please log in first.
		C: b LOGIN demo@example.test wrong
		S: b NO [AUTHENTICATIONFAILED] Login failed.
		C: c LOGIN nobody@example.test x
		S: c NO [AUTHENTICATIONFAILED] Login failed.
	`)
	c.Send(`d LOGIN "demo@example.test" {11}`)
	c.Expect("+ OK")
	c.Send(s.Password)
	c.ExpectMatch(`^d OK \[CAPABILITY IMAP4rev1 .*\] LOGIN Ok\.$`)
	c.Transcript(`
		C: e LOGIN demo@example.test x
		S: e NO Error in IMAP command received by server.
		C: f LOGOUT
		S: * BYE Courier-IMAP server shutting down
		S: f OK LOGOUT completed
	`)
	c.ExpectClosed()
}

func TestAuthenticatePlainSASLIR(t *testing.T) {
	s, _ := start(t, nil)
	c := testutil.Dial(t, s.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK `)
	// base64("\x00demo@example.test\x00demo-Pass-1")
	c.Send("a AUTHENTICATE PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8tUGFzcy0x")
	c.ExpectMatch(`^a OK \[CAPABILITY `)
	c.Send("b AUTHENTICATE PLAIN")
	c.Expect("b NO Error in IMAP command received by server.")
}

func TestStartTLSRequiredOffLoopback(t *testing.T) {
	s, _ := start(t, func(t testing.TB, conf string) {
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "PLAINTEXT_LOGIN_FROM", `""`)
	})
	c := testutil.Dial(t, s.MustAddr(t, "imap"))
	g := c.ExpectMatch(`^\* OK \[CAPABILITY `)
	if !strings.Contains(g, "LOGINDISABLED") || !strings.Contains(g, "STARTTLS") || strings.Contains(g, "AUTH=PLAIN") {
		t.Fatalf("greeting: %s", g)
	}
	c.Transcript(`
		C: a LOGIN demo@example.test demo-Pass-1
		S: a NO [PRIVACYREQUIRED] LOGIN disabled: use STARTTLS first.
		C: b STARTTLS
		S: b OK Begin SSL/TLS negotiation now.
	`)
	tc := tls.Client(c.Raw(), &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c = testutil.Wrap(t, tc)
	c.Send("c CAPABILITY")
	cp := c.ExpectMatch(`^\* CAPABILITY `)
	if strings.Contains(cp, "STARTTLS") || strings.Contains(cp, "LOGINDISABLED") || !strings.Contains(cp, "AUTH=PLAIN") {
		t.Fatalf("capability under TLS: %s", cp)
	}
	c.Expect("c OK CAPABILITY completed")
	c.Send("d LOGIN demo@example.test demo-Pass-1")
	c.ExpectMatch(`^d OK `)
}

func TestMailboxSession(t *testing.T) {
	s, md := start(t, nil)
	put(t, md, 1, "From: a@example.org\nSubject: one\n\nbanana\n")
	put(t, md, 2, "From: b@example.org\nSubject: two\n\ncherry\n")
	c := login(t, s)
	c.Transcript(`
		C: a SELECT INBOX
		S: * FLAGS (\Draft \Answered \Flagged \Deleted \Seen \Recent)
		S: * OK [PERMANENTFLAGS (\* \Draft \Answered \Flagged \Deleted \Seen)] Limited
		S: * 2 EXISTS
		S: * 2 RECENT
		S~ ^\* OK \[UIDVALIDITY \d+\] Ok$
		S: * OK [MYRIGHTS "acdilrsw"] ACL
		S: a OK [READ-WRITE] Ok
		C: b FETCH 1:* (UID FLAGS RFC822.SIZE)
		S: * 1 FETCH (UID 1 FLAGS (\Recent) RFC822.SIZE 45)
		S: * 2 FETCH (UID 2 FLAGS (\Recent) RFC822.SIZE 45)
		S: b OK FETCH completed.
		C: c SEARCH BODY banana
		S: * SEARCH 1
		S: c OK SEARCH done.
		C: d STORE 2 +FLAGS ($Important)
		S: * FLAGS ($Important \Draft \Answered \Flagged \Deleted \Seen \Recent)
		S: * OK [PERMANENTFLAGS ($Important \* \Draft \Answered \Flagged \Deleted \Seen)] Limited
		S: * 2 FETCH (FLAGS (\Recent $Important))
		S: d OK STORE completed.
		C: e UID SEARCH KEYWORD $Important
		S: * SEARCH 2
		S: e OK SEARCH done.
		C: f FETCH 1 (BODY[TEXT])
		S: * 1 FETCH (BODY[TEXT] {8}
		S: banana
		S: )
		S: * 1 FETCH (FLAGS (\Seen \Recent))
		S: f OK FETCH completed.
		C: g UID MOVE 1 INBOX.Archive
		S~ ^\* OK \[COPYUID \d+ 1 1\] 
		S: * 1 EXPUNGE
		S: g OK MOVE completed.
		C: h STATUS INBOX.Archive (MESSAGES UNSEEN SIZE)
		S: * STATUS "INBOX.Archive" (MESSAGES 1 UNSEEN 0 SIZE 45)
		S: h OK STATUS Completed.
		C: i APPEND INBOX.Drafts (\Draft) {16+}
		C: Subject: draft
		C: 
		S~ ^i OK \[APPENDUID \d+ 1\] APPEND Ok\.$
		C: j UID STORE 2 +FLAGS.SILENT (\Deleted)
		S: j OK STORE completed.
		C: k EXPUNGE
		S: * 1 EXPUNGE
		S: * 0 EXISTS
		S: * 0 RECENT
		S: k OK EXPUNGE completed
		C: l LIST (SPECIAL-USE) "" "*"
		S: * LIST (\HasNoChildren \Archive) "." "INBOX.Archive"
		S: * LIST (\HasNoChildren \Drafts) "." "INBOX.Drafts"
		S: * LIST (\HasNoChildren \Junk) "." "INBOX.Junk"
		S: * LIST (\HasNoChildren \Sent) "." "INBOX.Sent"
		S: * LIST (\HasNoChildren \Trash) "." "INBOX.Trash"
		S: l OK LIST completed
		C: m GETQUOTAROOT INBOX
		S: * QUOTAROOT "INBOX" "ROOT"
		S~ ^\* QUOTA "ROOT" \(.*\)$
		S: m OK GETQUOTAROOT Ok.
		C: n UNSELECT
		S: n OK UNSELECT completed.
	`)
}

func TestIdleSeesDeliveryFromAnotherProcess(t *testing.T) {
	s, md := start(t, nil)
	c := login(t, s)
	c.Transcript(`
		C: a SELECT INBOX
		S~ ^\* FLAGS
		S~ ^\* OK \[PERMANENTFLAGS
		S: * 0 EXISTS
		S: * 0 RECENT
		S~ UIDVALIDITY
		S~ MYRIGHTS
		S: a OK [READ-WRITE] Ok
		C: b IDLE
		S: + entering idle mode
	`)
	start := time.Now()
	m, err := maildir.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inbox().Deliver(strings.NewReader("Subject: hi\n\nthere\n"), nil); err != nil {
		t.Fatal(err)
	}
	c.Wait = 2 * time.Second
	c.Expect("* 1 EXISTS")
	c.Expect("* 1 RECENT")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("EXISTS after %v", d)
	}
	c.Transcript(`
		C: DONE
		S: b OK IDLE completed
	`)
}

func TestBadInput(t *testing.T) {
	s, _ := start(t, nil)
	c := login(t, s)
	c.Send("a " + strings.Repeat("X", 100000))
	c.ExpectMatch(`^\* BAD `)
	c.Transcript(`
		C: b NOOP
		S: b OK NOOP completed
		C: c FROB
		S: c NO Error in IMAP command received by server.
		C: d FETCH 1 FLAGS
		S: d NO Error in IMAP command received by server.
		C: e SELECT "INBOX/../../etc"
		S~ ^e NO 
		C: f CREATE "../x"
		S~ ^f NO 
		C: g CREATE INBOX..x
		S~ ^g NO 
		C: h LOGIN {107374182400}
		S~ ^h (BAD|NO) 
		C: i SELECT INBOX
		S~ ^\* FLAGS
	`)
	for {
		l, err := c.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "i ") {
			break
		}
	}
	c.Transcript(`
		C: j FETCH 0 FLAGS
		S~ ^j (BAD|NO) 
		C: k FETCH 1:x FLAGS
		S~ ^k (BAD|NO) 
		C: l SEARCH ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((ALL
		S~ ^l (BAD|NO) 
		C: m NOOP
		S: m OK NOOP completed
	`)
}

// TestSearchAfterAnotherSessionExpunged: a message whose file another program removed after
// this session's view was taken matches nothing; SEARCH still answers OK with the others
// (it answered NO under the benchmark's mixed load, where sessions expunge each other's mail).
func TestSearchAfterAnotherSessionExpunged(t *testing.T) {
	s, md := start(t, nil)
	put(t, md, 1, "Subject: one needle\n\nx\n")
	put(t, md, 2, "Subject: two needle\n\ny\n")
	c := login(t, s)
	c.Transcript(`
		C: a SELECT INBOX
		S~ ^\* FLAGS
		S~ ^\* OK \[PERMANENTFLAGS
		S: * 2 EXISTS
		S: * 2 RECENT
		S~ UIDVALIDITY
		S~ MYRIGHTS
		S: a OK [READ-WRITE] Ok
	`)
	cur, err := os.ReadDir(filepath.Join(md, "cur"))
	if err != nil || len(cur) != 2 {
		t.Fatalf("cur: %v %v", cur, err)
	}
	if err := os.Remove(filepath.Join(md, "cur", cur[0].Name())); err != nil {
		t.Fatal(err)
	}
	c.Send(`b UID SEARCH HEADER Subject "needle"`)
	c.ExpectMatch(`^\* SEARCH [0-9]+$`)
	c.ExpectMatch(`^(\* [0-9]+ EXPUNGE|b OK SEARCH done\.)$`)
}
