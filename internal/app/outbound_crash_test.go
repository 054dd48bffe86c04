package app_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"courier/internal/queue"
	"courier/internal/quickstart"
	"courier/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// sender is one run of the sending server's process.
type sender struct {
	cmd        *exec.Cmd
	submission string
}

func startSender(t *testing.T, configDir string) *sender {
	c := testutil.StartChild(t, configDir, "submission", "error")
	return &sender{cmd: c.Cmd, submission: c.Addr}
}

func (s *sender) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// receivedIDs reads the copies in a Maildir's new/: Message-ID → the queue ids of the
// sending server that each copy carries (the id of the last Received: field, which the
// sender wrote when it accepted the submission).
func receivedIDs(t *testing.T, dir string) map[string][]string {
	t.Helper()
	idRe := regexp.MustCompile(`(?m)^\s+id ([0-9a-z]+);`)
	out := map[string][]string{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		head, _, _ := strings.Cut(string(b), "\n\n")
		mid := ""
		for _, l := range strings.Split(head, "\n") {
			if strings.HasPrefix(l, "Message-ID: ") {
				mid = strings.TrimPrefix(l, "Message-ID: ")
			}
		}
		ids := idRe.FindAllStringSubmatch(head, -1)
		qid := ""
		if len(ids) > 0 {
			qid = ids[len(ids)-1][1]
		}
		out[mid] = append(out[mid], qid)
	}
	return out
}

// journalTokens reads the sending transport's journal of delivered tokens.
func journalTokens(path string) map[string]bool {
	out := map[string]bool{}
	for _, p := range []string{path + ".old", path} {
		b, _ := os.ReadFile(p)
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out[l] = true
			}
		}
	}
	return out
}

// TestOutboundCrash is issue 8's crash test: a sending server (a child process, as "courier
// serve") holds a batch of messages for example.net, then delivers them to a second server
// while it is killed with SIGKILL and restarted. Afterwards every message is at the
// destination, and a message is there twice only if its copy had arrived and its token was
// not yet in the transport's journal when the sender died (the window between the peer's
// 250 and the journal write, or a 250 the sender never read). Small in the normal run;
// COURIER_STRESS=full sends 1,000 messages and kills the sender three times.
func TestOutboundCrash(t *testing.T) {
	total, kills := 100, 1
	if os.Getenv("COURIER_STRESS") == "full" {
		total, kills = 1000, 3
	}
	dest := startDomain(t, "example.net", nil)
	destSMTP := dest.MustAddr(t, "smtp")
	destNew := filepath.Join(dest.Dir, "mail", "example.net", "demo", "Maildir", "new")

	dir := t.TempDir()
	res, err := quickstart.Setup(quickstart.Options{Dir: dir, Listen: "127.0.0.1", Ephemeral: true, Password: "demo-Pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"imapd", "imapd-ssl", "pop3d", "pop3d-ssl", "webmaild", "esmtpd-ssl"} {
		os.Remove(filepath.Join(res.ConfigDir, f))
	}
	routes := filepath.Join(res.ConfigDir, "esmtproutes")
	// first every remote domain goes to a closed port: the batch gathers in the queue
	if err := os.WriteFile(routes, []byte(": [127.0.0.1],1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "spool", "esmtp-delivered")
	spool := filepath.Join(dir, "spool", "msgs")

	var mu sync.Mutex
	s := startSender(t, res.ConfigDir)
	t.Cleanup(func() { mu.Lock(); defer mu.Unlock(); s.kill() })

	// submit the batch over 4 authenticated connections
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := smtp.Dial(s.submission)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			if err := cl.Hello("crash.test"); err != nil {
				errs <- err
				return
			}
			if err := cl.Auth(sasl.NewPlainClient("", res.Account, res.Password)); err != nil {
				errs <- err
				return
			}
			for i := c; i < total; i += 4 {
				msg := fmt.Sprintf("From: demo@example.test\r\nTo: demo@example.net\r\nMessage-ID: <crash.%d@example.test>\r\nSubject: crash %d\r\n\r\n%s",
					i, i, strings.Repeat("outbound crash test body line\r\n", 30))
				if err := cl.SendMail(res.Account, []string{"demo@example.net"}, strings.NewReader(msg)); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					return
				}
			}
			_ = cl.Quit()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := nonEmptyFiles(spool); n != total {
		t.Fatalf("%d messages queued, want %d", n, total)
	}

	// now route example.net to the destination and restart: the batch goes out at once
	if err := os.WriteFile(routes, []byte("example.net: "+strings.Replace(destSMTP, ":", ",", 1)+"\n: [127.0.0.1],1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	s.kill()
	s = startSender(t, res.ConfigDir)
	mu.Unlock()
	start := time.Now()

	window := map[string]bool{} // Message-IDs delivered but not journaled at a kill
	for k := range kills {
		at := total * (k + 1) / (kills + 1)
		for end := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
			ents, _ := os.ReadDir(destNew)
			if len(ents) >= at {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("only %d of %d messages arrived before kill %d", len(ents), at, k+1)
			}
		}
		mu.Lock()
		s.kill()
		// let the destination finish what it received whole, then see what is at risk
		time.Sleep(300 * time.Millisecond)
		got, tokens := receivedIDs(t, destNew), journalTokens(journal)
		unjournaled := 0
		for mid, qids := range got {
			if !tokens["q"+qids[0]+"r0"] {
				window[mid] = true
				unjournaled++
			}
		}
		t.Logf("kill %d: %d messages at the destination, %d of them not yet in the sender's journal", k+1, len(got), unjournaled)
		s = startSender(t, res.ConfigDir)
		mu.Unlock()
	}

	// wait for the sender's queue to drain
	for end := time.Now().Add(120 * time.Second); nonEmptyFiles(spool) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the sender's queue did not drain: %d left", nonEmptyFiles(spool))
		}
	}
	elapsed := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	got := receivedIDs(t, destNew)
	missing, dups, outside := 0, 0, 0
	for i := range total {
		mid := fmt.Sprintf("<crash.%d@example.test>", i)
		switch n := len(got[mid]); {
		case n == 0:
			missing++
			t.Errorf("%s never arrived", mid)
		case n > 1:
			dups += n - 1
			if !window[mid] {
				outside++
				t.Errorf("%s arrived %d times though its token was journaled", mid, n)
			}
		}
	}
	if len(got) != total {
		t.Errorf("%d distinct messages at the destination, want %d", len(got), total)
	}
	t.Logf("%d messages, %d kills: %d missing, %d duplicates (all in the 250-to-journal window: %v), delivery took %v",
		total, kills, missing, dups, outside == 0, elapsed.Round(time.Millisecond))
}

// nonEmptyFiles counts the messages of a spool directory (spares, empty or recycled, are
// not messages).
func nonEmptyFiles(dir string) int {
	msgs, _ := queue.Scan(dir)
	return len(msgs)
}
