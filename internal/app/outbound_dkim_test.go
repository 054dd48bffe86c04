package app_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"courier/internal/app"
	"courier/internal/dkim"
	clog "courier/internal/log"
	"courier/internal/quickstart"
	"courier/internal/testutil"
)

// startDomain starts a quickstart installation for domain (its account demo@DOMAIN) on
// 127.0.0.1 with ephemeral ports, as testutil.Start does for example.test: every remote
// domain is routed to a closed port unless edit routes it elsewhere.
func startDomain(t testing.TB, domain string, edit func(t testing.TB, configDir string)) *testutil.Server {
	t.Helper()
	dir := t.TempDir()
	res, err := quickstart.Setup(quickstart.Options{Dir: dir, Listen: "127.0.0.1", Ephemeral: true, Password: "demo-Pass-1", Domain: domain})
	if err != nil {
		t.Fatalf("quickstart setup: %v", err)
	}
	if err := os.WriteFile(filepath.Join(res.ConfigDir, "esmtproutes"), []byte(": [127.0.0.1],1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(t, res.ConfigDir)
	}
	a, err := app.New(app.Options{ConfigDir: res.ConfigDir, Log: clog.Discard(), DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("app start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	return &testutil.Server{App: a, Dir: res.Dir, ConfigDir: res.ConfigDir, Account: res.Account, Password: res.Password}
}

// maildirNew returns the messages in the new/ directory of demo@domain's Maildir.
func maildirNew(t testing.TB, s *testutil.Server, domain string, n int) []string {
	t.Helper()
	dir := filepath.Join(s.Dir, "mail", domain, "demo", "Maildir", "new")
	deadline := time.Now().Add(15 * time.Second)
	for {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) >= n {
			var out []string
			for _, e := range ents {
				if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
					out = append(out, string(b))
				}
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages in %s, want %d", len(ents), dir, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// txtServer is a DNS server on 127.0.0.1 (UDP and TCP) answering TXT questions from
// records in zone-file syntax; every other name is NXDOMAIN.
func txtServer(t testing.TB, records ...string) string {
	t.Helper()
	zone := map[string][]dns.RR{}
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		zone[strings.ToLower(rr.Header().Name)] = append(zone[strings.ToLower(rr.Header().Name)], rr)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		rrs, ok := zone[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: h}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// lookupTXT asks a DNS server for the TXT records of name, each record's strings joined.
func lookupTXT(server string) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
		in, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, server)
		if err != nil {
			return nil, fmt.Errorf("TXT %s: %w", name, err)
		}
		if in.Rcode != dns.RcodeSuccess {
			return nil, fmt.Errorf("TXT %s: %s", name, dns.RcodeToString[in.Rcode])
		}
		var out []string
		for _, rr := range in.Answer {
			if txt, ok := rr.(*dns.TXT); ok {
				out = append(out, strings.Join(txt.Txt, ""))
			}
		}
		return out, nil
	}
}

// TestOutboundDKIM is issue 8's end-to-end test: two quickstart installations, example.test
// and example.net, the first routing example.net to the second through esmtproutes. Mail
// submitted to the first for demo@example.net arrives in the second's INBOX carrying the
// first's DKIM-Signature (the key quickstart made), which verifies against the record
// published by a DNS server of the test; the unknown recipient comes back to the sender
// as a multipart/report with Status 5.1.1, and that notification (local) is not signed.
func TestOutboundDKIM(t *testing.T) {
	dest := startDomain(t, "example.net", nil)
	_, port, _ := net.SplitHostPort(dest.MustAddr(t, "smtp"))
	src := startDomain(t, "example.test", func(t testing.TB, dir string) {
		prependTo(t, filepath.Join(dir, "esmtproutes"), "example.net: 127.0.0.1,"+port+"\n")
	})
	var records []string
	for _, k := range dkim.NewKeyring(src.ConfigDir, nil).Keys() {
		rec, err := dkim.RecordOf(k)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, rec.Zone())
	}
	if len(records) != 1 || !strings.HasPrefix(records[0], "default._domainkey.example.test. ") {
		t.Fatalf("quickstart's DKIM records: %q", records)
	}
	dnsAddr := txtServer(t, records...)

	submit(t, src, []string{"demo@example.net", "nobody@example.net"},
		"From: Demo <demo@example.test>\nTo: demo@example.net\nSubject: signed across\n\nHello over there.\nA second line.  \n")
	got := maildirNew(t, dest, "example.net", 1)
	if len(got) != 1 || !strings.Contains(got[0], "Subject: signed across") {
		t.Fatalf("destination inbox: %q", got)
	}
	msg := got[0]
	if !strings.Contains(msg, "DKIM-Signature: ") || !strings.Contains(msg, "d=example.test") || !strings.Contains(msg, "s=default") {
		t.Fatalf("no DKIM-Signature of example.test:\n%s", msg)
	}
	vs, err := msgdkim.VerifyWithOptions(strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")),
		&msgdkim.VerifyOptions{LookupTXT: lookupTXT(dnsAddr)})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.test" {
		t.Fatalf("verification: %+v (err %v)", vs[0], vs[0].Err)
	}
	// a changed body no longer verifies: the check above is not vacuous
	bad := strings.Replace(msg, "Hello over there.", "Hello over here.", 1)
	vs, err = msgdkim.VerifyWithOptions(strings.NewReader(strings.ReplaceAll(bad, "\n", "\r\n")),
		&msgdkim.VerifyOptions{LookupTXT: lookupTXT(dnsAddr)})
	if err != nil || len(vs) != 1 || vs[0].Err == nil {
		t.Errorf("a changed message verifies: %v %+v", err, vs)
	}

	bounce := maildirNew(t, src, "example.test", 1)
	if len(bounce) != 1 {
		t.Fatalf("sender inbox: %q", bounce)
	}
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "Action: failed",
		"Status: 5.1.1", "nobody@example.net", "Return-Path: <>"} {
		if !strings.Contains(bounce[0], want) {
			t.Errorf("notification lacks %q:\n%s", want, bounce[0])
		}
	}
	// (the queue's copy of the original is unsigned too, so no signature at all)
	if strings.Contains(bounce[0], "DKIM-Signature:") {
		t.Errorf("a local notification was signed:\n%s", bounce[0])
	}
}
