package delivery_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
)

// TestMaildropInProcessEndToEnd: demo's $HOME/.courier says "| maildrop" and
// .courier-archive names Courier's path of it; neither program exists on this machine,
// so only the in-process maildrop can deliver. The recipe files mail by subject and by the
// address extension (imported from Courier's environment) and leaves the rest to DEFAULT,
// Courier's MAILDROPDEFAULT (the account's Maildir).
func TestMaildropInProcessEndToEnd(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	home := filepath.Join(s.Dir, "mail", "example.test", "demo")
	md := filepath.Join(home, "Maildir")
	files := map[string]string{
		".courier":         "| maildrop\n",
		".courier-archive": "|/usr/lib/courier/bin/maildrop -A 'X-Filed: yes'\n",
		".mailfilter": `import EXT
import SENDER
if (/^Subject:.*spam/)
{
  to "./Maildir/.Junk"
}
if ($EXT eq "archive")
{
  xfilter "sed -e 's/^Subject: /Subject: [archived] /'"
  to "$HOME/Maildir/.Archive"
}
if ($SENDER ne "demo@example.test")
{
  to "./Maildir/.Trash"
}
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(home, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	send := func(rcpt, subject string) {
		c := testutil.Dial(t, s.MustAddr(t, "smtp"))
		c.Expect("220 example.test ESMTP")
		c.Send("EHLO client.test")
		for {
			l, err := c.ReadLine()
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "250 ") {
				break
			}
		}
		c.Transcript(`
			C: MAIL FROM:<demo@example.test>
			S: 250 2.1.0 Ok.
			C: RCPT TO:<` + rcpt + `>
			S: 250 2.1.5 Ok.
			C: DATA
			S: 354 Ok.
			C: Subject: ` + subject + `
			C: 
			C: hello
			C: .
			S~ ^250 2\.0\.0 Ok\.
			C: QUIT
			S: 221 2.0.0 example.test Bye.
		`)
	}
	send("demo@example.test", "buy spam now")
	send("demo-archive@example.test", "keep me")
	send("demo@example.test", "plain")
	want := map[string]string{
		".Junk/new":    "Subject: buy spam now\n",
		".Archive/new": "\nSubject: [archived] keep me\n",
		"new":          "Subject: plain\n",
	}
	for dir, text := range want {
		var got string
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end) && got == ""; time.Sleep(20 * time.Millisecond) {
			ents, _ := os.ReadDir(filepath.Join(md, dir))
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(md, dir, e.Name()))
				got += string(b)
			}
		}
		if !strings.Contains(got, text) {
			t.Errorf("%s: want %q in\n%s", dir, text, got)
		}
	}
}
