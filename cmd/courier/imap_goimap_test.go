package main_test

// End-to-end tests with go-imap v2's client (github.com/emersion/go-imap/v2/imapclient)
// against the built binary's quickstart, over IMAPS (993+base) and over 143+base with
// STARTTLS. The certificate is verified against the quickstart's own DIR/tls/server.pem.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// goimapMsg1 is a multipart message with an encoded-word subject and sender.
var goimapMsg1 = strings.ReplaceAll(`Date: Wed, 05 Apr 2023 06:07:08 +0200
From: =?UTF-8?Q?Zo=C3=AB_Sender?= <zoe@example.org>
To: Demo <demo@example.test>
Cc: Carl <carl@example.net>
Subject: =?UTF-8?Q?Quarterly_r=C3=A9sum=C3=A9?=
Message-ID: <q1.123@example.org>
In-Reply-To: <q0.1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

This is a multi-part message in MIME format.
--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello résumé
second line
--b1
Content-Type: application/pdf; name="r.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="r.pdf"

JVBERi0xLjQKJeLjz9MK
--b1--
`, "\n", "\r\n")

// goimapMsg2 is a plain one-part message.
var goimapMsg2 = strings.ReplaceAll(`Date: Thu, 06 Apr 2023 10:00:00 +0000
From: Alice <alice@example.com>
To: demo@example.test
Subject: Agenda
Message-ID: <a2@example.com>

Plain body about the agenda.
`, "\n", "\r\n")

var goimapMsg3 = strings.ReplaceAll(`From: Bob <bob@example.com>
To: demo@example.test
Subject: Third

third
`, "\n", "\r\n")

// goimapSetup starts a quickstart with a Maildir++ quota on the demo account and returns
// the quickstart directory, the IMAP (143) and IMAPS (993) addresses and a TLS config that
// trusts the quickstart's self-signed certificate.
func goimapSetup(t *testing.T) (dir, imapAddr, imapsAddr string, tc *tls.Config) {
	t.Helper()
	dir, imapAddr = imapQuickstart(t)
	host, port, _ := net.SplitHostPort(imapAddr)
	p, _ := strconv.Atoi(port)
	imapsAddr = net.JoinHostPort(host, strconv.Itoa(p-143+993))
	// Every listener is open once imapQuickstart returns (the guide follows them).
	pemBytes, err := os.ReadFile(filepath.Join(dir, "tls", "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for rest := pemBytes; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			pool.AddCert(cert)
		}
	}
	tc = &tls.Config{RootCAs: pool, ServerName: host}
	// A quota on the account so that GETQUOTAROOT has something to report.
	out, err := exec.Command(binary, "maildirmake", "-q", "10000000S,1000C", demoMaildir(dir)).CombinedOutput()
	if err != nil {
		t.Fatalf("maildirmake -q: %v\n%s", err, out)
	}
	return dir, imapAddr, imapsAddr, tc
}

func demoMaildir(dir string) string {
	return filepath.Join(dir, "mail", "example.test", "demo", "Maildir")
}

// deliver runs `courier deliverquota` on the demo Maildir as another process would.
func deliver(t *testing.T, dir, msg string) {
	t.Helper()
	cmd := exec.Command(binary, "deliverquota", demoMaildir(dir))
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deliverquota: %v\n%s", err, out)
	}
}

// goimapOptions returns client options that record the transcript (printed if the test
// fails) and pass EXISTS updates to exists.
func goimapOptions(t *testing.T, tc *tls.Config, exists chan<- uint32) (*imapclient.Options, *lockedBuffer) {
	transcript := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			s := transcript.String()
			if len(s) > 20000 {
				s = "…" + s[len(s)-20000:]
			}
			t.Logf("IMAP transcript (client and server interleaved):\n%s", s)
		}
	})
	return &imapclient.Options{
		TLSConfig:   tc,
		DebugWriter: transcript,
		Dialer:      &net.Dialer{Timeout: 5 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case exists <- *d.NumMessages:
					default:
					}
				}
			},
		},
	}, transcript
}

func TestGoIMAPImplicitTLS(t *testing.T) {
	dir, _, imapsAddr, tc := goimapSetup(t)
	exists := make(chan uint32, 16)
	opts, transcript := goimapOptions(t, tc, exists)
	c, err := imapclient.DialTLS(imapsAddr, opts)
	if err != nil {
		t.Fatalf("DialTLS %s: %v", imapsAddr, err)
	}
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	goimapScenario(t, c, transcript, dir, exists)
}

