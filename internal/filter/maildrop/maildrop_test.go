package maildrop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/store/maildir"
)

// run parses and runs src against msg in dir and returns the interpreter, outcome and output.
func run(t testing.TB, dir, src, msg string, opts Options) (*Interp, Outcome, string, error) {
	t.Helper()
	p, err := Parse("rc", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var out bytes.Buffer
	opts.Stdout = &out
	opts.WorkDir = dir
	in := New(NewMessage([]byte(msg)), map[string]string{"SHELL": "/bin/sh", "HOME": dir}, opts)
	t.Cleanup(func() { in.Close() })
	o, err := in.Run(p)
	return in, o, out.String(), err
}

func TestEchoAndVariables(t *testing.T) {
	_, o, out, err := run(t, t.TempDir(), "A=5\nB=\"$A$A\" 'x$A'\necho \"$B\"\nexit\n", "S: x\n\nb\n", Options{})
	if err != nil || !o.Done || out != "55x$A\n" {
		t.Fatalf("out %q outcome %+v err %v", out, o, err)
	}
}

func TestDeliverToMaildirAndDefault(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "md")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	if err := maildir.Create(filepath.Join(md, ".Lists"), maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	_, o, _, err := run(t, dir, "if (/^List-Id:/)\n  to \"md/.Lists\"\nto md\n", "List-Id: x\n\nb\n", Options{})
	if err != nil || !o.Done || o.ExitCode != 0 {
		t.Fatalf("outcome %+v err %v", o, err)
	}
	ents, _ := os.ReadDir(filepath.Join(md, ".Lists", "new"))
	if len(ents) != 1 {
		t.Fatalf("%d messages in .Lists", len(ents))
	}
}

func TestCatastrophicRegexTimesOut(t *testing.T) {
	msg := "Subject: " + strings.Repeat("a", 40) + "!\n\nb\n"
	start := time.Now()
	// The look-ahead keeps the pattern on the backtracking engine; on Go's regexp the same
	// pattern without it runs in linear time (TestLinearPatternNeedsNoTimeout).
	in, _, _, err := run(t, t.TempDir(), "if (/^Subject: (a+)+(?!b)$/)\n  echo matched\n", msg, Options{MatchTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	_ = in
}

func TestExceptionDoesNotTrapTimeout(t *testing.T) {
	msg := "Subject: " + strings.Repeat("a", 40) + "!\n\nb\n"
	_, _, _, err := run(t, t.TempDir(), "exception {\n  X=(/^Subject: (a+)+(?!b)$/)\n}\n", msg, Options{MatchTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestWatchdogStopsEndlessLoop(t *testing.T) {
	_, _, _, err := run(t, t.TempDir(), "while (1)\n{\n  X=1\n}\n", "S: x\n\nb\n", Options{Watchdog: 100 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestIncludeDepthLimit(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "self"), []byte("include \"self\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := run(t, dir, "include \"self\"\n", "S: x\n\nb\n", Options{})
	var fe *FatalError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("err %v", err)
	}
	// exception traps it
	_, o, out, err := run(t, dir, "exception {\n  include \"self\"\n}\necho after\nexit\n", "S: x\n\nb\n", Options{})
	if err != nil || !o.Done || out != "after\n" {
		t.Fatalf("out %q err %v", out, err)
	}
}

func TestSyntaxErrorsNameFileAndLine(t *testing.T) {
	for src, line := range map[string]int{
		"echo a\nif (1) {\n}\n":  2,
		"if (1\necho x\n":        1,
		"X=\"open\n":             1,
		"echo a\n\n}\n":          3,
		"X=(1 < 2 < 3)\n":        1,
		"if (1)\n{\necho a\n":    4,
		"X=substr(\"a\")\n":      1,
		strings.Repeat("(", 500): 1,
		"foreach (1)\n{\n}\n":    1,
		"X=(/x/:b,z)\n":          1,
		"\n\n\nX=(/x\n":          4,
	} {
		_, err := Parse("rc", []byte(src))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != line || !strings.HasPrefix(err.Error(), fmt.Sprintf("rc:%d: ", line)) {
			t.Errorf("%q: err %v, want line %d", src, err, line)
		}
	}
}

func TestMboxDelivery(t *testing.T) {
	dir := t.TempDir()
	in, o, _, err := run(t, dir, "cc mb\nexit\n", "S: x\n\nFrom me\nb", Options{})
	if err != nil || !o.Done {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "mb"))
	if !strings.HasPrefix(string(data), "From MAILER-DAEMON ") || !strings.HasSuffix(string(data), "S: x\n\n>From me\nb\n\n") {
		t.Fatalf("mbox %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "mb.lock")); err == nil {
		t.Fatal("dot-lock left behind")
	}
	_ = in
}

// FuzzParse checks that no input makes the parser panic or hang, and that errors name the
// file and a line.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz-seeds/*")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile("testdata/mailfilter-3rules"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("rc", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "rc:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		if p == nil || p.File != "rc" {
			t.Fatalf("no program and no error")
		}
	})
}

// BenchmarkDeliverThreeRules delivers a message through the anchors' three-rule filter
// (header regex, size rule, default) into a Maildir++ with folders, in-process.
func BenchmarkDeliverThreeRules(b *testing.B) {
	home := b.TempDir()
	md := filepath.Join(home, "Maildir")
	for _, d := range []string{md, filepath.Join(md, ".Lists"), filepath.Join(md, ".Big")} {
		if err := maildir.Create(d, maildir.Private, true); err != nil {
			b.Fatal(err)
		}
	}
	src, err := os.ReadFile("testdata/mailfilter-3rules")
	if err != nil {
		b.Fatal(err)
	}
	prog, err := Parse("mailfilter-3rules", src)
	if err != nil {
		b.Fatal(err)
	}
	msgs := [][]byte{
		[]byte("From: a@anchors.example.test\nTo: b@example.test\nSubject: list mail\nList-Id: <dev.anchors.example.test>\n\nhello\n"),
		[]byte("From: a@example.test\nTo: b@example.test\nSubject: plain\n\n" + strings.Repeat("text line of a message body\n", 40)),
		[]byte("From: a@example.test\nTo: b@example.test\nSubject: big\n\n" + strings.Repeat("x", 60000) + "\n"),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		in := New(NewMessage(msgs[i%len(msgs)]), map[string]string{"HOME": home, "SHELL": "/bin/sh"}, Options{WorkDir: home})
		o, err := in.Run(prog)
		if err != nil || !o.Done {
			b.Fatalf("run: %+v %v", o, err)
		}
		in.Close()
	}
}
