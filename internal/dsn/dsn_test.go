package dsn

import (
	"bytes"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const original = "From: a@example.test\nTo: b@example.test\nSubject: hello\n\nbody line\n"

// parts parses a notification as a mail client would and returns its header and the
// parts' types and bodies.
func parts(t *testing.T, b []byte) (mail.Header, []string, []string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a message: %v\n%s", err, b)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var types, bodies []string
	for {
		p, err := r.NextRawPart()
		if err != nil {
			break
		}
		var buf bytes.Buffer
		buf.ReadFrom(p)
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, buf.String())
	}
	return m.Header, types, bodies
}

func TestFailureReport(t *testing.T) {
	arr := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	r := &Report{MTA: "mx.example.test", To: "a@example.test", EnvID: "env-1", Arrival: arr,
		ReceivedFrom: "client.example (192.0.2.1)", Date: arr.Add(time.Minute), Full: true,
		Rcpts: []Recipient{
			{Final: "b@example.test", Original: "rfc822;B@example.test", Action: Failed, Status: "5.1.1", Diagnostic: "no such user"},
			{Final: "c@example.test", Action: Delayed, Status: "4.2.2", Diagnostic: "mailbox full", RetryUntil: arr.Add(7 * 24 * time.Hour)},
			{Final: "d@far.test", Action: Failed, Status: "5.1.1", Diagnostic: "mx.far.test said: 550 5.1.1 no", RemoteMTA: "mx.far.test", SMTPReply: "550 5.1.1 no"},
		}}
	var out bytes.Buffer
	if err := Write(&out, r, strings.NewReader(original), int64(len(original))); err != nil {
		t.Fatal(err)
	}
	h, types, bodies := parts(t, out.Bytes())
	if h.Get("From") != `"Courier mail server at mx.example.test" <MAILER-DAEMON@mx.example.test>` ||
		h.Get("To") != "<a@example.test>" || h.Get("Subject") != "NOTICE: mail delivery status." ||
		h.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("header: %v", h)
	}
	if _, err := mail.ParseAddress(h.Get("From")); err != nil {
		t.Errorf("From: is not an address: %v", err)
	}
	if len(types) != 3 || !strings.HasPrefix(types[0], "text/plain") || types[1] != "message/delivery-status" || types[2] != "message/rfc822" {
		t.Fatalf("parts: %q", types)
	}
	for _, want := range []string{"from client.example (192.0.2.1)", "DELIVERY FAILED", "<b@example.test>:\n    no such user\n",
		"DELIVERY DELAYED", "<c@example.test>:\n    mailbox full\n"} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("text part lacks %q:\n%s", want, bodies[0])
		}
	}
	want := "Reporting-MTA: dns; mx.example.test\nOriginal-Envelope-Id: env-1\nArrival-Date: Sun, 06 Dec 2026 10:00:00 +0000\n\n" +
		"Final-Recipient: rfc822; b@example.test\nOriginal-Recipient: rfc822;B@example.test\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: x-courier; no such user\n\n" +
		"Final-Recipient: rfc822; c@example.test\nAction: delayed\nStatus: 4.2.2\nDiagnostic-Code: x-courier; mailbox full\nWill-Retry-Until: Sun, 13 Dec 2026 10:00:00 +0000\n\n" +
		"Final-Recipient: rfc822; d@far.test\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.far.test\nDiagnostic-Code: smtp; 550 5.1.1 no\n"
	if strings.TrimRight(bodies[1], "\n") != strings.TrimRight(want, "\n") {
		t.Errorf("delivery-status:\n%s\nwant:\n%s", bodies[1], want)
	}
	if strings.TrimRight(bodies[2], "\n") != strings.TrimRight(original, "\n") {
		t.Errorf("original:\n%q", bodies[2])
	}
}

