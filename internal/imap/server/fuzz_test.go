package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"courier/internal/imap/server"
	"courier/internal/store/maildir"
	"courier/internal/store/maildirstore"
)

// stdioSession runs one pre-authenticated session over md with the given input and returns
// what the server wrote.
func stdioSession(t testing.TB, md, input string, env map[string]string) string {
	t.Helper()
	set, err := server.SettingsFromEnv(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := maildirstore.Open(md, &maildirstore.Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out bytes.Buffer
	srv := server.New(server.Config{})
	done := make(chan error, 1)
	go func() {
		done <- srv.ServeStdio(context.Background(), strings.NewReader(input), &out, st, md, "fuzz", set)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("session hung on input %q", input)
	}
	return out.String()
}

// fuzzMaildir makes a Maildir with a few messages, one of them multipart.
func fuzzMaildir(t testing.TB) string {
	md := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	msgs := []string{
		"From: a@example.org\nSubject: one\n\nbanana\n",
		"From: b@example.org\nTo: c@example.net\nSubject: =?utf-8?q?caf=C3=A9?=\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhi\n--x\nContent-Type: message/rfc822\n\nSubject: in\n\nbody\n--x--\n",
		"Subject: three\n\n",
	}
	for i, m := range msgs {
		name := fmt.Sprintf("%d.M%dP1.fuzz", 1600000000+i, i)
		if err := os.WriteFile(filepath.Join(md, "new", name), []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return md
}

func TestStdioSessionEndsSilentlyAtEOF(t *testing.T) {
	md := fuzzMaildir(t)
	out := stdioSession(t, md, "a SELECT INBOX\r\nb FETCH 1 (FLAGS)", nil)
	if !strings.HasPrefix(out, "* PREAUTH Ready.\r\n") || strings.Contains(out, "BYE") {
		t.Fatalf("output:\n%s", out)
	}
}

// FuzzSession feeds arbitrary commands to a whole session: any input must give responses
// (BAD, NO or OK), never a panic, a hang or an escape from the Maildir.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a SELECT INBOX\r\nb FETCH 1:* (FLAGS BODYSTRUCTURE ENVELOPE BODY.PEEK[1.2.HEADER] BODY[]<0.10>)\r\n",
		"a SELECT INBOX\r\nb SEARCH OR FROM a (SUBJECT café) NOT LARGER 5\r\nc SORT (REVERSE SUBJECT) UTF-8 ALL\r\nd THREAD REFERENCES UTF-8 ALL\r\n",
		"a CREATE INBOX.x\r\nb RENAME INBOX.x INBOX.y\r\nc LIST \"\" *\r\nd DELETE INBOX.y\r\n",
		"a APPEND INBOX (\\Seen) {5+}\r\nhello\r\nb SELECT INBOX\r\nc STORE 1:* +FLAGS (\\Deleted kw)\r\nd EXPUNGE\r\n",
		"a SELECT INBOX\r\nb UID MOVE 1:* INBOX.Trash\r\nc COPY 2 INBOX\r\nd IDLE\r\nDONE\r\n",
		"a CREATE ../../etc\r\nb SELECT INBOX/../x\r\nc LOGIN {100000000000}\r\n",
		"a SELECT INBOX\r\nb FETCH 0:4294967295 (BODY[HEADER.FIELDS (\"a\" b)]<4294967295.1>)\r\n",
		"a GETACL INBOX\r\nb SETACL INBOX anyone +lr\r\nc MYRIGHTS INBOX\r\nd GETQUOTAROOT INBOX\r\ne STATUS INBOX (MESSAGES SIZE)\r\n",
		"((((((((((((((((((((((((((((((((((((((\r\n",
		"a SEARCH " + strings.Repeat("NOT ", 200) + "ALL\r\n",
	} {
		f.Add(s)
	}
	md := fuzzMaildir(f)
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 1<<16 {
			return
		}
		out := stdioSession(t, md, in, map[string]string{"IMAP_KEYWORDS": "1", "IMAP_IDLE_TIMEOUT": "1"})
		if !strings.HasPrefix(out, "* PREAUTH") {
			t.Fatalf("no greeting: %q", out)
		}
		// Nothing may appear outside the Maildir's parent.
		ents, _ := os.ReadDir(filepath.Dir(md))
		for _, e := range ents {
			if e.Name() != "Maildir" {
				t.Fatalf("created %s outside the Maildir", e.Name())
			}
		}
		_, _ = io.Discard.Write([]byte(out))
	})
}
