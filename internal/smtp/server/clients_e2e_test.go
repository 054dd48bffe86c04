package server_test

// End-to-end tests with real SMTP clients against a whole test server (testutil.Start):
// swaks (Debian 12's 20201014, which has no CHUNKING, so BDAT is driven by a raw Go client)
// and Python's smtplib. Every message is then read back over IMAP, with go-imap v2's client
// against the same server's IMAP listener, as the recipient's mail program sees it.

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"courier/internal/testutil"
)

// imapMessages logs in to the test server's IMAP listener as demo and waits (up to 20 s)
// until INBOX holds n messages whose full text (BODY.PEEK[]) contains token; it returns
// them as IMAP sends them (CRLF line ends), in UID order, and fails if there are more.
func imapMessages(t testing.TB, s *testutil.Server, token string, n int) []string {
	t.Helper()
	c, err := imapclient.DialInsecure(s.MustAddr(t, "imap"), &imapclient.Options{Dialer: &net.Dialer{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatalf("IMAP connect: %v", err)
	}
	defer c.Close()
	if err := c.Login(s.Account, s.Password).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN: %v", err)
	}
	var found []string
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// EXAMINE again each round: a fresh view of the folder, nothing marked \Seen
		sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("IMAP EXAMINE INBOX: %v", err)
		}
		found = found[:0]
		if sel.NumMessages > 0 {
			var all imap.SeqSet
			all.AddRange(1, 0) // 1:*
			msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				t.Fatalf("IMAP FETCH: %v", err)
			}
			for _, m := range msgs {
				if len(m.BodySection) == 1 && strings.Contains(string(m.BodySection[0].Bytes), token) {
					found = append(found, string(m.BodySection[0].Bytes))
				}
			}
		}
		if len(found) > n {
			t.Fatalf("INBOX holds %d messages with %q, want %d:\n%s", len(found), token, n, strings.Join(found, "\n-----\n"))
		}
		if len(found) == n || time.Now().After(end) {
			break
		}
	}
	if len(found) != n {
		t.Fatalf("INBOX holds %d messages with %q after 20 s, want %d", len(found), token, n)
	}
	_ = c.Logout().Wait()
	return found
}

// lf turns CRLF line ends into LF, for comparisons.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// wantAll fails for every string of want that msg (LF line ends) lacks.
func wantAll(t testing.TB, what, msg string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, msg)
		}
	}
}

// TestSwaksE2E: swaks on port 25 in the clear and with STARTTLS, on 587 with STARTTLS and
// AUTH PLAIN, LOGIN and CRAM-MD5, and pipelined (--pipeline) with two recipients; each
// message is read back over IMAP with the trace header the session must have written.
func TestSwaksE2E(t *testing.T) {
	t.Parallel()
	bin, err := lookPath("swaks")
	if err != nil {
		t.Fatal("swaks not installed: apt-get install -y swaks (scripts/install-test-deps.sh does)")
	}
	s := testutil.Start(t, testutil.Options{})
	auth := func(mech string) []string {
		return []string{"--server", s.MustAddr(t, "submission"), "--tls", "--auth", mech,
			"--auth-user", s.Account, "--auth-password", s.Password, "--from", s.Account}
	}
	plain25 := []string{"--server", s.MustAddr(t, "smtp"), "--from", "someone@elsewhere.test"}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"smtp", plain25, []string{"Return-Path: <someone@elsewhere.test>\n", "  by example.test with ESMTP\n"}},
		{"smtp-starttls", append(plain25, "--tls"), []string{"  (using TLSv1.", "  by example.test with ESMTPS\n"}},
		{"submission-plain", auth("PLAIN"), []string{"  (AUTH: PLAIN demo@example.test)\n", "with ESMTPSA\n"}},
		{"submission-login", auth("LOGIN"), []string{"  (AUTH: LOGIN demo@example.test)\n", "with ESMTPSA\n"}},
		{"submission-cram-md5", auth("CRAM-MD5"), []string{"  (AUTH: CRAM-MD5 demo@example.test)\n", "with ESMTPSA\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := "swaks-e2e-" + tc.name
			args := append(append([]string{}, tc.args...), "--to", s.Account, "--header", "Subject: "+token,
				"--body", "first line\n.leading dot\nlast line\n")
			out, err := runCmd(bin, args...)
			if err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			m := lf(imapMessages(t, s, token, 1)[0])
			wantAll(t, "message", m, append(tc.want, "Delivered-To: demo@example.test\n", "Subject: "+token+"\n",
				"\nfirst line\n.leading dot\nlast line\n")...)
		})
	}
	t.Run("pipelining", func(t *testing.T) {
		token := "swaks-e2e-pipelining"
		out, err := runCmd(bin, append(auth("PLAIN"), "--pipeline", "--to", s.Account+",postmaster@example.test",
			"--header", "Subject: "+token, "--body", "piped body")...)
		if err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		// swaks shows what it sent ("~>" inside TLS) and received ("<~"): pipelined, MAIL,
		// both RCPTs and DATA go out before the first reply comes back.
		tr := string(out)
		mail := strings.Index(tr, "~> MAIL FROM:")
		data := strings.Index(tr, "~> DATA")
		if mail < 0 || data < mail || strings.Contains(tr[mail:data], "<~ ") || strings.Count(tr[mail:data], "~> RCPT TO:") != 2 {
			t.Errorf("swaks did not pipeline MAIL, RCPT, RCPT, DATA:\n%s", tr)
		}
		if n := strings.Count(tr, "<~  250 2.1.5 Ok."); n != 2 {
			t.Errorf("%d RCPTs accepted, want 2:\n%s", n, tr)
		}
		// postmaster is an alias of demo: one delivery to the one mailbox both name
		m := lf(imapMessages(t, s, token, 1)[0])
		wantAll(t, "message", m, "Subject: "+token+"\n", "(AUTH: PLAIN demo@example.test)", "\npiped body")
	})
}

