package esmtp_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"courier/internal/queue"
	"courier/internal/testutil"
	"courier/internal/transport/esmtp"
)

// startDNS runs a DNS server on 127.0.0.1 (UDP) answering from records, given in zone-file
// syntax; names in servfail get SERVFAIL; names with no record at all get NXDOMAIN.
func startDNS(t *testing.T, records []string, servfail ...string) string {
	t.Helper()
	zone := map[string][]dns.RR{}
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		name := strings.ToLower(rr.Header().Name)
		zone[name] = append(zone[name], rr)
	}
	fail := map[string]bool{}
	for _, n := range servfail {
		fail[dns.Fqdn(n)] = true
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		rrs, ok := zone[name]
		switch {
		case fail[name]:
			m.Rcode = dns.RcodeServerFailure
		case !ok:
			m.Rcode = dns.RcodeNameError
		default:
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestOutboundMX: without a route, mail goes to the domain's best MX host that answers,
// found through DNS: here a server of our own, whose Maildir receives it.
func TestOutboundMX(t *testing.T) {
	dest := testutil.Start(t, testutil.Options{Edit: func(t testing.TB, dir string) {
		appendFile(t, filepath.Join(dir, "hosteddomains"), "example.net example.test\n")
	}})
	_, port, _ := net.SplitHostPort(dest.MustAddr(t, "smtp"))
	p := startPeer(t, false)
	// the peer answers on 127.0.0.1, so the MX test uses another loopback address for
	// the dead MX (nothing listens on 127.0.0.3)
	srv := startDNS(t, []string{
		"example.net. 300 IN MX 5 dead.example.net.",
		"example.net. 300 IN MX 10 mx.example.net.",
		"example.net. 300 IN MX 20 backup.example.net.",
		"dead.example.net. 300 IN A 127.0.0.3",
		"mx.example.net. 300 IN A 127.0.0.1",
		"backup.example.net. 300 IN A 127.0.0.1",
		"nomx.example. 300 IN A 127.0.0.1",
		"null.example. 300 IN MX 0 .",
		"loop.example. 300 IN MX 10 sender.test.",
	}, "broken.example")
	portN, _ := strconv.Atoi(port)
	h := newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(srv), Port: portN})
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("demo@example.net")}, "Subject: via MX\n\nhello\n")
	h.waitGone(id)
	if ns := h.notes.of(id); len(ns) != 0 {
		t.Fatalf("notices %+v", ns)
	}
	waitFor(t, "the message in the destination's Maildir", func() bool {
		return countNew(t, filepath.Join(dest.Dir, "mail", "example.test", "demo", "Maildir")) == 1
	})

	// permanent DNS answers fail at once; a server failure defers
	for rcpt, want := range map[string]string{
		"x@null.example":     "5.1.10 ",
		"x@nxdomain.example": "5.1.2 ",
		"x@loop.example":     "5.4.6 ",
	} {
		id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts(rcpt)}, body)
		h.waitGone(id)
		if ns := h.notes.of(id); len(ns) != 1 || !strings.HasPrefix(ns[0].Err.Error(), want) {
			t.Errorf("%s: notices %+v, want %q…", rcpt, ns, want)
		}
	}
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@broken.example")}, body)
	if why := h.waitDeferred(id); !strings.HasPrefix(why, "4.4.3 ") {
		t.Errorf("deferred with %q", why)
	}

	// no MX: the A record is the implicit MX (RFC 5321 section 5.1); the port is our
	// go-smtp peer's, through a route with an empty relay ("use DNS") and a port-less
	// literal would not reach it, so this uses a second transport.
	h2 := newHarness(t, esmtp.Options{Resolver: esmtp.NewDNSResolver(srv), Port: p.port})
	id = h2.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@nomx.example")}, body)
	h2.waitGone(id)
	if len(p.transactions()) != 1 {
		t.Errorf("no delivery to the implicit MX")
	}
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func countNew(t *testing.T, maildir string) int {
	ents, err := os.ReadDir(filepath.Join(maildir, "new"))
	if err != nil {
		return 0
	}
	return len(ents)
}

// TestDNSResolver checks the resolver's answers directly.
func TestDNSResolver(t *testing.T) {
	srv := startDNS(t, []string{
		"a.example. 300 IN A 192.0.2.1",
		"a.example. 300 IN AAAA 2001:db8::1",
		"a.example. 300 IN MX 10 mx.a.example.",
	}, "bad.example")
	r := esmtp.NewDNSResolver(srv)
	r.Timeout = 2 * time.Second
	ctx := t.Context()
	ips, err := r.LookupIP(ctx, "a.example")
	if err != nil || len(ips) != 2 || ips[0].String() != "192.0.2.1" || ips[1].String() != "2001:db8::1" {
		t.Errorf("LookupIP: %v %v", ips, err)
	}
	mx, err := r.LookupMX(ctx, "a.example")
	if err != nil || len(mx) != 1 || mx[0].Host != "mx.a.example" || mx[0].Pref != 10 {
		t.Errorf("LookupMX: %v %v", mx, err)
	}
	if _, err := r.LookupMX(ctx, "none.example"); err == nil || !strings.Contains(err.Error(), "no such domain") {
		t.Errorf("NXDOMAIN: %v", err)
	}
	if _, err := r.LookupMX(ctx, "bad.example"); err == nil || strings.Contains(err.Error(), "no such domain") {
		t.Errorf("SERVFAIL: %v", err)
	}
}
