// Package pwhash verifies and creates the stored password forms courier-authlib
// understands (checkpassword.c, cryptpassword.c), plus bcrypt and argon2id:
//
//   - "{MD5}" base64 MD5, "{MD5RAW}" hex MD5, "{SHA}" base64 SHA-1, "{SSHA}"
//     salted SHA-1, "{SHA256}" and "{SHA512}" base64 unsalted SHA-2 (and, as
//     LDAP servers write them, "{SSHA256}", "{SSHA512}");
//   - "{CRYPT}" followed by any crypt(3) form;
//   - crypt(3) forms: "$1$" MD5-crypt, "$5$" SHA-256-crypt, "$6$"
//     SHA-512-crypt, "$2a$"/"$2b$"/"$2y$" bcrypt, "$argon2id$" (and
//     "$argon2i$"), and the traditional 13-character DES crypt;
//   - "{CLEAR}" / "{PLAIN}" / "{CLEARTEXT}" followed by the password itself.
//
// Anything else is compared the way Courier does, as a DES crypt hash, so a
// bare cleartext value never matches (Courier's behaviour too). Comparisons
// of computed digests are constant-time. "$y$" (yescrypt) is recognised but not
// verified, nor is "$apr1$": Verify returns ErrUnsupported.
//
// The package also computes the HMAC "intermediate contexts" userdbpw
// -hmac-md5/-hmac-sha1/-hmac-sha256 store in the hmac-*pw fields, and checks a
// CRAM response against such a context or a cleartext password (RFC 2195).
//
// The package holds no mutable state; randomness comes from crypto/rand.
package pwhash

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/argon2"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	xbcrypt "golang.org/x/crypto/bcrypt"
)

// ErrUnsupported reports a stored form this package recognises but cannot verify.
var ErrUnsupported = errors.New("pwhash: unsupported password hash")

// ErrMalformed reports a stored hash that does not parse.
var ErrMalformed = errors.New("pwhash: malformed password hash")

// Scheme names a way of storing a password, for Hash and Identify.
type Scheme string

// The schemes Hash creates and Identify reports.
const (
	DESCryptScheme    Scheme = "des-crypt"    // crypt(3) traditional; Courier's userdbpw default
	MD5CryptScheme    Scheme = "md5-crypt"    // $1$; userdbpw -md5
	SHA256CryptScheme Scheme = "sha256-crypt" // $5$
	SHA512CryptScheme Scheme = "sha512-crypt" // $6$
	BcryptScheme      Scheme = "bcrypt"       // $2y$ / $2b$
	Argon2idScheme    Scheme = "argon2id"     // $argon2id$
	APR1Scheme        Scheme = "apr1"         // $apr1$ (verify only)
	YescryptScheme    Scheme = "yescrypt"     // $y$ (recognised only)
	LDAPMD5Scheme     Scheme = "{MD5}"
	LDAPMD5RawScheme  Scheme = "{MD5RAW}"
	LDAPSHAScheme     Scheme = "{SHA}"
	LDAPSSHAScheme    Scheme = "{SSHA}"
	LDAPSHA256Scheme  Scheme = "{SHA256}"
	LDAPSHA512Scheme  Scheme = "{SHA512}"
	LDAPSSHA256Scheme Scheme = "{SSHA256}"
	LDAPSSHA512Scheme Scheme = "{SSHA512}"
	ClearScheme       Scheme = "{CLEAR}"
)

// braceSchemes maps an upper-cased "{NAME}" prefix to how it is checked.
var braceSchemes = map[string]Scheme{
	"{MD5}":       LDAPMD5Scheme,
	"{MD5RAW}":    LDAPMD5RawScheme,
	"{SHA}":       LDAPSHAScheme,
	"{SHA1}":      LDAPSHAScheme,
	"{SSHA}":      LDAPSSHAScheme,
	"{SHA256}":    LDAPSHA256Scheme,
	"{SHA512}":    LDAPSHA512Scheme,
	"{SSHA256}":   LDAPSSHA256Scheme,
	"{SSHA512}":   LDAPSSHA512Scheme,
	"{CLEAR}":     ClearScheme,
	"{PLAIN}":     ClearScheme,
	"{CLEARTEXT}": ClearScheme,
}

// splitBrace returns the upper-cased "{NAME}" prefix of stored and the rest.
func splitBrace(stored string) (string, string, bool) {
	if !strings.HasPrefix(stored, "{") {
		return "", stored, false
	}
	end := strings.IndexByte(stored, '}')
	if end < 0 || end > 16 {
		return "", stored, false
	}
	return strings.ToUpper(stored[:end+1]), stored[end+1:], true
}

