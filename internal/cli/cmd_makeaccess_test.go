package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
)

// TestAccessFiles: smtpaccess/ compiled by makesmtpaccess governs SMTP connections of a
// running server without a restart (BLOCK refuses every recipient, RELAYCLIENT relays
// without AUTH, deny drops the connection, and edits count only once compiled); an
// imapaccess/ entry compiled by makeimapaccess drops IMAP connections.
func TestAccessFiles(t *testing.T) {
	s := testutil.Start(t, testutil.Options{Edit: func(tb testing.TB, conf string) {
		// imapd names IMAPACCESSFILE only once the admin sets it
		f, err := os.OpenFile(filepath.Join(conf, "imapd"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			tb.Fatal(err)
		}
		f.WriteString("IMAPACCESSFILE=${sysconfdir}/imapaccess\n")
		f.Close()
	}})
	conf := s.ConfigDir
	setAccess := func(dir, text, tool string) {
		t.Helper()
		os.MkdirAll(filepath.Join(conf, dir), 0o755)
		if err := os.WriteFile(filepath.Join(conf, dir, "default"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, e, code := runAuthTool(t, conf, "", tool); code != 0 {
			t.Fatalf("%s: exit %d: %s", tool, code, e)
		}
		time.Sleep(1100 * time.Millisecond) // the server looks again at most once a second
	}
	smtp := func() *testutil.Conn {
		c := testutil.Dial(t, s.MustAddr(t, "smtp"))
		c.Expect("220 example.test ESMTP")
		c.Send("HELO client.test")
		c.Expect("250 example.test Ok.")
		c.Send("MAIL FROM:<a@b.test>")
		c.Expect("250 2.1.0 Ok.")
		return c
	}

	// The quickstart's own smtpaccess/ has no entries: nothing changes.
	c := smtp()
	c.Send("RCPT TO:<x@elsewhere.test>")
	c.Expect("550 5.7.1 Relaying denied.")

	setAccess("smtpaccess", "127.0.0.1\tallow,BLOCK=\"550 5.7.1 Go away, spammer.\"\n", "makesmtpaccess")
	c = smtp()
	c.Send("RCPT TO:<demo@example.test>")
	c.Expect("550 5.7.1 Go away, spammer.")

	setAccess("smtpaccess", "127.0.0\tallow,RELAYCLIENT\n", "makesmtpaccess")
	c = smtp()
	c.Send("RCPT TO:<x@elsewhere.test>")
	c.Expect("250 2.1.5 Ok.")

	// An edit not compiled yet changes nothing.
	os.WriteFile(filepath.Join(conf, "smtpaccess", "default"), []byte("127.0.0.1\tdeny\n"), 0o644)
	time.Sleep(1100 * time.Millisecond)
	c = smtp()
	c.Send("QUIT")
	c.Expect("221 2.0.0 example.test Bye.")

	setAccess("smtpaccess", "127.0.0.1\tdeny\n", "makesmtpaccess")
	c = testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.ExpectClosed()

	// IMAP: nothing until imapaccess is compiled, then dropped.
	c = testutil.Dial(t, s.MustAddr(t, "imap"))
	c.ExpectMatch(`^\* OK `)
	setAccess("imapaccess", "127\tdeny\n", "makeimapaccess")
	c = testutil.Dial(t, s.MustAddr(t, "imap"))
	c.ExpectClosed()

	// A broken file is refused by the compiler, which names file and line.
	os.WriteFile(filepath.Join(conf, "smtpaccess", "default"), []byte("# ok\n10.0.0.1\tpermit\n"), 0o644)
	if _, e, code := runAuthTool(t, conf, "", "makesmtpaccess"); code != 1 || !strings.Contains(e, "smtpaccess/default:2: ") {
		t.Errorf("broken file: exit %d, %q", code, e)
	}
}
