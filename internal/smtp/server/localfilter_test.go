package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/testutil"
)

// TestLocalMailFilterEndToEnd: localmailfilter(7) with our maildrop named in maildropfilter
// (a path where nothing is installed, so only the in-process maildrop can answer). demo's
// rcptfilter refuses one sender with its own reply, whitelists another and sends a third
// through smtpfilter, which refuses messages with a forbidden word at the end of DATA and
// of BDAT; clean messages are delivered. A .mailfilters open to others is refused, as
// maildrop refuses it.
func TestLocalMailFilterEndToEnd(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		prog := filepath.Join(filepath.Dir(dir), "no-such-bin", "maildrop")
		if err := os.WriteFile(filepath.Join(dir, "maildropfilter"), []byte(prog+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}})
	home := filepath.Join(s.Dir, "mail", "example.test", "demo")
	mf := filepath.Join(home, ".mailfilters")
	if err := os.Mkdir(mf, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"rcptfilter": `import SENDER
if ($SENDER eq "spammer@bad.test")
{
  echo "550 5.7.1 Go away, $SENDER."
  EXITCODE=1
  exit
}
if ($SENDER eq "stranger@other.test" && $3 eq $SENDER)
{
  EXITCODE=99
  exit
}
EXITCODE=0
`,
		"smtpfilter": `if (/forbiddenword/:b)
{
  echo "Your message contains a forbidden word."
  EXITCODE=1
  exit
}
EXITCODE=0
`,
	} {
		if err := os.WriteFile(filepath.Join(mf, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	c := ehlo(t, s, "smtp")
	c.Transcript(`
		C: MAIL FROM:<spammer@bad.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo@example.test>
		S: 550 5.7.1 Go away, spammer@bad.test.
		C: RSET
		S: 250 2.0.0 Ok.
		C: MAIL FROM:<friend@other.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo@example.test>
		S: 250 2.1.5 Ok.
		C: DATA
		S: 354 Ok.
		C: Subject: whitelisted forbiddenword
		C: 
		C: the whitelist skips the content filter: forbiddenword
		C: .
		S~ ^250 2\.0\.0 Ok\.
		C: MAIL FROM:<stranger@other.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo@example.test>
		S: 250 2.1.5 Ok.
		C: DATA
		S: 354 Ok.
		C: Subject: bad
		C: 
		C: this has a forbiddenword in it
		C: .
		S: 450 4.7.1 Your message contains a forbidden word.
		C: MAIL FROM:<stranger@other.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo@example.test>
		S: 250 2.1.5 Ok.
		C: BDAT 43 LAST
		C: Subject: bad too
		C: 
		C: another forbiddenword
		S: 450 4.7.1 Your message contains a forbidden word.
		C: MAIL FROM:<stranger@other.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo@example.test>
		S: 250 2.1.5 Ok.
		C: DATA
		S: 354 Ok.
		C: Subject: clean
		C: 
		C: nothing to see here
		C: .
		S~ ^250 2\.0\.0 Ok\.
	`)
	msgs := waitDelivered(t, s, 2)
	var subjects []string
	for _, m := range msgs {
		if strings.Contains(m, "forbiddenword") && !strings.Contains(m, "Subject: whitelisted") {
			t.Errorf("a refused message was delivered:\n%s", m)
		}
		for _, l := range strings.Split(m, "\n") {
			if strings.HasPrefix(l, "Subject: ") {
				subjects = append(subjects, l)
			}
		}
	}
	if len(subjects) != 2 || !strings.Contains(strings.Join(subjects, "|"), "Subject: clean") {
		t.Errorf("delivered subjects %q", subjects)
	}

	// maildrop refuses a .mailfilters that group or others may read; the recipient is
	// refused with its complaint (no code of its own: Courier's 511).
	if err := os.Chmod(mf, 0o755); err != nil {
		t.Fatal(err)
	}
	c.Send("MAIL FROM:<friend@other.test>")
	c.Expect("250 2.1.0 Ok.")
	c.Send("RCPT TO:<demo@example.test>")
	l, err := c.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l, "511 5.7.1 maildrop: ") || !strings.Contains(l, "must not be accessible to group or others") {
		t.Errorf("RCPT with a world-readable .mailfilters: %q", l)
	}
	c.Transcript(`
		C: QUIT
		S: 221 2.0.0 example.test Bye.
	`)
}