func TestGoIMAPStartTLS(t *testing.T) {
	dir, imapAddr, _, tc := goimapSetup(t)
	exists := make(chan uint32, 16)
	opts, transcript := goimapOptions(t, tc, exists)
	c, err := imapclient.DialStartTLS(imapAddr, opts)
	if err != nil {
		t.Fatalf("DialStartTLS %s: %v", imapAddr, err)
	}
	defer c.Close()
	tr := transcript.String()
	// go-imap sends STARTTLS without waiting for the greeting; the greeting's
	// capabilities (in clear) must still have offered it.
	greeting, _, _ := strings.Cut(tr[strings.Index(tr, "* OK "):], "\r\n")
	if !strings.Contains(greeting, " STARTTLS ") || strings.Contains(greeting, "LOGINDISABLED") ||
		!strings.Contains(tr, " OK Begin SSL/TLS negotiation now.") {
		t.Fatalf("STARTTLS was not offered in the greeting, or was refused:\n%s", tr)
	}
	if c.Caps().Has(imap.CapStartTLS) {
		t.Error("STARTTLS still offered after TLS started")
	}
	goimapScenario(t, c, transcript, dir, exists)
}

// TestGoIMAPWrongPassword: a wrong password is a NO, and the connection stays usable.
func TestGoIMAPWrongPassword(t *testing.T) {
	_, _, imapsAddr, tc := goimapSetup(t)
	opts, _ := goimapOptions(t, tc, nil)
	c, err := imapclient.DialTLS(imapsAddr, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Login("demo@example.test", "wrong").Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo {
		t.Fatalf("LOGIN with a wrong password: %v, want a NO", err)
	}
	if err := c.Login("demo@example.test", "s3cret-pass").Wait(); err != nil {
		t.Fatalf("LOGIN after a failed one: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}

// goimapScenario is the whole session; c has just been greeted (and is under TLS).
func goimapScenario(t *testing.T, c *imapclient.Client, transcript *lockedBuffer, dir string, exists chan uint32) {
	md := demoMaildir(dir)

	caps := c.Caps()
	for _, cp := range []imap.Cap{imap.CapIMAP4rev1, imap.CapUIDPlus, imap.CapMove, imap.CapIdle,
		imap.CapNamespace, imap.CapQuota, imap.CapSort, imap.CapSpecialUse, imap.CapListExtended,
		imap.CapStatusSize, imap.CapESearch, imap.CapLiteralPlus, "AUTH=PLAIN"} {
		if !caps.Has(cp) {
			t.Errorf("capability %s missing under TLS: %v", cp, caps)
		}
	}
	if caps.Has(imap.CapLoginDisabled) {
		t.Error("LOGINDISABLED under TLS")
	}

	// LOGIN.
	if err := c.Login("demo@example.test", "s3cret-pass").Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	// go-imap v2 beta.8 moves to the authenticated state in its reader goroutine, which
	// may run just after Wait returns: give it a moment rather than race it.
	for deadline := time.Now().Add(2 * time.Second); c.State() != imap.ConnStateAuthenticated && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if st := c.State(); st != imap.ConnStateAuthenticated {
		t.Fatalf("state after LOGIN: %v", st)
	}

	// LIST "" "*" RETURN (SPECIAL-USE).
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatalf("LIST RETURN (SPECIAL-USE): %v", err)
	}
	wantUse := map[string]imap.MailboxAttr{
		"INBOX": "", "INBOX.Sent": imap.MailboxAttrSent, "INBOX.Drafts": imap.MailboxAttrDrafts,
		"INBOX.Trash": imap.MailboxAttrTrash, "INBOX.Junk": imap.MailboxAttrJunk,
		"INBOX.Archive": imap.MailboxAttrArchive,
	}
	uses := []imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash,
		imap.MailboxAttrJunk, imap.MailboxAttrArchive, imap.MailboxAttrAll, imap.MailboxAttrFlagged}
	got := map[string]bool{}
	for _, l := range list {
		got[l.Mailbox] = true
		if l.Delim != '.' {
			t.Errorf("LIST %s: delimiter %q, want '.'", l.Mailbox, l.Delim)
		}
		want, known := wantUse[l.Mailbox]
		if !known {
			t.Errorf("LIST returned an unexpected mailbox %q", l.Mailbox)
			continue
		}
		for _, u := range uses {
			if has := slices.Contains(l.Attrs, u); has != (u == want) {
				t.Errorf("LIST %s: attributes %v; %s present=%v", l.Mailbox, l.Attrs, u, has)
			}
		}
	}
	for m := range wantUse {
		if !got[m] {
			t.Errorf("LIST lacks %s: %v", m, list)
		}
	}
	// LIST (SPECIAL-USE) "" "*": only the special-use folders.
	list, err = c.List("", "*", &imap.ListOptions{SelectSpecialUse: true, ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatalf("LIST (SPECIAL-USE): %v", err)
	}
	if len(list) != 5 {
		t.Errorf("LIST (SPECIAL-USE) returned %d mailboxes, want 5: %v", len(list), listNames(list))
	}

	// CREATE / RENAME / DELETE with non-ASCII names: modified UTF-7 on the wire,
	// UTF-8 on disk (.Persönlich).
	if err := c.Create("INBOX.Persönlich", nil).Wait(); err != nil {
		t.Fatalf("CREATE INBOX.Persönlich: %v", err)
	}
	if err := c.Create("INBOX.Persönlich.Ünter", nil).Wait(); err != nil {
		t.Fatalf("CREATE INBOX.Persönlich.Ünter: %v", err)
	}
	tr := transcript.String()
	if !strings.Contains(tr, "CREATE INBOX.Pers&APY-nlich\r\n") && !strings.Contains(tr, `CREATE "INBOX.Pers&APY-nlich"`) {
		t.Errorf("CREATE was not sent in modified UTF-7")
	}
	isFolder(t, filepath.Join(md, ".Persönlich"), true)
	isFolder(t, filepath.Join(md, ".Persönlich.Ünter"), true)
	isFolder(t, filepath.Join(md, ".Pers&APY-nlich"), false)
	list, err = c.List("", "INBOX.Pers*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if names := listNames(list); !slices.Equal(names, []string{"INBOX.Persönlich", "INBOX.Persönlich.Ünter"}) {
		t.Errorf("LIST INBOX.Pers*: %q", names)
	}
	if !strings.Contains(transcript.String(), `"INBOX.Pers&APY-nlich.&ANw-nter"`) {
		t.Errorf("LIST did not answer in modified UTF-7")
	}
	if err := c.Rename("INBOX.Persönlich", "INBOX.Grüße", nil).Wait(); err != nil {
		t.Fatalf("RENAME: %v", err)
	}
	isFolder(t, filepath.Join(md, ".Grüße"), true)
	isFolder(t, filepath.Join(md, ".Grüße.Ünter"), true) // RFC 3501 §6.3.5: inferiors follow
	isFolder(t, filepath.Join(md, ".Persönlich"), false)
	isFolder(t, filepath.Join(md, ".Persönlich.Ünter"), false)
	st, err := c.Status("INBOX.Grüße.Ünter", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 0 || st.Mailbox != "INBOX.Grüße.Ünter" {
		t.Errorf("STATUS of the renamed child: %+v %v", st, err)
	}
	if err := c.Delete("INBOX.Grüße.Ünter").Wait(); err != nil {
		t.Fatalf("DELETE child: %v", err)
	}
	if err := c.Delete("INBOX.Grüße").Wait(); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	isFolder(t, filepath.Join(md, ".Grüße"), false)
	isFolder(t, filepath.Join(md, ".Grüße.Ünter"), false)
	if _, err := c.Select("INBOX.Grüße", nil).Wait(); err == nil {
		t.Error("SELECT of a deleted folder succeeded")
	}
	if strings.Contains(transcript.String(), "Persönlich") {
		t.Error("a UTF-8 mailbox name went over the wire without UTF8=ACCEPT")
	}

	// APPEND with flags and an internal date; APPENDUID (RFC 4315).
	date1 := time.Date(2023, 4, 5, 6, 7, 8, 0, time.FixedZone("", 2*3600))
	a1 := goimapAppend(t, c, "INBOX", goimapMsg1, &imap.AppendOptions{
		Flags: []imap.Flag{imap.FlagFlagged, "$Project"}, Time: date1})
	a2 := goimapAppend(t, c, "INBOX", goimapMsg2, nil)
	if a1.UIDValidity == 0 || a1.UIDValidity != a2.UIDValidity || a1.UID == 0 || a2.UID <= a1.UID {
		t.Fatalf("APPENDUID: %+v then %+v", a1, a2)
	}
	uid1, uid2 := a1.UID, a2.UID

	// SELECT.
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	// Courier-IMAP sends neither OK [UIDNEXT] nor OK [UNSEEN] on SELECT (RFC 3501 §6.3.1
	// allows leaving them out); when they are sent they must be right.
	if sel.UIDValidity != a1.UIDValidity || sel.NumMessages != 2 || (sel.UIDNext != 0 && sel.UIDNext <= uid2) {
		t.Errorf("SELECT: UIDVALIDITY %d (APPENDUID said %d), EXISTS %d (want 2), UIDNEXT %d (last UID %d)",
			sel.UIDValidity, a1.UIDValidity, sel.NumMessages, sel.UIDNext, uid2)
	}
	for _, f := range []imap.Flag{imap.FlagSeen, imap.FlagDeleted, imap.FlagFlagged, imap.FlagAnswered, imap.FlagDraft} {
		if !slices.Contains(sel.Flags, f) {
			t.Errorf("SELECT FLAGS %v lacks %s", sel.Flags, f)
		}
	}
	if !slices.Contains(sel.PermanentFlags, imap.FlagWildcard) {
		t.Errorf("SELECT PERMANENTFLAGS %v lacks \\* (keywords are on)", sel.PermanentFlags)
	}
	if !slices.Contains(sel.Flags, "$Project") {
		t.Errorf("SELECT FLAGS %v lacks the keyword $Project set by APPEND", sel.Flags)
	}
	if sel.FirstUnseenSeqNum != 0 && sel.FirstUnseenSeqNum != 1 {
		t.Errorf("SELECT UNSEEN %d, want 1", sel.FirstUnseenSeqNum)
	}

	// FETCH ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE FLAGS UID and a peek at Subject.
	subjPeek := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{
		Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, RFC822Size: true,
		InternalDate: true, Flags: true, UID: true, BodySection: []*imap.FetchItemBodySection{subjPeek},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v", err)
	}
	if len(msgs) != 2 {
		t.Fatalf("FETCH 1:2 returned %d messages", len(msgs))
	}
	m1, m2 := msgs[0], msgs[1]
	if m1.SeqNum != 1 || m1.UID != uid1 || m2.UID != uid2 {
		t.Errorf("FETCH UIDs: %d/%d, want %d/%d", m1.UID, m2.UID, uid1, uid2)
	}
	if m1.RFC822Size != int64(len(goimapMsg1)) || m2.RFC822Size != int64(len(goimapMsg2)) {
		t.Errorf("RFC822.SIZE %d, %d; want the appended CRLF sizes %d, %d", m1.RFC822Size, m2.RFC822Size, len(goimapMsg1), len(goimapMsg2))
	}
	if !m1.InternalDate.Equal(date1) {
		t.Errorf("INTERNALDATE %v, want %v as appended", m1.InternalDate, date1)
	}
	if d := time.Since(m2.InternalDate); d < -time.Minute || d > time.Minute {
		t.Errorf("INTERNALDATE of a message appended without a date: %v", m2.InternalDate)
	}
	if !sameFlags(m1.Flags, imap.FlagFlagged, "$Project") || !sameFlags(m2.Flags) {
		t.Errorf("FLAGS after APPEND: %v, %v", m1.Flags, m2.Flags)
	}
	if h := string(m1.FindBodySection(subjPeek)); h != "Subject: =?UTF-8?Q?Quarterly_r=C3=A9sum=C3=A9?=\r\n\r\n" {
		t.Errorf("BODY.PEEK[HEADER.FIELDS (Subject)] = %q", h)
	}
	if h := string(m2.FindBodySection(subjPeek)); h != "Subject: Agenda\r\n\r\n" {
		t.Errorf("BODY.PEEK[HEADER.FIELDS (Subject)] = %q", h)
	}
	checkEnvelope1(t, m1.Envelope)
	if e := m2.Envelope; e == nil || e.Subject != "Agenda" || len(e.From) != 1 || e.From[0].Addr() != "alice@example.com" ||
		e.MessageID != "a2@example.com" || !e.Date.Equal(time.Date(2023, 4, 6, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("ENVELOPE of message 2: %+v", e)
	}
	checkBodyStructure1(t, m1.BodyStructure)
	if bs, ok := m2.BodyStructure.(*imap.BodyStructureSinglePart); !ok || bs.MediaType() != "text/plain" ||
		bs.Size != uint32(len("Plain body about the agenda.\r\n")) || bs.Text == nil || bs.Text.NumLines != 1 {
		t.Errorf("BODYSTRUCTURE of message 2: %#v", m2.BodyStructure)
	}

	// FETCH BODY[] (not a peek): the bytes appended, and \Seen set.
	whole := &imap.FetchItemBodySection{}
	msgs, err = c.Fetch(imap.UIDSetNum(uid1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole}, Flags: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("UID FETCH BODY[]: %v %v", msgs, err)
	}
	if b := msgs[0].FindBodySection(whole); !bytes.Equal(b, []byte(goimapMsg1)) {
		t.Errorf("BODY[] differs from what was appended:\n%q\nwant\n%q", b, goimapMsg1)
	}
	// RFC 3501 §6.4.5: BODY[] sets \Seen. Courier reports the new flags in a FETCH of
	// their own after the data (without the UID, so go-imap hands it to the unilateral
	// handler); ask again.
	if !strings.Contains(transcript.String(), "* 1 FETCH (FLAGS (") {
		t.Error("FETCH BODY[] did not report the new FLAGS")
	}
	msgs, err = c.Fetch(imap.UIDSetNum(uid1), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(msgs) != 1 || !sameFlags(msgs[0].Flags, imap.FlagSeen, imap.FlagFlagged, "$Project") {
		t.Errorf("flags after FETCH BODY[]: %+v %v, want \\Seen \\Flagged $Project", msgs, err)
	}
	checkDiskFlags(t, md, "", "", "FS")

	// STORE +FLAGS with a keyword.
	msgs, err = c.Store(imap.UIDSetNum(uid2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{"Urgent", imap.FlagAnswered}}, nil).Collect()
	if err != nil || len(msgs) != 1 || !sameFlags(msgs[0].Flags, "Urgent", imap.FlagAnswered) || msgs[0].UID != uid2 {
		t.Errorf("UID STORE +FLAGS (Urgent \\Answered): %+v %v", msgs, err)
	}
	checkDiskFlags(t, md, "", "FS", "R")
	if kw, err := os.ReadDir(filepath.Join(md, "courierimapkeywords")); err != nil || len(kw) == 0 {
		t.Errorf("no courierimapkeywords after storing keywords: %v %v", kw, err)
	}

	// UID SEARCH.
	search := func(what string, crit *imap.SearchCriteria, want ...imap.UID) {
		t.Helper()
		d, err := c.UIDSearch(crit, nil).Wait()
		if err != nil {
			t.Errorf("UID SEARCH %s: %v", what, err)
			return
		}
		if got := d.AllUIDs(); !slices.Equal(got, want) {
			t.Errorf("UID SEARCH %s: %v, want %v", what, got, want)
		}
	}
	search("FLAGGED", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, uid1)
	search("UNFLAGGED", &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagFlagged}}, uid2)
	search("KEYWORD Urgent", &imap.SearchCriteria{Flag: []imap.Flag{"Urgent"}}, uid2)
	search("KEYWORD $Project SEEN", &imap.SearchCriteria{Flag: []imap.Flag{"$Project", imap.FlagSeen}}, uid1)
	search("SUBJECT Quarterly", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "quarterly"}}}, uid1)
	search("CHARSET UTF-8 SUBJECT résumé", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "résumé"}}}, uid1)
	search("FROM alice", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "alice"}}}, uid2)
	search("BODY agenda", &imap.SearchCriteria{Body: []string{"agenda"}}, uid2)
	search("TEXT \"second line\"", &imap.SearchCriteria{Text: []string{"second line"}}, uid1)
	search("TEXT carl@example", &imap.SearchCriteria{Text: []string{"carl@example"}}, uid1)
	search("TEXT agenda", &imap.SearchCriteria{Text: []string{"AGENDA"}}, uid2)
	search("BEFORE 6-Apr-2023", &imap.SearchCriteria{Before: time.Date(2023, 4, 6, 0, 0, 0, 0, time.UTC)}, uid1)
	search("SINCE yesterday", &imap.SearchCriteria{Since: time.Now().AddDate(0, 0, -1)}, uid2)
	search("SENTSINCE 6-Apr-2023", &imap.SearchCriteria{SentSince: time.Date(2023, 4, 6, 0, 0, 0, 0, time.UTC)}, uid2)
	search("LARGER 400", &imap.SearchCriteria{Larger: 400}, uid1)
	search("OR FROM zoe SMALLER 400", &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
		{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "zoe@"}}}, {Smaller: 400}}}}, uid1, uid2)
	search("NOT SEEN", &imap.SearchCriteria{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}}}, uid2)
	search("UID x:y HEADER Message-ID", &imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(uid1, uid2)},
		Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "q1.123"}}}, uid1)
	// ESEARCH (RFC 4731).
	es, err := c.UIDSearch(&imap.SearchCriteria{}, &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true}).Wait()
	if err != nil || es.Min != uint32(uid1) || es.Max != uint32(uid2) || es.Count != 2 {
		t.Errorf("UID SEARCH RETURN (MIN MAX COUNT) ALL: %+v %v", es, err)
	}

	// SORT (RFC 5256).
	if !c.Caps().Has(imap.CapSort) {
		t.Error("the server does not offer SORT")
	} else {
		sortBy := func(what string, crit []imapclient.SortCriterion, want ...imap.UID) {
			t.Helper()
			got, err := c.UIDSort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{}, SortCriteria: crit}).Wait()
			if err != nil {
				t.Errorf("UID SORT %s: %v", what, err)
				return
			}
			w := make([]uint32, len(want))
			for i, u := range want {
				w[i] = uint32(u)
			}
			if !slices.Equal(got, w) {
				t.Errorf("UID SORT %s: %v, want %v", what, got, w)
			}
		}
		sortBy("(SUBJECT)", []imapclient.SortCriterion{{Key: imapclient.SortKeySubject}}, uid2, uid1)
		sortBy("(REVERSE SUBJECT)", []imapclient.SortCriterion{{Key: imapclient.SortKeySubject, Reverse: true}}, uid1, uid2)
		sortBy("(DATE)", []imapclient.SortCriterion{{Key: imapclient.SortKeyDate}}, uid1, uid2)
		sortBy("(REVERSE ARRIVAL)", []imapclient.SortCriterion{{Key: imapclient.SortKeyArrival, Reverse: true}}, uid2, uid1)
		sortBy("(FROM)", []imapclient.SortCriterion{{Key: imapclient.SortKeyFrom}}, uid2, uid1)
		sortBy("(REVERSE SIZE)", []imapclient.SortCriterion{{Key: imapclient.SortKeySize, Reverse: true}}, uid1, uid2)
		got, err := c.UIDSort(&imapclient.SortOptions{
			SearchCriteria: &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagAnswered}},
			SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeyTo}}}).Wait()
		if err != nil || !slices.Equal(got, []uint32{uint32(uid2)}) {
			t.Errorf("UID SORT (TO) UTF-8 ANSWERED: %v %v", got, err)
		}
	}

	// MOVE (RFC 6851) with COPYUID.
	arch, err := c.Status("INBOX.Archive", &imap.StatusOptions{UIDValidity: true, UIDNext: true, NumMessages: true}).Wait()
	if err != nil || arch.NumMessages == nil || *arch.NumMessages != 0 {
		t.Fatalf("STATUS INBOX.Archive: %+v %v", arch, err)
	}
	mv, err := c.Move(imap.UIDSetNum(uid1), "INBOX.Archive").Wait()
	if err != nil {
		t.Fatalf("UID MOVE: %v", err)
	}
	if mv.UIDValidity != arch.UIDValidity || !numSetIs(mv.SourceUIDs, uint32(uid1)) || !numSetIs(mv.DestUIDs, uint32(arch.UIDNext)) {
		t.Errorf("MOVE COPYUID: validity %d src %v dst %v; want %d %d %d", mv.UIDValidity, mv.SourceUIDs, mv.DestUIDs, arch.UIDValidity, uid1, arch.UIDNext)
	}
	if n := c.Mailbox().NumMessages; n != 1 {
		t.Errorf("after MOVE the client counts %d messages in INBOX, want 1", n)
	}
	checkDiskFlags(t, md, "", "R")
	checkDiskFlags(t, md, ".Archive", "FS")
	msgs, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != uid2 {
		t.Errorf("after MOVE message 1 is %+v (%v), want UID %d", msgs, err, uid2)
	}

	// UID EXPUNGE (RFC 4315): only the named UID goes, another \Deleted message stays.
	a3 := goimapAppend(t, c, "INBOX", goimapMsg3, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDeleted}})
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("after APPEND to the selected INBOX and NOOP the client counts %d messages, want 2", n)
	}
	if err := c.Store(imap.UIDSetNum(uid2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatalf("STORE +FLAGS.SILENT \\Deleted: %v", err)
	}
	seqs, err := c.UIDExpunge(imap.UIDSetNum(a3.UID)).Collect()
	if err != nil || !slices.Equal(seqs, []uint32{2}) {
		t.Errorf("UID EXPUNGE %d: expunged %v (%v), want [2]", a3.UID, seqs, err)
	}
	if err := c.Store(imap.UIDSetNum(uid2), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatalf("STORE -FLAGS.SILENT \\Deleted: %v", err)
	}
	if n := c.Mailbox().NumMessages; n != 1 {
		t.Errorf("after UID EXPUNGE the client counts %d messages, want 1", n)
	}
	checkDiskFlags(t, md, "", "R")

	// IDLE: EXISTS within 2 s of a delivery by another process.
	for len(exists) > 0 {
		<-exists
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	deliver(t, dir, "From: idle@example.org\nSubject: idle test\n\nwake up\n")
	delivered := time.Now()
	select {
	case n := <-exists:
		if n != 2 {
			t.Errorf("IDLE: EXISTS %d, want 2", n)
		}
		t.Logf("IDLE: EXISTS %v after delivery", time.Since(delivered).Round(time.Microsecond))
	case <-time.After(2 * time.Second):
		t.Errorf("IDLE: no EXISTS within 2 s of the delivery")
	}
	if err := idle.Close(); err != nil {
		t.Fatalf("DONE: %v", err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatalf("IDLE: %v", err)
	}

	// GETQUOTAROOT: one root for the Maildir with what maildirsize counts.
	qr, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil {
		t.Fatalf("GETQUOTAROOT: %v", err)
	}
	files, bytesOnDisk := maildirUsage(t, md)
	if len(qr) != 1 || qr[0].Root != "ROOT" {
		t.Errorf("GETQUOTAROOT INBOX: %+v, want the one root ROOT", qr)
	} else {
		s, sok := qr[0].Resources[imap.QuotaResourceStorage]
		m, mok := qr[0].Resources[imap.QuotaResourceMessage]
		// Courier rounds both up to whole KiB: 10000000 bytes is a limit of 9766.
		if !sok || s.Limit != (10000000+1023)/1024 || s.Usage != (bytesOnDisk+1023)/1024 {
			t.Errorf("QUOTA STORAGE %+v (present %v); want limit %d, usage %d KiB (%d bytes on disk)", s, sok, (10000000+1023)/1024, (bytesOnDisk+1023)/1024, bytesOnDisk)
		}
		// No message is flagged \Deleted now, so maildirsize must count every file (as
		// Courier, it leaves out messages flagged \Deleted: an APPEND with \Deleted above
		// must not have been counted, since its expunge is not subtracted either).
		if !mok || m.Limit != 1000 || m.Usage != int64(files) {
			t.Errorf("QUOTA MESSAGE %+v (present %v); want limit 1000, usage %d (the messages on disk)", m, mok, files)
		}
	}

	// NAMESPACE (RFC 2342).
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatalf("NAMESPACE: %v", err)
	}
	if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "INBOX." || ns.Personal[0].Delim != '.' {
		t.Errorf("NAMESPACE personal: %+v", ns.Personal)
	}
	if len(ns.Other) != 0 {
		t.Errorf("NAMESPACE other users: %+v", ns.Other)
	}
	for _, d := range ns.Shared {
		if d.Delim != '.' {
			t.Errorf("NAMESPACE shared: %+v", ns.Shared)
		}
	}

	// STATUS with SIZE (RFC 8438): the sum of RFC822.SIZE.
	msgs, err = c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{RFC822Size: true, Flags: true}).Collect()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("FETCH 1:2 RFC822.SIZE: %v %v", msgs, err)
	}
	var sum int64
	unseen := uint32(0)
	for _, m := range msgs {
		sum += m.RFC822Size
		if !slices.Contains(m.Flags, imap.FlagSeen) {
			unseen++
		}
	}
	if want := int64(len("From: idle@example.org\r\nSubject: idle test\r\n\r\nwake up\r\n")); msgs[1].RFC822Size < want {
		t.Errorf("RFC822.SIZE of the delivered message %d, want at least its CRLF size %d", msgs[1].RFC822Size, want)
	}
	for _, box := range []struct {
		name         string
		size         int64
		msgs, unseen uint32
	}{{"INBOX", sum, 2, unseen}, {"INBOX.Archive", int64(len(goimapMsg1)), 1, 0}, {"INBOX.Trash", 0, 0, 0}} {
		st, err := c.Status(box.name, &imap.StatusOptions{NumMessages: true, NumUnseen: true, UIDNext: true, UIDValidity: true, Size: true}).Wait()
		if err != nil {
			t.Errorf("STATUS %s: %v", box.name, err)
			continue
		}
		if st.Mailbox != box.name || st.NumMessages == nil || *st.NumMessages != box.msgs || st.NumUnseen == nil ||
			*st.NumUnseen != box.unseen || st.Size == nil || *st.Size != box.size || st.UIDValidity == 0 || st.UIDNext == 0 {
			t.Errorf("STATUS %s: %s; want MESSAGES %d UNSEEN %d SIZE %d", box.name, fmtStatus(st), box.msgs, box.unseen, box.size)
		}
		if box.name == "INBOX" && st.UIDValidity != sel.UIDValidity {
			t.Errorf("STATUS INBOX UIDVALIDITY %d, SELECT said %d", st.UIDValidity, sel.UIDValidity)
		}
	}

	// LOGOUT.
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT: %v", err)
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Error("the connection did not close after LOGOUT")
	}
	if !strings.Contains(transcript.String(), "* BYE") {
		t.Error("no BYE before the LOGOUT OK")
	}
}

