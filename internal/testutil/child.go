package testutil

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"courier/internal/app"
)

// serverChildEnv names the configuration directory when a test binary runs as a server
// process (the same code as "courier serve -c DIR"), for tests that kill servers.
const serverChildEnv = "COURIER_TEST_SERVER_CHILD"

// Main is a TestMain for packages that start server processes with StartChild: run as such
// a child, the test binary serves until killed; otherwise it runs the tests.
func Main(m *testing.M) {
	if dir := os.Getenv(serverChildEnv); dir != "" {
		a, err := app.New(app.Options{ConfigDir: dir, Stdout: os.Stdout, Stderr: os.Stderr})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := a.Run(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Child is one server process started by StartChild.
type Child struct {
	Cmd  *exec.Cmd
	Addr string // the address of the service StartChild waited for
}

// StartChild runs this test binary as a server process (the package's TestMain must be
// Main) with the configuration in configDir and the given LOGLEVEL, and waits until it
// listens for service.
func StartChild(t testing.TB, configDir, service, logLevel string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverChildEnv+"="+configDir, "LOGLEVEL="+logLevel)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{Cmd: cmd}
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "listening" && f[1] == service {
			c.Addr = f[2]
			break
		}
	}
	if c.Addr == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("server child (%s) did not start", service)
	}
	go io.Copy(io.Discard, out)
	return c
}
