package mailbot

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var boundaryRE = regexp.MustCompile(`=_[A-Za-z0-9.]+-[0-9]+-[0-9]+-[0-9]+`)

var arrival = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

// build runs Build with a template "I am away." and -n, the boundaries blanked.
func build(t *testing.T, msg string, args ...string) (string, string, error) {
	t.Helper()
	tmpl := filepath.Join(t.TempDir(), "t.txt")
	if err := os.WriteFile(tmpl, []byte("I am away.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := ParseArgs(append(append([]string{}, args...), "-t", tmpl, "-n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	reply, _, reason, err := Build(o, []byte(msg), env(nil), arrival)
	return boundaryRE.ReplaceAllString(string(reply), "=_B"), reason, err
}

// TestFormatsMatchCourier compares each format with what Courier's mailbot wrote.
func TestFormatsMatchCourier(t *testing.T) {
	for _, c := range formatCases {
		t.Run(c.name, func(t *testing.T) {
			got, reason, err := build(t, c.msg, c.args...)
			if err != nil || reason != "" {
				t.Fatalf("err %v reason %q", err, reason)
			}
			if got != c.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestReplyDSNWithoutMIsAReply(t *testing.T) {
	dsn, _, _ := build(t, plainMsg, "-T", "replydsn")
	reply, _, _ := build(t, plainMsg, "-T", "reply")
	if dsn != reply || strings.Contains(dsn, "multipart/report") {
		t.Fatalf("-T replydsn without -M:\n%s", dsn)
	}
}

func TestMOverridesFormat(t *testing.T) {
	got, _, _ := build(t, plainMsg, "-T", "forward", "-M", "d@x")
	for _, want := range []string{"To: Joe Brown <joe@example.com>\n", "report-type=delivery-status;\n    boundary=\"=_B\"\n",
		"Content-Type: message/delivery-status\nContent-Transfer-Encoding: 7bit\n\nArrival-Date: Mon, 01 Jan 2024 12:00:00 +0000\n\n" +
			"Final-Recipient: rfc822; d@x\nAction: delivered\nStatus: 2.0.0\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("missing %q in:\n%s", want, got)
		}
	}
}

func TestFeedbackNeedsFeedbackFormat(t *testing.T) {
	_, _, err := build(t, plainMsg, "-T", "reply", "-R", "abuse")
	if !errors.Is(err, ErrFeedbackFormat) {
		t.Fatalf("err %v", err)
	}
	// -T feedback without -R: a report without the --feedback-* fields.
	got, _, err := build(t, plainMsg, "-T", "feedback", "--feedback-source-ip", "1.2.3.4")
	if err != nil || !strings.Contains(got, "User-Agent: "+UserAgent+"\nVersion: 1\n\n--=_B\n") ||
		strings.Contains(got, "Source-Ip") || strings.Contains(got[:strings.Index(got, "Mime-Version")], "\nTo:") {
		t.Fatalf("err %v:\n%s", err, got)
	}
}

func TestMainFeedbackFormatExit(t *testing.T) {
	_, tmpl, _ := setup(t)
	code, _ := run(t, sample, "-R", "abuse", "-t", tmpl, "-n")
	if code != 1 {
		t.Fatalf("code %d", code)
	}
}

func TestReplyDraft(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "Drafts")
	for _, d := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(md, d), 0o700)
	}
	write := func(name, text string, mt time.Time) {
		p := filepath.Join(md, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mt, mt)
	}
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	write("cur/1:2,S", "Subject: old\nContent-Type: text/plain\n\nOld text.\n", day)
	write("new/2", "Subject: x\nContent-Type: text/plain\nX-No: 1\n\nVacation text.\n", day.Add(24*time.Hour))
	write("cur/3:2,ST", "Subject: deleted\n\nTrashed.\n", day.Add(48*time.Hour))
	o, err := ParseArgs([]string{"-T", "replydraft", "-l", md, "-n"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	reply, _, reason, err := Build(o, []byte(plainMsg), env(nil), arrival)
	if err != nil || reason != "" {
		t.Fatalf("err %v reason %q", err, reason)
	}
	if got := boundaryRE.ReplaceAllString(string(reply), "=_B"); got != draftWant {
		t.Fatalf("got:\n%s\nwant:\n%s", got, draftWant)
	}
	// No message: no reply.
	empty := filepath.Join(dir, "Empty")
	os.MkdirAll(filepath.Join(empty, "new"), 0o700)
	o.Maildir = empty
	if _, _, reason, err := Build(o, []byte(plainMsg), env(nil), arrival); err != nil || reason == "" {
		t.Fatalf("empty maildir: err %v reason %q", err, reason)
	}
	// -l is required, -t and -m are not.
	if _, err := ParseArgs([]string{"-T", "replydraft", "-n"}, env(nil)); err == nil {
		t.Fatal("replydraft without -l accepted")
	}
}

func TestCoreSubject(t *testing.T) {
	for in, want := range map[string]string{
		"hello":                                "hello",
		"Re: hello":                            "hello",
		"RE: Fwd: hello (fwd)":                 "hello",
		"Re: [list]  Fwd:  two   spaces (fwd)": "two spaces",
		"[fwd: wrapped]":                       "wrapped",
		"[list] topic":                         "[list] topic",
	} {
		if got := coreSubject(in); got != want {
			t.Errorf("coreSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestForwardThroughProgram(t *testing.T) {
	dir, tmpl, fake := setup(t)
	code, _ := run(t, sample, "-T", "forwardatt", "-t", tmpl, "-A", "From: bob@example.org", fake, "-f", "", "carol@example.net")
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	got := boundaryRE.ReplaceAllString(string(out), "=_B")
	want := "From: bob@example.org\nPrecedence: junk\nAuto-Submitted: auto-replied\nSubject: hi (fwd)\nMime-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"=_B\"\n\n" + mimeMsg + "\n--=_B\n" +
		"Content-Type: text/plain; format=flowed; delsp=yes; charset=\"US-ASCII\"\nContent-Transfer-Encoding: 8bit\n\n" +
		"I am away.\n\n\n--- Forwarded message ---\n\n--=_B\nContent-Type: message/rfc822\nContent-Description: Forwarded message\n\n" +
		sample + "\n--=_B--\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if string(args) != "-f  carol@example.net\n" {
		t.Fatalf("args %q", args)
	}
}

func TestSenderFlagWithoutGetenv(t *testing.T) {
	t.Setenv("SENDER", "env@example.net")
	o, err := ParseArgs([]string{"-f", "-t", "x"}, nil)
	if err != nil || o.To != "env@example.net" {
		t.Fatalf("err %v to %q", err, o.To)
	}
}

// TestQuotedPartAsCourier checks the part a reply quotes, and the headers it reads, on
// messages where the MIME structure is Courier's rfc2045 one (expectations from Debian's
// mailbot).
func TestQuotedPartAsCourier(t *testing.T) {
	for _, c := range []struct{ name, msg, quote string }{
		{"mime-version-2", "From: a@b\nSubject: mv2\nMime-Version: 2.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\npre\n--XX\nContent-Type: text/plain\n\nbody one\n--XX\nContent-Type: application/x-y\n\natt\n--XX--\n",
			"> pre\n> --XX\n> Content-Type: text/plain\n>\n> body one\n> --XX\n> Content-Type: application/x-y\n>\n> att\n> --XX--\n"},
		{"inherited-encoding", "From: a@b\nSubject: cte\nMime-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\nContent-Transfer-Encoding: quoted-printable\n\n--XX\nContent-Type: text/plain\n\nsoft=\nbreak =3D\n--XX\nContent-Type: application/x-y\n\natt\n--XX--\n",
			"> softbreak =\n"},
		{"enclosed-message", "From: a@b\nSubject: top822\nMime-Version: 1.0\nContent-Type: message/rfc822\n\nFrom: c@d\nSubject: inner\n\ninner body\n",
			"> inner body\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := build(t, c.msg, "-T", "reply")
			if err != nil {
				t.Fatal(err)
			}
			if want := "a@b writes:\n\n" + c.quote + "\nI am away.\n"; !strings.Contains(got, want) {
				t.Fatalf("got:\n%s\nwant it to contain:\n%s", got, want)
			}
		})
	}
	// "Subject :" is not a Subject header for Courier.
	got, _, _ := build(t, "From: a@b\nSubject : spaced\n\nbody\n", "-T", "reply")
	if strings.Contains(got, "spaced") {
		t.Fatalf("got:\n%s", got)
	}
}
