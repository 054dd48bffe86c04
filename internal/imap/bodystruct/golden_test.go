package bodystruct

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"courier/internal/mail/mime"
)

// goldenItems are the FETCH items every golden message is fetched with; testdata/golden/*.out
// hold what Debian's courier-imap 5.0.13 answered (see testdata/golden/capture.sh), with the
// FLAGS updates, [ALERT]s and tagged replies taken out.
var goldenItems = []string{
	"BODYSTRUCTURE", "BODY", "ENVELOPE", "RFC822.SIZE",
	"BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
	"BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[1.HEADER]", "BODY.PEEK[1.TEXT]",
	"BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]",
	"BODY.PEEK[1.1]", "BODY.PEEK[1.2]", "BODY.PEEK[2.1]", "BODY.PEEK[2.1.1]", "BODY.PEEK[3]",
	"BODY.PEEK[HEADER.FIELDS (From Subject content-type)]",
	"BODY.PEEK[HEADER.FIELDS.NOT (Subject MIME-Version)]",
	"BODY.PEEK[1]<2.5>", "BODY.PEEK[]<10.20>", "BODY.PEEK[TEXT]<100000.10>",
	"RFC822.HEADER", "RFC822.TEXT", "RFC822",
}

var itemRE = regexp.MustCompile(`^BODY(?:\.PEEK)?\[([^\] (]*)(?: \(([^)]*)\))?\](?:<(\d+)\.(\d+)>)?$`)

// render answers one FETCH item for message msg as Courier prints it in "* 1 FETCH (...)".
func render(t testing.TB, msg []byte, root *mime.Part, item string) []byte {
	t.Helper()
	ra := bytes.NewReader(msg)
	out := []byte("* 1 FETCH (")
	literal := func(key string, r io.Reader, n int64, err error) {
		if err != nil {
			t.Fatalf("%s: %v", item, err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %v", item, err)
		}
		if int64(len(b)) != n {
			t.Fatalf("%s: size %d but %d bytes", item, n, len(b))
		}
		out = append(out, key...)
		out = append(out, " {"...)
		out = strconv.AppendInt(out, n, 10)
		out = append(out, "}\r\n"...)
		out = append(out, b...)
	}
	switch item {
	case "BODYSTRUCTURE":
		out = append(out, "BODYSTRUCTURE "...)
		out = append(out, BodyStructure(root, true)...)
	case "BODY":
		out = append(out, "BODY "...)
		out = append(out, BodyStructure(root, false)...)
	case "ENVELOPE":
		out = append(out, "ENVELOPE "...)
		out = append(out, Envelope(root.Header)...)
	case "RFC822.SIZE":
		out = fmt.Appendf(out, "RFC822.SIZE %d", root.Size)
	case "RFC822":
		r, n, err := OpenRFC822(ra, int64(len(msg)))
		literal("RFC822", r, n, err)
	case "RFC822.HEADER":
		r, n, err := OpenRFC822Header(ra, int64(len(msg)))
		literal("RFC822.HEADER", r, n, err)
	case "RFC822.TEXT":
		r, n, err := OpenRFC822Text(ra, root)
		literal("RFC822.TEXT", r, n, err)
	default:
		m := itemRE.FindStringSubmatch(item)
		if m == nil {
			t.Fatalf("bad item %q", item)
		}
		var fields []string
		if m[2] != "" {
			fields = strings.Fields(m[2])
		}
		s, err := ParseSection(m[1], fields)
		if err != nil {
			t.Fatalf("%s: %v", item, err)
		}
		key := "BODY[" + s.Name() + "]"
		start, length := int64(0), int64(-1)
		if m[3] != "" {
			start, _ = strconv.ParseInt(m[3], 10, 64)
			length, _ = strconv.ParseInt(m[4], 10, 64)
			key += "<" + m[3] + ">"
		}
		r, n, err := OpenPartial(ra, root, s, start, length)
		literal(key, r, n, err)
	}
	return append(out, ")\r\n"...)
}

func renderAll(t testing.TB, msg []byte, items []string) []byte {
	t.Helper()
	root, err := mime.Parse(bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, it := range items {
		out = append(out, render(t, msg, root, it)...)
	}
	return out
}

// TestGolden compares every item for every message in testdata/golden with Courier's answer.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden messages: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + ".out")
			if err != nil {
				t.Fatal(err)
			}
			got := renderAll(t, msg, goldenItems)
			if !bytes.Equal(got, want) {
				gl, wl := bytes.Split(got, []byte("\r\n")), bytes.Split(want, []byte("\r\n"))
				for i := 0; i < max(len(gl), len(wl)); i++ {
					var g, w []byte
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if !bytes.Equal(g, w) {
						t.Fatalf("line %d differs:\n got: %q\nwant: %q", i+1, g, w)
					}
				}
			}
		})
	}
}

// TestDiffDir compares with Courier answers captured elsewhere: COURIER_DIFF_DIR names a
// folder of NAME.eml and NAME.out files and an items.txt with one FETCH item a line (see
// testdata/golden/capture.sh for how to capture them). It is skipped when the variable is unset;
// it is how random messages were checked against Courier while writing this package.
func TestDiffDir(t *testing.T) {
	dir := os.Getenv("COURIER_DIFF_DIR")
	if dir == "" {
		t.Skip("COURIER_DIFF_DIR not set")
	}
	b, err := os.ReadFile(filepath.Join(dir, "items.txt"))
	if err != nil {
		t.Fatal(err)
	}
	items := strings.Split(strings.TrimSpace(string(b)), "\n")
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	fails := 0
	for _, f := range files {
		msg, _ := os.ReadFile(f)
		want, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + ".out")
		if err != nil {
			continue
		}
		got := renderAll(t, msg, items)
		if bytes.Equal(got, want) {
			continue
		}
		fails++
		gl, wl := bytes.Split(got, []byte("\r\n")), bytes.Split(want, []byte("\r\n"))
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w []byte
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if !bytes.Equal(g, w) {
				t.Errorf("%s line %d differs:\n got: %q\nwant: %q", filepath.Base(f), i+1, g, w)
				break
			}
		}
	}
	t.Logf("%d of %d differ", fails, len(files))
}
