package pop3_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// retrAll is the anchors' pop3retr client: log in, STAT, RETR every message one command at a
// time, QUIT without deleting. It returns the octets received.
func retrAll(tb testing.TB, addr string) int64 {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 256<<10)
	w := bufio.NewWriter(c)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			tb.Fatal(err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	cmd := func(s string) string {
		w.WriteString(s + "\r\n")
		w.Flush()
		l := line()
		if !strings.HasPrefix(l, "+OK") {
			tb.Fatalf("%s: %s", s, l)
		}
		return l
	}
	line()
	cmd("USER " + demoUser)
	cmd("PASS " + demoPass)
	n, _ := strconv.Atoi(strings.Fields(cmd("STAT"))[1])
	var bytes int64
	for i := 1; i <= n; i++ {
		cmd(fmt.Sprintf("RETR %d", i))
		for {
			l, err := r.ReadSlice('\n')
			for err == bufio.ErrBufferFull {
				bytes += int64(len(l))
				l, err = r.ReadSlice('\n')
			}
			if err != nil {
				tb.Fatal(err)
			}
			if len(l) == 3 && l[0] == '.' {
				break
			}
			bytes += int64(len(l))
		}
	}
	cmd("QUIT")
	return bytes
}

// BenchmarkRETRAll downloads a whole maildrop in one session. The corpus is the anchors'
// (5,000 realistic messages, 219 MB as sent) when POP3_BENCH_CORPUS names its Maildir (as
// bench/pop3/run.sh makes it: /var/tmp/pop3bench/pristine); otherwise 500 messages of 40 KB.
func BenchmarkRETRAll(b *testing.B) {
	bs := startBare(b, loopbackSettings(), nil)
	md := bs.maildir
	for _, sub := range []string{"new", "cur"} {
		os.RemoveAll(filepath.Join(md, sub))
	}
	if src := os.Getenv("POP3_BENCH_CORPUS"); src != "" {
		for _, sub := range []string{"new", "cur"} {
			if out, err := exec.Command("cp", "-a", filepath.Join(src, sub), md+"/").CombinedOutput(); err != nil {
				b.Fatalf("copy corpus: %v\n%s", err, out)
			}
		}
	} else {
		os.MkdirAll(filepath.Join(md, "new"), 0o700)
		os.MkdirAll(filepath.Join(md, "cur"), 0o700)
		body := strings.Repeat("a line of a message body, of a typical length for mail.\n", 700)
		for i := range 500 {
			deliver(b, md, fmt.Sprintf("%d.M%dP1.bench", 1600000000+i, i), "Subject: x\n\n"+body)
		}
	}
	retrAll(b, bs.addr) // the first login measures every message and writes the size list
	var n int64
	b.ResetTimer()
	for b.Loop() {
		n = retrAll(b, bs.addr)
	}
	b.SetBytes(n)
}