// Identify names the scheme of a stored hash; the empty string if it is none
// of the known forms (Verify then treats it as DES crypt).
func Identify(stored string) Scheme {
	if p, rest, ok := splitBrace(stored); ok {
		if p == "{CRYPT}" {
			return Identify(rest)
		}
		return braceSchemes[p]
	}
	switch {
	case strings.HasPrefix(stored, "$1$"):
		return MD5CryptScheme
	case strings.HasPrefix(stored, "$5$"):
		return SHA256CryptScheme
	case strings.HasPrefix(stored, "$6$"):
		return SHA512CryptScheme
	case strings.HasPrefix(stored, "$2a$"), strings.HasPrefix(stored, "$2b$"), strings.HasPrefix(stored, "$2y$"):
		return BcryptScheme
	case strings.HasPrefix(stored, "$argon2"):
		return Argon2idScheme
	case strings.HasPrefix(stored, "$apr1$"):
		return APR1Scheme
	case strings.HasPrefix(stored, "$y$"):
		return YescryptScheme
	case len(stored) == 13:
		if _, ok := cryptIndex(stored[0]); ok {
			return DESCryptScheme
		}
	}
	return ""
}

// Verify reports whether password matches the stored form. A false result
// with a nil error is a plain mismatch; an error means the stored value could
// not be used at all (ErrUnsupported, ErrMalformed).
func Verify(stored, password string) (bool, error) {
	if p, rest, ok := splitBrace(stored); ok {
		if p == "{CRYPT}" {
			return verifyCrypt(rest, password)
		}
		s, known := braceSchemes[p]
		if !known {
			return false, fmt.Errorf("%w: scheme %s", ErrUnsupported, p)
		}
		return verifyBrace(s, rest, password)
	}
	return verifyCrypt(stored, password)
}

// verifyBrace checks the "{SCHEME}" digest forms.
func verifyBrace(s Scheme, enc, password string) (bool, error) {
	pw := []byte(password)
	switch s {
	case ClearScheme:
		return VerifyClear(enc, password), nil
	case LDAPMD5RawScheme:
		want, err := hex.DecodeString(strings.ToLower(enc))
		if err != nil {
			return false, fmt.Errorf("%w: {MD5RAW}: %v", ErrMalformed, err)
		}
		got := md5.Sum(pw)
		return subtle.ConstantTimeCompare(got[:], want) == 1, nil
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return false, fmt.Errorf("%w: %s: %v", ErrMalformed, s, err)
	}
	var h func() hash.Hash
	salted := false
	switch s {
	case LDAPMD5Scheme:
		h = md5.New
	case LDAPSHAScheme:
		h = sha1.New
	case LDAPSSHAScheme:
		h, salted = sha1.New, true
	case LDAPSHA256Scheme:
		h = sha256.New
	case LDAPSSHA256Scheme:
		h, salted = sha256.New, true
	case LDAPSHA512Scheme:
		h = sha512.New
	case LDAPSSHA512Scheme:
		h, salted = sha512.New, true
	default:
		return false, fmt.Errorf("%w: %s", ErrUnsupported, s)
	}
	d := h()
	size := d.Size()
	if len(raw) < size || (!salted && len(raw) != size) {
		return false, fmt.Errorf("%w: %s: digest length %d", ErrMalformed, s, len(raw))
	}
	d.Write(pw)
	if salted {
		d.Write(raw[size:])
	}
	return subtle.ConstantTimeCompare(d.Sum(nil), raw[:size]) == 1, nil
}

// verifyCrypt checks the crypt(3) forms.
func verifyCrypt(stored, password string) (bool, error) {
	var decode func(string) (algorithm.Digest, error)
	switch Identify(stored) {
	case MD5CryptScheme:
		decode = md5crypt.Decode
	case SHA256CryptScheme, SHA512CryptScheme:
		decode = shacrypt.Decode
	case BcryptScheme:
		decode = bcrypt.Decode
	case Argon2idScheme:
		decode = argon2.Decode
	case YescryptScheme, APR1Scheme:
		return false, fmt.Errorf("%w: %.6q", ErrUnsupported, stored)
	default:
		// Courier hands anything else to crypt(3); glibc then does DES with
		// the first two characters as the salt, which fails for any value
		// that is not a DES hash.
		if len(stored) != 13 {
			if strings.HasPrefix(stored, "$") {
				return false, fmt.Errorf("%w: %.12q", ErrUnsupported, stored)
			}
			return false, nil
		}
		got, err := DESCrypt(password, stored[:2])
		if err != nil {
			return false, nil
		}
		return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1, nil
	}
	d, err := decode(stored)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ok, err := d.MatchAdvanced(password)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return ok, nil
}

