package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func kwRunTool(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, nil, &out, &errb, func(string) string { return "" })
	return out.String(), errb.String(), code
}

func TestMaildirkwTool(t *testing.T) {
	md := filepath.Join(t.TempDir(), "md")
	for _, d := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(md, d), 0o700)
	}
	if _, _, code := kwRunTool(t, "maildirkw", md, "1.a:2,S", "Foo", "bar"); code != 0 {
		t.Fatalf("set exit %d", code)
	}
	if _, _, code := kwRunTool(t, "maildirkw", md, "1.a", "-a", "Zeta"); code != 0 {
		t.Fatalf("add exit %d", code)
	}
	out, _, code := kwRunTool(t, "maildirkw", "-L", md)
	if code != 0 || out != "1.a Foo Zeta bar\n" {
		t.Errorf("list = %q, %d", out, code)
	}
	if out, _, code := kwRunTool(t, "maildirkw"); code != 1 || out != maildirkwUsage {
		t.Errorf("usage = %q, %d", out, code)
	}
	if _, errs, code := kwRunTool(t, "maildirkw", "-x", md, "1.a"); code != 1 || errs == "" {
		t.Errorf("bad option: %q, %d", errs, code)
	}
	if _, errs, code := kwRunTool(t, "maildirkw", filepath.Join(md, "nope"), "1.a", "x"); code != 1 || errs == "" {
		t.Errorf("missing maildir: %q, %d", errs, code)
	}
	if _, _, code := kwRunTool(t, "maildirkw", "-l", md, "1.a", "locked"); code != 0 {
		t.Errorf("locked set exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(md, "tmp", "courier.lock")); !os.IsNotExist(err) {
		t.Errorf("lock left behind: %v", err)
	}
}

func TestMaildiraclTool(t *testing.T) {
	md := filepath.Join(t.TempDir(), "md")
	for _, d := range []string{"tmp", "new", "cur", ".Sent/tmp", ".Sent/new", ".Sent/cur"} {
		os.MkdirAll(filepath.Join(md, d), 0o700)
	}
	if _, _, code := kwRunTool(t, "maildiracl", "-set", md, "INBOX.Sent", "user=john", "lr"); code != 0 {
		t.Fatalf("set exit %d", code)
	}
	out, _, _ := kwRunTool(t, "maildiracl", "-list", md, "INBOX.Sent")
	if out != "owner\taceilrstwx\nadministrators\taceilrstwx\nuser=john\tlr\n" {
		t.Errorf("list = %q", out)
	}
	if out, _, _ := kwRunTool(t, "maildiracl", "-compute", md, "INBOX.Sent", "user=john"); out != "lr\n" {
		t.Errorf("compute = %q", out)
	}
	if _, errs, code := kwRunTool(t, "maildiracl", "-set", md, "INBOX.Sent", "owner", "lr"); code != 1 || errs != "Trying to set invalid access rights for owner\n" {
		t.Errorf("owner: %q, %d", errs, code)
	}
	if _, _, code := kwRunTool(t, "maildiracl", "-list", md, "INBOX.x/y"); code != 1 {
		t.Errorf("bad name exit %d", code)
	}
	if out, _, code := kwRunTool(t, "maildiracl", "-list", md); code != 1 || out != maildiraclUsage {
		t.Errorf("usage = %q, %d", out, code)
	}
}