func goimapAppend(t *testing.T, c *imapclient.Client, box, msg string, opts *imap.AppendOptions) *imap.AppendData {
	t.Helper()
	cmd := c.Append(box, int64(len(msg)), opts)
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	d, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	return d
}

func checkEnvelope1(t *testing.T, e *imap.Envelope) {
	t.Helper()
	if e == nil {
		t.Error("no ENVELOPE")
		return
	}
	if e.Subject != "Quarterly résumé" {
		t.Errorf("ENVELOPE subject %q", e.Subject)
	}
	if !e.Date.Equal(time.Date(2023, 4, 5, 4, 7, 8, 0, time.UTC)) {
		t.Errorf("ENVELOPE date %v", e.Date)
	}
	addr := func(what string, l []imap.Address, name, a string) {
		t.Helper()
		if len(l) != 1 || l[0].Name != name || l[0].Addr() != a {
			t.Errorf("ENVELOPE %s: %+v, want %q <%s>", what, l, name, a)
		}
	}
	addr("from", e.From, "Zoë Sender", "zoe@example.org")
	addr("sender (defaults to from)", e.Sender, "Zoë Sender", "zoe@example.org")
	addr("reply-to (defaults to from)", e.ReplyTo, "Zoë Sender", "zoe@example.org")
	addr("to", e.To, "Demo", "demo@example.test")
	addr("cc", e.Cc, "Carl", "carl@example.net")
	if len(e.Bcc) != 0 {
		t.Errorf("ENVELOPE bcc %+v", e.Bcc)
	}
	if e.MessageID != "q1.123@example.org" || !slices.Equal(e.InReplyTo, []string{"q0.1@example.org"}) {
		t.Errorf("ENVELOPE message-id %q in-reply-to %q", e.MessageID, e.InReplyTo)
	}
}

