package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
)

// TestDotCourierEndToEnd: extension addresses and .courier files over SMTP. demo-prog runs
// a program, demo-fwd forwards to postmaster (an alias of demo), demo-bad forwards to an
// address nobody receives for (the sender gets a DSN), and demo-none, without a file, is
// refused at RCPT.
func TestDotCourierEndToEnd(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	home := filepath.Join(s.Dir, "mail", "example.test", "demo")
	for name, text := range map[string]string{
		".courier-prog": "| cat > \"$HOME/prog-$EXT.txt\"\n",
		".courier-fwd":  "postmaster@example.test\n",
		".courier-bad":  "nosuchuser@example.test\n",
	} {
		if err := os.WriteFile(filepath.Join(home, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.Expect("220 example.test ESMTP")
	c.Send("EHLO client.test")
	readEhlo(t, c)
	c.Transcript(`
		C: MAIL FROM:<demo@example.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<demo-none@example.test>
		S: 550 5.1.1 <demo-none@example.test>: unknown user.
		C: RCPT TO:<demo-prog@example.test>
		S: 250 2.1.5 Ok.
		C: RCPT TO:<demo-fwd@example.test>
		S: 250 2.1.5 Ok.
		C: RCPT TO:<demo-bad@example.test>
		S: 250 2.1.5 Ok.
		C: DATA
		S: 354 Ok.
		C: Subject: dot-courier
		C: 
		C: hello
		C: .
		S~ ^250 2\.0\.0 Ok\.
		C: QUIT
		S: 221 2.0.0 example.test Bye.
	`)
	msgs := waitDelivered(t, s, 2) // the forwarded copy and the notification
	var fwd, report string
	for _, m := range msgs {
		if strings.Contains(m, "multipart/report") {
			report = m
		} else {
			fwd = m
		}
	}
	if !strings.Contains(fwd, "Return-Path: <demo@example.test>\nDelivered-To: demo@example.test\n") ||
		!strings.Contains(fwd, "\nDelivered-To: demo-fwd@example.test\n") {
		t.Errorf("forwarded copy:\n%s", fwd)
	}
	if !strings.Contains(report, "\nFinal-Recipient: rfc822; nosuchuser@example.test\nAction: failed\nStatus: 5.1.1\n") {
		t.Errorf("notification:\n%s", report)
	}
	var prog []byte
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && len(prog) == 0; time.Sleep(20 * time.Millisecond) {
		prog, _ = os.ReadFile(filepath.Join(home, "prog-prog.txt"))
	}
	if !strings.Contains(string(prog), "Subject: dot-courier\n\nhello\n") {
		t.Errorf("the program read %q", prog)
	}
}