// smtplibScript sends one message with Python's smtplib; argv: host, port 25, port 587,
// mode, token. It prints the replies it checks and exits non-zero on any failure.
const smtplibScript = `
import smtplib, ssl, sys
host, p25, p587, mode, token = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl._create_unverified_context()
user, pw = "demo@example.test", "demo-Pass-1"

def msg(to="demo@example.test", subject=token, extra="", body="hello from smtplib\r\n.leading dot\r\n"):
    return ("From: sender@elsewhere.test\r\nTo: %s\r\nSubject: %s\r\n%s\r\n%s" % (to, subject, extra, body)).encode("utf-8")

eightbit = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"

if mode in ("smtp", "starttls", "8bitmime", "smtputf8", "dsn"):
    s = smtplib.SMTP(host, p25, timeout=30)
    s.ehlo("client.test")
    if mode == "starttls":
        s.starttls(context=ctx)
        s.ehlo("client.test")
    if mode == "smtp" or mode == "starttls":
        s.sendmail("sender@elsewhere.test", ["demo@example.test"], msg())
    elif mode == "8bitmime":
        assert s.has_extn("8bitmime"), "no 8BITMIME"
        s.sendmail("sender@elsewhere.test", ["demo@example.test"],
                   msg(extra=eightbit, body="h\u00e9llo w\u00f6rld \u2014 8-bit body \u00fc\r\n"), mail_options=["BODY=8BITMIME"])
    elif mode == "smtputf8":
        assert s.has_extn("smtputf8"), "no SMTPUTF8"
        # without SMTPUTF8 on MAIL a UTF-8 recipient is refused (RFC 6531 section 3.4)
        s.command_encoding = "utf-8"
        code, _ = s.mail("sender@elsewhere.test")
        assert code == 250, code
        code, resp = s.rcpt("j\u00fcrgen@example.test")
        print("rcpt without SMTPUTF8:", code, resp.decode())
        assert code == 553, code
        s.rset()
        s.command_encoding = "ascii"
        s.sendmail("p\u00e9rez@elsewhere.test", ["j\u00fcrgen@example.test"],
                   msg(to="j\u00fcrgen@example.test", subject=token + " gr\u00fc\u00dfe", extra=eightbit, body="\u00e7a va\r\n"),
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    elif mode == "dsn":
        assert s.has_extn("dsn"), "no DSN"
        s.sendmail("demo@example.test", ["demo@example.test"], msg(body="the original body\r\n"),
                   mail_options=["RET=FULL", "ENVID=" + token + "+2Benv"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;demo+2Balias@example.test"])
    s.quit()
elif mode.startswith("auth-"):
    mech = mode[5:]
    s = smtplib.SMTP(host, p587, timeout=30)
    s.ehlo("client.test")
    s.starttls(context=ctx)
    s.ehlo("client.test")
    assert mech in s.esmtp_features["auth"].split(), s.esmtp_features["auth"]
    s.user, s.password = user, pw
    code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")))
    print("auth", mech, code, resp.decode())
    s.sendmail(user, ["demo@example.test"], msg())
    s.quit()
else:
    sys.exit("unknown mode " + mode)
print("sent", mode)
`

