package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/queue"
	"courier/internal/testutil"
)

// TestCancelmsgAndFlush: a message waiting for a remote peer is flushed on request and,
// once cancelled, leaves the queue with a notification to its sender citing the reason;
// unknown ids and a stopped server give clear errors.
func TestCancelmsgAndFlush(t *testing.T) {
	s := testutil.Start(t, testutil.Options{})
	if _, e, code := runAuthTool(t, s.ConfigDir, "Subject: going nowhere\n\nx\n", "sendmail", "-f", "demo@example.test", "far@remote.test"); code != 0 {
		t.Fatalf("sendmail: %d %s", code, e)
	}
	var id string
	for end := time.Now().Add(10 * time.Second); id == "" && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		all, _ := queue.Scan(filepath.Join(s.Dir, "spool", "msgs"))
		for _, m := range all {
			if m.Env.Rcpts[0].Addr == "far@remote.test" {
				id = m.ID
			}
		}
	}
	if id == "" {
		t.Fatal("the message never reached the queue")
	}
	if _, e, code := runAuthTool(t, s.ConfigDir, "", "flush"); code != 0 {
		t.Errorf("flush: %d %s", code, e)
	}
	if _, e, code := runAuthTool(t, s.ConfigDir, "", "flush", id); code != 0 {
		t.Errorf("flush %s: %d %s", id, code, e)
	}
	if _, e, code := runAuthTool(t, s.ConfigDir, "", "cancelmsg", "nosuchid"); code != 1 || !strings.Contains(e, "no such message") {
		t.Errorf("cancelmsg of an unknown id: %d %q", code, e)
	}
	if _, e, code := runAuthTool(t, s.ConfigDir, "", "cancelmsg", id, "sent by mistake"); code != 0 {
		t.Fatalf("cancelmsg: %d %s", code, e)
	}
	report := waitMail(t, s.Dir, "NOTICE: mail delivery status.")
	for _, want := range []string{"\nFinal-Recipient: rfc822; far@remote.test\nAction: failed\nStatus: 5.0.0\n", "cancelled: sent by mistake", "Subject: going nowhere"} {
		if !strings.Contains(report, want) {
			t.Errorf("notification lacks %q:\n%s", want, report)
		}
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if all, _ := queue.Scan(filepath.Join(s.Dir, "spool", "msgs")); len(all) == 0 {
			break
		}
	}
	if all, _ := queue.Scan(filepath.Join(s.Dir, "spool", "msgs")); len(all) != 0 {
		t.Errorf("still queued: %+v", all)
	}
	if _, e, code := runAuthTool(t, t.TempDir(), "", "flush"); code != 1 || !strings.Contains(e, "not running") {
		t.Errorf("no server: %d %q", code, e)
	}
}
