package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDKIMKeygen: "courier dkim keygen DOMAIN -selector S -type T -c DIR" (flags before or
// after the domain) writes the key under DIR/dkim, lists it in DIR/dkimkeys and prints the
// TXT record; "courier dkim dns" prints the records of the keys listed.
func TestDKIMKeygen(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, string, int) {
		var so, se bytes.Buffer
		code := Run(args, strings.NewReader(""), &so, &se, func(string) string { return "" })
		return so.String(), se.String(), code
	}
	out, errOut, code := run("dkim", "keygen", "example.com", "-selector", "s1", "-c", dir)
	if code != 0 || !strings.HasPrefix(out, "s1._domainkey.example.com. 3600 IN TXT \"v=DKIM1; k=rsa; p=") {
		t.Fatalf("keygen: %d %q %q", code, out, errOut)
	}
	out2, _, code := run("dkim", "keygen", "-type", "ed25519", "-c", dir, "example.com", "-selector", "e1")
	if code != 0 || !strings.Contains(out2, "k=ed25519") {
		t.Fatalf("keygen ed25519: %d %q", code, out2)
	}
	for _, f := range []string{"dkim/example.com.s1.key", "dkim/example.com.e1.key", "dkimkeys"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	dns, _, code := run("dkim", "dns", "-c", dir)
	if code != 0 || dns != out2+out {
		t.Errorf("dns: %d %q, want %q", code, dns, out2+out)
	}
	if _, errOut, code := run("dkim", "keygen", "example.com", "-selector", "s1", "-c", dir); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("overwrite: %d %q", code, errOut)
	}
	if _, _, code := run("dkim", "keygen", "-c", dir); code != 2 {
		t.Errorf("no domain: exit %d", code)
	}
}
