package maildrop

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDatRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.dat")
	m := map[string]string{"a\tb": "c\nd", `back\slash`: "", "plain": "1"}
	if err := WriteDat(p, "", m, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDat(p)
	if err != nil || len(got) != len(m) {
		t.Fatalf("%v %v", got, err)
	}
	for k, v := range m {
		if got[k] != v {
			t.Errorf("%q: %q want %q", k, got[k], v)
		}
	}
	if _, err := ParseDat([]byte("GDBM\x00")); err == nil {
		t.Error("a foreign file was accepted")
	}
}

func FuzzParseDat(f *testing.F) {
	f.Add([]byte(DatMagic + "\nk\tv\nx\\ty\tz\\n\n"))
	f.Add([]byte(DatMagic + "\n\n\\\n"))
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseDat(data)
		if err != nil {
			return
		}
		// what we write we read back the same
		p := filepath.Join(t.TempDir(), "f.dat")
		if err := WriteDat(p, "", m, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := ReadDat(p)
		if err != nil || len(again) != len(m) {
			t.Fatalf("reread: %v (%d vs %d)", err, len(again), len(m))
		}
		for k, v := range m {
			if again[k] != v {
				t.Fatalf("%q: %q vs %q", k, again[k], v)
			}
		}
	})
}

func TestGdbmFunctions(t *testing.T) {
	dir := t.TempDir()
	dat := filepath.Join(dir, "list.dat")
	if err := WriteDat(dat, "", map[string]string{"example.com": "1", "domain.com": "ok", "user@": "user", "10.1.0": "net"}, 0o600); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte(`if (gdbmopen("`+dat+`") == 0)
{
  A=gdbmfetch("example.com")
  B=gdbmfetch("x.y.domain.com", "D", "none")
  C=gdbmfetch("user@other.org", "D", "none")
  D=gdbmfetch("nosuch.org", "D", "none")
  E=gdbmfetch("10.1.0.77", "I")
  F=gdbmfetch("10.1.2.1", "I", "none")
  G=gdbmstore("k", "v")
  gdbmclose
}
if (gdbmopen("vac.dat", "C") == 0)
{
  H=gdbmstore("joe@x", "123")
  I=gdbmfetch("joe@x")
  gdbmclose
}
J=gdbmopen("nosuch.dat")
echo "a=$A b=$B c=$C d=$D e=$E f=$F g=$G h=$H i=$I j=$J"
exit
`), 0o600)
	var out, errb bytes.Buffer
	me := &User{Name: "me", Home: dir, Shell: "/bin/sh", UID: os.Getuid(), GID: os.Getgid()}
	code := Main(&Invocation{Args: []string{"-A", "X: y"}, Stdin: strings.NewReader("S: x\n\nb\n"), Stdout: &out, Stderr: &errb,
		Env: map[string]string{"HOME": dir}, Self: me, ConfigDir: dir})
	_ = rc
	if code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	os.Rename(rc, filepath.Join(dir, ".mailfilter"))
	out.Reset()
	code = Main(&Invocation{Stdin: strings.NewReader("S: x\n\nb\n"), Stdout: &out, Stderr: &errb,
		Env: map[string]string{"HOME": dir}, Self: me, ConfigDir: dir})
	want := "a=1 b=ok c=user d=none e=net f=none g=-1 h=0 i=123 j=-1\n"
	if code != 0 || out.String() != want {
		t.Fatalf("code %d out %q want %q err %s", code, out.String(), want, errb.String())
	}
	if m, err := ReadDat(filepath.Join(dir, "vac.dat")); err != nil || m["joe@x"] != "123" {
		t.Fatalf("vac.dat: %v %v", m, err)
	}
}
