package maildirstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

// TestStress runs real processes against one Maildir: 4 deliver messages into INBOX, one
// expunges some of them meanwhile, one renames folders (with a message in each) back and
// forth. Afterwards every delivered message is in INBOX exactly once under the UID its
// deliverer was given, or was expunged on purpose; UIDs are unique and increasing; the
// renamed folders kept their mail; maildirsize agrees with a recount. COURIER_STRESS=full
// delivers 2,000 messages per process instead of 100.
func TestStress(t *testing.T) {
	per, limit := 100, 10*time.Minute
	if os.Getenv("COURIER_STRESS") == "full" {
		per, limit = 2000, 30*time.Minute
	}
	const deliverers = 4
	work := t.TempDir()
	md := filepath.Join(work, "Maildir")
	if err := maildir.Create(md, maildir.Private, false); err != nil {
		t.Fatal(err)
	}
	if _, err := quota.Set(md, quota.Spec{Bytes: 1 << 40}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := func(role string, id int) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStressChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STRESS_ROLE="+role, "STRESS_DIR="+work, "STRESS_ID="+strconv.Itoa(id), "STRESS_N="+strconv.Itoa(per))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	began := time.Now()
	exp := start("expunge", 0)
	ren := start("rename", 0)
	var ds []*exec.Cmd
	for i := 0; i < deliverers; i++ {
		ds = append(ds, start("deliver", i))
	}
	for i, c := range ds {
		if err := c.Wait(); err != nil {
			t.Fatalf("deliverer %d: %v", i, err)
		}
	}
	delivered := time.Since(began)
	if err := os.WriteFile(filepath.Join(work, "stop"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := exp.Wait(); err != nil {
		t.Fatalf("expunger: %v", err)
	}
	if err := ren.Wait(); err != nil {
		t.Fatalf("renamer: %v", err)
	}
	t.Logf("%d processes × %d deliveries in %v (%.0f/s) with an expunger and a renamer", deliverers, per, delivered.Round(time.Millisecond),
		float64(deliverers*per)/delivered.Seconds())

	// what each deliverer was told
	want := map[string]store.UID{} // Message-ID to UID
	for i := 0; i < deliverers; i++ {
		var last store.UID
		for _, l := range readLines(t, filepath.Join(work, fmt.Sprintf("deliver-%d.log", i))) {
			id, us, _ := strings.Cut(l, " ")
			u, _ := strconv.ParseUint(us, 10, 32)
			if store.UID(u) <= last {
				t.Errorf("deliverer %d: UID %d after %d", i, u, last)
			}
			last = store.UID(u)
			want[id] = store.UID(u)
		}
	}
	if len(want) != deliverers*per {
		t.Fatalf("%d deliveries logged, want %d", len(want), deliverers*per)
	}
	expunged := map[string]bool{}
	for _, l := range readLines(t, filepath.Join(work, "expunge.log")) {
		expunged[l] = true
	}
	s, err := Open(md, &Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.Open("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	seen := map[string]bool{}
	var last store.UID
	for _, m := range mb.Messages() {
		if m.UID <= last {
			t.Errorf("UID %d after %d", m.UID, last)
		}
		last = m.UID
		id := messageID(t, mb, m.UID)
		if seen[id] {
			t.Errorf("%s twice", id)
		}
		seen[id] = true
		if w, ok := want[id]; !ok {
			t.Errorf("%s (UID %d) was never delivered", id, m.UID)
		} else if w != m.UID {
			t.Errorf("%s has UID %d, its deliverer was given %d", id, m.UID, w)
		}
		if expunged[id] {
			t.Errorf("%s was expunged but is there", id)
		}
	}
	for id := range want {
		if !seen[id] && !expunged[id] {
			t.Errorf("%s lost", id)
		}
	}
	t.Logf("%d messages left, %d expunged", len(seen), len(expunged))
	// the renamer's folders kept their mail
	rounds := readLines(t, filepath.Join(work, "rename.log"))
	if len(rounds) == 0 {
		t.Error("the renamer did nothing")
	} else {
		name := rounds[len(rounds)-1]
		f, err := s.Open(name)
		if err != nil {
			t.Fatalf("renamed folder: %v", err)
		}
		if n := f.Status().Messages; n != len(rounds) {
			t.Errorf("%s holds %d messages after %d renames with one delivery each", name, n, len(rounds))
		}
		f.Close()
		t.Logf("%d folder renames", len(rounds))
	}
	// maildirsize agrees with a recount
	qs, err := quota.Check(md, quota.Usage{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recount := recountUsage(t, md)
	if qs.Usage != recount {
		t.Errorf("maildirsize says %+v (recalculated %v), a recount %+v", qs.Usage, qs.Recalculated, recount)
	}
}

func recountUsage(t *testing.T, md string) quota.Usage {
	t.Helper()
	dirs, err := quota.Dirs(md)
	if err != nil {
		t.Fatal(err)
	}
	var u quota.Usage
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if size, counts := quota.MessageSize(e.Name()); counts && e.Name()[0] != '.' {
				u.Bytes += size
				u.Count++
			}
		}
	}
	return u
}

func readLines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

var midRE = regexp.MustCompile(`Message-ID: <([^@>]+)@`)

func messageID(t testing.TB, mb store.Mailbox, uid store.UID) string {
	t.Helper()
	c, err := mb.OpenMessage(uid)
	if err != nil {
		t.Fatalf("open UID %d: %v", uid, err)
	}
	defer c.Close()
	head, _ := io.ReadAll(io.LimitReader(c, 512))
	m := midRE.FindSubmatch(head)
	if m == nil {
		t.Fatalf("UID %d: no Message-ID", uid)
	}
	return string(m[1])
}

// TestStressChild is one process of TestStress (it does nothing unless started by it).
func TestStressChild(t *testing.T) {
	role := os.Getenv("STRESS_ROLE")
	if role == "" {
		t.Skip("a child process of TestStress")
	}
	work := os.Getenv("STRESS_DIR")
	id, _ := strconv.Atoi(os.Getenv("STRESS_ID"))
	n, _ := strconv.Atoi(os.Getenv("STRESS_N"))
	s, err := Open(filepath.Join(work, "Maildir"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stopped := func() bool { _, err := os.Stat(filepath.Join(work, "stop")); return err == nil }
	logName := role + ".log"
	if role == "deliver" {
		logName = fmt.Sprintf("deliver-%d.log", id)
	}
	logf, err := os.Create(filepath.Join(work, logName))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(logf)
	defer func() {
		if err := w.Flush(); err != nil {
			t.Error(err)
		}
		logf.Sync()
		logf.Close()
	}()
	switch role {
	case "deliver":
		mb, err := s.Open("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()
		for i := 0; i < n; i++ {
			mid := fmt.Sprintf("p%d-%d", id, i)
			uid, err := mb.Append(strings.NewReader(fmt.Sprintf("Message-ID: <%s@stress>\nSubject: %s\n\n%s\n", mid, mid, strings.Repeat("x", i%500))), store.AppendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(w, "%s %d\n", mid, uid)
		}
	case "expunge":
		mb, err := s.Open("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()
		for round := 0; ; round++ {
			last := stopped()
			if _, err := mb.Sync(); err != nil {
				t.Fatal(err)
			}
			var pick []store.UID
			for _, m := range mb.Messages() {
				if m.UID%7 == 0 && m.Flags&store.Deleted == 0 {
					pick = append(pick, m.UID)
				}
			}
			ids := map[store.UID]string{}
			for _, u := range pick {
				ids[u] = messageID(t, mb, u)
			}
			if _, err := mb.SetFlags(pick, store.Add, store.Deleted|store.Seen, nil); err != nil {
				t.Fatal(err)
			}
			gone, err := mb.Expunge(nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range gone {
				fmt.Fprintln(w, ids[u])
			}
			if last {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	case "rename":
		names := []string{"INBOX.Ra", "INBOX.Rb"}
		if err := s.Create(names[0]); err != nil {
			t.Fatal(err)
		}
		for k := 0; ; k++ {
			from, to := names[k%2], names[(k+1)%2]
			mb, err := s.Open(from)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mb.Append(strings.NewReader(fmt.Sprintf("Message-ID: <r%d@stress>\n\nr\n", k)), store.AppendOptions{}); err != nil {
				t.Fatal(err)
			}
			mb.Close()
			if err := s.Create(from + ".Child"); err != nil && k == 0 {
				t.Fatal(err)
			}
			if err := s.Rename(from, to); err != nil {
				t.Fatal(err)
			}
			child, err := s.Open(to + ".Child")
			if err != nil {
				t.Fatalf("child did not follow: %v", err)
			}
			child.Close()
			fmt.Fprintln(w, to)
			if stopped() {
				return
			}
		}
	}
}
