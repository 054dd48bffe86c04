// Package courierref finds Debian's real Courier programs, unpacked (not installed) by
// ../shared/tools/courier-ref, for the tests that compare with them or share a Maildir with
// them. It imports nothing of ours, so any package's internal tests can use it. A test that
// needs a program that is missing fails, saying how to get it; it never skips.
package courierref

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Root is where courier-ref unpacks the packages: $COURIER_REF_DIR/root, by default
// /var/tmp/courier-ref/root.
func Root() string {
	dir := os.Getenv("COURIER_REF_DIR")
	if dir == "" {
		dir = "/var/tmp/courier-ref"
	}
	return filepath.Join(dir, "root")
}

// Env is what the programs need in their environment to find their shared libraries.
func Env() []string {
	r := Root()
	return []string{"LD_LIBRARY_PATH=" + strings.Join([]string{
		filepath.Join(r, "usr/lib"), filepath.Join(r, "usr/lib/x86_64-linux-gnu"), filepath.Join(r, "usr/lib/courier-authlib"),
	}, ":")}
}

// Tool returns the path of a program below Root ("usr/bin/imapd") or fails the test.
func Tool(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference Courier program %s not found (%v): run ../shared/tools/courier-ref from the checkout (make deps does) to unpack it", p, err)
	}
	return p
}
