package maildir

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// refEnv returns the environment of Debian's Courier programs unpacked by courier-ref. A
// missing reference fails the test: it is installed, never skipped.
func refEnv(t *testing.T) map[string]string {
	t.Helper()
	if _, err := os.Stat("/var/tmp/courier-ref/root/usr/bin/imapd"); err != nil {
		t.Fatalf("the reference Courier is missing (%v): run ../shared/tools/courier-ref first", err)
	}
	dir, _ := os.Getwd()
	var script string
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			script = filepath.Join(d, "..", "shared", "tools", "courier-ref")
			break
		}
	}
	out, err := exec.Command(script).Output()
	if err != nil {
		t.Fatalf("%s failed (%v): run ../shared/tools/courier-ref", script, err)
	}
	env := map[string]string{}
	re := regexp.MustCompile(`^(?:export )?(\w+)='(.*)'$`)
	for _, l := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			env[m[1]] = m[2]
		}
	}
	if env["REF_IMAPD"] == "" {
		t.Fatal("courier-ref printed no REF_IMAPD")
	}
	return env
}

// runRef runs a reference program with the maildir as MAILDIR and input on stdin.
func runRef(t *testing.T, env map[string]string, prog string, md string, input string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir = filepath.Dir(md)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+env["LD_LIBRARY_PATH"], "MAILDIR="+md, "AUTHENTICATED=test", "TZ=UTC")
	cmd.Stdin = strings.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", prog, err, out.String())
	}
	return out.String()
}

var fetchRE = regexp.MustCompile(`^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)\)`)
var validityRE = regexp.MustCompile(`UIDVALIDITY (\d+)`)

// imapView selects INBOX with the real imapd and returns UIDVALIDITY and "uid:flags" lines.
func imapView(t *testing.T, env map[string]string, md, extra string) (uint32, []string) {
	t.Helper()
	out := runRef(t, env, env["REF_IMAPD"], md, "a SELECT INBOX\r\n"+extra+"b FETCH 1:* (UID FLAGS)\r\nc LOGOUT\r\n")
	var v uint32
	var got []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, "\r")
		if m := validityRE.FindStringSubmatch(l); m != nil && v == 0 {
			n, _ := strconv.ParseUint(m[1], 10, 32)
			v = uint32(n)
		}
		if m := fetchRE.FindStringSubmatch(l); m != nil {
			var fl []string
			for _, f := range strings.Fields(m[2]) {
				if f != `\Recent` {
					fl = append(fl, f)
				}
			}
			sort.Strings(fl)
			got = append(got, m[1]+":"+strings.Join(fl, " "))
		}
	}
	if v == 0 {
		t.Fatalf("imapd gave no UIDVALIDITY:\n%s", out)
	}
	return v, got
}

var letterFlag = map[byte]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}

func ourView(s *Snapshot) []string {
	var out []string
	for _, m := range s.Messages {
		var fl []string
		for _, c := range []byte(m.Flags()) {
			if f, ok := letterFlag[c]; ok {
				fl = append(fl, f)
			}
		}
		sort.Strings(fl)
		out = append(out, strconv.Itoa(int(m.UID))+":"+strings.Join(fl, " "))
	}
	return out
}

