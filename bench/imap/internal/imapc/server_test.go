package imapc_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/bench/imap/internal/imapc"
	"courier/internal/testutil"
)

// TestAgainstServer drives our own server (a quickstart in a temporary directory) through
// every command the benchmarks use.
func TestAgainstServer(t *testing.T) {
	s := testutil.Start(t, testutil.Options{})
	md := filepath.Join(s.Dir, "mail", "example.test", "demo", "Maildir")
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("%d.M%dP1.test:2,", 1600000000+i, i)
		msg := fmt.Sprintf("Subject: anchor-needle %d\r\nFrom: a@example.test\r\n\r\nbody %d\r\n", i, i)
		if err := os.WriteFile(filepath.Join(md, "cur", name), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := imapc.Dial(s.MustAddr(t, "imap"), imapc.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(30 * time.Second))
	if err := c.Login(s.Account, "wrong"); err == nil {
		t.Fatal("LOGIN with a wrong password succeeded")
	}
	if err := c.Login(s.Account, s.Password); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Select("INBOX"); err != nil || n != 3 {
		t.Fatalf("SELECT = %d %v", n, err)
	}
	res, err := c.Cmd("FETCH 2 (UID BODY.PEEK[])", true)
	if err != nil || len(res.Untagged) != 1 || !strings.Contains(res.Untagged[0], "BODY[] {") {
		t.Fatalf("FETCH = %q %v", res.Untagged, err)
	}
	if err := c.Append("INBOX", `\Seen`, []byte("Subject: appended\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	res, err = c.Cmd(`UID SEARCH HEADER Subject "anchor-needle"`, true)
	if err != nil || len(res.Untagged) != 1 || len(strings.Fields(res.Untagged[0])) != 5 {
		t.Fatalf("SEARCH = %q %v", res.Untagged, err)
	}
	if _, err := c.Cmd(`STORE 1 +FLAGS.SILENT (\Deleted)`, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cmd("EXPUNGE", false); err != nil {
		t.Fatal(err)
	}
	// The server may announce the appended message late (RFC 3501 §7.3.1 lets it wait for
	// any later command; ours waits for one such as NOOP): the client's count is the
	// session's view.
	if _, err := c.Cmd("NOOP", false); err != nil {
		t.Fatal(err)
	}
	if c.Exists != 3 {
		t.Errorf("Exists after APPEND, EXPUNGE and NOOP = %d, want 3", c.Exists)
	}
	if err := c.Idle(); err != nil {
		t.Fatal(err)
	}
	if err := c.Done(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(); err != nil {
		t.Fatal(err)
	}
}
