package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
	"courier/internal/testutil/courierref"
)

const aliasSource = `# a comment
team: demo@example.test,
  bob, out@remote.test
Big: team, carol
info: | /usr/bin/true
@virt.test: john
dup: bob, Bob, team
larry: larry, | /bin/prog, moe
box: /var/mail/x
`

// TestMakealiasesDumpAsCourier: -dump prints what Courier's makealiases -dump prints for
// the same source (sub-aliases expanded, duplicates removed, program aliases in the
// ".xalias/" form, virtual domains last).
func TestMakealiasesDumpAsCourier(t *testing.T) {
	dir := t.TempDir()
	host, _ := os.Hostname()
	os.WriteFile(filepath.Join(dir, "me"), []byte(host+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "aliases"), []byte(aliasSource), 0o644)
	out, e, code := runAuthTool(t, dir, "", "makealiases", "-dump")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	bin := filepath.Dir(courierref.Tool(t, "usr/lib/courier/courier/aliasexp"))
	work := t.TempDir()
	cmd := exec.Command("sh", "-c", `"$B/aliasexp" -xaliaspfix=.xalias/ -xaliastmpdir="$W/xt" -src="$S" local | "$B/aliascombine" | "$B/aliascreate" -tmp="$W/t" -alias="$W/a.dat" -dump`)
	cmd.Env = append(append(os.Environ(), "B="+bin, "W="+work, "S="+filepath.Join(dir, "aliases")), courierref.Env()...)
	cmd.Dir = work
	want, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("Courier's makealiases: %v\n%s", err, want)
	}
	// The order of the aliases is Courier's hashing order; compare them as sets.
	if blocks(out) != blocks(string(want)) {
		t.Errorf("ours:\n%s\nCourier's:\n%s", out, want)
	}
}

// TestMakealiasesCompiled: once compiled, aliases.dat is what the server reads (edits of
// the source wait for the next makealiases, as with Courier); a program alias delivers
// through its program; a virtual domain reaches the user's .courier-EXT.
func TestMakealiasesCompiled(t *testing.T) {
	s := testutil.Start(t, testutil.Options{Edit: func(tb testing.TB, conf string) {
		os.WriteFile(filepath.Join(conf, "aliases", "system"), []byte("postmaster: demo@example.test\n"+
			"sales: demo@example.test\nrun: | cat > "+filepath.Join(filepath.Dir(conf), "ran.txt")+"\n@virt.test: demo\n"), 0o644)
		os.WriteFile(filepath.Join(conf, "esmtpacceptmailfor.dir", "virt"), []byte("virt.test\n"), 0o644)
	}})
	if _, e, code := runAuthTool(t, s.ConfigDir, "", "makealiases"); code != 0 {
		t.Fatalf("makealiases: %d %s", code, e)
	}
	b, _ := os.ReadFile(filepath.Join(s.ConfigDir, "aliases.dat"))
	if !strings.HasPrefix(string(b), "#courier-aliases 1\n") {
		t.Fatalf("aliases.dat:\n%s", b)
	}
	home := filepath.Join(s.Dir, "mail", "example.test", "demo")
	os.WriteFile(filepath.Join(home, ".courier-info"), []byte("./Maildir/\n"), 0o600)
	// an edit of the source that was never compiled
	os.WriteFile(filepath.Join(s.ConfigDir, "aliases", "system"), []byte("postmaster: demo@example.test\n"), 0o644)
	time.Sleep(1100 * time.Millisecond)

	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.Expect("220 example.test ESMTP")
	c.Transcript(`
		C: HELO client.test
		S: 250 example.test Ok.
		C: MAIL FROM:<a@b.test>
		S: 250 2.1.0 Ok.
		C: RCPT TO:<sales@example.test>
		S: 250 2.1.5 Ok.
		C: RCPT TO:<run@example.test>
		S: 250 2.1.5 Ok.
		C: RCPT TO:<info@virt.test>
		S: 250 2.1.5 Ok.
		C: RCPT TO:<nobody@virt.test>
		S: 550 5.1.1 <nobody@virt.test>: unknown user.
		C: DATA
		S: 354 Ok.
		C: Subject: aliases
		C: 
		C: hi
		C: .
		S~ ^250 2\.0\.0 Ok\.
		C: QUIT
		S: 221 2.0.0 example.test Bye.
	`)
	var ran []byte
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && len(ran) == 0; time.Sleep(20 * time.Millisecond) {
		ran, _ = os.ReadFile(filepath.Join(s.Dir, "ran.txt"))
	}
	if !strings.Contains(string(ran), "Subject: aliases") {
		t.Errorf("the program alias got %q", ran)
	}
	var got []string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && len(got) < 2; time.Sleep(20 * time.Millisecond) {
		got = findMail(t, s.Dir, "aliases")
	}
	all := strings.Join(got, "")
	if len(got) != 2 || !strings.Contains(all, "Delivered-To: demo-info@example.test\n") || !strings.Contains(all, "Delivered-To: demo@example.test\n") {
		t.Errorf("delivered %d:\n%s", len(got), all)
	}
}

// blocks sorts the blank-line separated blocks of a dump.
func blocks(s string) string {
	b := strings.Split(strings.TrimSpace(s), "\n\n")
	sort.Strings(b)
	return strings.Join(b, "\n\n")
}
