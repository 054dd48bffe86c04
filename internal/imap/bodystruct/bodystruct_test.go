package bodystruct

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/mail/mime"
)

// TestCRLFStoredMatchesLF: a message stored with CRLF endings must give exactly what the same
// message stored with LF gives (Courier would send CR CR LF; see package mime).
func TestCRLFStoredMatchesLF(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.eml")
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(msg, []byte("\r\n")) {
			continue
		}
		crlf := bytes.ReplaceAll(msg, []byte("\n"), []byte("\r\n"))
		want := renderAll(t, msg, goldenItems)
		got := renderAll(t, crlf, goldenItems)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: CRLF-stored copy answers differently", filepath.Base(f))
		}
	}
}

func parse(t testing.TB, s string) *mime.Part {
	t.Helper()
	p, err := mime.Parse(strings.NewReader(s), int64(len(s)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnvelopeExact(t *testing.T) {
	for _, tc := range []struct{ hdr, want string }{
		{"From: Alice Example <alice@example.org>\nTo: Bob <bob@example.net>, carol@example.net\nCc: \"Dan, the man\" <dan@example.com>\nSubject: =?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?=\nDate: Tue, 03 Mar 2020 10:15:00 +0100\nMessage-ID: <q1@example.org>\nIn-Reply-To: <q0@example.org>\n\n",
			`("Tue, 03 Mar 2020 10:15:00 +0100" "=?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?=" (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Bob" NIL "bob" "example.net")(NIL NIL "carol" "example.net")) (("Dan, the man" NIL "dan" "example.com")) NIL "<q0@example.org>" "<q1@example.org>")`},
		{"\n", `(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"To: undisclosed-recipients:;\nReply-To: r@x\nFrom: f@y\n\n",
			`(NIL NIL ((NIL NIL "f" "y")) ((NIL NIL "f" "y")) ((NIL NIL "r" "x")) ((NIL NIL "" NIL)(NIL NIL "" NIL)) NIL NIL NIL NIL)`},
		{"To: a\nTo: b@c\nCc: x@y (The X), local, <>\n\n",
			`(NIL NIL NIL NIL NIL ((NIL NIL "a" "")(NIL NIL "b" "c")) (("The X" NIL "x" "y")(NIL NIL "local" "")(NIL NIL "" "")) NIL NIL NIL)`},
		{"Subject: caf\xc3\xa9 au lait\n\n", `(NIL "=?utf-8?B?Y2Fmw6k=?= au lait" NIL NIL NIL NIL NIL NIL NIL NIL)`},
	} {
		got := string(Envelope(parse(t, tc.hdr).Header))
		if got != tc.want {
			t.Errorf("Envelope(%q)\n got %s\nwant %s", tc.hdr, got, tc.want)
		}
	}
	// With UTF8=ACCEPT enabled, 8-bit text goes out raw.
	got := string(AppendEnvelope(nil, parse(t, "Subject: caf\xc3\xa9\n\n").Header, true))
	if want := "(NIL \"caf\xc3\xa9\" NIL NIL NIL NIL NIL NIL NIL NIL)"; got != want {
		t.Errorf("utf8 envelope %q, want %q", got, want)
	}
}

func TestBodyStructureExact(t *testing.T) {
	msg := "Subject: x\n\nbody\n"
	if got, want := string(BodyStructure(parse(t, msg), true)), `("text" "plain" NIL NIL NIL "8bit" 6 1 NIL NIL NIL)`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
	msg = "MIME-Version: 1.0\nContent-Type: text/plain; name=\"a\rb\"\n\nx\n"
	// A CR cannot be quoted (RFC 3501 §4.3): it goes out as a literal.
	if got := string(BodyStructure(parse(t, msg), false)); !strings.Contains(got, "{") {
		t.Errorf("CR in a parameter not sent as a literal: %q", got)
	}
}

func TestParseSection(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		fields []string
		name   string
		bad    bool
	}{
		{"", nil, "", false},
		{"1.2.mime", nil, "1.2.MIME", false},
		{"header.fields", []string{"Subject", "from"}, `HEADER.FIELDS ("Subject" "from")`, false},
		{"3.HEADER.FIELDS.NOT", []string{`a"b`}, `3.HEADER.FIELDS.NOT ("a\"b")`, false},
		{"2.1.TEXT", nil, "2.1.TEXT", false},
		{"MIME", nil, "", true},
		{"0", nil, "", true},
		{"1.0", nil, "", true},
		{"1.", nil, "", true},
		{"TEXT.1", nil, "", true},
		{"HEADER.FIELDS", nil, "", true},
		{"TEXT", []string{"x"}, "", true},
		{"1..2", nil, "", true},
	} {
		s, err := ParseSection(tc.spec, tc.fields)
		if tc.bad {
			if !errors.Is(err, ErrBadSection) {
				t.Errorf("ParseSection(%q) = %v, want ErrBadSection", tc.spec, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSection(%q): %v", tc.spec, err)
			continue
		}
		if s.Name() != tc.name {
			t.Errorf("ParseSection(%q).Name() = %q, want %q", tc.spec, s.Name(), tc.name)
		}
	}
}

func TestExtract(t *testing.T) {
	msg := "Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nline1\nline2\n--b\nContent-Type: message/rfc822\n\nSubject: in\n\ninner\n--b--\n"
	root := parse(t, msg)
	r := strings.NewReader(msg)
	for _, tc := range []struct {
		spec, want string
	}{
		{"1", "line1\r\nline2"},
		{"1.MIME", "Content-Type: text/plain\r\n\r\n"},
		{"2.HEADER", "Subject: in\r\n\r\n"},
		{"2.TEXT", "inner\r"}, // Courier's count is one byte short of the CRLF
		{"2", "Subject: in\r\n\r\ninner\r"},
		{"9", ""},
		{"1.1", ""},
	} {
		s, err := ParseSection(tc.spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Extract(r, root, s)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("BODY[%s] = %q, want %q", tc.spec, got, tc.want)
		}
	}
	s, _ := ParseSection("", nil)
	rd, n, err := OpenPartial(r, root, s, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rd)
	if n != 3 || string(b) != "ct:" {
		t.Errorf("BODY[]<5.3> = %d %q", n, b)
	}
	_, n, _ = OpenPartial(r, root, s, 1<<40, 16)
	if n != 0 {
		t.Errorf("partial past the end gave %d bytes", n)
	}
}

// FuzzRender checks that any message renders without panic and that every section reader
// yields exactly the size it announced.
func FuzzRender(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.eml")
	for _, fn := range files {
		if b, err := os.ReadFile(fn); err == nil && len(b) < 3000 {
			f.Add(b)
		}
	}
	f.Add([]byte("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n----\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		root, err := mime.Parse(bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		_ = BodyStructure(root, true)
		_ = AppendEnvelope(nil, root.Header, true)
		ra := bytes.NewReader(msg)
		for _, spec := range []string{"", "TEXT", "HEADER", "1", "1.MIME", "2.1", "1.HEADER.FIELDS", "2.HEADER.FIELDS.NOT", "3.TEXT"} {
			var fields []string
			if strings.Contains(spec, "FIELDS") {
				fields = []string{"Subject", "content-type"}
			}
			s, err := ParseSection(spec, fields)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range [][2]int64{{0, -1}, {3, 7}} {
				r, n, err := OpenPartial(ra, root, s, w[0], w[1])
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("BODY[%s]: %v", spec, err)
				}
				if int64(len(b)) != n {
					t.Fatalf("BODY[%s]: announced %d, read %d", spec, n, len(b))
				}
			}
		}
		for _, open := range []func() (io.Reader, int64, error){
			func() (io.Reader, int64, error) { return OpenRFC822(ra, int64(len(msg))) },
			func() (io.Reader, int64, error) { return OpenRFC822Header(ra, int64(len(msg))) },
			func() (io.Reader, int64, error) { return OpenRFC822Text(ra, root) },
		} {
			r, n, err := open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil || int64(len(b)) != n {
				t.Fatalf("RFC822*: announced %d, read %d (%v)", n, len(b), err)
			}
		}
	})
}

// FuzzParseSection checks that section parsing never panics and that a parsed section's name
// parses back to the same section.
func FuzzParseSection(f *testing.F) {
	for _, s := range []string{"", "1", "1.2.3.MIME", "HEADER.FIELDS", "text", "0", "1.", "99999999999999999999", "1.TEXT.2", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSection(spec, []string{"X"})
		if err != nil {
			s, err = ParseSection(spec, nil)
			if err != nil {
				return
			}
		}
		name := s.Name()
		if i := strings.IndexByte(name, ' '); i >= 0 {
			name = name[:i]
		}
		s2, err := ParseSection(name, s.Fields)
		if err != nil || s2.Name() != s.Name() {
			t.Fatalf("%q: name %q does not parse back: %v", spec, s.Name(), err)
		}
	})
}
