package dkim_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"courier/internal/dkim"
)

// lookup answers TXT questions from the records keygen printed.
func lookup(recs ...dkim.Record) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		for _, r := range recs {
			if strings.EqualFold(strings.TrimSuffix(name, "."), r.Name) {
				return []string{r.Value}, nil
			}
		}
		return nil, errors.New("no such record")
	}
}

// verify checks every signature of a message as sent (LF made CRLF).
func verify(t *testing.T, msg string, recs ...dkim.Record) []*msgdkim.Verification {
	t.Helper()
	crlf := strings.ReplaceAll(msg, "\n", "\r\n")
	vs, err := msgdkim.VerifyWithOptions(strings.NewReader(crlf), &msgdkim.VerifyOptions{LookupTXT: lookup(recs...)})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

const message = "Received: from client by us; Mon, 1 Jan 2024 00:00:00 +0000\n" +
	"From: Demo User <demo@example.test>\nTo: someone@example.net\nSubject: signed\n" +
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@example.test>\n\n" +
	"Hello,\n\nthis body is signed.  \n.dot line\n\n\n"

// TestSignVerify: keys made by Generate (RSA and Ed25519 for one domain) sign a message
// stored with LF line ends; both signatures verify against the records Generate returned,
// d= is the From: domain, and a changed body or an added From: breaks them.
func TestSignVerify(t *testing.T) {
	dir := t.TempDir()
	rsaRec, err := dkim.Generate(dir, "Example.TEST", "s1", "rsa")
	if err != nil {
		t.Fatal(err)
	}
	edRec, err := dkim.Generate(dir, "example.test", "s2", "ed25519")
	if err != nil {
		t.Fatal(err)
	}
	if rsaRec.Name != "s1._domainkey.example.test" || !strings.HasPrefix(rsaRec.Value, "v=DKIM1; k=rsa; p=") {
		t.Errorf("record %+v", rsaRec)
	}
	if !strings.Contains(rsaRec.Zone(), `" "`) {
		t.Errorf("an RSA record is longer than 255 octets and must be split: %s", rsaRec.Zone())
	}
	ctl, _ := os.ReadFile(filepath.Join(dir, dkim.ControlFile))
	if !strings.Contains(string(ctl), "\nexample.test s1\nexample.test s2\n") {
		t.Errorf("control file:\n%s", ctl)
	}
	if st, err := os.Stat(filepath.Join(dir, "dkim", "example.test.s1.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}
	kr := dkim.NewKeyring(dir, nil)
	sig, err := kr.Sign(strings.NewReader(message), "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(sig, "DKIM-Signature:") != 2 || !strings.HasSuffix(sig, "\r\n") {
		t.Fatalf("signature fields:\n%s", sig)
	}
	vs := verify(t, sig+message, rsaRec, edRec)
	if len(vs) != 2 {
		t.Fatalf("%d verifications", len(vs))
	}
	for _, v := range vs {
		if v.Err != nil || v.Domain != "example.test" {
			t.Errorf("verification %+v", v)
		}
	}
	for _, bad := range []string{strings.Replace(message, "is signed", "is changed", 1),
		strings.Replace(message, "To:", "From: evil@example.org\nTo:", 1)} {
		for _, v := range verify(t, sig+bad, rsaRec, edRec) {
			if v.Err == nil {
				t.Errorf("a changed message verifies: %+v", v)
			}
		}
	}
	if _, err := dkim.Generate(dir, "example.test", "s1", "rsa"); err == nil {
		t.Error("an existing key was overwritten")
	}
}

// TestSignDomains: a subdomain's mail is signed by its parent's key; mail whose From: has
// no key is signed for the envelope sender's domain, else not at all; a key that cannot be
// read is an error, not a silent omission.
func TestSignDomains(t *testing.T) {
	dir := t.TempDir()
	rec, err := dkim.Generate(dir, "example.test", "k", "ed25519")
	if err != nil {
		t.Fatal(err)
	}
	kr := dkim.NewKeyring(dir, nil)
	sub := strings.Replace(message, "demo@example.test", "demo@lists.EXAMPLE.test", 1)
	sig, err := kr.Sign(strings.NewReader(sub), "")
	if err != nil || !strings.Contains(sig, "d=example.test") {
		t.Fatalf("subdomain: %q %v", sig, err)
	}
	if vs := verify(t, sig+sub, rec); vs[0].Err != nil {
		t.Errorf("subdomain signature: %v", vs[0].Err)
	}
	other := strings.Replace(message, "demo@example.test", "someone@example.org", 1)
	if sig, err := kr.Sign(strings.NewReader(other), ""); sig != "" || err != nil {
		t.Errorf("foreign From: signed: %q %v", sig, err)
	}
	sig, err = kr.Sign(strings.NewReader(other), "example.test")
	if err != nil || !strings.Contains(sig, "d=example.test") {
		t.Errorf("envelope domain: %q %v", sig, err)
	}
	if vs := verify(t, sig+other, rec); vs[0].Err != nil {
		t.Errorf("envelope-domain signature: %v", vs[0].Err)
	}
	// a broken key file: an error for its domain
	if err := os.WriteFile(filepath.Join(dir, "dkim", "example.test.k.key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	kr = dkim.NewKeyring(dir, nil)
	if _, err := kr.Sign(strings.NewReader(message), ""); err == nil {
		t.Error("a broken key gave no error")
	}
}