// TestSmtplibE2E: Python's smtplib on 25 (clear and STARTTLS, BODY=8BITMIME, SMTPUTF8 to
// a UTF-8 alias, DSN parameters with a NOTIFY=SUCCESS receipt) and on 587 (STARTTLS, then
// AUTH PLAIN, LOGIN with an initial response, CRAM-MD5); each message checked over IMAP.
func TestSmtplibE2E(t *testing.T) {
	t.Parallel()
	py, err := lookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed (scripts/install-test-deps.sh installs it)")
	}
	s := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		// an address with a UTF-8 local part that exists: an alias of demo
		if err := os.WriteFile(filepath.Join(dir, "aliases", "utf8"), []byte("jürgen: demo@example.test\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}})
	host, p25, _ := net.SplitHostPort(s.MustAddr(t, "smtp"))
	_, p587, _ := net.SplitHostPort(s.MustAddr(t, "submission"))
	send := func(t *testing.T, mode, token string) string {
		t.Helper()
		out, err := runCmd(py, "-c", smtplibScript, host, p25, p587, mode, token)
		if err != nil {
			t.Fatalf("smtplib %s: %v\n%s", mode, err, out)
		}
		return string(out)
	}
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"smtp", []string{"Return-Path: <sender@elsewhere.test>\n", "  by example.test with ESMTP\n"}},
		{"starttls", []string{"  (using TLSv1.", "  by example.test with ESMTPS\n"}},
		{"auth-PLAIN", []string{"  (AUTH: PLAIN demo@example.test)\n", "with ESMTPSA\n", "\nMessage-ID: <courier."}},
		{"auth-LOGIN", []string{"  (AUTH: LOGIN demo@example.test)\n", "with ESMTPSA\n", "\nMessage-ID: <courier."}},
		{"auth-CRAM-MD5", []string{"  (AUTH: CRAM-MD5 demo@example.test)\n", "with ESMTPSA\n", "\nMessage-ID: <courier."}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			token := "smtplib-e2e-" + tc.mode
			send(t, tc.mode, token)
			m := lf(imapMessages(t, s, token, 1)[0])
			wantAll(t, "message", m, append(tc.want, "Delivered-To: demo@example.test\n", "\nhello from smtplib\n.leading dot\n")...)
		})
	}
	t.Run("8bitmime", func(t *testing.T) {
		token := "smtplib-e2e-8bitmime"
		send(t, "8bitmime", token)
		m := lf(imapMessages(t, s, token, 1)[0])
		wantAll(t, "message", m, "Content-Transfer-Encoding: 8bit\n", "\nhéllo wörld — 8-bit body ü\n")
	})
	t.Run("smtputf8", func(t *testing.T) {
		token := "smtplib-e2e-smtputf8"
		out := send(t, "smtputf8", token)
		if !strings.Contains(out, "rcpt without SMTPUTF8: 553 5.6.7") {
			t.Errorf("UTF-8 recipient without SMTPUTF8:\n%s", out)
		}
		m := lf(imapMessages(t, s, token, 1)[0])
		wantAll(t, "message", m, "Return-Path: <pérez@elsewhere.test>\n", "  by example.test with UTF8ESMTP\n",
			"\nTo: jürgen@example.test\n", "\nSubject: "+token+" grüße\n", "\nça va\n")
	})
	t.Run("dsn", func(t *testing.T) {
		token := "smtplib-e2e-dsn"
		send(t, "dsn", token)
		// the message itself and the receipt (which carries ENVID and, RET=FULL, the message)
		var orig, report string
		for _, m := range imapMessages(t, s, token, 2) {
			if strings.Contains(m, "multipart/report") {
				report = lf(m)
			} else {
				orig = lf(m)
			}
		}
		if orig == "" || report == "" {
			t.Fatalf("want the message and a delivery report, got:\n%s\n-----\n%s", orig, report)
		}
		wantAll(t, "message", orig, "Subject: "+token+"\n", "\nthe original body\n")
		wantAll(t, "receipt", report, "Return-Path: <>\n", "\nTo: <demo@example.test>\n", "report-type=delivery-status",
			"\nOriginal-Envelope-Id: "+token+"+env\n", "\nOriginal-Recipient: rfc822;demo+alias@example.test\n",
			"\nFinal-Recipient: rfc822; demo@example.test\n", "\nAction: delivered\nStatus: 2.0.0\n",
			"Content-Type: message/rfc822", "\nSubject: "+token+"\n", "\nthe original body\n")
	})
}

