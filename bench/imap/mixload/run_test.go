package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/testutil"
)

func lastJSON(t *testing.T, out string) *Report {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r Report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("last line is not the JSON report: %v\n%s", err, out)
	}
	return &r
}

// startServer runs our own server (a quickstart in a temporary directory) with 40 messages
// in demo's INBOX, and writes a one-message mbox for APPEND.
func startServer(t *testing.T) (*testutil.Server, string) {
	t.Helper()
	s := testutil.Start(t, testutil.Options{})
	md := filepath.Join(s.Dir, "mail", "example.test", "demo", "Maildir")
	for i := 1; i <= 40; i++ {
		name := fmt.Sprintf("%d.M%dP1.test:2,S", 1600000000+i, i)
		msg := fmt.Sprintf("Subject: Budget meeting #%d\r\nFrom: a@example.test\r\nTo: demo@example.test\r\n"+
			"Date: Mon, 1 Jan 2024 08:00:00 +0000\r\n\r\nbody %d\r\n", i, i)
		if err := os.WriteFile(filepath.Join(md, "cur", name), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mbox := filepath.Join(t.TempDir(), "append.mbox")
	if err := os.WriteFile(mbox, []byte("From x Mon Jan  1 00:00:00 2024\nSubject: appended report\n\nhello\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, mbox
}

func runMix(t *testing.T, s *testutil.Server, mbox string, clients int) (*Report, string) {
	t.Helper()
	var out, errb strings.Builder
	start := time.Now()
	rc := mainArgs([]string{"-addr", s.MustAddr(t, "imap"), "-user", s.Account, "-pass", s.Password,
		"-clients", fmt.Sprint(clients), "-duration", "2s", "-grace", "30s", "-append-mbox", mbox, "-label", "test"}, &out, &errb)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	// The grace is generous because `make test` runs packages in parallel on two cores: a
	// FETCH of a large message started just before the end may take seconds there.
	if el := time.Since(start); el > 35*time.Second {
		t.Errorf("a 2 s run took %v", el)
	}
	t.Log("\n" + out.String())
	r := lastJSON(t, out.String())
	if r.Label != "test" || r.Clients != clients || r.Sessions == 0 || r.OpsTotal == 0 || r.OpsPerS <= 0 {
		t.Errorf("report: %+v", r)
	}
	sum := 0
	for _, o := range r.Ops {
		if o.Count == 0 && o.Skipped == 0 {
			t.Errorf("%s never ran", o.Name)
		}
		if o.Count > 0 && (o.P50ms <= 0 || o.P99ms < o.P50ms || o.MaxMs < o.P99ms) {
			t.Errorf("%s latencies: %+v", o.Name, o)
		}
		if o.Name != "connect" {
			sum += o.Count
		}
	}
	if sum != r.OpsTotal {
		t.Errorf("total %d, rows sum to %d", r.OpsTotal, sum)
	}
	for _, h := range []string{"command", "login", "fetch2", "total", "errors: NO="} {
		if !strings.Contains(out.String(), h) {
			t.Errorf("table lacks %q", h)
		}
	}
	return r, out.String()
}

// TestMixOneClient runs the whole mix for a short time against our own server with one
// client, where no command can meet another session's change: not a single error.
func TestMixOneClient(t *testing.T) {
	s, mbox := startServer(t)
	r, _ := runMix(t, s, mbox, 1)
	if r.Errors != 0 {
		t.Errorf("%d errors: %v", r.Errors, r.FirstErrors)
	}
}

// TestMixConcurrent runs four clients on one mailbox. Sessions expunge each other's messages,
// so a NO for a message expunged meanwhile is allowed (RFC 2180 §4.1), and so is a plain NO
// (reported, not failed: the benchmark exists to find them); malformed or missing responses,
// BAD, broken connections and stalls are not.
func TestMixConcurrent(t *testing.T) {
	s, mbox := startServer(t)
	r, _ := runMix(t, s, mbox, 4)
	k := r.ErrorsByKind
	if k.BAD+k.Check+k.IO+k.Timeout != 0 {
		t.Errorf("errors %+v: %v", k, r.FirstErrors)
	}
	if k.NO+k.Expunged > 0 {
		t.Logf("server answered NO %d times (%d for expunged messages): %v", k.NO+k.Expunged, k.Expunged, r.FirstErrors)
	}
}

// TestStopsOnStalledServer: a server that greets and then never answers must not hold the
// run open beyond its duration plus the grace period, and the stall is reported.
func TestStopsOnStalledServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				io.WriteString(nc, "* OK stalling server\r\n")
				bufio.NewReader(nc).ReadString('\n') // the LOGIN, never answered
				time.Sleep(30 * time.Second)
			}()
		}
	}()
	var out, errb strings.Builder
	start := time.Now()
	rc := mainArgs([]string{"-addr", ln.Addr().String(), "-user", "u", "-pass", "p", "-clients", "2",
		"-duration", "1s", "-grace", "1s", "-prime=false", "-json"}, &out, &errb)
	el := time.Since(start)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	if el > 5*time.Second {
		t.Errorf("run took %v with -duration 1s -grace 1s", el)
	}
	r := lastJSON(t, out.String())
	if r.OpsTotal != 0 || r.ErrorsByKind.Timeout != 2 {
		t.Errorf("report: ops %d, errors %+v %v", r.OpsTotal, r.ErrorsByKind, r.FirstErrors)
	}
}
