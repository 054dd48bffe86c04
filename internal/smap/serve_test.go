package smap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"courier/internal/store/acl"
	"courier/internal/store/maildirstore"
)

// TestServeFlushesCallerBuffer: when the caller hands Serve a *bufio.Writer (the IMAP
// server does), every reply reaches the writer below it while the session runs.
func TestServeFlushesCallerBuffer(t *testing.T) {
	md := makeMaildir(t)
	st, err := maildirstore.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), bufio.NewReader(inR), bufio.NewWriterSize(outW, 8<<10), st,
			Config{User: "root", ACL: acl.Open(md)})
		outW.Close()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no reply while waiting for %q: the output sits in a buffer", want)
		}
	}
	expect("+OK SMAP1 LOGIN Ok.")
	if _, err := io.WriteString(inW, "NOOP\n"); err != nil {
		t.Fatal(err)
	}
	expect("+OK Folder updated")
	if _, err := io.WriteString(inW, "LOGOUT\n"); err != nil {
		t.Fatal(err)
	}
	expect("* BYE Courier-SMAP server shutting down")
	expect("+OK LOGOUT completed")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	inW.Close()
}

// timeoutReader returns its text, then fails as a read past its deadline does.
type timeoutReader struct{ r io.Reader }

func (t timeoutReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, os.ErrDeadlineExceeded
	}
	return n, err
}

// TestServeTimeout: a read that times out (the caller's idle limit) ends the session with
// a BYE, in the command loop and in IDLE; one cut short by the server stopping says the
// server is shutting down and is no error.
func TestServeTimeout(t *testing.T) {
	for _, in := range []string{"NOOP\n", "OPEN INBOX\nIDLE\n"} {
		md := makeMaildir(t)
		st, err := maildirstore.Open(md, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		err = Serve(context.Background(), bufio.NewReader(timeoutReader{strings.NewReader(in)}), &out, st,
			Config{User: "root", ACL: acl.Open(md)})
		st.Close()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%q: Serve returned %v", in, err)
		}
		if !strings.HasSuffix(out.String(), "\n* BYE Disconnected for inactivity.\n") {
			t.Errorf("%q: got\n%s", in, out.String())
		}
	}
	md := makeMaildir(t)
	st, err := maildirstore.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	err = Serve(ctx, bufio.NewReader(stopReader{cancel}), &out, st, Config{User: "root", ACL: acl.Open(md)})
	if want := "+OK SMAP1 LOGIN Ok.\n* BYE Courier-SMAP server shutting down\n"; err != nil || out.String() != want {
		t.Errorf("server stopping: %v\n%s", err, out.String())
	}
}

// stopReader is a read the server cuts short as it stops: it cancels the session's
// context and times out.
type stopReader struct{ cancel context.CancelFunc }

func (r stopReader) Read([]byte) (int, error) {
	r.cancel()
	return 0, os.ErrDeadlineExceeded
}
