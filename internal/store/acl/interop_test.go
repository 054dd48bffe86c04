package acl

import (
	"courier/internal/testutil/courierref"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// refImapd returns the reference Courier imapd and the environment it needs.
func refImapd(t *testing.T) (string, []string) {
	t.Helper()
	return courierref.Tool(t, "usr/bin/imapd"), courierref.Env()
}

func runImapd(t *testing.T, md, script string) string {
	t.Helper()
	imapd, env := refImapd(t)
	cmd := exec.Command(imapd)
	cmd.Dir = filepath.Dir(md)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "MAILDIR=" + md, "HOME=" + filepath.Dir(md), "IMAP_ACL=1"}, env...)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("imapd: %v\n%s", err, out)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

func untagged(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestInteropWithCourierImapd: ACLs we write are what Courier's imapd enforces and reports,
// and ACLs imapd writes (SETACL, CREATE inheritance) are what we read.
func TestInteropWithCourierImapd(t *testing.T) {
	base, err := os.MkdirTemp("/var/tmp", "courier-acl-interop-")
	if err != nil {
		t.Fatalf("need /var/tmp for the reference imapd (not a sticky-bit dir): %v", err)
	}
	os.Chmod(base, 0o755)
	t.Cleanup(func() { os.RemoveAll(base) })
	md := filepath.Join(base, "Maildir")
	mkfolder(t, md, "")
	mkfolder(t, md, ".Sent")
	mkfolder(t, md, ".Grün")
	for _, f := range []string{".Sent", ".Grün"} {
		os.WriteFile(filepath.Join(md, f, "maildirfolder"), nil, 0o600)
	}
	s := Open(md)
	for _, c := range [][3]string{
		{".Sent", "owner", "acilrsw"}, {".Sent", "user=john", "lr"}, {".Sent", "-user=john", "r"},
		{".Grün", "anyone", "lr"}, {"", "owner", "-x"},
	} {
		if err := s.Set(c[0], c[1], c[2]); err != nil {
			t.Fatalf("Set%v: %v", c, err)
		}
	}
	out := runImapd(t, md, "a MYRIGHTS INBOX.Sent\nb GETACL INBOX.Sent\nc GETACL INBOX.Gr&APw-n\nd MYRIGHTS INBOX\nz LOGOUT\n")
	// imapd reports RFC 2086 letters: our "acilrsw" (no e, t, x) has no "d".
	for prefix, want := range map[string]string{
		`* MYRIGHTS "INBOX.Sent"`: `* MYRIGHTS "INBOX.Sent" "acilrsw"`,
		`* ACL "INBOX.Sent"`:      `* ACL "INBOX.Sent" "owner" "acilrsw" "administrators" "acdilrsw" "john" "lr" "-john" "r"`,
		`* ACL "INBOX.Gr&APw-n"`:  `* ACL "INBOX.Gr&APw-n" "owner" "acdilrsw" "administrators" "acdilrsw" "anyone" "lr"`,
		// owner -x on INBOX: without x there is no RFC 2086 "d"
		`* MYRIGHTS "INBOX"`: `* MYRIGHTS "INBOX" "acilrsw"`,
	} {
		if got := untagged(out, prefix); got != want {
			t.Errorf("imapd: %q, want %q\n%s", got, want, out)
		}
	}
	// ours computes the same, in Courier's letters
	if r, _ := s.Rights(".Sent", "root", nil, true); r != "acilrsw" {
		t.Errorf("our owner rights on Sent = %q", r)
	}
	if r, _ := s.Rights(".Sent", "john", nil, false); r != "l" {
		t.Errorf("our john rights on Sent = %q", r)
	}

	// the reverse: imapd changes ACLs and creates folders, we read them
	out = runImapd(t, md, "a SETACL INBOX.Sent mary +lrw\nb DELETEACL INBOX.Sent john\nc SETACL INBOX owner +c\nd SETACL INBOX bob lrs\ne CREATE INBOX.Neu\nz LOGOUT\n")
	for _, tag := range []string{"a OK", "b OK", "c OK", "d OK", "e OK"} {
		if !strings.Contains(out, "\n"+tag) {
			t.Fatalf("imapd did not answer %q:\n%s", tag, out)
		}
	}
	a, err := s.Read(".Sent")
	if err != nil {
		t.Fatal(err)
	}
	want := ACL{{"owner", "acilrsw"}, {"administrators", AllRights}, {"-user=john", "r"}, {"user=mary", "lrw"}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("Sent after imapd = %v, want %v", a, want)
	}
	if r, _ := s.Rights(".Neu", "bob", nil, false); r != "lrs" {
		t.Errorf("bob on the folder imapd created = %q, want inherited lrs", r)
	}
	if r, _ := s.Rights(".Neu", "root", nil, true); !strings.Contains(r, "a") || !strings.Contains(r, "c") {
		t.Errorf("owner on the new folder = %q", r)
	}
}