func checkBodyStructure1(t *testing.T, b imap.BodyStructure) {
	t.Helper()
	mp, ok := b.(*imap.BodyStructureMultiPart)
	if !ok {
		t.Errorf("BODYSTRUCTURE: %#v, want a multipart", b)
		return
	}
	if mp.MediaType() != "multipart/mixed" || len(mp.Children) != 2 {
		t.Errorf("BODYSTRUCTURE: %s with %d parts", mp.MediaType(), len(mp.Children))
		return
	}
	if mp.Extended == nil || mp.Extended.Params["boundary"] != "b1" {
		t.Errorf("BODYSTRUCTURE multipart extension: %+v", mp.Extended)
	}
	text, ok1 := mp.Children[0].(*imap.BodyStructureSinglePart)
	att, ok2 := mp.Children[1].(*imap.BodyStructureSinglePart)
	if !ok1 || !ok2 {
		t.Errorf("BODYSTRUCTURE parts: %#v", mp.Children)
		return
	}
	// RFC 2046 §5.1.1: the CRLF before a boundary belongs to the boundary. Courier counts
	// the line ends inside the part, so "a CRLF b" is 1 line (real Courier says so too).
	textBody := "Hello résumé\r\nsecond line"
	if text.MediaType() != "text/plain" || !strings.EqualFold(text.Params["charset"], "utf-8") ||
		!strings.EqualFold(text.Encoding, "8bit") || text.Size != uint32(len(textBody)) || text.Text == nil || text.Text.NumLines != 1 {
		t.Errorf("BODYSTRUCTURE part 1: %s %v %s size %d lines %+v; want size %d, 1 line",
			text.MediaType(), text.Params, text.Encoding, text.Size, text.Text, len(textBody))
	}
	attBody := "JVBERi0xLjQKJeLjz9MK"
	if att.MediaType() != "application/pdf" || att.Params["name"] != "r.pdf" || !strings.EqualFold(att.Encoding, "base64") ||
		att.Size != uint32(len(attBody)) || att.Filename() != "r.pdf" {
		t.Errorf("BODYSTRUCTURE part 2: %s %v %s size %d filename %q; want size %d",
			att.MediaType(), att.Params, att.Encoding, att.Size, att.Filename(), len(attBody))
	}
	if d := att.Disposition(); d == nil || !strings.EqualFold(d.Value, "attachment") || d.Params["filename"] != "r.pdf" {
		t.Errorf("BODYSTRUCTURE part 2 disposition: %+v", d)
	}
}

