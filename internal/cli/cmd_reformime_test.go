package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const reformimeSample = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n" +
	"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nH=F3la\n--XX\n" +
	"Content-Type: application/octet-stream; name=\"../a b.bin\"\nContent-Transfer-Encoding: base64\n\naGVsbG8K\n--XX--\n"

func TestReformimeExtract(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Run([]string{"reformime", "-x" + filepath.Join(dir, "p-")}, strings.NewReader(reformimeSample), &out, &errb, maildropEnv(nil)); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	for name, want := range map[string]string{"p-attachment2.dat": "H\xf3la", "p-a_b.bin": "hello\n"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	out.Reset()
	code := Run([]string{"reformime", "-s", "1.2", "-X", "sh", "-c", `echo "$CONTENT_TYPE $FILENAME"; cat; exit 2`}, strings.NewReader(reformimeSample), &out, &errb, maildropEnv(nil))
	if code != 22 || out.String() != "application/octet-stream a_b.bin\nhello\n" {
		t.Fatalf("code %d out %q", code, out.String())
	}
	out.Reset()
	if code := Run([]string{"reformime", "-e", "-s", "1.1"}, strings.NewReader(reformimeSample), &out, &errb, maildropEnv(nil)); code != 0 || out.String() != "H\xf3la" {
		t.Fatalf("code %d out %q", code, out.String())
	}
}

func TestReformailSplitAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	env := maildropEnv(map[string]string{"FILENO": "09"})
	code := Run([]string{"reformail", "-s", "sh", "-c", `echo "$FILENO $(head -1)"`}, strings.NewReader("From a x\nS: 1\n\nFrom b y\nS: 2\n"), &out, &errb, env)
	if code != 0 || out.String() != "09 From a x\n10 From b y\n" {
		t.Fatalf("code %d out %q err %q", code, out.String(), errb.String())
	}
	cache := filepath.Join(dir, "dup")
	for i, want := range []int{1, 0, 1} {
		id := "<a@b>"
		if i == 2 {
			id = "<c@d>"
		}
		if code := Run([]string{"reformail", "-D", "100", cache}, strings.NewReader("Message-ID: "+id+"\n\nb\n"), &out, &errb, env); code != want {
			t.Fatalf("message %d: exit %d, want %d", i, code, want)
		}
	}
}
