package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"courier/internal/queue"
	"courier/internal/quickstart"
	"courier/internal/submit"
	"courier/internal/testutil"
)

// demoNew is the demo account's Maildir/new under a quickstart directory.
func demoNew(dir string) string {
	return filepath.Join(dir, "mail", "example.test", "demo", "Maildir", "new")
}

// waitMail waits until demo's Maildir/new holds a message whose Subject: is subject, and
// returns it.
func waitMail(t *testing.T, dir, subject string) string {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if m := findMail(t, dir, subject); len(m) > 0 {
			if len(m) > 1 {
				t.Fatalf("%d copies of %q delivered", len(m), subject)
			}
			return m[0]
		}
	}
	t.Fatalf("no message %q delivered", subject)
	return ""
}

// findMail returns demo's messages with the given Subject:.
func findMail(t *testing.T, dir, subject string) []string {
	t.Helper()
	ents, err := os.ReadDir(demoNew(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(demoNew(dir), e.Name()))
		if err == nil && strings.Contains(string(b), "\nSubject: "+subject+"\n") {
			out = append(out, string(b))
		}
	}
	return out
}

// header returns the value of the first field named name in a message's header.
func header(msg, name string) (string, bool) {
	h, _, _ := strings.Cut(msg, "\n\n")
	for _, l := range strings.Split(h, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func body(msg string) string {
	_, b, _ := strings.Cut(msg, "\n\n")
	return b
}

// TestSendmail runs sendmail in-process against a running quickstart server: recipients
// from the arguments and from the header (-t, Bcc: removed), the fields it adds, -f, the
// lone dot with and without -i, DSN options, and a remote recipient that stays queued and
// shows in mailq.
func TestSendmail(t *testing.T) {
	s := testutil.Start(t, testutil.Options{})
	me := currentUser().Username
	run := func(stdin string, args ...string) {
		t.Helper()
		if _, e, code := runAuthTool(t, s.ConfigDir, stdin, append([]string{"sendmail"}, args...)...); code != 0 {
			t.Fatalf("sendmail %q: exit %d: %s", args, code, e)
		}
	}

	run("Subject: plain\n\nhello\n", "demo@example.test")
	m := waitMail(t, s.Dir, "plain")
	if v, _ := header(m, "From"); v != "<"+me+"@example.test>" && !strings.HasSuffix(v, " <"+me+"@example.test>") {
		t.Errorf("added From: %q", v)
	}
	if v, _ := header(m, "Return-Path"); v != "<"+me+"@example.test>" {
		t.Errorf("default sender %q", v)
	}
	if v, ok := header(m, "Date"); !ok || !regexp.MustCompile(`^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$`).MatchString(v) {
		t.Errorf("added Date: %q", v)
	}
	if v, ok := header(m, "Message-ID"); !ok || !regexp.MustCompile(`^<courier\.[0-9a-z]+@example\.test>$`).MatchString(v) {
		t.Errorf("added Message-ID: %q", v)
	}
	if !strings.HasPrefix(m, "Return-Path: ") || !strings.Contains(m, "\nReceived: by example.test (from user "+me) || !strings.Contains(m, "with local\n") {
		t.Errorf("trace fields:\n%s", m)
	}
	if body(m) != "hello\n" {
		t.Errorf("body %q", body(m))
	}

	// -t with Bcc:, -F, -f, and fields the message has already
	run("From: Someone <someone@example.test>\nTo: Demo <demo@example.test>\nBcc: far@remote.test\nDate: Mon, 2 Mar 2026 10:00:00 +0100\n"+
		"Message-ID: <mine@example.test>\nSubject: bcc\n\nsecret recipients\n",
		"-t", "-oi", "-f", "bounces@example.test", "-F", "Nice Name", "-N", "success,delay", "-R", "hdrs", "-V", "env-1")
	m = waitMail(t, s.Dir, "bcc")
	if _, ok := header(m, "Bcc"); ok || strings.Contains(m, "far@remote.test") {
		t.Errorf("Bcc: delivered:\n%s", m)
	}
	if v, _ := header(m, "Return-Path"); v != "<bounces@example.test>" {
		t.Errorf("-f: Return-Path %q", v)
	}
	if v, _ := header(m, "From"); v != "Nice Name <someone@example.test>" {
		t.Errorf("-F on an existing From: %q", v)
	}
	if v, _ := header(m, "Date"); v != "Mon, 2 Mar 2026 10:00:00 +0100" || strings.Count(m, "\nDate:") != 1 || strings.Count(m, "\nMessage-ID:") != 1 {
		t.Errorf("Date:/Message-ID: the message had were replaced or doubled:\n%s", m)
	}

	// a lone dot never ends the message, with or without -i (Courier's sendmail)
	run("Subject: dot\n\nbefore\n.\nafter\n", "demo@example.test")
	if b := body(waitMail(t, s.Dir, "dot")); b != "before\n.\nafter\n" {
		t.Errorf("without -i: body %q", b)
	}
	run("Subject: dot-i\r\n\r\nbefore\r\n.\r\nafter\r\n", "-i", "demo@example.test")
	if b := body(waitMail(t, s.Dir, "dot-i")); b != "before\n.\nafter\n" {
		t.Errorf("with -i: body %q", b)
	}

	// the remote recipient of "bcc" is held in the queue with its DSN options; mailq lists it
	var held *queue.Stored
	for end := time.Now().Add(10 * time.Second); held == nil && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		all, err := queue.Scan(filepath.Join(s.Dir, "spool", "msgs"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range all {
			if all[i].Done[0] {
				held = &all[i]
			}
		}
	}
	if held == nil {
		t.Fatal("the message to far@remote.test is not in the queue")
	}
	e := held.Env
	if e.From != "bounces@example.test" || e.Ret != "HDRS" || e.EnvID != "env-1" || e.AuthUser != me || e.Protocol != "local" ||
		len(e.Rcpts) != 2 || e.Rcpts[1].Addr != "far@remote.test" || e.Rcpts[1].Notify != "SUCCESS,DELAY" || e.Pickup == "" {
		t.Errorf("queued envelope %+v", e)
	}
	out, _, code := runAuthTool(t, s.ConfigDir, "", "mailq")
	if code != 0 {
		t.Fatalf("mailq: exit %d", code)
	}
	want := regexp.MustCompile(`(?m)^Size +Queue ID +Date\nUser +From\nStatus +Recipient\n-{16} -{57}\n` +
		`[0-9.]+K? +` + held.ID + ` +[A-Z][a-z]{2} \d\d \d\d:\d\d\n` +
		regexp.QuoteMeta(me) + ` +bounces@example\.test\ndone +demo@example\.test\n {17}far@remote\.test\n\n   1 messages\.\n$`)
	if !want.MatchString(out) {
		t.Errorf("mailq:\n%s", out)
	}
	out, _, _ = runAuthTool(t, s.ConfigDir, "", "sendmail", "-bp")
	if !want.MatchString(out) {
		t.Errorf("sendmail -bp:\n%s", out)
	}
	out, _, _ = runAuthTool(t, s.ConfigDir, "", "mailq", "-batch", "-sort")
	if !regexp.MustCompile(`^[0-9.]+K? *;` + held.ID + `;[^;]+;` + regexp.QuoteMeta(me) + `;bounces@example\.test;done;demo@example\.test;;far@remote\.test;\nmessages: 1\n$`).MatchString(out) {
		t.Errorf("mailq -batch:\n%s", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir, "spool", "pickup", "new")); len(ents) != 0 {
		t.Errorf("pickup/new not emptied: %v", ents)
	}
}

// TestSendmailRefusals: what sendmail refuses, with sysexits codes, leaves nothing.
func TestSendmailRefusals(t *testing.T) {
	res, err := quickstart.Setup(quickstart.Options{Dir: t.TempDir(), Listen: "127.0.0.1", Ephemeral: true, Password: "x-Pass-123"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(res.ConfigDir, "sizelimit"), []byte("100\n"), 0o644)
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"Subject: x\n\nno recipients\n", nil, exNoUser, "no recipients"},
		{"To: undisclosed-recipients:;\n\nx\n", []string{"-t"}, exNoUser, "no recipients"},
		{"x\n", []string{"a b@c"}, exNoUser, "invalid address"},
		{"x\n", []string{"-f"}, exUsage, "needs a value"},
		{"x\n", []string{"-N", "sometimes", "a@b"}, exUsage, "DSN notify"},
		{"x\n", []string{"-R", "all", "a@b"}, exUsage, "neither full nor hdrs"},
		{"x\n", []string{"-V", "two words", "a@b"}, exUsage, "ENVID"},
		{"x\n", []string{"-f", "a\rb@c", "a@b"}, exUsage, "sender"},
		{"x\n", []string{"-bd"}, exUsage, "not supported"},
		{"Subject: big\n\n" + strings.Repeat("x", 200) + "\n", []string{"a@b"}, exDataErr, "too big"},
	} {
		_, stderr, code := runAuthTool(t, res.ConfigDir, c.stdin, append([]string{"sendmail"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("sendmail %q: exit %d %q, want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(res.Dir, "spool", "pickup", "new")); len(ents) != 0 {
		t.Errorf("refusals left files: %v", ents)
	}
	// -q asks for a queue run, which the server does by itself
	if _, _, code := runAuthTool(t, res.ConfigDir, "", "sendmail", "-q"); code != 0 {
		t.Errorf("-q: exit %d", code)
	}
	// -n prints the rewritten message and queues nothing
	out, _, code := runAuthTool(t, res.ConfigDir, "To: a@b\nBcc: c@d\n\nbody\n", "sendmail", "-n", "-t", "-F", "N")
	if code != 0 || out != "From: N <"+currentUser().Username+"@example.test>\nTo: a@b\n\nbody\n" {
		t.Errorf("-n: %d %q", code, out)
	}
	// without a server the message waits, durable, in pickup/new
	if _, e, code := runAuthTool(t, res.ConfigDir, "Subject: wait\n\n", "sendmail", "a@b"); code != 0 {
		t.Fatalf("exit %d %s", code, e)
	}
	ents, _ := os.ReadDir(filepath.Join(res.Dir, "spool", "pickup", "new"))
	if len(ents) != 1 || strings.HasPrefix(ents[0].Name(), ".") {
		t.Errorf("pickup/new: %v", ents)
	}
}

// TestPickupAtStart: files dropped while the server is stopped are queued when it
// starts; a malformed file, a symbolic link and a refused recipient do not stop the
// others, and the refused one comes back to its sender as a notification; a file whose message the queue already holds (a crash between the queue's
// commit and the file's removal) is not delivered twice.
func TestPickupAtStart(t *testing.T) {
	var pickupNew, queued string
	s := testutil.Start(t, testutil.Options{Edit: func(tb testing.TB, configDir string) {
		dir := filepath.Dir(configDir)
		pickupNew = filepath.Join(dir, "spool", "pickup", "new")
		send := func(stdin string, args ...string) {
			if _, e, code := runAuthTool(t, configDir, stdin, append([]string{"sendmail"}, args...)...); code != 0 {
				tb.Fatalf("sendmail: exit %d: %s", code, e)
			}
		}
		// names sort by time: the garbage comes first in the directory
		os.WriteFile(filepath.Join(pickupNew, "0garbage"), []byte("COURIER-PICKUP 1 junk\n"), 0o600)
		os.Symlink(filepath.Join(configDir, "userdb"), filepath.Join(pickupNew, "0link"))
		send("Subject: stopped\n\nwritten while the server was down\n", "demo@example.test")
		send("Subject: nobody\n\nx\n", "-f", "demo@example.test", "nosuchuser@example.test")

		// the crash window: the queue holds the message made from a pickup file that is
		// still there
		env := &submit.Envelope{From: "a@example.test", Rcpts: []submit.Rcpt{{Addr: "demo@example.test"}}, Time: time.Now()}
		d, err := submit.NewDrop(filepath.Join(dir, "spool", "pickup"), env, 0)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(d, "Subject: twice?\n\nonce\n")
		if err := d.Commit(); err != nil {
			tb.Fatal(err)
		}
		queued = d.Name()
		q, err := queue.Open(queue.Options{Dir: filepath.Join(dir, "spool", "msgs"), Deliverer: holdAll{}})
		if err != nil {
			tb.Fatal(err)
		}
		w, err := q.Create(&queue.Envelope{From: env.From, Rcpts: []queue.Recipient{{Addr: "demo@example.test", Local: true, Account: "demo@example.test"}},
			AuthUser: currentUser().Username, Protocol: "local", Time: time.Now(), Pickup: queued})
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(w, "Subject: twice?\n\nonce\n")
		if err := w.Commit(); err != nil {
			tb.Fatal(err)
		}
		q.Close(context.Background())
	}})
	if m := waitMail(t, s.Dir, "stopped"); body(m) != "written while the server was down\n" {
		t.Errorf("body %q", body(m))
	}
	waitMail(t, s.Dir, "twice?")
	bad := filepath.Join(s.Dir, "spool", "pickup", "bad")
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ents, _ := os.ReadDir(pickupNew); len(ents) == 0 {
			break
		}
	}
	if ents, _ := os.ReadDir(pickupNew); len(ents) != 0 {
		t.Errorf("pickup/new still holds %v", ents)
	}
	why, err := os.ReadFile(filepath.Join(bad, "0garbage.why"))
	if err != nil || !strings.Contains(string(why), "malformed") {
		t.Errorf("0garbage.why: %q %v", why, err)
	}
	if _, err := os.Stat(filepath.Join(bad, "0garbage")); err != nil {
		t.Errorf("the malformed file was not kept: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(bad, "0link")); err == nil {
		t.Error("the symbolic link was moved to bad/")
	}
	if _, err := os.Stat(filepath.Join(s.ConfigDir, "userdb")); err != nil {
		t.Errorf("the link's target was touched: %v", err)
	}
	// The refused recipient comes back to the sender as a delivery status notification,
	// as Courier's sendmail would have refused it on the spot; nothing is left in bad/.
	dsnMsg := waitMail(t, s.Dir, "NOTICE: mail delivery status.")
	for _, want := range []string{"\nTo: <demo@example.test>\n", "Content-Type: multipart/report; report-type=delivery-status;",
		"\nFinal-Recipient: rfc822; nosuchuser@example.test\nAction: failed\nStatus: 5.1.1\n",
		"Content-Type: message/rfc822\n", "\nSubject: nobody\n"} {
		if !strings.Contains(dsnMsg, want) {
			t.Errorf("the notification lacks %q:\n%s", want, dsnMsg)
		}
	}
	if !strings.HasPrefix(dsnMsg, "Return-Path: <>\n") {
		t.Errorf("the notification is not from the null sender:\n%.300s", dsnMsg)
	}
	t.Log(dsnMsg)
	if ents, _ := os.ReadDir(bad); len(ents) != 2 {
		t.Errorf("bad/ holds %v, want the malformed file and its reason only", ents)
	}
	time.Sleep(300 * time.Millisecond) // a second delivery would have happened by now
	if n := len(findMail(t, s.Dir, "twice?")); n != 1 {
		t.Errorf("the message queued before the crash was delivered %d times", n)
	}
}

// holdAll keeps every message queued: the test's stand-in for a server that crashed
// before delivering.
type holdAll struct{}

func (holdAll) Deliver(context.Context, *queue.Message, int) queue.Result {
	return queue.Result{Outcome: queue.Hold}
}

func (holdAll) AlreadyDelivered(context.Context, *queue.Message, int) (bool, error) {
	return false, nil
}

// TestPickupOwnerIsIdentity: the server takes the submitting user from the owner of the
// pickup file, whatever the file says. Giving a file away takes root.
func TestPickupOwnerIsIdentity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a pickup file to another user")
	}
	s := testutil.Start(t, testutil.Options{Edit: func(tb testing.TB, configDir string) {
		pickup := filepath.Join(filepath.Dir(configDir), "spool", "pickup")
		env := &submit.Envelope{From: "root@example.test", Rcpts: []submit.Rcpt{{Addr: "demo@example.test"}}, Time: time.Now()}
		d, err := submit.NewDrop(pickup, env, 0)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(d, "Subject: owner\n\nx\n")
		if err := d.Commit(); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(filepath.Join(pickup, submit.NewDir, d.Name()), 65534, 65534); err != nil {
			tb.Fatal(err)
		}
	}})
	m := waitMail(t, s.Dir, "owner")
	if !regexp.MustCompile(`\nReceived: by example\.test \(from user [^,]+, uid 65534\)\n`).MatchString(m) {
		t.Errorf("the owner is not the identity:\n%s", m)
	}
}

func TestParseSendmailArgs(t *testing.T) {
	a, err := parseSendmailArgs([]string{"-t", "-oi", "-odb", "-oem", "-fme@x", "-F", "Full Name", "-Nfail,delay", "-R", "full",
		"-V", "id1", "-B", "8BITMIME", "-h", "5", "-c", "/etc/x", "-v", "--", "-rcpt@x", "b@y"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.ignoreDots || a.from != "me@x" || !a.fromSet || a.fullName != "Full Name" || a.notify != "FAILURE,DELAY" || a.ret != "FULL" ||
		a.envid != "id1" || a.configDir != "/etc/x" || strings.Join(a.rcpts, " ") != "-rcpt@x b@y" {
		t.Errorf("%+v", a)
	}
	a, _ = parseSendmailArgs([]string{"-r", "", "-bcc", "-q", "-", "-x@y"})
	if a.from != "" || !a.fromSet || !a.bccOnly || !a.queueRun || a.ignoreDots || strings.Join(a.rcpts, " ") != "-x@y" {
		t.Errorf("%+v", a)
	}
	a, _ = parseSendmailArgs([]string{"-bp"})
	if a.mode != "p" {
		t.Errorf("-bp: %+v", a)
	}
}

// TestPickupOnBehalfOnlyFromTheServer: a pickup file naming an account it speaks for
// (what the server's own SMAP sessions write) is refused when another user owns it, so a
// local user cannot pass as an account.
func TestPickupOnBehalfOnlyFromTheServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to give a pickup file to another user (CI runs as root)")
	}
	var pickup string
	s := testutil.Start(t, testutil.Options{Edit: func(tb testing.TB, configDir string) {
		pickup = filepath.Join(filepath.Dir(configDir), "spool", "pickup")
		env := &submit.Envelope{From: "demo@example.test", OnBehalf: "demo@example.test",
			Rcpts: []submit.Rcpt{{Addr: "demo@example.test"}}, Time: time.Now()}
		d, err := submit.NewDrop(pickup, env, 0)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(d, "Subject: forged\n\nx\n")
		if err := d.Commit(); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(filepath.Join(pickup, submit.NewDir, d.Name()), 65534, 65534); err != nil {
			tb.Fatal(err)
		}
	}})
	_ = s
	var why []byte
	for end := time.Now().Add(10 * time.Second); why == nil && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		ents, _ := os.ReadDir(filepath.Join(pickup, "bad"))
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".why") {
				why, _ = os.ReadFile(filepath.Join(pickup, "bad", e.Name()))
			}
		}
	}
	if !strings.Contains(string(why), "onbehalf") {
		t.Fatalf("the forged file was not refused (bad/ reason %q)", why)
	}
}
