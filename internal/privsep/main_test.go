package privsep_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"courier/internal/cli"
)

// The test binary plays three parts:
//   - the tests themselves;
//   - "courier imapd" and "courier pop3d", which the app's handoff starts as the session
//     process (argv {"courier", "imapd"}), so that the end-to-end tests run the real code;
//   - a small helper (helperEnv set) that the Spawner unit tests start.
//
// A child runs as another uid, so it must be able to reach the executable: the go build
// directory is private to root (mode 0700). As root, TestMain therefore copies the test
// binary to a directory everyone may enter and runs the copy (relocatedEnv marks it).
const (
	helperEnv    = "PRIVSEP_TEST_HELPER"
	relocatedEnv = "PRIVSEP_TEST_RELOCATED"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(helperEnv) != "":
		os.Exit(runHelper(os.Getenv(helperEnv)))
	case len(os.Args) > 1 && (os.Args[1] == "imapd" || os.Args[1] == "pop3d"):
		os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	case os.Geteuid() == 0 && os.Getenv(relocatedEnv) == "":
		os.Exit(relocate())
	}
	os.Exit(m.Run())
}

// relocate runs a copy of the test binary from a directory that other uids may enter and
// returns its exit code.
func relocate() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "relocate:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "privsep-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "relocate:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	copyPath := filepath.Join(dir, "privsep.test")
	if err := copyExecutable(exe, copyPath); err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "relocate:", err)
		return 1
	}
	cmd := exec.Command(copyPath, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), relocatedEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "relocate:", err)
		return 1
	}
	return 0
}

func copyExecutable(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// requireRoot fails the test unless it runs as root: these tests exist to check what only
// root can do, and a skipped test would hide that they did not run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test must run as root (euid %d)", os.Geteuid())
	}
}

// runHelper is the session process of the Spawner tests. It reports who it runs as, logs
// one JSON record on standard error, and echoes lines until "quit" or the end of input.
// Modes: "echo"; "term" also says "terminated" on SIGTERM and exits; "stubborn" ignores
// SIGTERM.
func runHelper(mode string) int {
	switch mode {
	case "term":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		go func() {
			<-ch
			fmt.Println("terminated")
			os.Exit(0)
		}()
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
	}
	// Only now, with the signals set up, does the test learn that the helper runs.
	cwd, _ := os.Getwd()
	groups, _ := os.Getgroups()
	fmt.Printf("uid=%d gid=%d groups=%v cwd=%s env=%s\n", os.Getuid(), os.Getgid(), groups, cwd, os.Getenv("HELPER_VALUE"))
	fmt.Fprintln(os.Stderr, `{"time":"x","level":"WARN","msg":"helper log","k":"v"}`)
	fmt.Fprintln(os.Stderr, "plain text on stderr")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "quit" {
			fmt.Println("bye")
			return 0
		}
		fmt.Println("echo: " + line)
	}
	fmt.Println("eof")
	return 0
}