// VerifyClear compares a stored cleartext password in constant time (with
// respect to the contents; lengths may differ in timing).
func VerifyClear(stored, password string) bool {
	a := sha256.Sum256([]byte(stored))
	b := sha256.Sum256([]byte(password))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && stored == password
}

// salt returns n random characters of the crypt(3) alphabet.
func salt(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pwhash: random salt: %w", err)
	}
	for i := range b {
		b[i] = cryptAlphabet[b[i]&63]
	}
	return string(b), nil
}

// Hash creates a stored form of password in the given scheme. For bcrypt the
// cost is DefaultBcryptCost (use HashBcrypt to choose); argon2id uses 19 MiB,
// two passes and one lane.
func Hash(s Scheme, password string) (string, error) {
	switch s {
	case DESCryptScheme:
		sl, err := salt(2)
		if err != nil {
			return "", err
		}
		return DESCrypt(password, sl)
	case MD5CryptScheme:
		return hashWith(md5crypt.New(md5crypt.WithVariant(md5crypt.VariantStandard), md5crypt.WithSaltLength(8)))(password)
	case SHA256CryptScheme:
		return hashWith(shacrypt.New(shacrypt.WithVariant(shacrypt.VariantSHA256), shacrypt.WithIterations(shacrypt.IterationsDefaultOmitted)))(password)
	case SHA512CryptScheme:
		return hashWith(shacrypt.New(shacrypt.WithVariant(shacrypt.VariantSHA512), shacrypt.WithIterations(shacrypt.IterationsDefaultOmitted)))(password)
	case BcryptScheme:
		return HashBcrypt(password, DefaultBcryptCost)
	case Argon2idScheme:
		// OWASP's first argon2id setting: 19 MiB, 2 passes, 1 lane.
		return hashWith(argon2.New(argon2.WithVariantID(), argon2.WithMemoryInKiB(19456), argon2.WithIterations(2),
			argon2.WithParallelism(1)))(password)
	case LDAPMD5Scheme, LDAPSHAScheme, LDAPSHA256Scheme, LDAPSHA512Scheme, LDAPSSHAScheme, LDAPSSHA256Scheme, LDAPSSHA512Scheme:
		return hashBrace(s, password)
	case LDAPMD5RawScheme:
		d := md5.Sum([]byte(password))
		return string(s) + hex.EncodeToString(d[:]), nil
	case ClearScheme:
		return string(s) + password, nil
	}
	return "", fmt.Errorf("%w: cannot create %q", ErrUnsupported, s)
}

// hashWith wraps a go-crypt hasher constructor into a hashing function.
func hashWith[H algorithm.Hash](h H, err error) func(string) (string, error) {
	return func(password string) (string, error) {
		if err != nil {
			return "", fmt.Errorf("pwhash: hasher: %w", err)
		}
		d, err := h.Hash(password)
		if err != nil {
			return "", fmt.Errorf("pwhash: hash: %w", err)
		}
		return d.Encode(), nil
	}
}

// hashBrace creates the base64 "{SCHEME}" forms (salted ones with 8 random bytes).
func hashBrace(s Scheme, password string) (string, error) {
	var h hash.Hash
	salted := false
	switch s {
	case LDAPMD5Scheme:
		h = md5.New()
	case LDAPSHAScheme:
		h = sha1.New()
	case LDAPSSHAScheme:
		h, salted = sha1.New(), true
	case LDAPSHA256Scheme:
		h = sha256.New()
	case LDAPSSHA256Scheme:
		h, salted = sha256.New(), true
	case LDAPSHA512Scheme:
		h = sha512.New()
	case LDAPSSHA512Scheme:
		h, salted = sha512.New(), true
	}
	h.Write([]byte(password))
	var sl []byte
	if salted {
		sl = make([]byte, 8)
		if _, err := rand.Read(sl); err != nil {
			return "", fmt.Errorf("pwhash: random salt: %w", err)
		}
		h.Write(sl)
	}
	return string(s) + base64.StdEncoding.EncodeToString(append(h.Sum(nil), sl...)), nil
}

// DefaultBcryptCost is the bcrypt cost Hash uses.
const DefaultBcryptCost = 10

// HashBcrypt creates a "$2b$" bcrypt hash with the given cost (4..31).
// Passwords longer than 72 bytes are refused, as bcrypt would silently
// ignore the rest.
func HashBcrypt(password string, cost int) (string, error) {
	if len(password) > 72 {
		return "", fmt.Errorf("pwhash: bcrypt: password longer than 72 bytes")
	}
	b, err := xbcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("pwhash: bcrypt: %w", err)
	}
	// x/crypto writes "$2a$"; for passwords of at most 72 bytes "$2b$" is the
	// same computation, and the name current libcs write.
	return "$2b$" + strings.TrimPrefix(string(b), "$2a$"), nil
}
