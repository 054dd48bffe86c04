package server_test

import (
	"strings"
	"testing"

	"courier/internal/testutil"
)

// TestDSNSuccessReceipt: NOTIFY=SUCCESS gets a "delivered" notification to the sender
// with ENVID and ORCPT decoded (RFC 3461 §4.2, §4.4), and RET=HDRS returns the original's
// header only (RFC 3464).
func TestDSNSuccessReceipt(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})
	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.Expect("220 example.test ESMTP")
	c.Send("EHLO client.test")
	readEhlo(t, c)
	c.Transcript(`
		C: MAIL FROM:<demo@example.test> RET=HDRS ENVID=env+2B42
		S: 250 2.1.0 Ok.
		C: RCPT TO:<postmaster@example.test> NOTIFY=SUCCESS ORCPT=rfc822;postmaster+40example.test
		S: 250 2.1.5 Ok.
		C: DATA
		S: 354 Ok.
		C: Subject: receipt please
		C: 
		C: the secret body
		C: .
		S~ ^250 2\.0\.0 Ok\.
		C: QUIT
		S: 221 2.0.0 example.test Bye.
	`)
	msgs := waitDelivered(t, s, 2)
	var report string
	for _, m := range msgs {
		if strings.Contains(m, "multipart/report") {
			report = m
		}
	}
	if report == "" {
		t.Fatalf("no notification among:\n%s", strings.Join(msgs, "\n----\n"))
	}
	for _, want := range []string{"Return-Path: <>\n", "\nTo: <demo@example.test>\n", "\nSubject: NOTICE: mail delivery status.\n",
		"\nOriginal-Envelope-Id: env+42\n", "\nOriginal-Recipient: rfc822;postmaster@example.test\n", "\nAction: delivered\nStatus: 2.0.0\n",
		"Content-Type: text/rfc822-headers\n", "\nSubject: receipt please\n", "from client.test (127.0.0.1)"} {
		if !strings.Contains(report, want) {
			t.Errorf("notification lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "the secret body") {
		t.Errorf("RET=HDRS, yet the body came back:\n%s", report)
	}
}
