package cli

import (
	"strings"
	"testing"

	"courier/internal/testutil"
)

// TestSendmailBS: sendmail -bs speaks ESMTP on stdin/stdout (pipelined here, as mutt and
// other clients do); the message reaches the mailbox through the pickup directory, with
// the Message-ID and Date a submission gets.
func TestSendmailBS(t *testing.T) {
	s := testutil.Start(t, testutil.Options{})
	in := "EHLO client\r\nMAIL FROM:<demo@example.test>\r\nRCPT TO:<demo@example.test>\r\nRCPT TO:<bad address>\r\nDATA\r\n" +
		"Subject: via -bs\r\n\r\nhello over stdin\r\n..dot\r\n.\r\nQUIT\r\n"
	out, e, code := runAuthTool(t, s.ConfigDir, in, "sendmail", "-bs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	lines := strings.Split(strings.TrimRight(out, "\r\n"), "\r\n")
	if !strings.HasPrefix(lines[0], "220 example.test ") || !strings.HasPrefix(lines[len(lines)-1], "221 ") ||
		!strings.Contains(out, "\r\n250 2.1.0 Ok.\r\n250 2.1.5 Ok.\r\n5") || !strings.Contains(out, "\r\n354 ") {
		t.Errorf("session:\n%s", out)
	}
	m := waitMail(t, s.Dir, "via -bs")
	if !strings.Contains(m, "\n\nhello over stdin\n.dot\n") || !strings.Contains(m, "\nMessage-ID: <") || !strings.Contains(m, "\nDate: ") {
		t.Errorf("delivered:\n%s", m)
	}
}
