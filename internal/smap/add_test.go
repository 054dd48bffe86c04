package smap

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"courier/internal/store/acl"
	"courier/internal/store/maildirstore"
)

// countMessages counts the files in a maildir's tmp, new and cur: an upload refused
// half-way must leave none behind, not even in tmp.
func countMessages(t *testing.T, md string) int {
	t.Helper()
	n := 0
	for _, d := range []string{"tmp", "new", "cur"} {
		es, err := os.ReadDir(filepath.Join(md, d))
		if err != nil {
			t.Fatal(err)
		}
		n += len(es)
	}
	return n
}

// readStored returns the content of the one message in md whose name is not in before.
func readStored(t *testing.T, md string, before map[string]bool) []byte {
	t.Helper()
	var found []string
	for _, d := range []string{"new", "cur"} {
		es, err := os.ReadDir(filepath.Join(md, d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			p := filepath.Join(md, d, e.Name())
			if !before[baseName(e.Name())] {
				found = append(found, p)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one new message, found %v", found)
	}
	b, err := os.ReadFile(found[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// baseName is a maildir file name without its ":2,…" flags: the session's store moves
// messages from new to cur and adds them.
func baseName(n string) string {
	b, _, _ := strings.Cut(n, ":")
	return b
}

// names returns the base names of the messages in md.
func names(t *testing.T, md string) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, d := range []string{"new", "cur"} {
		es, err := os.ReadDir(filepath.Join(md, d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			m[baseName(e.Name())] = true
		}
	}
	return m
}

// TestAddLineEnds: only the CR of a CRLF goes, in both upload forms and across the pieces
// of a counted upload; dot-stuffing is undone once; a message gets a final line end.
func TestAddLineEnds(t *testing.T) {
	for _, tc := range []struct {
		name, upload, want string
	}{
		{"crlf", "{.}\r\nSubject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\n\nbody\n"},
		{"bare CR kept", "{.}\nSubject: a\rb\n\nx\ry\r\r\nz\n.\n", "Subject: a\rb\n\nx\ry\r\nz\n"},
		{"dot stuffing", "{.}\n..x\n...\n.\n", ".x\n..\n"},
		{"no final line end", "{.}\nabc\r\n.", "abc\n"},
		{"empty", "{.}\n.\n", "\n"},
		{"counted", "{8}\nab\r\ncd\r\n\n", "ab\ncd\n"},
		{"counted CRLF across pieces", "{3}\nab\r4\n\ncd\n\n", "ab\ncd\n"},
		{"counted CR at the end", "{3}\nab\r\n", "ab\n"},
		{"counted bare CR across pieces", "{3}\nab\r2\nxy\n", "ab\rxy\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := makeMaildir(t)
			before := names(t, md)
			in := "ADD FOLDER INBOX \"\"\nADD " + tc.upload
			got := run(t, md, []byte(in), nil)
			if !strings.Contains(got, "+OK Message saved\n") {
				t.Fatalf("not saved:\n%s", got)
			}
			if b := readStored(t, md, before); string(b) != tc.want {
				t.Errorf("stored %q, want %q", b, tc.want)
			}
		})
	}
}

// TestAddLimit: an upload over APPENDLIMIT, whether in long lines, in one line without an
// LF or in counted pieces, is refused once it has been read to its end, nothing of it is
// stored, and the session goes on.
func TestAddLimit(t *testing.T) {
	big := strings.Repeat("a", 3000)
	lines := strings.Repeat(strings.Repeat("b", 99)+"\n", 30)
	for _, tc := range []struct{ name, upload string }{
		{"one line", "{.}\n" + big + "\n.\n"},
		{"many lines", "{.}\n" + lines + ".\n"},
		{"counted", "{3000}\n" + big + "\n"},
		{"counted pieces", "{1000}\n" + big[:1000] + "1000\n" + big[:1000] + "1000\n" + big[:1000] + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := makeMaildir(t)
			n := countMessages(t, md)
			in := "ADD FOLDER INBOX \"\"\nADD " + tc.upload + "NOOP\nADD {.}\nnot stored\n.\nLOGOUT\n"
			got := run(t, md, []byte(in), map[string]string{"APPENDLIMIT": "2048"})
			want := "+OK SMAP1 LOGIN Ok.\n+OK Will add to this folder\n> Go ahead\n" +
				"-ERR File too large (APPENDLIMIT is 2048 bytes)\n+OK Folder updated\n" +
				"> Go ahead\n+OK Message saved\n" +
				"* BYE Courier-SMAP server shutting down\n+OK LOGOUT completed\n"
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if m := countMessages(t, md); m != n {
				t.Errorf("%d files in the maildir, want %d", m, n)
			}
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		md := makeMaildir(t)
		before := names(t, md)
		got := run(t, md, []byte("ADD FOLDER INBOX \"\"\nADD {.}\n"+big[:2047]+"\n.\n"), map[string]string{"APPENDLIMIT": "2048"})
		if !strings.HasSuffix(got, "+OK Message saved\n") {
			t.Fatalf("a message of exactly APPENDLIMIT bytes is refused:\n%s", got)
		}
		if b := readStored(t, md, before); len(b) != 2048 {
			t.Errorf("stored %d bytes", len(b))
		}
	})
}

// repeatReader yields n copies of c.
type repeatReader struct {
	c byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n)
	for i := range p[:k] {
		p[i] = r.c
	}
	r.n -= k
	return int(k), nil
}

// TestAddLongLineMemory: a line of 32 MiB without LF is neither held whole nor stored; the
// session allocates a small fraction of it.
func TestAddLongLineMemory(t *testing.T) {
	md := makeMaildir(t)
	n := countMessages(t, md)
	st, err := maildirstore.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in := io.MultiReader(strings.NewReader("ADD FOLDER INBOX \"\"\nADD {.}\n"), &repeatReader{'a', 32 << 20},
		strings.NewReader("\n.\nNOOP\n"))
	var out bytes.Buffer
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	err = Serve(context.Background(), bufio.NewReaderSize(in, 16<<10), &out, st,
		Config{User: "root", ACL: acl.Open(md), Env: map[string]string{"APPENDLIMIT": "1048576"}})
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	want := "+OK SMAP1 LOGIN Ok.\n+OK Will add to this folder\n> Go ahead\n" +
		"-ERR File too large (APPENDLIMIT is 1048576 bytes)\n+OK Folder updated\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if got := countMessages(t, md); got != n {
		t.Errorf("%d files in the maildir, want %d", got, n)
	}
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 8<<20 {
		t.Errorf("the session allocated %d bytes for a 32 MiB line", a)
	}
}

// TestAddLongLineKept: under the limit a long line is stored intact, as Courier stores it.
func TestAddLongLineKept(t *testing.T) {
	md := makeMaildir(t)
	before := names(t, md)
	line := strings.Repeat("x", 200000)
	got := run(t, md, []byte("ADD FOLDER INBOX \"\"\nADD {.}\nSubject: long\r\n\r\n"+line+"\r\n.\r\n"), nil)
	if !strings.HasSuffix(got, "+OK Message saved\n") {
		t.Fatalf("not saved:\n%s", got)
	}
	if b := readStored(t, md, before); string(b) != "Subject: long\n\n"+line+"\n" {
		t.Errorf("stored %d bytes, not the message", len(b))
	}
}

// TestAddCutUpload: input that ends inside an upload stores nothing and ends the session
// silently.
func TestAddCutUpload(t *testing.T) {
	for _, upload := range []string{"{.}\nSubject: cut\n\nbody", "{.}\nSubject: cut\n\n", "{100}\nshort"} {
		md := makeMaildir(t)
		n := countMessages(t, md)
		got := run(t, md, []byte("ADD FOLDER INBOX \"\"\nADD "+upload), nil)
		if want := "+OK SMAP1 LOGIN Ok.\n+OK Will add to this folder\n> Go ahead\n"; got != want {
			t.Errorf("%q: got\n%s\nwant\n%s", upload, got, want)
		}
		if m := countMessages(t, md); m != n {
			t.Errorf("%q: %d files in the maildir, want %d", upload, m, n)
		}
	}
}

// TestAddSendAndSave: with recipients the message is sent as uploaded and then stored; a
// refusal stores nothing and is shown to the client.
func TestAddSendAndSave(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		md := makeMaildir(t)
		before := names(t, md)
		st, err := maildirstore.Open(md, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sent []byte
		cfg := Config{User: "root", ACL: acl.Open(md), Sendmail: func(_ context.Context, from string, rcpts []string, _ string, msg io.Reader) error {
			if from != "me@example.org" || len(rcpts) != 1 || rcpts[0] != "you@example.org" {
				t.Errorf("sendmail from %q to %q", from, rcpts)
			}
			if refuse {
				return io.ErrUnexpectedEOF
			}
			sent, err = io.ReadAll(msg)
			return err
		}}
		var out bytes.Buffer
		in := "ADD FOLDER INBOX \"\" MAILFROM=me@example.org RCPTTO=you@example.org\nADD {.}\r\nSubject: s\r\n\r\nhi\r\n.\r\n"
		if err := Serve(context.Background(), bufio.NewReader(strings.NewReader(in)), &out, st, cfg); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if refuse {
			if !strings.HasSuffix(out.String(), "> Go ahead\n-ERR unexpected EOF\n") {
				t.Errorf("refused: got\n%s", out.String())
			}
			if len(names(t, md)) != len(before) {
				t.Errorf("a message refused by sendmail was stored")
			}
			continue
		}
		if string(sent) != "Subject: s\n\nhi\n" {
			t.Errorf("sent %q", sent)
		}
		if b := readStored(t, md, before); string(b) != "Subject: s\n\nhi\n" {
			t.Errorf("stored %q", b)
		}
	}
}
