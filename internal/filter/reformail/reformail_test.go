package reformail

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseAndReformat(t *testing.T) {
	m := Parse([]byte("\n\nFrom bob@b Mon\r\nA: 1\r\n  2\r\nreturn-path: <x>\r\n\r\n>From q\r\nbody"))
	if m.FromLine != "From bob@b Mon" || len(m.Fields) != 2 || m.Fields[0].Raw != "A: 1\n  2" || !m.HasBody {
		t.Fatalf("parsed %+v", m)
	}
	out, err := Reformat(m, &Options{From0: true, Concat: true, Add: []string{"Message-ID:"}, Host: "h", Now: time.Unix(16, 0), PID: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := "A: 1 2\nMessage-ID: <10.A.1.reformail@h>\nReturn-Path: <bob@b>\n\nFrom q\nbody\n"
	if string(out) != want {
		t.Fatalf("got %q want %q", out, want)
	}
	if got := m.Extract([]Extraction{{Name: "a:"}}); len(got) != 1 || got[0] != "1 2" {
		t.Fatalf("extract %q", got)
	}
	if _, err := Reformat(m, &Options{Add: []string{"no colon"}}); err == nil {
		t.Fatal("a header without a colon was accepted")
	}
}

func TestSeen(t *testing.T) {
	var cache []byte
	for _, c := range []struct {
		id   string
		seen bool
	}{{"<a>", false}, {"<b>", false}, {"<a>", true}, {"<c>", false}} {
		var seen bool
		seen, cache = Seen(cache, c.id, 10)
		if seen != c.seen {
			t.Fatalf("%s: seen %v", c.id, seen)
		}
	}
	if string(cache) != "<a>\x00<c>\x00\x00" {
		t.Fatalf("cache %q", cache)
	}
}

func TestSplit(t *testing.T) {
	got := Split([]byte("From a\nx\n\nFrom b\ny\n"))
	if len(got) != 2 || string(got[0]) != "From a\nx\n" || string(got[1]) != "From b\ny" {
		t.Fatalf("%q", got)
	}
}

func FuzzReformat(f *testing.F) {
	for _, s := range []string{
		"From: a@b\nSubject: x\n\nbody\n",
		"\n\nFrom x@y Mon\nReturn-Path: <z>\nA: 1\n  2\n\n>From q\n",
		"A: 1\r\nB:\r\n\r\n",
		"no colon\n  cont\nA:1",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := Parse(data)
		o := &Options{From0: true, Concat: true, CRLF: true, AddIfMissing: []string{"Message-ID:"},
			Insert: []string{"A: n"}, Replace: []string{"B: r"}, Rename: [][2]string{{"c:", "D:"}},
			KeepFirst: []string{"e:"}, KeepLast: []string{"f:"}}
		out, err := Reformat(m, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Fields) > 0 && !bytes.Contains(out, []byte("\r\n\r\n")) {
			t.Fatalf("no header end in %q", out)
		}
		m.Extract([]Extraction{{Name: "a:"}, {Name: "B:", WithName: true}})
		m.MessageID()
		for _, part := range Split(data) {
			if len(part) > len(data) {
				t.Fatal("split grew")
			}
		}
		_, c := Seen(data, "<id>", 50)
		if !strings.HasSuffix(string(c), "<id>\x00\x00") {
			t.Fatalf("cache %q", c)
		}
	})
}
