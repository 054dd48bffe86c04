package smap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"courier/internal/store"
	"courier/internal/store/acl"
	"courier/internal/store/maildirstore"
)

var snapRE = regexp.MustCompile(`(?m)^\* SNAPSHOT "([^"]*)"$`)

// lastSnapshot returns the id of the last "* SNAPSHOT" line of a session's output.
func lastSnapshot(t *testing.T, out string) string {
	t.Helper()
	m := snapRE.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		t.Fatalf("no * SNAPSHOT in:\n%s", out)
	}
	return m[len(m)-1][1]
}

// TestSnapshotSession drives SOPEN through Serve over stdio-like streams: a bogus id opens
// like OPEN, NOOP announces a snapshot, a later SOPEN with it reports only the changes.
func TestSnapshotSession(t *testing.T) {
	md := makeMaildir(t)
	out := run(t, md, []byte("SOPEN bogus INBOX\nNOOP\nNOOP\nSTORE 2 +FLAGS=SEEN\nNOOP\nLOGOUT\n"), nil)
	ids := snapRE.FindAllStringSubmatch(out, -1)
	if len(ids) != 2 {
		t.Fatalf("want a snapshot at the first NOOP and one after STORE, got:\n%s", out)
	}
	if !strings.HasPrefix(out, "+OK SMAP1 LOGIN Ok.\n* EXISTS 4\n+OK Folder opened\n* SNAPSHOT ") {
		t.Fatalf("SOPEN with an unknown id must answer as OPEN:\n%s", out)
	}
	if !strings.Contains(out, "+OK Folder updated\n+OK Folder updated\n* FETCH 2 FLAGS=SEEN\n") {
		t.Fatalf("an unchanged folder must not get a new snapshot:\n%s", out)
	}
	id := ids[1][1]
	sdir := filepath.Join(md, snapshotDirName)
	body, err := os.ReadFile(filepath.Join(sdir, id))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^1 4 \d+ 5:` + regexp.QuoteMeta(ids[0][1]) + "\n1:2,\n2:2,S\n3:2,\n4:2,\n$").Match(body) {
		t.Fatalf("snapshot file:\n%s", body)
	}

	// Elsewhere: message 1 goes, message 3 is flagged.
	run(t, md, []byte("OPEN INBOX\nSTORE 1 +FLAGS=DELETED\nSTORE 3 +FLAGS=MARKED\nEXPUNGE\nLOGOUT\n"), nil)
	out = run(t, md, []byte("SOPEN \""+id+"\" INBOX\nFETCH 1-3 FLAGS\nNOOP\nLOGOUT\n"), nil)
	want := "+OK SMAP1 LOGIN Ok.\n* SNAPSHOTEXISTS \"" + id + "\"\n* EXPUNGE 1\n* FETCH 2 FLAGS=MARKED\n+OK Folder updated\n" +
		"* FETCH 1 FLAGS=SEEN\n* FETCH 2 FLAGS=MARKED\n* FETCH 3 FLAGS=\n+OK Message retrieved.\n"
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got:\n%s\nwant prefix:\n%s", out, want)
	}
	newID := lastSnapshot(t, out)
	// The new snapshot names the restored one as its previous; the one before that (the
	// first of the first session) is gone.
	if _, err := os.Stat(filepath.Join(sdir, ids[0][1])); !os.IsNotExist(err) {
		t.Fatalf("the snapshot two generations back should be deleted: %v", err)
	}
	body, err = os.ReadFile(filepath.Join(sdir, newID))
	if err != nil || !strings.Contains(string(body), ":"+id+"\n") {
		t.Fatalf("new snapshot %q: %v\n%s", newID, err, body)
	}

	// OPEN never announces snapshots, even with changes.
	out = run(t, md, []byte("OPEN INBOX\nSTORE 1 +FLAGS=DELETED\nNOOP\nLOGOUT\n"), nil)
	if strings.Contains(out, "SNAPSHOT") {
		t.Fatalf("OPEN announced a snapshot:\n%s", out)
	}
	// Ids that could leave the directory are refused without looking.
	for _, bad := range []string{`""`, ".hidden", "../" + snapshotDirName + "/" + id, `"a/b"`} {
		out = run(t, md, []byte("SOPEN "+bad+" INBOX\nLOGOUT\n"), nil)
		if !strings.Contains(out, "* EXISTS 3\n+OK Folder opened\n") {
			t.Fatalf("SOPEN %s:\n%s", bad, out)
		}
	}
}

// TestSnapshotNewMessageAndKeywords: with keywords on, a restore reports new messages with
// EXISTS and keyword changes with FETCH FLAGS and KEYWORDS, as Courier does.
func TestSnapshotNewMessageAndKeywords(t *testing.T) {
	md := makeMaildir(t)
	kw := map[string]string{"IMAP_KEYWORDS": "1"}
	out := run(t, md, []byte("SOPEN x INBOX\nSTORE 1 +KEYWORDS=foo,bar\nNOOP\nLOGOUT\n"), kw)
	id := lastSnapshot(t, out)
	body, err := os.ReadFile(filepath.Join(md, snapshotDirName, id))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\nbar\nfoo\n\n1600000001\.M1P1\.test,S=\d+:0 1\n$`).Match(body) {
		t.Fatalf("keyword list of the snapshot:\n%s", body)
	}
	msg := "Subject: new\n\nnew\n"
	name := filepath.Join(md, "new", fmt.Sprintf("1700000000.M1P2.test,S=%d", len(msg)))
	if err := os.WriteFile(name, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, md, []byte("OPEN INBOX\nSTORE 1 -KEYWORDS=foo\nSTORE 2 +KEYWORDS=baz\nLOGOUT\n"), kw)
	out = run(t, md, []byte("SOPEN \""+id+"\" INBOX\nLOGOUT\n"), kw)
	want := "+OK SMAP1 LOGIN Ok.\n* SNAPSHOTEXISTS \"" + id + "\"\n* EXISTS 5\n" +
		"* FETCH 1 FLAGS= \"KEYWORDS=bar\"\n* FETCH 2 FLAGS= \"KEYWORDS=baz\"\n+OK Folder updated\n"
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got:\n%s\nwant prefix:\n%s", out, want)
	}
}

