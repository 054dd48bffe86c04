package smap

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"courier/internal/store/acl"
	"courier/internal/store/maildirstore"
)

// makeMaildir builds the maildir testdata/gen.sh gives Courier: three short messages and
// testdata/mime.eml, named and dated so that every server numbers them alike.
func makeMaildir(t *testing.T) string {
	t.Helper()
	md := filepath.Join(t.TempDir(), "md")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	mimeMsg, err := os.ReadFile("testdata/mime.eml")
	if err != nil {
		t.Fatal(err)
	}
	msgs := [][]byte{}
	for i := 1; i <= 3; i++ {
		msgs = append(msgs, []byte("Subject: smap "+strconv.Itoa(i)+"\nFrom: s"+strconv.Itoa(i)+"@example.org\n\nsmap body "+strconv.Itoa(i)+"\n"))
	}
	msgs = append(msgs, mimeMsg)
	for i, m := range msgs {
		name := filepath.Join(md, "new", strconv.Itoa(1600000001+i)+".M"+strconv.Itoa(i+1)+"P1.test,S="+strconv.Itoa(len(m)))
		if err := os.WriteFile(name, m, 0o600); err != nil {
			t.Fatal(err)
		}
		ts := time.Unix(int64(1600000001+i), 0)
		if err := os.Chtimes(name, ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	return md
}

var uidRE = regexp.MustCompile(`"(UID|NEWUID)=[^"]*"`)

// normalise hides what may differ between two correct servers: SMAP UIDs (Courier's are
// file names) and the order of a run of LIST lines.
func normalise(s string) string {
	s = uidRE.ReplaceAllString(s, `"$1=<uid>"`)
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && strings.HasPrefix(lines[j], "* LIST ") {
			j++
		}
		sort.Strings(lines[i:j])
		i = max(j, i+1)
	}
	return strings.Join(lines, "\n")
}

// run runs one session over a fresh maildir and returns its output.
func run(t *testing.T, md string, input []byte, env map[string]string) string {
	t.Helper()
	st, err := maildirstore.Open(md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if env == nil {
		env = map[string]string{"IMAP_KEYWORDS": "0"}
	}
	var out bytes.Buffer
	err = Serve(context.Background(), bufio.NewReader(bytes.NewReader(input)), &out, st,
		Config{User: "root", ACL: acl.Open(md), Env: env})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	return out.String()
}

// TestGolden replays each testdata/*.in against the same maildir Courier 5.0.13 saw and
// compares with what Courier printed (testdata/*.golden, made by testdata/gen.sh).
func TestGolden(t *testing.T) {
	t.Setenv("TZ", "EST5EDT")
	for _, name := range []string{"basic", "mime", "folders", "errors"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile("testdata/" + name + ".in")
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile("testdata/" + name + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, makeMaildir(t), in, nil)
			if g, w := normalise(got), normalise(string(want)); g != w {
				t.Errorf("transcript differs from Courier's\n%s", lineDiff(w, g))
			}
		})
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant " + strconv.Quote(w) + "\ngot  " + strconv.Quote(g)
		}
	}
	return ""
}
