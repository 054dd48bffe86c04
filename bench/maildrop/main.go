// Command maildrop-bench measures maildrop deliveries per second through the anchors'
// three-rule filter (../shared/anchors/smtp/maildrop/mailfilter-3rules): our maildrop as a
// process per message (`bin/courier maildrop FILTER`), our maildrop in-process (the
// internal/filter/maildrop Main that local delivery calls for a "| maildrop" line) and
// Debian's maildrop as a process per message (with the LD_LIBRARY_PATH courier-ref sets).
//
//	go run ./bench/maildrop [-n 10000] [-ours bin/courier] [-lean bin/courier-mda] [-ref PATH] [-modes exec,lean,inproc,ref]
//
// With -workers N the inproc mode runs N deliveries at once, as the server's local delivery
// does: each one still fsyncs its file and directory before it returns, but concurrent
// fsyncs share the filesystem's journal commits, which a single sequential loop cannot.
//
// The mode "lean" runs bin/courier-mda, the small binary install-links points the maildrop
// link at.
//
// Each mode delivers the same message mix into a fresh Maildir with .Lists and .Big
// folders: one message in four carries the List-Id of rule 1, one in twenty is larger than
// 50 KiB (rule 2), the rest fall through to rule 3. The filter runs in filter-file mode with
// a first line setting HOME (Debian's standalone maildrop takes HOME from the passwd
// entry, not the environment); every delivery fsyncs. After each mode the files in the
// three folders are counted and must match the mix.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"courier/internal/filter/maildrop"
	"courier/internal/store/maildir"
)

func main() {
	n := flag.Int("n", 10000, "deliveries per mode")
	ours := flag.String("ours", "bin/courier", "our binary")
	lean := flag.String("lean", "bin/courier-mda", "our lean per-message binary")
	ref := flag.String("ref", "/var/tmp/courier-ref/root/usr/bin/maildrop", "Debian's maildrop")
	filter := flag.String("filter", "../shared/anchors/smtp/maildrop/mailfilter-3rules", "the filter")
	modes := flag.String("modes", "exec,lean,inproc,ref", "modes to run, comma-separated")
	workers := flag.Int("workers", 1, "concurrent deliveries in the inproc mode, as the server's local delivery workers run them (exec modes are always one at a time)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpuprofile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	rules, err := os.ReadFile(*filter)
	if err != nil {
		log.Error("reading the filter", "err", err)
		os.Exit(1)
	}
	work, err := os.MkdirTemp("/var/tmp", "maildrop-bench.")
	if err != nil {
		log.Error("work directory", "err", err)
		os.Exit(1)
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755) //nolint:errcheck
	msgs := mix(*n)
	for _, mode := range strings.Split(*modes, ",") {
		home := filepath.Join(work, mode)
		rc, err := setup(home, rules)
		if err != nil {
			log.Error("setup", "mode", mode, "err", err)
			os.Exit(1)
		}
		var run func(msg []byte) error
		switch mode {
		case "exec":
			bin, _ := filepath.Abs(*ours)
			run = func(msg []byte) error { return execOne(bin, []string{"maildrop", rc}, home, nil, msg) }
		case "lean":
			bin, _ := filepath.Abs(*lean)
			run = func(msg []byte) error { return execOne(bin, []string{"maildrop", rc}, home, nil, msg) }
		case "ref":
			r := filepath.Dir(filepath.Dir(filepath.Dir(*ref)))
			ld := "LD_LIBRARY_PATH=" + r + "/usr/lib:" + r + "/usr/lib/x86_64-linux-gnu:" + r + "/usr/lib/courier-authlib"
			run = func(msg []byte) error { return execOne(*ref, []string{rc}, home, []string{ld}, msg) }
		case "inproc":
			env := map[string]string{"HOME": home, "PATH": "/usr/bin:/bin"}
			run = func(msg []byte) error {
				code := maildrop.Main(&maildrop.Invocation{
					Args: []string{rc}, Stdin: bytes.NewReader(msg), Env: env,
					Self: &maildrop.User{Name: "bench", Home: home, Shell: "/bin/sh", UID: os.Getuid(), GID: os.Getgid()},
					Host: maildir.HostName(),
				})
				if code != 0 {
					return fmt.Errorf("exit %d", code)
				}
				return nil
			}
		default:
			log.Error("unknown mode", "mode", mode)
			os.Exit(2)
		}
		par := 1
		if mode == "inproc" {
			par = *workers
		}
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < par; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < len(msgs); i += par {
					if err := run(msgs[i]); err != nil {
						log.Error("delivery failed", "mode", mode, "n", i, "err", err)
						os.Exit(1)
					}
				}
			}(w)
		}
		wg.Wait()
		took := time.Since(start)
		got := counts(home)
		want := expect(*n)
		label := mode
		if par > 1 {
			label = fmt.Sprintf("%s×%d", mode, par)
		}
		fmt.Printf("%-9s %6d deliveries in %8.3f s = %8.1f msgs/s   (INBOX %d, .Lists %d, .Big %d)\n",
			label, *n, took.Seconds(), float64(*n)/took.Seconds(), got[0], got[1], got[2])
		if got != want {
			log.Error("wrong distribution", "mode", mode, "got", got, "want", want)
			os.Exit(1)
		}
	}
}

