package smap

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"courier/internal/store/maildirstore"
)

func TestWords(t *testing.T) {
	w := &words{s: `  OPEN "a ""b"" c"  x "" y "unterminated`}
	var got []string
	for i := 0; i < 7; i++ {
		got = append(got, w.next())
	}
	want := []string{"OPEN", `a "b" c`, "x", "", "y", "unterminated", ""}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestMsgSet(t *testing.T) {
	w := &words{s: "1 3-5 9 FLAGS"}
	set, next, err := parseMsgSet(w)
	if err != nil || next != "FLAGS" || !reflect.DeepEqual(set, msgSet{{1, 1}, {3, 5}, {9, 9}}) {
		t.Fatalf("got %v %q %v", set, next, err)
	}
	for _, bad := range []string{"3 1", "5-2", "0", "2 2"} {
		if _, _, err := parseMsgSet(&words{s: bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		path []string
		imap string
	}{
		{[]string{"INBOX"}, "INBOX"},
		{[]string{"INBOX", ".."}, `INBOX.\056\056`},
		{[]string{"INBOX", "x/y", "a:b"}, `INBOX.x\057y.a\072b`},
		{[]string{"INBOX", "Persönlich", `a\b`}, `INBOX.Pers&APY-nlich.a\134b`},
	} {
		got, err := imapName(c.path)
		if err != nil || got != c.imap {
			t.Errorf("%q: got %q, %v; want %q", c.path, got, err, c.imap)
			continue
		}
		back, err := smapPath(got)
		if err != nil || !reflect.DeepEqual(back, c.path) {
			t.Errorf("%q: back %q, %v", got, back, err)
		}
	}
	for _, bad := range [][]string{{"inbox"}, {"Foo"}, {"INBOX", "a\x00b"}, {"INBOX", "\x01"}, {"INBOX", ""}} {
		if _, err := imapName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAddLiteral checks the {N} upload, which Courier 5.0.13 can't take pipelined (it
// reads the bytes past its own input buffer), against the protocol as smap.c implements it:
// N bytes, then a line with the next piece's size or an empty line.
func TestAddLiteral(t *testing.T) {
	md := makeMaildir(t)
	in := "ADD FOLDER INBOX\nADD {11}\nSubject: x\n5\n\r\nab\n\nOPEN INBOX\nFETCH 5 CONTENTS.PEEK=ALL\nADD {.}\nx\n"
	got := normalise(run(t, md, []byte(in), nil))
	want := "+OK SMAP1 LOGIN Ok.\n+OK Will add to this folder\n> Go ahead\n* ADD \"UID=<uid>\"\n+OK Message saved\n" +
		"* EXISTS 5\n+OK Folder opened\n{15/15} FETCH 5 CONTENTS\nSubject: x\n\nab\n\n+OK Message retrieved.\n> Go ahead\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

// TestNoEscape makes sure hostile names stay inside the maildir.
func TestNoEscape(t *testing.T) {
	md := makeMaildir(t)
	in := "CREATE INBOX ..\nCREATE INBOX ../../x\nCREATE INBOX /etc\nADD FOLDER INBOX ..\nADD {.}\nx\n.\nLOGOUT\n"
	run(t, md, []byte(in), nil)
	parent := filepath.Dir(md)
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 {
		t.Fatalf("something escaped the maildir: %v", ents)
	}
	for _, d := range []string{`.\056\056`, `.\056\056\057\056\056\057x`, `.\057etc`} {
		if _, err := os.Stat(filepath.Join(md, d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// FuzzCommand runs arbitrary input through a whole session: it must never panic or hang.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"OPEN INBOX\nFETCH 1-3 FLAGS\n", "LIST INBOX\n", `CREATE INBOX ".." "a""b"` + "\n",
		"OPEN INBOX\nFETCH 1 CONTENTS=MIME\nFETCH 4 CONTENTS=BODY.DECODED[1.4.1]\n",
		"OPEN INBOX\nFETCH 4 CONTENTS=HEADERS[1.2.0.0.0.0](:MIME,\n", "ADD {.}\n..\n.\n",
		"ADD {99999999999}\nab", "ADD {3}\nab", "OPEN INBOX\nSEARCH 1-*,5:2 NOT HEADER \"\n",
		"STORE 99999999999999999999-1 +FLAGS=SEEN\n", "OPEN INBOX\nEXPUNGE 1 2 3 4 5\nNOOP\n",
		"SETACL INBOX \"\" -owner a owner -a\n", "IDLE\nRESUME\n", "\x00\xff\"\n",
		"OPEN INBOX\nCOPY 1-4 \"\" INBOX\nMOVE 1 \"\" INBOX \"\x01\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, "IDLE") && !strings.Contains(in, "RESUME") {
			in += "\nRESUME\n"
		}
		md := makeMaildir(t)
		st, err := maildirstore.Open(md, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_ = Serve(context.Background(), bufio.NewReader(strings.NewReader(in)), io.Discard, st, Config{Env: map[string]string{"IMAP_KEYWORDS": "1"}})
	})
}

// FuzzMIME checks the part parser on arbitrary messages.
func FuzzMIME(f *testing.F) {
	data, _ := os.ReadFile("testdata/mime.eml")
	f.Add(data)
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\n--a--"))
	f.Add([]byte("Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n"))
	f.Add(bytes.Repeat([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\n"), 80))
	f.Fuzz(func(t *testing.T, msg []byte) {
		root := parseMIME(msg)
		var walk func(p *part)
		walk = func(p *part) {
			if p.start > p.bodyStart || p.bodyStart > p.end || p.end > len(msg) {
				t.Fatalf("bad offsets %d %d %d of %d", p.start, p.bodyStart, p.end, len(msg))
			}
			for _, c := range p.children {
				walk(c)
			}
		}
		walk(root)
		_ = findPart(root, "1.1.0.2")
	})
}