// We deliver, flag and number; Courier's imapd sees the same UIDs, flags and UIDVALIDITY.
func TestCompatOursThenCourier(t *testing.T) {
	env := refEnv(t)
	m := newMD(t)
	in := m.Inbox()
	for i := 0; i < 4; i++ {
		if _, err := in.Deliver(strings.NewReader("Subject: m"+strconv.Itoa(i)+"\n\nbody\n"), nil); err != nil {
			t.Fatal(err)
		}
	}
	s, err := in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.SetFlags(s.Messages[0].Message, "SF"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.SetFlags(s.Messages[2].Message, "RDP"); err != nil {
		t.Fatal(err)
	}
	if err := in.Remove(s.Messages[1].Message); err != nil {
		t.Fatal(err)
	}
	in.Deliver(strings.NewReader("Subject: late\n\nx\n"), nil)
	s, err = in.Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	v, theirs := imapView(t, env, m.Path(), "")
	ours := ourView(s)
	if v != s.UIDValidity || strings.Join(theirs, ",") != strings.Join(ours, ",") {
		t.Fatalf("imapd sees %d %v, we have %d %v", v, theirs, s.UIDValidity, ours)
	}
	if strings.Join(ours, ",") != `1:\Flagged \Seen,3:\Answered \Draft,4:,5:` {
		t.Fatalf("unexpected view %v", ours)
	}
}

// Courier delivers and imapd numbers and flags; we read the same.
func TestCompatCourierThenOurs(t *testing.T) {
	env := refEnv(t)
	dir := filepath.Join(t.TempDir(), "md")
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	// Courier refuses a sticky-bit home; TempDir is not sticky.
	runRef(t, env, env["REF_MAILDIRMAKE"], dir, "", dir)
	for i := 0; i < 3; i++ {
		runRef(t, env, env["REF_DELIVERQUOTA"], dir, "Subject: c"+strconv.Itoa(i)+"\n\nbody\n", dir)
	}
	v, theirs := imapView(t, env, dir, "s STORE 2 +FLAGS (\\Seen \\Answered)\r\n")
	m, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := ReadUIDDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.UIDValidity != v || db.NextUID != 4 {
		t.Fatalf("uiddb %+v, imapd said %d", db, v)
	}
	s, err := m.Inbox().Sync(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.UIDValidity != v || strings.Join(ourView(s), ",") != strings.Join(theirs, ",") {
		t.Fatalf("we see %d %v, imapd %d %v", s.UIDValidity, ourView(s), v, theirs)
	}
	if strings.Join(theirs, ",") != `1:,2:\Answered \Seen,3:` {
		t.Fatalf("unexpected imapd view %v", theirs)
	}
	// and our next delivery gets the next UID in imapd's eyes too
	m.Inbox().Deliver(strings.NewReader("Subject: ours\n\nx\n"), nil)
	s, _ = m.Inbox().Sync(nil)
	_, theirs = imapView(t, env, dir, "")
	if strings.Join(ourView(s), ",") != strings.Join(theirs, ",") || s.Messages[3].UID != 4 {
		t.Fatalf("we see %v, imapd %v", ourView(s), theirs)
	}
}

// uiddbEntries returns the entries of a courierimapuiddb file ("uid name" lines), without the
// header (whose UIDVALIDITY differs between two databases made at different times).
func uiddbEntries(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, UIDDBFile))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "\n")
	return rest
}

// The first open of a folder numbers its messages as Courier's imapd does: by the number each
// name starts with, however many digits, then by name; new/ and cur/ together.
func TestCompatNewOrder(t *testing.T) {
	env := refEnv(t)
	base := t.TempDir()
	names := []string{"1000000000.b", "999999999.z", "1000000000.a", "12.x", "x.nodigits", "1000000000.a2", "1600000000.M5P1.h,S=14", "1600000000.M40P1.h,S=14"}
	var dirs []string
	for _, d := range []string{"theirs", "ours"} {
		dir := filepath.Join(base, d)
		if err := Create(dir, Private, false); err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			sub, name := Cur, n+InfoSep
			if i%3 == 0 {
				sub, name = New, n
			}
			if err := os.WriteFile(filepath.Join(dir, sub, name), []byte("Subject: x\n\nx\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	runRef(t, env, env["REF_IMAPD"], dirs[0], "a SELECT INBOX\r\nb LOGOUT\r\n")
	m, err := Open(dirs[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inbox().Sync(nil); err != nil {
		t.Fatal(err)
	}
	if theirs, ours := uiddbEntries(t, dirs[0]), uiddbEntries(t, dirs[1]); theirs != ours {
		t.Fatalf("imapd numbered\n%s\nwe numbered\n%s", theirs, ours)
	}
}