// TestHeadersOnly: RET=HDRS, an original over dsnlimit, and a delay warning get the
// original's header only; a delay-only report has the warning subject.
func TestHeadersOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		full  bool
		limit int64
		act   Action
	}{{"hdrs", false, 0, Failed}, {"over limit", true, 10, Failed}, {"delay", false, 0, Delayed}} {
		r := &Report{MTA: "me", To: "a@x", Full: tc.full, Limit: tc.limit, Rcpts: []Recipient{{Final: "b@x", Action: tc.act, Status: "4.0.0"}}}
		var out bytes.Buffer
		if err := Write(&out, r, strings.NewReader(original), int64(len(original))); err != nil {
			t.Fatal(err)
		}
		h, types, bodies := parts(t, out.Bytes())
		if types[2] != "text/rfc822-headers" || strings.Contains(bodies[2], "body line") || !strings.Contains(bodies[2], "Subject: hello") {
			t.Errorf("%s: %q %q", tc.name, types[2], bodies[2])
		}
		if wantSubj := map[Action]string{Failed: "NOTICE: mail delivery status.", Delayed: "WARNING: delayed mail."}[tc.act]; h.Get("Subject") != wantSubj {
			t.Errorf("%s: Subject %q", tc.name, h.Get("Subject"))
		}
	}
}

// TestUTF8: a non-ASCII address makes the RFC 6533 types.
func TestUTF8(t *testing.T) {
	r := &Report{MTA: "me", To: "ä@x", Full: true, Rcpts: []Recipient{{Final: "ö@x", Action: Failed, Status: "5.1.1"}}}
	var out bytes.Buffer
	if err := Write(&out, r, strings.NewReader(original), int64(len(original))); err != nil {
		t.Fatal(err)
	}
	_, types, bodies := parts(t, out.Bytes())
	if types[1] != "message/global-delivery-status" || types[2] != "message/global" || !strings.Contains(bodies[1], "Final-Recipient: utf-8; ö@x") {
		t.Errorf("%q\n%s", types, bodies[1])
	}
}

// TestNoHeaderInjection: CR and LF in addresses and reasons never start a header line.
func TestNoHeaderInjection(t *testing.T) {
	r := &Report{MTA: "me", To: "a@x\r\nBcc: victim@y", EnvID: "e\nX-Evil: 1",
		Rcpts: []Recipient{{Final: "b@x\nX-Evil: 2", Action: Failed, Status: "5.0.0", Diagnostic: "why\r\nX-Evil: 3"}}}
	var out bytes.Buffer
	if err := Write(&out, r, strings.NewReader(original), int64(len(original))); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Bcc:") || strings.HasPrefix(l, "X-Evil:") {
			t.Errorf("injected line %q", l)
		}
	}
}

// TestCourierTemplates: Courier's own dsn*.txt files (its header template carries the text
// part's Content-Type) are used as they are, with [#ME#] and friends replaced.
func TestCourierTemplates(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dsnheader.txt"), []byte("Content-Type: text/plain; charset=\"iso-8859-1\"\n\n\nFrom [#ME#], received [#FROMTIME#] from [#FROMMTA#]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "dsnfailed.txt"), []byte("\nUNDELIVERABLE MAIL\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "dsnsubjectnotice.txt"), []byte("Bounced\n"), 0o644)
	tm, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	arr := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &Report{MTA: "mx", To: "a@x", Arrival: arr, ReceivedFrom: "there", Templates: tm,
		Rcpts: []Recipient{{Final: "b@x", Action: Failed, Status: "5.1.1"}}}
	var out bytes.Buffer
	if err := Write(&out, r, strings.NewReader(original), int64(len(original))); err != nil {
		t.Fatal(err)
	}
	h, types, bodies := parts(t, out.Bytes())
	if h.Get("Subject") != "Bounced" || types[0] != `text/plain; charset="iso-8859-1"` {
		t.Errorf("%q %q", h.Get("Subject"), types[0])
	}
	if !strings.Contains(bodies[0], "From mx, received Fri, 02 Jan 2026 03:04:05 +0000 from there") || !strings.Contains(bodies[0], "UNDELIVERABLE MAIL") ||
		!strings.Contains(bodies[0], "Recipients not named above") {
		t.Errorf("text:\n%s", bodies[0])
	}
	// Debian's own files parse and give a complete report.
	if real := "/var/tmp/courier-ref/root/etc/courier"; fileExists(filepath.Join(real, "dsnheader.txt")) {
		tm, err := LoadTemplates(real)
		if err != nil || !strings.Contains(tm.Failed, "UNDELIVERABLE MAIL") || tm.SubjectWarn != "WARNING: delayed mail." {
			t.Errorf("Courier's templates: %+v %v", tm, err)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