// sameFlags reports whether got holds exactly want (in any order; \Recent ignored).
func sameFlags(got []imap.Flag, want ...imap.Flag) bool {
	var g []string
	for _, f := range got {
		if f != "\\Recent" {
			g = append(g, strings.ToLower(string(f)))
		}
	}
	var w []string
	for _, f := range want {
		w = append(w, strings.ToLower(string(f)))
	}
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func numSetIs(s imap.NumSet, n uint32) bool {
	switch s := s.(type) {
	case imap.UIDSet:
		u, ok := s.Nums()
		return ok && len(u) == 1 && uint32(u[0]) == n
	case imap.SeqSet:
		u, ok := s.Nums()
		return ok && len(u) == 1 && u[0] == n
	}
	return false
}

func listNames(l []*imap.ListData) []string {
	var out []string
	for _, d := range l {
		out = append(out, d.Mailbox)
	}
	slices.Sort(out)
	return out
}

func fmtStatus(st *imap.StatusData) string {
	p := func(v *uint32) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprint(*v)
	}
	size := "-"
	if st.Size != nil {
		size = fmt.Sprint(*st.Size)
	}
	return fmt.Sprintf("%s MESSAGES %s UNSEEN %s SIZE %s UIDNEXT %d UIDVALIDITY %d", st.Mailbox, p(st.NumMessages), p(st.NumUnseen), size, st.UIDNext, st.UIDValidity)
}

