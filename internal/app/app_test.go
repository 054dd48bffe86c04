package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"courier/internal/app"
	"courier/internal/netx"
	"courier/internal/testutil"
)

func setVar(t testing.TB, file, name, value string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + name + `=.*$`)
	if !re.Match(data) {
		data = append(data, []byte(name+"="+value+"\n")...)
	} else {
		data = re.ReplaceAll(data, []byte(name+"="+value))
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMaxPerIPRefusesOnlyTheExtraConnection(t *testing.T) {
	t.Parallel()
	echo := &testutil.EchoHandler{}
	srv := testutil.Start(t, testutil.Options{
		Handlers: map[string]netx.Handler{"imap": echo},
		Edit: func(t testing.TB, dir string) {
			setVar(t, filepath.Join(dir, "imapd"), "MAXPERIP", "3")
		},
	})
	addr := srv.MustAddr(t, "imap")
	var conns []*testutil.Conn
	for i := 0; i < 3; i++ {
		c := testutil.Dial(t, addr)
		c.ExpectMatch(`^\* OK ready c[0-9a-z]+$`)
		conns = append(conns, c)
	}
	extra := testutil.Dial(t, addr)
	extra.Expect("* BYE Too many connections from your IP address, try again later.")
	extra.ExpectClosed()
	for i, c := range conns {
		c.Send("hello " + string(rune('a'+i)))
		c.Expect("echo: hello " + string(rune('a'+i)))
	}
	// Once one leaves, a new one fits again.
	conns[0].Send("QUIT")
	conns[0].Expect("* BYE")
	conns[0].ExpectClosed()
	waitOpen(t, srv, 2)
	again := testutil.Dial(t, addr)
	again.ExpectMatch(`^\* OK ready`)
}

func waitOpen(t *testing.T, srv *testutil.Server, n int) {
	t.Helper()
	for i := 0; i < 500; i++ {
		resp, err := http.Get("http://" + srv.MustAddr(t, "http") + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body := new(strings.Builder)
		_, _ = ioCopy(body, resp)
		if strings.Contains(body.String(), `courier_connections_open{service="imap"} `+itoa(n)+"\n") {
			return
		}
		sleepMs(10)
	}
	t.Fatalf("open imap connections never reached %d", n)
}

func TestMaxDaemons(t *testing.T) {
	t.Parallel()
	srv := testutil.Start(t, testutil.Options{
		Handlers: map[string]netx.Handler{"imap": &testutil.EchoHandler{}},
		Edit: func(t testing.TB, dir string) {
			setVar(t, filepath.Join(dir, "imapd"), "MAXDAEMONS", "2")
		},
	})
	addr := srv.MustAddr(t, "imap")
	a, b := testutil.Dial(t, addr), testutil.Dial(t, addr)
	a.ExpectMatch(`^\* OK`)
	b.ExpectMatch(`^\* OK`)
	c := testutil.Dial(t, addr)
	c.Expect("* BYE Too many connections, try again later.")
	a.Send("x")
	a.Expect("echo: x")
}

func TestReloadKeepsSessionsAndRejectsBrokenConfig(t *testing.T) {
	t.Parallel()
	srv := testutil.Start(t, testutil.Options{Handlers: map[string]netx.Handler{"imap": &testutil.EchoHandler{}}})
	addr := srv.MustAddr(t, "imap")
	s1 := testutil.Dial(t, addr)
	s1.ExpectMatch(`^\* OK`)

	imapd := filepath.Join(srv.ConfigDir, "imapd")
	good, err := os.ReadFile(imapd)
	if err != nil {
		t.Fatal(err)
	}
	// A broken file: the reload fails with file:line and nothing changes.
	broken := string(good) + "IMAP_CAPABILITY=\"IMAP4rev1 UIDPLUS\n"
	if err := os.WriteFile(imapd, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(good), "\n")
	err = srv.Reload()
	if err == nil {
		t.Fatal("reload of a broken file succeeded")
	}
	wantPos := imapd + ":" + itoa(lines+1) + ":"
	if !strings.Contains(err.Error(), wantPos) {
		t.Fatalf("reload error %q does not name %s", err, wantPos)
	}
	s1.Send("still there")
	s1.Expect("echo: still there")
	if srv.Addr("imap") != addr {
		t.Fatalf("imap moved to %s", srv.Addr("imap"))
	}

	// A good file with a new limit: applied to new connections; the old session stays.
	if err := os.WriteFile(imapd, good, 0o644); err != nil {
		t.Fatal(err)
	}
	setVar(t, imapd, "MAXPERIP", "2")
	if err := srv.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	s1.Send("after reload")
	s1.Expect("echo: after reload")
	s2 := testutil.Dial(t, addr)
	s2.ExpectMatch(`^\* OK`)
	s3 := testutil.Dial(t, addr)
	s3.Expect("* BYE Too many connections from your IP address, try again later.")

	// Turning the service off closes the listener but not the sessions.
	setVar(t, imapd, "IMAPDSTART", "NO")
	if err := srv.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if a := srv.Addr("imap"); a != "" {
		t.Fatalf("imap still listening on %s", a)
	}
	s1.Send("last")
	s1.Expect("echo: last")
}

func TestConfigErrorsAndWarningsNameFileAndLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("imapd", "IMAPDSTART=YES\nADDRESS=127.0.0.1\nPORT=0\nMAXDAEMONS=lots\n")
	_, err := app.LoadConfig(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "imapd")+`:4: MAXDAEMONS: "lots" is not a number`) {
		t.Fatalf("bad number: %v", err)
	}
	write("imapd", "IMAPDSTART=YES\nADDRESS=127.0.0.1\nPORT=0\nMAXDEAMONS=4\n")
	cfg, err := app.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "imapd") + ":4: unknown setting MAXDEAMONS (did you mean MAXDAEMONS?)"
	if len(cfg.Warnings) != 1 || cfg.Warnings[0] != want {
		t.Fatalf("warnings %q, want %q", cfg.Warnings, want)
	}
	write("imapd", "IMAPDSTART=YES\nPORT=99999\n")
	if _, err := app.LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "imapd:2:") {
		t.Fatalf("bad port: %v", err)
	}
	write("imapd", "IMAPDSTART=YES\nPORT='143\n")
	if _, err := app.LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "imapd:2:") {
		t.Fatalf("unterminated quote: %v", err)
	}
	write("imapd", "IMAPDSTART=YES\nADDRESS=127.0.0.1\nPORT=127.0.0.2.1143,2143\n")
	cfg, err = app.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, l := range cfg.Listeners {
		addrs = append(addrs, l.Addr)
	}
	if strings.Join(addrs, " ") != "127.0.0.2:1143 127.0.0.1:2143" {
		t.Fatalf("port list gave %q", addrs)
	}
}