// TestBDATE2E: CHUNKING (RFC 3030) from a raw client, as swaks 20201014 and smtplib have
// none: on 25 a transaction pipelined in one write with three BDAT chunks (a CRLF split
// across two of them, a line starting with "." that must not be unstuffed, 8-bit text, a
// final BDAT 0 LAST); on 587 after STARTTLS and AUTH a 100 KB message in uneven chunks.
// Each is read back over IMAP byte for byte.
func TestBDATE2E(t *testing.T) {
	t.Parallel()
	s := testutil.Start(t, testutil.Options{})

	c := testutil.Dial(t, s.MustAddr(t, "smtp"))
	c.Expect("220 example.test ESMTP")
	c.Send("EHLO client.test")
	if kw := strings.Join(readEhlo(t, c), "\n"); !strings.Contains(kw, "\nCHUNKING") || !strings.Contains(kw, "\nPIPELINING") {
		t.Fatalf("EHLO lacks CHUNKING or PIPELINING:\n%s", kw)
	}
	msg1 := "From: bdat@elsewhere.test\r\nSubject: bdat-e2e-25\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"first line ünïcode\r\n.not stuffed\r\n..two dots\r\nlast line\r\n"
	cut1, cut2 := strings.Index(msg1, ".not")-1, strings.Index(msg1, "last") // cut1 splits a CRLF
	chunks := []string{msg1[:cut1], msg1[cut1:cut2], msg1[cut2:]}
	var w strings.Builder
	w.WriteString("MAIL FROM:<bdat@elsewhere.test> BODY=8BITMIME\r\nRCPT TO:<demo@example.test>\r\n")
	for _, ch := range chunks {
		fmt.Fprintf(&w, "BDAT %d\r\n%s", len(ch), ch)
	}
	w.WriteString("BDAT 0 LAST\r\n")
	if _, err := io.WriteString(c.Raw(), w.String()); err != nil {
		t.Fatal(err)
	}
	c.Expect("250 2.1.0 Ok.")
	c.Expect("250 2.1.5 Ok.")
	for _, ch := range chunks {
		c.Expect(fmt.Sprintf("250 2.0.0 %d octets received.", len(ch)))
	}
	c.ExpectMatch(`^250 2\.0\.0 Ok\.`)
	c.Send("QUIT")
	c.Expect("221 2.0.0 example.test Bye.")
	m := imapMessages(t, s, "bdat-e2e-25", 1)[0]
	if !strings.HasSuffix(m, "\r\n"+msg1) {
		t.Errorf("over IMAP the message does not end with what was sent:\n%q\nwant suffix\n%q", m, msg1)
	}
	wantAll(t, "message", lf(m), "Return-Path: <bdat@elsewhere.test>\n", "  by example.test with ESMTP\n")

	// 587: STARTTLS, AUTH PLAIN, then ~100 KB in chunks of 1, 4095, 65536 and the rest
	c2 := ehlo(t, s, "submission")
	c2.Send("STARTTLS")
	c2.Expect("220 2.0.0 Ready to start TLS.")
	tc := tls.Client(c2.Raw(), &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c3 := testutil.Wrap(t, tc)
	c3.Send("EHLO client.test")
	readEhlo(t, c3)
	c3.Send("AUTH PLAIN " + plain(s.Account, s.Password))
	c3.Expect("235 2.7.0 Authentication successful.")
	var body strings.Builder
	body.WriteString("From: demo@example.test\r\nTo: demo@example.test\r\nSubject: bdat-e2e-587\r\nMessage-ID: <bdat-587@example.test>\r\n" +
		"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n\r\n")
	for i := 0; body.Len() < 100*1024; i++ {
		fmt.Fprintf(&body, "line %05d %s\r\n", i, strings.Repeat("x", 60))
	}
	msg2 := body.String()
	c3.Send("MAIL FROM:<demo@example.test> SIZE=" + fmt.Sprint(len(msg2)))
	c3.Expect("250 2.1.0 Ok.")
	c3.Send("RCPT TO:<demo@example.test>")
	c3.Expect("250 2.1.5 Ok.")
	for off, sizes := 0, []int{1, 4095, 65536, len(msg2) - 1 - 4095 - 65536}; len(sizes) > 0; sizes = sizes[1:] {
		last := ""
		if len(sizes) == 1 {
			last = " LAST"
		}
		if _, err := fmt.Fprintf(tc, "BDAT %d%s\r\n%s", sizes[0], last, msg2[off:off+sizes[0]]); err != nil {
			t.Fatal(err)
		}
		off += sizes[0]
		if last == "" {
			c3.Expect(fmt.Sprintf("250 2.0.0 %d octets received.", sizes[0]))
		} else {
			c3.ExpectMatch(`^250 2\.0\.0 Ok\.`)
		}
	}
	c3.Send("QUIT")
	c3.Expect("221 2.0.0 example.test Bye.")
	m2 := imapMessages(t, s, "bdat-e2e-587", 1)[0]
	if !strings.HasSuffix(m2, "\r\n"+msg2) {
		t.Errorf("over IMAP the 100 KB message (%d octets) does not end with the %d sent", len(m2), len(msg2))
	}
	wantAll(t, "message", lf(m2), "  (AUTH: PLAIN demo@example.test)\n", "with ESMTPSA\n")
}
