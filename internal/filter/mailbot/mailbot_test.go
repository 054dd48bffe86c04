package mailbot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sample = "From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: hi\nMessage-ID: <abc@x>\n\nbody line\n"

// setup writes a template and a fake sendmail that saves its arguments and input.
func setup(t *testing.T) (dir, tmpl, fake string) {
	t.Helper()
	dir = t.TempDir()
	tmpl = filepath.Join(dir, "reply.txt")
	if err := os.WriteFile(tmpl, []byte("I am away.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake = filepath.Join(dir, "sendmail")
	script := "#!/bin/sh\necho \"$@\" >>" + dir + "/args\ncat >>" + dir + "/out\n"
	if err := os.WriteFile(fake, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, tmpl, fake
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func run(t *testing.T, msg string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(msg), &out, &errb, env(nil))
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return code, out.String()
}

func TestReplySentThroughProgram(t *testing.T) {
	dir, tmpl, fake := setup(t)
	code, _ := run(t, sample, "-t", tmpl, "-A", "From: bob@example.org", "-s", "Away", "-N", fake, "-f", "")
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	want := "From: bob@example.org\nPrecedence: junk\nAuto-Submitted: auto-replied\nTo: Alice <alice@example.com>\n" +
		"References: <abc@x>\nIn-Reply-To: <abc@x>\nSubject: Away\nMime-Version: 1.0\n" +
		"Content-Type: text/plain; format=flowed; delsp=yes; charset=\"US-ASCII\"\nContent-Transfer-Encoding: 8bit\n\nI am away.\n\n\n"
	if string(out) != want {
		t.Fatalf("reply:\n%s\nwant:\n%s", out, want)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if string(args) != "-f \n" {
		t.Fatalf("args %q", args)
	}
}

func TestQuoteAndReplyTo(t *testing.T) {
	_, tmpl, _ := setup(t)
	code, out := run(t, "From: Alice <alice@example.com>\nReply-To: r@x.com\nSubject: hi\n\n> old\nnew\n", "-t", tmpl, "-n")
	if code != 0 || !strings.Contains(out, "To: r@x.com\n") || !strings.Contains(out, "Subject: Re: hi\n") ||
		!strings.Contains(out, "Alice writes:\n\n>> old\n> new\n\nI am away.\n") {
		t.Fatalf("code %d out:\n%s", code, out)
	}
}

func TestMIMETemplate(t *testing.T) {
	dir, _, _ := setup(t)
	m := filepath.Join(dir, "mime")
	os.WriteFile(m, []byte("Content-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: 7bit\n\nLamb.\n"), 0o600)
	code, out := run(t, sample, "-m", m, "-N", "-n")
	if code != 0 || !strings.Contains(out, "Content-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: 8bit\n\nLamb.\n") ||
		strings.Contains(out, "7bit") {
		t.Fatalf("code %d out:\n%s", code, out)
	}
}

func TestNoReplyToListsBulkAndRobots(t *testing.T) {
	for _, h := range []string{
		"Precedence: bulk", "Precedence: list", "Precedence: Junk", "Auto-Submitted: auto-generated",
		"List-Id: <l.x>", "List-Unsubscribe: <mailto:x>", "Return-Path: <>",
		"Content-Type: multipart/report; report-type=delivery-status",
	} {
		dir, tmpl, fake := setup(t)
		code, _ := run(t, "From: a@b.c\n"+h+"\nSubject: s\n\nb\n", "-t", tmpl, fake)
		if _, err := os.Stat(filepath.Join(dir, "out")); code != 0 || err == nil {
			t.Errorf("%s: code %d, reply sent %v", h, code, err == nil)
		}
	}
	dir, tmpl, fake := setup(t)
	var out, errb bytes.Buffer
	Main([]string{"-t", tmpl, fake}, strings.NewReader(sample), &out, &errb, env(map[string]string{"SENDER": "<>"}))
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("replied to the null sender")
	}
	code, _ := run(t, "From: a@b.c\nAuto-Submitted: no\n\nb\n", "-t", tmpl, fake)
	if _, err := os.Stat(filepath.Join(dir, "out")); code != 0 || err != nil {
		t.Errorf("Auto-Submitted: no: code %d, err %v", code, err)
	}
}

func TestDatabaseOncePerInterval(t *testing.T) {
	dir, tmpl, fake := setup(t)
	db := filepath.Join(dir, "db")
	for i := 0; i < 3; i++ {
		if code, _ := run(t, sample, "-t", tmpl, "-d", db, "-D", "2", fake); code != 0 {
			t.Fatalf("code %d", code)
		}
	}
	other := strings.Replace(sample, "alice@example.com", "ALICE2@example.com", 1)
	run(t, other, "-t", tmpl, "-d", db, fake)
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	if n := strings.Count(string(out), "Auto-Submitted:"); n != 2 {
		t.Fatalf("%d replies, want 2", n)
	}
	data, _ := os.ReadFile(db)
	if !strings.Contains(string(data), " alice@example.com\n") || !strings.Contains(string(data), " alice2@example.com\n") {
		t.Fatalf("db %q", data)
	}
}

func TestCheckAndRecordExpiry(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	now := time.Unix(1_000_000, 0)
	for _, c := range []struct {
		at   time.Time
		addr string
		want bool
	}{
		{now, "a@x", true}, {now.Add(time.Hour), "A@X", false}, {now.Add(25 * time.Hour), "a@x", true},
		{now.Add(26 * time.Hour), "b@x", true}, {now.Add(60 * time.Hour), "b@x", true},
	} {
		got, err := CheckAndRecord(db, c.addr, 24*time.Hour, c.at)
		if err != nil || got != c.want {
			t.Fatalf("%v %s: %v %v", c.at, c.addr, got, err)
		}
	}
	data, _ := os.ReadFile(db)
	if strings.Contains(string(data), "a@x") {
		t.Fatalf("expired entry kept: %q", data)
	}
}

func TestUsageAndSendFailure(t *testing.T) {
	if code, _ := run(t, sample, "-s", "x"); code != ExitTempFail {
		t.Fatalf("no template: code %d", code)
	}
	dir, tmpl, _ := setup(t)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("#!/bin/sh\ncat >/dev/null\nexit 69\n"), 0o700)
	if code, _ := run(t, sample, "-t", tmpl, bad); code != 69 {
		t.Fatalf("failing program: code %d", code)
	}
	if code, _ := run(t, sample, "-t", filepath.Join(dir, "missing"), bad); code != ExitTempFail {
		t.Fatalf("missing template: code %d", code)
	}
}

func TestMailbotLocaleCharset(t *testing.T) {
	for vars, want := range map[[3]string]string{
		{"", "", ""}:                  "US-ASCII",
		{"C", "", "C.UTF-8"}:          "US-ASCII",
		{"", "", "C.UTF-8"}:           "UTF-8",
		{"", "en_US.utf8", "C"}:       "UTF-8",
		{"", "", "de_DE.ISO-8859-1"}:  "ISO-8859-1",
		{"", "", "sr_RS.UTF-8@latin"}: "UTF-8",
	} {
		got := localeCharset(env(map[string]string{"LC_ALL": vars[0], "LC_CTYPE": vars[1], "LANG": vars[2]}))
		if got != want {
			t.Errorf("%v: %s, want %s", vars, got, want)
		}
	}
}

func TestMailbotRelativeMailer(t *testing.T) {
	dir, tmpl, _ := setup(t)
	os.Mkdir(filepath.Join(dir, "bin"), 0o700)
	os.WriteFile(filepath.Join(dir, "bin", "mailer"), []byte("#!/bin/sh\ncat >"+dir+"/relout\n"), 0o700)
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	os.Chdir(dir)
	t.Setenv("PATH", "./bin:"+os.Getenv("PATH"))
	if code, _ := run(t, sample, "-t", tmpl, "mailer"); code != 0 {
		t.Fatalf("code %d", code)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "relout")); err != nil || !strings.HasSuffix(string(b), "I am away.\n\n\n") {
		t.Fatalf("%q %v", b, err)
	}
}

// TestHeaderLineWithoutColon: a header line without a colon does not stop the reply, as it
// does not in Courier's mailbot (net/mail refused the whole message).
func TestHeaderLineWithoutColon(t *testing.T) {
	_, tmpl, _ := setup(t)
	code, out := run(t, "From: a@example.com\nbogus line without colon\nSubject: hi\n\nbody\n", "-t", tmpl, "-n")
	if code != 0 || !strings.Contains(out, "To: a@example.com\n") || !strings.Contains(out, "Subject: Re: hi\n") {
		t.Fatalf("code %d out:\n%s", code, out)
	}
}
