package pwhash

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// SCRAMIterations is the PBKDF2 iteration count SCRAMSHA256 uses (RFC 7677's
// minimum).
const SCRAMIterations = 4096

// SCRAMKeys are the stored values of RFC 5802 for SCRAM-SHA-256.
type SCRAMKeys struct {
	Salt      []byte
	Iters     int
	StoredKey []byte
	ServerKey []byte
}

// DeriveSCRAMSHA256 computes SCRAM-SHA-256 keys from a password.
func DeriveSCRAMSHA256(password string, salt []byte, iters int) (SCRAMKeys, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iters, sha256.Size)
	if err != nil {
		return SCRAMKeys{}, fmt.Errorf("pwhash: scram: %w", err)
	}
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return SCRAMKeys{Salt: salt, Iters: iters, StoredKey: stored[:], ServerKey: mac(salted, "Server Key")}, nil
}

// SCRAMSHA256 creates the RFC 5803 form
// "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" (base64) with a random
// 16-byte salt, for the userdb field scram-sha-256pw.
func SCRAMSHA256(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("pwhash: random salt: %w", err)
	}
	k, err := DeriveSCRAMSHA256(password, salt, SCRAMIterations)
	if err != nil {
		return "", err
	}
	return k.String(), nil
}

// String formats the keys in RFC 5803 form.
func (k SCRAMKeys) String() string {
	b := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", k.Iters, b(k.Salt), b(k.StoredKey), b(k.ServerKey))
}

// ParseSCRAMSHA256 parses the RFC 5803 form.
func ParseSCRAMSHA256(s string) (SCRAMKeys, error) {
	rest, ok := strings.CutPrefix(s, "SCRAM-SHA-256$")
	if !ok {
		return SCRAMKeys{}, fmt.Errorf("%w: not SCRAM-SHA-256", ErrMalformed)
	}
	params, keys, ok := strings.Cut(rest, "$")
	itS, saltS, ok1 := strings.Cut(params, ":")
	stS, svS, ok2 := strings.Cut(keys, ":")
	if !ok || !ok1 || !ok2 {
		return SCRAMKeys{}, fmt.Errorf("%w: scram form", ErrMalformed)
	}
	it, err := strconv.Atoi(itS)
	if err != nil || it < 1 || it > 10000000 {
		return SCRAMKeys{}, fmt.Errorf("%w: scram iterations", ErrMalformed)
	}
	d := base64.StdEncoding.DecodeString
	salt, e1 := d(saltS)
	st, e2 := d(stS)
	sv, e3 := d(svS)
	if e1 != nil || e2 != nil || e3 != nil || len(st) != sha256.Size || len(sv) != sha256.Size {
		return SCRAMKeys{}, fmt.Errorf("%w: scram keys", ErrMalformed)
	}
	return SCRAMKeys{Salt: salt, Iters: it, StoredKey: st, ServerKey: sv}, nil
}
