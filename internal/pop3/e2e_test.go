package pop3_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// popClient is Python's poplib downloading the whole maildrop and keeping it on the server.
const popClient = `
import json, poplib, ssl, sys
host, port, user, pw, cafile, mode = sys.argv[1:]
if mode == "pop3s":
    ctx = ssl.create_default_context(cafile=cafile); ctx.check_hostname = False
    p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=10)
else:
    p = poplib.POP3(host, int(port), timeout=10)
if mode == "stls":
    ctx = ssl.create_default_context(cafile=cafile); ctx.check_hostname = False
    p.stls(ctx)
out = {"welcome": p.getwelcome().decode(), "capa": sorted(p.capa().keys())}
p.user(user)
p.pass_(pw)
out["stat"] = list(p.stat())
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["msgs"] = []
for i in range(1, out["stat"][0] + 1):
    resp, lines, octets = p.retr(i)
    out["msgs"].append([l.decode("latin-1") for l in lines])
p.quit()
print(json.dumps(out))
`

type popResult struct {
	Welcome string     `json:"welcome"`
	Capa    []string   `json:"capa"`
	Stat    []int      `json:"stat"`
	UIDL    []string   `json:"uidl"`
	Msgs    [][]string `json:"msgs"`
}

func runPoplib(t *testing.T, e *env, mode string) popResult {
	t.Helper()
	addr := e.addr
	if mode == "pop3s" {
		addr = e.addrS
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("python3", "-c", popClient, host, port, demoUser, demoPass,
		filepath.Join(e.dir, "tls", "server.pem"), mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("poplib (%s): %v\n%s", mode, err, out)
	}
	var r popResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("poplib output: %v\n%s", err, out)
	}
	return r
}

func TestPythonPoplib(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed for this test (scripts/install-test-deps.sh)")
	}
	e := startApp(t, nil)
	first := runPoplib(t, e, "plain")
	if first.Welcome != "+OK Hello there." {
		t.Errorf("welcome %q", first.Welcome)
	}
	wantCapa := []string{"AUTH-RESP-CODE", "IMPLEMENTATION", "LANG", "LOGIN-DELAY", "PIPELINING", "RESP-CODES",
		"SASL", "STLS", "TOP", "UIDL", "USER", "UTF8"}
	if !reflect.DeepEqual(first.Capa, wantCapa) {
		t.Errorf("capa %q, want %q", first.Capa, wantCapa)
	}
	if first.Stat[0] != 3 || first.Stat[1] != size1+size2+size3 {
		t.Errorf("stat %v", first.Stat)
	}
	for i, m := range testMessages {
		want := strings.Split(strings.TrimSuffix(m, "\n"), "\n")
		if !reflect.DeepEqual(first.Msgs[i], want) {
			t.Errorf("message %d: %q, want %q", i+1, first.Msgs[i], want)
		}
	}
	// The mail stays; a second download, over STLS and over pop3s, sees the same UIDLs.
	for _, mode := range []string{"stls", "pop3s"} {
		again := runPoplib(t, e, mode)
		if !reflect.DeepEqual(again.UIDL, first.UIDL) || !reflect.DeepEqual(again.Msgs, first.Msgs) {
			t.Errorf("%s: UIDLs %q then %q", mode, first.UIDL, again.UIDL)
		}
	}
	e.waitFiles("cur/1600000001.M1P1.test:2,S", "cur/1600000002.M2P1.test:2,S", "cur/1600000003.M3P1.test:2,S")
}

func TestFetchmail(t *testing.T) {
	t.Parallel()
	fm, err := exec.LookPath("fetchmail")
	if err != nil {
		t.Fatal("fetchmail is needed for this test (apt-get install fetchmail; scripts/install-test-deps.sh)")
	}
	e := startApp(t, nil)
	work := t.TempDir()
	host, port, _ := net.SplitHostPort(e.addrS)
	rc := filepath.Join(work, "fetchmailrc")
	conf := fmt.Sprintf("poll %s service %s protocol pop3 uidl timeout 20\n"+
		"  user %q there with password %q is nobody here options keep ssl sslcertck sslcommonname localhost sslcertfile %q\n",
		host, port, demoUser, demoPass, filepath.Join(e.dir, "tls", "server.pem"))
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out.bsmtp")
	run := func() string {
		cmd := exec.Command(fm, "-f", rc, "-i", filepath.Join(work, "fetchids"), "--bsmtp", out, "--nosyslog",
			"--sslcertck", "-v")
		cmd.Env = append(os.Environ(), "HOME="+work, "FETCHMAILHOME="+work)
		b, err := cmd.CombinedOutput()
		// fetchmail exits 1 when there was no new mail.
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
			t.Fatalf("fetchmail: %v\n%s", err, b)
		}
		return string(b)
	}
	log1 := run()
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("fetchmail wrote nothing: %v\n%s", err, log1)
	}
	if n := strings.Count(string(got), "\nDATA\r\n") + strings.Count(string(got), "\nDATA\n"); n != 3 {
		t.Fatalf("fetchmail delivered %d messages, want 3:\n%s\n%s", n, log1, got)
	}
	for _, s := range []string{"Subject: one", "Subject: two", "Subject: three", "..dot line"} {
		if !strings.Contains(string(got), s) {
			t.Errorf("fetched mail lacks %q", s)
		}
	}
	// Kept on the server and remembered by UIDL: the second run fetches nothing.
	log2 := run()
	if !strings.Contains(log2, "3 messages (3 seen)") {
		t.Errorf("second fetchmail run:\n%s", log2)
	}
	again, _ := os.ReadFile(out)
	if len(again) != len(got) {
		t.Errorf("the second run fetched again:\n%s", log2)
	}
}
