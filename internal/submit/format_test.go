package submit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleEnv() *Envelope {
	return &Envelope{From: "root@example.test", Rcpts: []Rcpt{{Addr: "demo@example.test", Notify: "SUCCESS,FAILURE"}, {Addr: "postmaster"}},
		Ret: "HDRS", EnvID: "abc-123", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestEncodeParse(t *testing.T) {
	content := []byte("Subject: x\n\nbody\n")
	b, err := Encode(sampleEnv(), content)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("COURIER-PICKUP 1 ")) || bytes.IndexByte(b, '\n') != headerLen-1 {
		t.Fatalf("header: %q", b[:headerLen])
	}
	env, off, n, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if string(b[off:off+n]) != string(content) {
		t.Errorf("content %q", b[off:off+n])
	}
	if !sameEnv(env, sampleEnv()) {
		t.Errorf("envelope %+v", env)
	}
}

func sameEnv(a, b *Envelope) bool {
	if a.From != b.From || a.Ret != b.Ret || a.EnvID != b.EnvID || !a.Time.Equal(b.Time) || len(a.Rcpts) != len(b.Rcpts) {
		return false
	}
	for i := range a.Rcpts {
		if a.Rcpts[i] != b.Rcpts[i] {
			return false
		}
	}
	return true
}

func TestParseRefuses(t *testing.T) {
	good, err := Encode(sampleEnv(), []byte("x\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := func(j string) []byte {
		j += "\n"
		h := fileHeader(int64(len(j)), 0)
		return append(h, j...)
	}
	cases := map[string][]byte{
		"empty":           nil,
		"not ours":        []byte("From root Mon Jan  1 00:00:00 2026\nSubject: x\n\n"),
		"version 2":       bytes.Replace(good, []byte("PICKUP 1 "), []byte("PICKUP 2 "), 1),
		"short":           good[:len(good)-1],
		"long":            append(append([]byte(nil), good...), 'x'),
		"upper-case hex":  bytes.Replace(good, []byte(" 0000"), []byte(" 000A"), 1),
		"unknown field":   env(`{"from":"a@b","rcpts":[{"addr":"c@d"}],"time":"2026-01-01T00:00:00Z","uid":0}`),
		"forged identity": env(`{"from":"a@b","rcpts":[{"addr":"c@d"}],"time":"2026-01-01T00:00:00Z","auth":"root"}`),
		"no recipients":   env(`{"from":"a@b","rcpts":[],"time":"2026-01-01T00:00:00Z"}`),
		"no time":         env(`{"from":"a@b","rcpts":[{"addr":"c@d"}]}`),
		"CR in address":   env(`{"from":"a@b","rcpts":[{"addr":"c@d\r\nRCPT TO:<e@f>"}],"time":"2026-01-01T00:00:00Z"}`),
		"angle address":   env(`{"from":"a@b","rcpts":[{"addr":"<c@d>"}],"time":"2026-01-01T00:00:00Z"}`),
		"bad notify":      env(`{"from":"a@b","rcpts":[{"addr":"c@d","notify":"ALWAYS"}],"time":"2026-01-01T00:00:00Z"}`),
		"never and more":  env(`{"from":"a@b","rcpts":[{"addr":"c@d","notify":"NEVER,DELAY"}],"time":"2026-01-01T00:00:00Z"}`),
		"bad ret":         env(`{"from":"a@b","rcpts":[{"addr":"c@d"}],"ret":"ALL","time":"2026-01-01T00:00:00Z"}`),
		"envid space":     env(`{"from":"a@b","rcpts":[{"addr":"c@d"}],"envid":"a b","time":"2026-01-01T00:00:00Z"}`),
		"two objects":     env(`{"from":"a@b","rcpts":[{"addr":"c@d"}],"time":"2026-01-01T00:00:00Z"}{}`),
		"not an object":   env(`["a@b"]`),
		"envelope no LF":  append(fileHeader(3, 0), "{}x"...),
		"huge envelope":   []byte("COURIER-PICKUP 1 7fffffff 0000000000000000\n"),
		"negative length": []byte("COURIER-PICKUP 1 00000010 ffffffffffffffff\n"),
	}
	for name, b := range cases {
		_, _, _, err := Parse(bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestDrop(t *testing.T) {
	dir := t.TempDir()
	if err := MakeDirs(dir, false); err != nil {
		t.Fatal(err)
	}
	d, err := NewDrop(dir, sampleEnv(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte("!")); !errors.Is(err, ErrTooBig) {
		t.Fatalf("past the limit: %v", err)
	}
	if err := d.Commit(); !errors.Is(err, ErrTooBig) {
		t.Fatalf("commit after too big: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, NewDir)); len(ents) != 0 {
		t.Fatalf("a refused drop left %v", ents)
	}

	d, err = NewDrop(dir, sampleEnv(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, NewDir)); len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), ".") {
		t.Fatalf("while writing: %v", ents)
	}
	d.Write([]byte("Subject: s\n\nhello\n"))
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, NewDir, d.Name())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	env, off, n, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !sameEnv(env, sampleEnv()) || string(b[off:off+n]) != "Subject: s\n\nhello\n" {
		t.Errorf("read back %+v %q", env, b[off:off+n])
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, NewDir)); len(ents) != 1 {
		t.Errorf("after commit: %v", ents)
	}
}

func TestMakeDirsShared(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pickup")
	if err := MakeDirs(dir, true); err != nil {
		t.Fatal(err)
	}
	for sub, want := range map[string]os.FileMode{"": 0o755 | os.ModeDir, NewDir: 0o733 | os.ModeSticky | os.ModeDir, BadDir: 0o700 | os.ModeDir} {
		st, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s/%s: mode %v, want %v", dir, sub, st.Mode(), want)
		}
	}
	// existing directories are the administrator's: left as they are
	os.Chmod(filepath.Join(dir, NewDir), 0o700)
	if err := MakeDirs(dir, true); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, NewDir)); st.Mode().Perm() != 0o700 {
		t.Errorf("mode changed: %v", st.Mode())
	}
	os.Remove(filepath.Join(dir, BadDir))
	os.WriteFile(filepath.Join(dir, BadDir), nil, 0o600)
	if err := MakeDirs(dir, true); err == nil {
		t.Error("a file named bad accepted as the directory")
	}
}

func TestNewNameUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := NewName()
		if seen[n] || strings.HasPrefix(n, ".") || strings.ContainsAny(n, "/ \n") {
			t.Fatalf("name %q", n)
		}
		seen[n] = true
	}
}

// FuzzParse: Parse never panics, and what it accepts survives a round trip through
// Encode unchanged.
func FuzzParse(f *testing.F) {
	good, _ := Encode(sampleEnv(), []byte("Subject: x\n\nbody\n"))
	f.Add(good)
	f.Add([]byte("COURIER-PICKUP 1 00000010 0000000000000000\n{\"from\":\"\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, off, n, err := Parse(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if off+n != int64(len(b)) {
			t.Fatalf("content %d+%d of %d", off, n, len(b))
		}
		again, err := Encode(env, b[off:])
		if err != nil {
			t.Fatalf("accepted envelope does not encode: %v", err)
		}
		env2, _, _, err := Parse(bytes.NewReader(again), int64(len(again)))
		if err != nil || !sameEnv(env, env2) {
			t.Fatalf("round trip: %v %+v %+v", err, env, env2)
		}
	})
}
