package main_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the courier binary built once for every test here.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "courier-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "courier")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeBase finds a port base whose http (base+80) and https (base+443) ports are free.
func freeBase(t *testing.T) int {
	for i := 0; i < 50; i++ {
		base := 20000 + rand.IntN(30000)
		ok := true
		for _, p := range []int{80, 443, 25, 465, 587, 110, 995, 143, 993} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+p))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port base")
	return 0
}

type running struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *lockedBuffer
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startQuickstart(t *testing.T, args ...string) *running {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"quickstart"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, lines: make(chan string, 100), stderr: &lockedBuffer{}}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return r
}

// waitFor reads stdout lines until one starts with prefix.
func (r *running) waitFor(t *testing.T, prefix string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("quickstart ended before printing %q; stderr:\n%s", prefix, r.stderr)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q within %s; stderr:\n%s", prefix, within, r.stderr)
		}
	}
}

func (r *running) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("quickstart exited with %v; stderr:\n%s", err, r.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("quickstart did not stop on %v", sig)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

func TestQuickstartRunsReusesAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	base := freeBase(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", base+80)

	start := time.Now()
	r := startQuickstart(t, "--dir", dir, "--port-base", fmt.Sprint(base), "--password", "s3cret-pass")
	line := r.waitFor(t, "listening http ", 10*time.Second)
	if line != "listening http "+httpAddr {
		t.Fatalf("got %q, want listening http %s", line, httpAddr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("note: first start took %s (includes directory setup)", d)
	}
	r.waitFor(t, "Password: s3cret-pass", 5*time.Second)
	metrics := get(t, "http://"+httpAddr+"/metrics")
	for _, want := range []string{`courier_listeners{service="http"} 1`, `courier_connections_open{service="http"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(get(t, "http://"+httpAddr+"/"), "http "+httpAddr) {
		t.Error("status page does not list the http listener")
	}
	// The authdaemon socket answers Courier's protocol with the demo account.
	out, err := exec.Command(binary, "authtest", "-c", filepath.Join(dir, "etc"), "demo@example.test", "s3cret-pass").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "Authentication succeeded.") || !strings.Contains(string(out), "Authenticated: demo@example.test") {
		t.Fatalf("authtest: %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "authtest", "-c", filepath.Join(dir, "etc"), "demo@example.test", "wrong").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Authentication FAILED: Operation not permitted") {
		t.Fatalf("authtest with a wrong password: %v\n%s", err, out)
	}
	guide, err := os.ReadFile(filepath.Join(dir, "QUICKSTART.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(guide), "demo@example.test") {
		t.Errorf("QUICKSTART.txt lacks the account:\n%s", guide)
	}

	// SIGHUP with a broken file: still serving. Then fixed: still serving.
	webmaild := filepath.Join(dir, "etc", "webmaild")
	orig, err := os.ReadFile(webmaild)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(webmaild, append(orig, []byte("MAXPERIP='5\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Process.Signal(syscall.SIGHUP)
	waitStderr(t, r, "reload failed")
	if !strings.Contains(r.stderr.String(), webmaild+":") {
		t.Errorf("reload error does not name %s:\n%s", webmaild, r.stderr)
	}
	get(t, "http://"+httpAddr+"/")
	r.stop(t, syscall.SIGINT)

	// An edit made between runs survives the next run: the edited file is used as it is.
	edited := append(orig, []byte("# edited by the test\nMAXPERIP=7\n")...)
	if err := os.WriteFile(webmaild, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	r2 := startQuickstart(t, "--dir", dir, "--port-base", fmt.Sprint(base))
	r2.waitFor(t, "listening http "+httpAddr, 2*time.Second)
	t.Logf("second start: listening after %s", time.Since(start))
	got, _ := os.ReadFile(webmaild)
	if string(got) != string(edited) {
		t.Fatal("the edit to etc/webmaild was not kept")
	}
	r2.waitFor(t, "Password: s3cret-pass", 5*time.Second)
	get(t, "http://"+httpAddr+"/metrics")
	r2.stop(t, syscall.SIGTERM)
}

func waitStderr(t *testing.T, r *running, s string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if strings.Contains(r.stderr.String(), s) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stderr never said %q:\n%s", s, r.stderr)
}

func TestHelpAndUnknownTool(t *testing.T) {
	out, err := exec.Command(binary, "help").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"quickstart", "serve", "version", "install-links"} {
		if !strings.Contains(string(out), "  "+tool+" ") {
			t.Errorf("help does not list %s:\n%s", tool, out)
		}
	}
	cmd := exec.Command(binary, "no-such-tool")
	cmd.Stderr = &strings.Builder{}
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("unknown tool: %v, want exit 2", err)
	}
	if !strings.Contains(cmd.Stderr.(*strings.Builder).String(), "quickstart") {
		t.Error("unknown tool does not print the list")
	}
	out, err = exec.Command(binary, "quickstart", "--help").Output()
	if err != nil || !strings.HasPrefix(string(out), "usage: courier quickstart") {
		t.Fatalf("quickstart --help: %v %q", err, out)
	}
}

func TestArgv0DispatchAndInstallLinks(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(binary, "install-links", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("install-links: %v %s", err, out)
	}
	// "version" is not a link-worthy tool; check a link for each tool that has Link set by
	// calling one through its link name when any exists.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || target != binary {
			t.Errorf("%s: link to %q (%v), want %s", e.Name(), target, err, binary)
		}
	}
	// argv[0] dispatch: a link named "version" behaves as the version tool.
	link := filepath.Join(dir, "version")
	if err := os.Symlink(binary, link); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(link).Output()
	if err != nil || !strings.HasPrefix(string(out), "courier ") {
		t.Fatalf("argv[0] dispatch: %v %q", err, out)
	}
}
