package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/store/maildir"
)

func TestMakedatAndGdbm(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "list")
	os.WriteFile(src, []byte("# comment\nexample.com\ndomain.com\tok\n\nuser@\tuser\n10.1.0.0/23\tnet\n"), 0o600)
	dat := filepath.Join(dir, "list.dat")
	var out, errb bytes.Buffer
	if code := Run([]string{"makedat", "-src=" + src, "-file=" + dat, "-tmp=" + dat + ".tmp", "-cidr"}, nil, &out, &errb, maildropEnv(nil)); code != 0 {
		t.Fatalf("makedat: %d %s", code, errb.String())
	}
	md := filepath.Join(dir, "md")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte(`DEFAULT="`+md+`"
if (gdbmopen("`+dat+`") == 0)
{
  A=gdbmfetch("example.com")
  B=gdbmfetch("x.y.domain.com", "D", "none")
  C=gdbmfetch("user@other.org", "D", "none")
  D=gdbmfetch("nosuch.org", "D", "none")
  E=gdbmfetch("10.1.1.77", "I")
  F=gdbmfetch("10.1.2.1", "I", "none")
  G=gdbmstore("k", "v")
  gdbmclose
}
if (gdbmopen("`+dir+`/vac.dat", "C") == 0)
{
  H=gdbmstore("joe@x", "123")
  I=gdbmfetch("joe@x")
  gdbmclose
}
echo "a= $A\nb= $B\nc= $C\nd= $D\ne= $E\nf= $F\ng= $G\nh= $H\ni= $I"
`), 0o600)
	out.Reset()
	code := Run([]string{"maildrop", rc}, strings.NewReader("S: x\n\nb\n"), &out, &errb, maildropEnv(map[string]string{"HOME": dir}))
	want := "a= 1\nb= ok\nc= user\nd= none\ne= net\nf= none\ng= -1\nh= 0\ni= 123\n"
	if code != 0 || out.String() != want {
		t.Fatalf("code %d out %q want %q err %s", code, out.String(), want, errb.String())
	}
}
