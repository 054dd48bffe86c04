package server_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"courier/internal/queue"
	"courier/internal/quickstart"
	"courier/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// child is one run of the server process.
type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, configDir string) *child {
	c := testutil.StartChild(t, configDir, "smtp", "warn")
	return &child{cmd: c.Cmd, addr: c.Addr}
}

// TestCrash: clients send messages while the server process is killed with SIGKILL at
// random moments and restarted; afterwards every message that got a 250 is in the Maildir
// exactly once, and no message is there twice. Small in make test; COURIER_STRESS=full runs
// 20 clients, 5,000 messages and 3 kills.
func TestCrash(t *testing.T) {
	t.Parallel()
	clients, total, kills := 5, 200, 1
	if os.Getenv("COURIER_STRESS") == "full" {
		clients, total, kills = 20, 5000, 3
	}
	dir := t.TempDir()
	res, err := quickstart.Setup(quickstart.Options{Dir: dir, Listen: "127.0.0.1", Ephemeral: true, Password: "demo-Pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	// only SMTP in the child
	for _, f := range []string{"imapd", "imapd-ssl", "pop3d", "pop3d-ssl", "webmaild", "esmtpd-msa", "esmtpd-ssl"} {
		os.Remove(filepath.Join(res.ConfigDir, f))
	}
	var mu sync.Mutex
	ch := startChild(t, res.ConfigDir)
	addr := ch.addr
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		ch.cmd.Process.Kill()
		ch.cmd.Wait()
	}()
	getAddr := func() string { mu.Lock(); defer mu.Unlock(); return addr }

	var accMu sync.Mutex
	accepted := map[string]bool{}
	var sent sync.WaitGroup
	progress := make(chan int, total)
	perClient := total / clients
	for cl := range clients {
		sent.Add(1)
		go func() {
			defer sent.Done()
			sendAll(t, cl, perClient, getAddr, func(id string) {
				accMu.Lock()
				accepted[id] = true
				accMu.Unlock()
			}, progress)
		}()
	}
	// kill points, spread over the run
	var killAt []int
	for k := range kills {
		lo := total * (k + 1) / (kills + 2)
		killAt = append(killAt, lo+rand.IntN(max(total/(kills+2)/2, 1)))
	}
	done := make(chan struct{})
	go func() { sent.Wait(); close(done) }()
	n := 0
	for len(killAt) > 0 {
		select {
		case <-progress:
			n++
		case <-done:
			killAt = nil
			continue
		}
		if n >= killAt[0] {
			killAt = killAt[1:]
			mu.Lock()
			ch.cmd.Process.Signal(syscall.SIGKILL)
			ch.cmd.Wait()
			t.Logf("killed the server after %d messages", n)
			ch = startChild(t, res.ConfigDir)
			addr = ch.addr
			mu.Unlock()
		}
	}
	<-done

	md := filepath.Join(dir, "mail", "example.test", "demo", "Maildir", "new")
	spool := filepath.Join(dir, "spool", "msgs")
	var counts map[string]int
	for end := time.Now().Add(120 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// the spool first: once it is empty, every delivery is in the Maildir
		if nonEmpty(spool) == 0 {
			counts = messageIDs(t, md)
			break
		}
		if time.Now().After(end) {
			t.Fatalf("queue did not drain: %d of %d delivered, %d queued", len(messageIDs(t, md)), len(accepted), nonEmpty(spool))
		}
	}
	missing, dups := 0, 0
	for id := range accepted {
		if counts[id] != 1 {
			missing++
			if missing < 5 {
				t.Errorf("accepted message %s delivered %d times", id, counts[id])
			}
		}
	}
	extra := 0
	for id, c := range counts {
		if c > 1 {
			dups++
			t.Errorf("message %s delivered %d times", id, c)
		}
		if !accepted[id] {
			extra++
		}
	}
	t.Logf("%d clients, %d attempted, %d accepted, %d delivered, %d delivered without a 250 (in flight at a kill), %d missing, %d duplicates",
		clients, total, len(accepted), len(counts), extra, missing, dups)
}

// nonEmpty counts the messages of a spool directory (spares, empty or recycled, are not).
func nonEmpty(dir string) int {
	msgs, _ := queue.Scan(dir)
	return len(msgs)
}

// messageIDs counts the Message-IDs of the files in a Maildir's new/.
func messageIDs(t *testing.T, dir string) map[string]int {
	out := map[string]int{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Message-ID: ") {
				out[strings.TrimPrefix(l, "Message-ID: ")]++
				break
			}
		}
	}
	return out
}

// sendAll sends n messages from one client, reconnecting after errors; a message whose
// final reply was lost is not sent again (so duplicates would be the server's doing).
func sendAll(t *testing.T, cl, n int, addr func() string, ok func(string), progress chan<- int) {
	var conn net.Conn
	var br *bufio.Reader
	body := strings.Repeat("crash test body line, long enough to matter.\r\n", 80)
	connect := func() bool {
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", addr(), time.Second)
			if err != nil {
				continue
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			r := bufio.NewReader(c)
			if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "220") {
				c.Close()
				continue
			}
			io.WriteString(c, "EHLO crash.test\r\n")
			good := true
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					good = false
					break
				}
				if len(l) >= 4 && l[3] == ' ' {
					break
				}
			}
			if !good {
				c.Close()
				continue
			}
			conn, br = c, r
			return true
		}
		return false
	}
	reply := func() (string, error) {
		l, err := br.ReadString('\n')
		return l, err
	}
	for i := range n {
		progress <- 1
		if conn == nil && !connect() {
			t.Errorf("client %d: cannot reconnect", cl)
			return
		}
		id := fmt.Sprintf("<crash.%d.%d@test>", cl, i)
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		_, err := io.WriteString(conn, "MAIL FROM:<crash@test.example>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
		good := err == nil
		for k := 0; good && k < 3; k++ {
			l, err := reply()
			good = err == nil && (l[0] == '2' || l[0] == '3')
		}
		if good {
			_, err = io.WriteString(conn, "Message-ID: "+id+"\r\nSubject: crash\r\n\r\n"+body+".\r\n")
			good = err == nil
		}
		if good {
			l, err := reply()
			if err == nil && strings.HasPrefix(l, "250") {
				ok(id)
				continue
			}
		}
		conn.Close()
		conn = nil
	}
	if conn != nil {
		io.WriteString(conn, "QUIT\r\n")
		conn.Close()
	}
}
