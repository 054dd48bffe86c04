package esmtp

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	clog "courier/internal/log"
)

func TestParseRoute(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Route
		bad  bool
	}{
		{in: "example.com: relay.domain.com", want: Route{Domain: "example.com", Relay: "relay.domain.com"}},
		{in: "domain.com: [192.168.0.2]", want: Route{Domain: "domain.com", Relay: "[192.168.0.2]"}},
		{in: ".Example.com: [192.168.0.3],26", want: Route{Domain: ".example.com", Relay: "[192.168.0.3]", Port: 26}},
		{in: "example.net: 127.0.0.1,2525", want: Route{Domain: "example.net", Relay: "127.0.0.1", Port: 2525}},
		{in: "example.com:", want: Route{Domain: "example.com"}},
		{in: "\t:[192.168.0.4]", want: Route{Relay: "[192.168.0.4]"}},
		{in: ": relay.example.com,465 /SECURITY=SMTPS", want: Route{Relay: "relay.example.com", Port: 465, Security: SecuritySMTPS}},
		{in: "a.test: r.test/SECURITY=STARTTLS", want: Route{Domain: "a.test", Relay: "r.test", Security: SecurityRequired}},
		{in: "a.test: r.test /SECURITY=REQUIRED", want: Route{Domain: "a.test", Relay: "r.test", Security: SecurityRequired}},
		{in: "a.test: /SECURITY=NONE", want: Route{Domain: "a.test", Security: SecurityNone}},
		{in: "no colon", bad: true},
		{in: "a.test: r.test,port", bad: true},
		{in: "a.test: r.test /SECURITY=MAYBE", bad: true},
		{in: "a.test: r.test /FOO=1", bad: true},
	} {
		got, err := parseRoute(c.in, "esmtproutes:1")
		if c.bad {
			if err == nil {
				t.Errorf("%q: no error", c.in)
			}
			continue
		}
		got.Pos = ""
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestRouteMatchFirstWins(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "esmtproutes"), []byte("# c\nexample.com: relay.domain.com\n.example.com: [10.0.0.1]\nbad line\nexample.org:\n:[192.168.0.4]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "me"), []byte("mail.example.test\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "esmtptimeoutconnect"), []byte("30\n"), 0o644)
	c := &configReader{dir: dir, hostname: "h", log: clog.Discard(), now: time.Now}
	s := c.get()
	for dom, want := range map[string]string{
		"example.com":     "relay.domain.com",
		"sub.example.com": "[10.0.0.1]",
		"example.org":     "",
		"other.test":      "[192.168.0.4]",
	} {
		r := s.route(dom)
		if r == nil || r.Relay != want {
			t.Errorf("%s: route %+v, want relay %q", dom, r, want)
		}
	}
	if s.helo != "mail.example.test" {
		t.Errorf("helo %q, want me's", s.helo)
	}
	if s.timeouts.connect != 30*time.Second || s.timeouts.data != 5*time.Minute {
		t.Errorf("timeouts %+v", s.timeouts)
	}
}

func TestJournal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "j")
	j, err := openJournal(p, 12, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"qar0", "qar1", "qbr0", "qcr0", "qdr0", "qer0"} {
		if err := j.record([]string{tok}); err != nil {
			t.Fatal(err)
		}
	}
	j.close()
	// a new process finds what the previous one recorded in the two generations kept
	j, err = openJournal(p, 12, false)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	for tok, want := range map[string]bool{"qer0": true, "qcr0": true, "qzr0": false, "qar0": false} {
		if got, err := j.has(tok); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", tok, got, err, want)
		}
	}
	if err := j.record([]string{"qfr0", "qfr1"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.has("qfr1"); !got {
		t.Error("a token recorded after loading is not found")
	}
}