// isFolder checks whether path is a Maildir++ folder (cur, new, tmp and maildirfolder).
func isFolder(t *testing.T, path string, want bool) {
	t.Helper()
	_, err := os.Stat(path)
	if !want {
		if err == nil {
			t.Errorf("%s still exists", path)
		}
		return
	}
	if err != nil {
		ents, _ := os.ReadDir(filepath.Dir(path))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("%s: %v (the Maildir holds %q)", path, err, names)
		return
	}
	for _, sub := range []string{"cur", "new", "tmp", "maildirfolder"} {
		if _, err := os.Stat(filepath.Join(path, sub)); err != nil {
			t.Errorf("folder %s: %v", path, err)
		}
	}
}

// checkDiskFlags checks the Maildir flags (the letters after ":2,") of the messages in
// folder (".Archive", or "" for INBOX), one string per message in any order.
func checkDiskFlags(t *testing.T, md, folder string, want ...string) {
	t.Helper()
	files := maildirFiles(md, folder)
	var got []string
	for _, p := range files {
		got = append(got, maildirFlags(p))
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("INBOX%s on disk: Maildir flags %q, want %q (files %q)", folder, got, want, files)
	}
}

// maildirFiles lists the messages of a folder ("" for INBOX) in new/ and cur/.
func maildirFiles(md, folder string) []string {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(md, folder, sub, "*"))
		out = append(out, m...)
	}
	return out
}

func maildirFlags(p string) string {
	if i := strings.LastIndex(filepath.Base(p), ":2,"); i >= 0 {
		return filepath.Base(p)[i+3:]
	}
	return ""
}

// maildirUsage counts the messages and bytes in every folder of the Maildir.
func maildirUsage(t *testing.T, md string) (files int, size int64) {
	t.Helper()
	folders := []string{""}
	ents, _ := os.ReadDir(md)
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") && e.Name() != "." && e.Name() != ".." {
			folders = append(folders, e.Name())
		}
	}
	for _, f := range folders {
		for _, p := range maildirFiles(md, f) {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			files++
			size += fi.Size()
		}
	}
	return files, size
}
