// Command maildrop-bench measures maildrop deliveries per second through the anchors'
// three-rule filter (../shared/anchors/smtp/maildrop/mailfilter-3rules): our maildrop as a
// process per message (`bin/courier maildrop FILTER`), our maildrop in-process (the
// internal/filter/maildrop Main that local delivery calls for a "| maildrop" line) and
// Debian's maildrop as a process per message (with the LD_LIBRARY_PATH courier-ref sets).
//
//	go run ./bench/maildrop [-n 10000] [-ours bin/courier] [-lean bin/courier-mda] [-ref PATH] [-modes exec,lean,inproc,ref]
//
// With -interleave each message goes through every mode before the next message, so load
// that comes and goes on the machine is shared fairly between the modes.
//
// With -workers N every mode runs N deliveries at once: goroutines in the inproc mode, as the
// server's local delivery does, processes in the others, as Courier's courierd runs local
// deliveries. Each delivery still fsyncs its file and directory before it returns, but
// concurrent fsyncs share the filesystem's journal commits (and our directory fsyncs are
// group-committed), which a single sequential loop cannot. -dir chooses the filesystem.
//
// The mode "lean" runs bin/courier-mda, the small binary install-links points the maildrop
// link at; "lean=PATH" runs another build of it (to compare two builds in one run).
//
// Each mode delivers the same message mix into a fresh Maildir with .Lists and .Big
// folders: one message in four carries the List-Id of rule 1, one in twenty is larger than
// 50 KiB (rule 2), the rest fall through to rule 3. The filter runs in filter-file mode with
// a first line setting HOME (Debian's standalone maildrop takes HOME from the passwd
// entry, not the environment); every delivery fsyncs. After each mode the files in the
// three folders are counted and must match the mix.
//
// Measuring on ext4 without a journal (this project's test machines): the kernel skips inodes
// freed in the last one to six minutes when it allocates one, scanning past each, so creates
// in a block group where many files were just deleted (test runs, an earlier benchmark's
// cleanup) cost up to ten times more. Put the work directory at the top of the filesystem
// (-dir /, which the allocator places in a fresh group), keep it (-keep) and delete the
// directories after the last run. Compare modes within one run (-interleave for the
// per-process ones).
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
	base := flag.String("dir", "/var/tmp", "where the work directory goes (the filesystem measured)")
	keep := flag.Bool("keep", false, "leave the work directory (on ext4 without a journal, files deleted in the last minutes slow every later create in their block group: delete after the last run)")
	interleave := flag.Bool("interleave", false, "deliver each message through every mode in turn (one at a time) instead of mode after mode; for a machine whose load changes during the run")
	workers := flag.Int("workers", 1, "concurrent deliveries in every mode: goroutines in the inproc mode, as the server's local delivery workers run them; processes at once in the others, as Courier's courierd runs local deliveries")
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
	work, err := os.MkdirTemp(*base, "maildrop-bench.")
	if err != nil {
		log.Error("work directory", "err", err)
		os.Exit(1)
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "keeping", work)
	} else {
		defer os.RemoveAll(work)
	}
	os.Chmod(work, 0o755) //nolint:errcheck
	msgs := mix(*n)
	type runner struct {
		mode, home string
		run        func(msg []byte) error
		par        int
		took       time.Duration
	}
	var runners []*runner
	for _, mode := range strings.Split(*modes, ",") {
		home := filepath.Join(work, strings.NewReplacer("/", "_", "=", "_").Replace(mode))
		rc, err := setup(home, rules)
		if err != nil {
			log.Error("setup", "mode", mode, "err", err)
			os.Exit(1)
		}
		r := &runner{mode: mode, home: home, par: *workers}
		leanBin := *lean
		if p, ok := strings.CutPrefix(mode, "lean="); ok {
			mode, leanBin = "lean", p
		}
		switch mode {
		case "exec":
			bin, _ := filepath.Abs(*ours)
			r.run = func(msg []byte) error { return execOne(bin, []string{"maildrop", rc}, home, nil, msg) }
		case "lean":
			bin, _ := filepath.Abs(leanBin)
			r.run = func(msg []byte) error { return execOne(bin, []string{"maildrop", rc}, home, nil, msg) }
		case "ref":
			root := filepath.Dir(filepath.Dir(filepath.Dir(*ref)))
			ld := "LD_LIBRARY_PATH=" + root + "/usr/lib:" + root + "/usr/lib/x86_64-linux-gnu:" + root + "/usr/lib/courier-authlib"
			r.run = func(msg []byte) error { return execOne(*ref, []string{rc}, home, []string{ld}, msg) }
		case "inproc":
			env := map[string]string{"HOME": home, "PATH": "/usr/bin:/bin"}
			r.run = func(msg []byte) error {
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
		runners = append(runners, r)
	}
	if *interleave {
		// Each message goes through every mode in turn, so a machine that gets busier or
		// quieter during the run affects all modes alike.
		for i, msg := range msgs {
			for _, r := range runners {
				start := time.Now()
				if err := r.run(msg); err != nil {
					log.Error("delivery failed", "mode", r.mode, "n", i, "err", err)
					os.Exit(1)
				}
				r.took += time.Since(start)
			}
		}
	} else {
		for _, r := range runners {
			start := time.Now()
			var wg sync.WaitGroup
			for w := 0; w < r.par; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < len(msgs); i += r.par {
						if err := r.run(msgs[i]); err != nil {
							log.Error("delivery failed", "mode", r.mode, "n", i, "err", err)
							os.Exit(1)
						}
					}
				}(w)
			}
			wg.Wait()
			r.took = time.Since(start)
		}
	}
	for _, r := range runners {
		got := counts(r.home)
		want := expect(*n)
		label := r.mode
		if r.par > 1 && !*interleave {
			label = fmt.Sprintf("%s×%d", r.mode, r.par)
		}
		fmt.Printf("%-9s %6d deliveries in %8.3f s = %8.1f msgs/s   (INBOX %d, .Lists %d, .Big %d)\n",
			label, *n, r.took.Seconds(), float64(*n)/r.took.Seconds(), got[0], got[1], got[2])
		if got != want {
			log.Error("wrong distribution", "mode", r.mode, "got", got, "want", want)
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