// setup makes HOME/Maildir with .Lists and .Big and the filter file.
func setup(home string, rules []byte) (string, error) {
	md := filepath.Join(home, "Maildir")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		return "", fmt.Errorf("maildir: %w", err)
	}
	for _, f := range []string{".Lists", ".Big"} {
		if err := maildir.Create(filepath.Join(md, f), maildir.Private, true); err != nil {
			return "", fmt.Errorf("folder %s: %w", f, err)
		}
	}
	os.Chmod(home, 0o755) //nolint:errcheck
	rc := filepath.Join(home, "mailfilter")
	src := append([]byte("HOME=\""+home+"\"\n"), rules...)
	if err := os.WriteFile(rc, src, 0o600); err != nil {
		return "", fmt.Errorf("filter: %w", err)
	}
	return rc, nil
}

func isList(i int) bool { return i%4 == 1 }
func isBig(i int) bool  { return i%20 == 7 }

// mix makes the n messages.
func mix(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		var b bytes.Buffer
		fmt.Fprintf(&b, "Return-Path: <sender%d@example.org>\nFrom: Sender <sender%d@example.org>\nTo: demo@example.test\n", i, i)
		fmt.Fprintf(&b, "Subject: message %d\nMessage-ID: <%d@example.org>\nDate: Mon, 1 Dec 2025 10:00:00 +0000\n", i, i)
		if isList(i) {
			b.WriteString("List-Id: Anchors <list.anchors.example.test>\n")
		}
		b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain\n\n")
		lines := 40
		if isBig(i) {
			lines = 1200
		}
		for j := 0; j < lines; j++ {
			fmt.Fprintf(&b, "line %d of message %d, some text to make it a realistic length\n", j, i)
		}
		out[i] = b.Bytes()
	}
	return out
}

// expect is the number of messages each folder should get: INBOX, .Lists, .Big.
func expect(n int) [3]int {
	var c [3]int
	for i := 0; i < n; i++ {
		switch {
		case isList(i):
			c[1]++
		case isBig(i):
			c[2]++
		default:
			c[0]++
		}
	}
	return c
}

func counts(home string) [3]int {
	var c [3]int
	for i, f := range []string{"", ".Lists", ".Big"} {
		ents, _ := os.ReadDir(filepath.Join(home, "Maildir", f, "new"))
		c[i] = len(ents)
	}
	return c
}

func execOne(bin string, args []string, home string, extra []string, msg []byte) error {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"HOME=" + home, "PATH=/usr/bin:/bin"}, extra...)
	cmd.Dir = home
	cmd.Stdin = bytes.NewReader(msg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", bin, err, stderr.String())
	}
	return nil
}