// TestSnapshotUIDValidity: a snapshot of another UIDVALIDITY is not restored.
func TestSnapshotUIDValidity(t *testing.T) {
	md := makeMaildir(t)
	run(t, md, []byte("OPEN INBOX\nLOGOUT\n"), nil)
	if err := os.WriteFile(filepath.Join(md, snapshotDirName, "old"), []byte("1 1 12345 2\n1:2,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, md, []byte("SOPEN old INBOX\nLOGOUT\n"), nil)
	if !strings.Contains(out, "* EXISTS 4\n+OK Folder opened\n") || strings.Contains(out, "SNAPSHOTEXISTS") {
		t.Fatalf("got:\n%s", out)
	}
}

func TestParseSnapshot(t *testing.T) {
	keys := map[string]store.UID{"a": 1, "b": 3}
	in := "1 3 77 9:prev.id\n1:2,S\n3:2,DFRST\n8:\nk1\nk2\n\na:1\nb:0 1 7\nzzz:0\n"
	entries, prev, err := parseSnapshot(bufio.NewReader(strings.NewReader(in)), 77, true, keys)
	if err != nil || prev != "prev.id" || len(entries) != 3 {
		t.Fatalf("entries %v prev %q err %v", entries, prev, err)
	}
	if entries[0].flags != store.Seen || entries[1].flags != store.Draft|store.Flagged|store.Answered|store.Seen|store.Deleted || entries[2].flags != 0 {
		t.Fatalf("flags: %+v", entries)
	}
	if strings.Join(entries[0].kws, ",") != "k2" || strings.Join(entries[1].kws, ",") != "k1,k2" || entries[2].kws != nil {
		t.Fatalf("keywords: %+v", entries)
	}
	for _, bad := range []string{
		"", "2 0 77 1\n", "1 0 78 1\n", "1 2 77 3\n1:2,\n", "1 2 77 3\n2:2,\n1:2,\n",
		"1 1 77 3\n1 2,\n", "1 1 77 3\nx:2,\n", "1 1 77\n", "1 1 77 2\n1:" + strings.Repeat("S", 200) + "\n",
	} {
		if _, _, err := parseSnapshot(bufio.NewReader(strings.NewReader(bad)), 77, false, nil); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for f := store.Flags(0); f < 32; f++ {
		if parseInfoFlags(infoFlags(f)) != f {
			t.Errorf("flags %v do not survive %q", f, infoFlags(f))
		}
	}
}

// FuzzParseSnapshot: any file in the snapshot directory is read without a panic.
func FuzzParseSnapshot(f *testing.F) {
	f.Add("1 3 77 9:prev.id\n1:2,S\n3:2,DFRST\n8:\nk1\nk2\n\na:1\nb:0 1 7\n")
	f.Add("1 0 77 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, _, _ = parseSnapshot(bufio.NewReader(strings.NewReader(in)), 77, true, map[string]store.UID{"a": 1})
	})
}

// TestPruneSnapshots checks Courier's bounds: stale generations, foreign files, age past
// ten snapshots, and the cap of fifty.
func TestPruneSnapshots(t *testing.T) {
	now := time.Unix(1800000000, 0)
	s := &session{cfg: Config{Now: func() time.Time { return now }}, log: slog.New(slog.DiscardHandler)}
	write := func(dir, name, prev string, age time.Duration) {
		t.Helper()
		head := "1 0 1 1"
		if prev != "" {
			head += ":" + prev
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(head+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ts := now.Add(-age)
		if err := os.Chtimes(p, ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	left := func(dir string) string {
		ents, _ := os.ReadDir(dir)
		var n []string
		for _, e := range ents {
			n = append(n, e.Name())
		}
		return strings.Join(n, " ")
	}

	dir := t.TempDir()
	write(dir, "a", "", 3*time.Hour)
	write(dir, "b", "a", 2*time.Hour)
	write(dir, "c", "b", time.Hour)
	write(dir, "x", "", time.Hour)
	if err := os.WriteFile(filepath.Join(dir, "junk"), []byte("not a snapshot\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".dot"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.pruneSnapshots(dir)
	if got := left(dir); got != ".dot b c x" {
		t.Fatalf("left %q", got)
	}

	// Thirteen snapshots, 20 down to 8 days old: the limit on age is 7+3*2 = 13 days, then
	// 11 for twelve; ten always stay.
	dir = t.TempDir()
	for i := 0; i < 13; i++ {
		write(dir, fmt.Sprintf("s%02d", i), "", time.Duration(20-i)*24*time.Hour)
	}
	s.pruneSnapshots(dir)
	if got := left(dir); !strings.HasPrefix(got, "s03 s04") || len(strings.Fields(got)) != 10 {
		t.Fatalf("left after pruning by age: %q", got)
	}
	// Twelve, of which the oldest are young: nothing goes.
	dir = t.TempDir()
	for i := 0; i < 12; i++ {
		write(dir, fmt.Sprintf("y%02d", i), "", time.Duration(12-i)*time.Hour)
	}
	s.pruneSnapshots(dir)
	if n := len(strings.Fields(left(dir))); n != 12 {
		t.Fatalf("%d young snapshots left: %s", n, left(dir))
	}

	// Fresh ones are capped at fifty, the oldest going first.
	dir = t.TempDir()
	for i := 0; i < 60; i++ {
		write(dir, fmt.Sprintf("f%02d", i), "", time.Duration(60-i)*time.Minute)
	}
	s.pruneSnapshots(dir)
	got := strings.Fields(left(dir))
	if len(got) != maxSnapshots || got[0] != "f10" {
		t.Fatalf("left %d, first %q", len(got), got[0])
	}
}

// TestSnapshotNoPathStore: a store without a directory has no snapshots; SOPEN opens like
// OPEN and NOOP announces none.
func TestSnapshotNoPathStore(t *testing.T) {
	if _, ok := any(noPath{}).(Pather); ok {
		t.Fatal("noPath must not be a Pather")
	}
	s := &session{st: noPath{}, log: slog.New(slog.DiscardHandler), w: bufio.NewWriter(io.Discard)}
	if _, ok := s.initSnapshots("INBOX", true, "x"); ok || s.snap.dir != "" {
		t.Fatal("snapshots without a directory")
	}
}

// noPath is a Store that is not a Pather; initSnapshots only asks for the path.
type noPath struct{ store.Store }

// TestSnapshotBusyNoop: a NOOP that reports changes saves no snapshot; the next quiet one
// does (Courier's order). The change arrives while the session waits for its next line.
func TestSnapshotBusyNoop(t *testing.T) {
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
		done <- Serve(context.Background(), bufio.NewReader(inR), outW, st,
			Config{User: "root", ACL: acl.Open(md), Env: map[string]string{"IMAP_KEYWORDS": "0"}})
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	expect := func(want string) {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("no line while waiting for %q", want)
		}
		if got := lines.Text(); got != want && !(strings.HasSuffix(want, "*") && strings.HasPrefix(got, strings.TrimSuffix(want, "*"))) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	send := func(s string) {
		t.Helper()
		if _, err := io.WriteString(inW, s); err != nil {
			t.Fatal(err)
		}
	}
	expect("+OK SMAP1 LOGIN Ok.")
	send("SOPEN none INBOX\n")
	expect("* EXISTS 4")
	expect("+OK Folder opened")
	msg := "Subject: new\n\nnew\n"
	if err := os.WriteFile(filepath.Join(md, "new", fmt.Sprintf("1700000000.M1P2.test,S=%d", len(msg))), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	send("NOOP\n")
	expect("* EXISTS 5")
	expect("+OK Folder updated")
	send("NOOP\n")
	expect(`* SNAPSHOT "*`)
	expect("+OK Folder updated")
	send("LOGOUT\n")
	expect("* BYE Courier-SMAP server shutting down")
	expect("+OK LOGOUT completed")
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
