package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/store/keywords"
)

// TestCourierLocks: with CourierLocks, UID assignment waits while Courier's imapd holds
// tmp/courier.lock (IMAP_USELOCKS) and leaves no lock behind; without it, it does not wait.
func TestCourierLocks(t *testing.T) {
	for _, locks := range []bool{true, false} {
		p := filepath.Join(t.TempDir(), "md")
		if err := Create(p, Private, false); err != nil {
			t.Fatal(err)
		}
		m, err := Open(p, &Options{Host: "testhost", CourierLocks: locks})
		if err != nil {
			t.Fatal(err)
		}
		in := m.Inbox()
		d, err := in.Deliver(strings.NewReader("Subject: x\n\nbody\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		// What Courier's imapd leaves while it holds the lock: "pid:host" of a live process.
		host, _ := os.Hostname()
		lock := filepath.Join(p, keywords.LockName)
		if err := os.WriteFile(lock, []byte(fmt.Sprintf("%d:%s", os.Getpid(), host)), 0o644); err != nil {
			t.Fatal(err)
		}
		const hold = 300 * time.Millisecond
		go func() {
			time.Sleep(hold)
			os.Remove(lock)
		}()
		start := time.Now()
		_, uids, err := in.AssignUIDs([]string{Message{Name: d.Name}.Base()})
		took := time.Since(start)
		if err != nil || len(uids) != 1 || uids[0] != 1 {
			t.Fatalf("locks %v: uids %v, %v", locks, uids, err)
		}
		if locks && took < hold {
			t.Errorf("UIDs assigned after %v while Courier's lock was held for %v", took, hold)
		}
		if !locks && took >= hold {
			t.Errorf("without CourierLocks, assignment waited %v for Courier's lock", took)
		}
		time.Sleep(hold - min(took, hold) + 50*time.Millisecond)
		if _, err := os.Stat(lock); !os.IsNotExist(err) {
			t.Errorf("locks %v: tmp/courier.lock left behind: %v", locks, err)
		}
		if ents, _ := os.ReadDir(filepath.Join(p, Tmp)); len(ents) != 0 {
			t.Errorf("locks %v: tmp/ not empty: %d files", locks, len(ents))
		}
	}
}
