package pwhash

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestKnownAnswers(t *testing.T) {
	f, err := os.Open("testdata/known-answers.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		pwHex, stored, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		pwb, err := hex.DecodeString(pwHex)
		if err != nil {
			t.Fatal(err)
		}
		pw := string(pwb)
		okv, err := Verify(stored, pw)
		switch Identify(stored) {
		case YescryptScheme, APR1Scheme:
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("Verify(%q) err = %v, want ErrUnsupported", stored, err)
			}
			continue
		}
		if err != nil || !okv {
			t.Errorf("Verify(%q, %q) = %v, %v; want true", stored, pw, okv, err)
		}
		if bad, err := Verify(stored, "x"+pw); bad || err != nil {
			t.Errorf("Verify(%q, wrong) = %v, %v; want false, nil", stored, bad, err)
		}
		n++
	}
	if n < 60 {
		t.Fatalf("only %d known answers checked", n)
	}
}

func TestHashRoundTrip(t *testing.T) {
	for _, s := range []Scheme{DESCryptScheme, MD5CryptScheme, SHA256CryptScheme, SHA512CryptScheme, BcryptScheme,
		Argon2idScheme, LDAPMD5Scheme, LDAPMD5RawScheme, LDAPSHAScheme, LDAPSSHAScheme, LDAPSHA256Scheme,
		LDAPSHA512Scheme, LDAPSSHA256Scheme, LDAPSSHA512Scheme, ClearScheme} {
		h, err := Hash(s, "Tr0ub4dor&3")
		if err != nil {
			t.Fatalf("Hash(%s): %v", s, err)
		}
		if got := Identify(h); got != s {
			t.Errorf("Identify(%q) = %q, want %q", h, got, s)
		}
		if ok, err := Verify(h, "Tr0ub4dor&3"); !ok || err != nil {
			t.Errorf("Verify(Hash(%s)) = %v, %v", s, ok, err)
		}
		if ok, _ := Verify(h, "tr0ub4dor&3"); ok {
			t.Errorf("Verify(Hash(%s), wrong) = true", s)
		}
	}
	if h, _ := Hash(SHA512CryptScheme, "x"); !strings.HasPrefix(h, "$6$") || strings.Contains(h, "rounds=") {
		t.Errorf("sha512-crypt form %q", h)
	}
	if h, _ := Hash(MD5CryptScheme, "x"); !strings.HasPrefix(h, "$1$") || len(h) != 34 {
		t.Errorf("md5-crypt form %q", h)
	}
	if _, err := Hash("nope", "x"); err == nil {
		t.Error("Hash(nope) succeeded")
	}
	if _, err := HashBcrypt(strings.Repeat("x", 73), 4); err == nil {
		t.Error("bcrypt accepted a 73-byte password")
	}
}

func TestVerifyOddInputs(t *testing.T) {
	for _, stored := range []string{"", "bobclear", "{MD5}!!!", "{SSHA}AAAA", "{MD5RAW}zz", "$6$", "$1$x", "$2b$99$xx",
		"$argon2id$v=19$m=1$zz", "{UNKNOWN}abc", "{CRYPT}", "{", strings.Repeat("$", 10000), "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"} {
		ok, err := Verify(stored, "bobclear")
		if ok {
			t.Errorf("Verify(%q) matched", stored)
		}
		_ = err
	}
	// Courier compares a bare value through crypt(3): cleartext never matches.
	if ok, err := Verify("bobclear", "bobclear"); ok || err != nil {
		t.Errorf("bare cleartext: %v %v", ok, err)
	}
	if ok, _ := Verify("{plain}bobclear", "bobclear"); !ok {
		t.Error("{plain} prefix is case-insensitive")
	}
	if !VerifyClear("a", "a") || VerifyClear("a", "b") || VerifyClear("a", "a\x00") {
		t.Error("VerifyClear")
	}
}

func TestHMACContextMatchesUserdbpw(t *testing.T) {
	// `echo secret | userdbpw -hmac-md5` (and -hmac-sha1, -hmac-sha256) from Debian's courier-authlib.
	for _, c := range []struct {
		h    HMACHash
		want string
	}{
		{HMACMD5, "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"},
		{HMACSHA1, "091e0f4c6cb5277ee2beb639a60d0831b5c8adcdaee172433df3e96ba4f00fb1b6a490c3929d2034"},
		{HMACSHA256, "5a84072aab37d22275b139adf7a92564c7f674be98e77d991f6f689d29e0524572804f31b042016804d3dea2f4e991a21b1c8906be161594b202fb74afc8ceb3"},
	} {
		got, err := HMACContext(c.h, "secret")
		if err != nil || got != c.want {
			t.Errorf("HMACContext(%s) = %s, %v; want %s", c.h, got, err, c.want)
		}
	}
}

func TestCRAM(t *testing.T) {
	// RFC 2195 section 2 example.
	ch := []byte("<1896.697170952@postoffice.reston.mci.net>")
	want := "b913a602c7eda7a495b4e6e7334d3890"
	d, err := CRAMDigest(HMACMD5, "tanstaaftanstaaf", ch)
	if err != nil || hex.EncodeToString(d) != want {
		t.Fatalf("CRAMDigest = %x, %v", d, err)
	}
	for _, h := range []HMACHash{HMACMD5, HMACSHA1, HMACSHA256} {
		for _, pw := range []string{"tanstaaftanstaaf", "", strings.Repeat("long", 40)} {
			ctx, err := HMACContext(h, pw)
			if err != nil {
				t.Fatal(err)
			}
			a, err := CRAMDigestFromContext(h, ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := CRAMDigest(h, pw, ch)
			if !VerifyCRAM(b, hex.EncodeToString(a)) || !VerifyCRAM(b, strings.ToUpper(hex.EncodeToString(a))) {
				t.Errorf("%s context digest %x != %x", h, a, b)
			}
		}
	}
	if VerifyCRAM([]byte{1}, "zz") {
		t.Error("VerifyCRAM accepted non-hex")
	}
	if _, err := CRAMDigestFromContext(HMACMD5, "abcd", ch); err == nil {
		t.Error("short context accepted")
	}
	for in, want := range map[string]HMACHash{"CRAM-MD5": HMACMD5, "hmac-sha1": HMACSHA1, "sha256": HMACSHA256} {
		if got, ok := ParseHMACHash(in); !ok || got != want {
			t.Errorf("ParseHMACHash(%q) = %q %v", in, got, ok)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, s := range []Scheme{DESCryptScheme, MD5CryptScheme, SHA512CryptScheme, LDAPSSHAScheme, BcryptScheme} {
		h, err := Hash(s, "benchpw")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(s), func(b *testing.B) {
			for b.Loop() {
				if ok, _ := Verify(h, "benchpw"); !ok {
					b.Fatal("mismatch")
				}
			}
		})
	}
}
