package keywords

import (
	"bufio"
	"courier/internal/testutil/courierref"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// refImapd returns the reference Courier imapd and the environment it needs.
func refImapd(t *testing.T) (string, []string) {
	t.Helper()
	return courierref.Tool(t, "usr/bin/imapd"), courierref.Env()
}

// scratch makes a directory outside any sticky-bit directory (Courier refuses those).
func scratch(t *testing.T) string {
	t.Helper()
	base := "/var/tmp"
	if _, err := os.Stat(base); err != nil {
		t.Fatalf("need %s for the reference imapd: %v", base, err)
	}
	d, err := os.MkdirTemp(base, "courier-kw-interop-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// runImapd runs a pre-authenticated session over md and returns its output.
func runImapd(t *testing.T, md string, env []string, script string) string {
	t.Helper()
	imapd, refEnv := refImapd(t)
	cmd := exec.Command(imapd)
	cmd.Dir = filepath.Dir(md)
	cmd.Env = append(append([]string{"PATH=/usr/bin:/bin", "MAILDIR=" + md, "HOME=" + filepath.Dir(md), "TZ=UTC"}, refEnv...), env...)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("imapd: %v\n%s", err, out)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// uidMap reads courierimapuiddb: base name by UID.
func uidMap(t *testing.T, md string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(md, "courierimapuiddb"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Scan() // version line
	for sc.Scan() {
		if uid, base, ok := strings.Cut(sc.Text(), " "); ok {
			m[uid] = base
		}
	}
	return m
}

var fetchRe = regexp.MustCompile(`(?m)^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)\)$`)

// keywordsByBase parses FETCH (UID FLAGS) replies into the keywords (non-\ flags) per message.
func keywordsByBase(t *testing.T, out string, uids map[string]string) map[string][]string {
	t.Helper()
	res := map[string][]string{}
	for _, m := range fetchRe.FindAllStringSubmatch(out, -1) {
		var kws []string
		for _, f := range strings.Fields(m[2]) {
			if !strings.HasPrefix(f, `\`) {
				kws = append(kws, f)
			}
		}
		res[uids[m[1]]] = normalizeForTest(kws)
	}
	return res
}

func normalizeForTest(kws []string) []string {
	return Open("", Options{}).normalize(kws)
}

// TestInteropWithCourierImapd: keywords we write are what Courier's imapd reports, and
// keywords imapd stores are what we read.
func TestInteropWithCourierImapd(t *testing.T) {
	md := filepath.Join(scratch(t), "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	msgs := []string{"1700000000.M1P1.host,S=14", "1700000001.M2P2.host,S=14", "1700000002.M3P3.host,S=14"}
	for _, m := range msgs {
		if err := os.WriteFile(filepath.Join(md, "cur", m+":2,S"), []byte("Subject: x\n\nx\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(b string) bool {
		for _, m := range msgs {
			if m == b {
				return true
			}
		}
		return false
	}
	s := Open(md, Options{})
	// msgs[0] through :list (merged), msgs[1] through a plain update file only
	if err := s.Set(msgs[0], []string{"Foo", "$Junk", "bar"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadAll(exists); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(msgs[1], []string{"Project-X", "$Label1"}); err != nil {
		t.Fatal(err)
	}
	out := runImapd(t, md, []string{"IMAP_KEYWORDS=1"}, "a SELECT INBOX\nb FETCH 1:* (UID FLAGS)\nz LOGOUT\n")
	got := keywordsByBase(t, out, uidMap(t, md))
	want := map[string][]string{
		msgs[0]: {"$Junk", "Foo", "bar"},
		msgs[1]: {"$Label1", "Project-X"},
		msgs[2]: {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("imapd sees %v, want %v\n%s", got, want, out)
	}

	// the reverse: imapd stores, we read
	out = runImapd(t, md, []string{"IMAP_KEYWORDS=1"}, "a SELECT INBOX\nb STORE 1 +FLAGS (NewKw)\nc STORE 2 -FLAGS (Project-X)\nd STORE 3 FLAGS (\\Seen Third $Junk)\nz LOGOUT\n")
	if strings.Contains(out, " NO ") || strings.Contains(out, " BAD ") {
		t.Fatalf("imapd refused a STORE:\n%s", out)
	}
	uids := uidMap(t, md)
	entries, err := s.ReadAll(exists)
	if err != nil {
		t.Fatal(err)
	}
	gotR := map[string][]string{}
	for _, e := range entries {
		gotR[e.Base] = e.Keywords
	}
	wantR := map[string][]string{
		uids["1"]: {"$Junk", "Foo", "NewKw", "bar"},
		uids["2"]: {"$Label1"},
		uids["3"]: {"$Junk", "Third"},
	}
	if !reflect.DeepEqual(gotR, wantR) {
		t.Fatalf("we read %v after imapd's STOREs, want %v\n%s", gotR, wantR, out)
	}
	for _, m := range msgs {
		kws, err := s.Get(m)
		if err != nil || !reflect.DeepEqual(kws, wantR[m]) {
			t.Errorf("Get(%s) = %v, %v; want %v", m, kws, err, wantR[m])
		}
	}
	// and imapd reads the :list we rewrote
	out = runImapd(t, md, []string{"IMAP_KEYWORDS=1"}, "a SELECT INBOX\nb FETCH 1:* (UID FLAGS)\nz LOGOUT\n")
	if got := keywordsByBase(t, out, uidMap(t, md)); !reflect.DeepEqual(got, wantR) {
		t.Fatalf("imapd sees %v after our merge, want %v\n%s", got, wantR, out)
	}
}
