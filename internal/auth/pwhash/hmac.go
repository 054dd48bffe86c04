package pwhash

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// HMACHash names a hash function usable for CRAM (RFC 2195) and for the
// userdb hmac-*pw fields.
type HMACHash string

// The CRAM hash functions courier-authlib supports.
const (
	HMACMD5    HMACHash = "md5"
	HMACSHA1   HMACHash = "sha1"
	HMACSHA256 HMACHash = "sha256"
)

// hmacInfo describes how a hash keeps its state: the constructor, the word
// byte order of the digest (MD5 little-endian, SHA big-endian), and the magic
// of Go's binary marshalling of the state.
type hmacInfo struct {
	newHash func() hash.Hash
	size    int
	little  bool
	magic   string
}

// info returns the description of h, or false for an unknown name.
func (h HMACHash) info() (hmacInfo, bool) {
	switch h {
	case HMACMD5:
		return hmacInfo{md5.New, md5.Size, true, "md5\x01"}, true
	case HMACSHA1:
		return hmacInfo{sha1.New, sha1.Size, false, "sha\x01"}, true
	case HMACSHA256:
		return hmacInfo{sha256.New, sha256.Size, false, "sha\x03"}, true
	}
	return hmacInfo{}, false
}

// ParseHMACHash maps a CRAM mechanism suffix ("md5", "CRAM-SHA1",
// "cram-sha256", "hmac-md5") to its hash.
func ParseHMACHash(s string) (HMACHash, bool) {
	s = strings.ToLower(s)
	s = strings.TrimPrefix(s, "cram-")
	s = strings.TrimPrefix(s, "hmac-")
	h := HMACHash(s)
	_, ok := h.info()
	return h, ok
}

// padState returns the hash state after one block of key^pad, in the digest
// byte order, as courier-authlib's hmac_hashkey computes it.
func padState(in hmacInfo, key []byte, pad byte) ([]byte, error) {
	block := make([]byte, 64)
	copy(block, key)
	for i := range block {
		block[i] ^= pad
	}
	d := in.newHash()
	d.Write(block)
	m, ok := d.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("pwhash: hash state not exportable")
	}
	st, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("pwhash: export hash state: %w", err)
	}
	words := st[len(in.magic) : len(in.magic)+in.size]
	out := make([]byte, in.size)
	copy(out, words)
	if in.little {
		for i := 0; i < len(out); i += 4 {
			out[i], out[i+1], out[i+2], out[i+3] = out[i+3], out[i+2], out[i+1], out[i]
		}
	}
	return out, nil
}

// hmacKey shortens an over-long key as HMAC does.
func hmacKey(in hmacInfo, password string) []byte {
	k := []byte(password)
	if len(k) > 64 {
		d := in.newHash()
		d.Write(k)
		k = d.Sum(nil)
	}
	return k
}

// HMACContext computes what `userdbpw -hmac-md5` (sha1, sha256) prints: the
// hash state after the outer pad block followed by the state after the inner
// pad block, in hex.
func HMACContext(h HMACHash, password string) (string, error) {
	in, ok := h.info()
	if !ok {
		return "", fmt.Errorf("%w: hmac %q", ErrUnsupported, h)
	}
	key := hmacKey(in, password)
	outer, err := padState(in, key, 0x5c)
	if err != nil {
		return "", err
	}
	inner, err := padState(in, key, 0x36)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(outer) + hex.EncodeToString(inner), nil
}

// resume rebuilds a hash positioned after one 64-byte block with the given
// state (digest byte order).
func resume(in hmacInfo, state []byte) (hash.Hash, error) {
	words := make([]byte, len(state))
	copy(words, state)
	if in.little {
		for i := 0; i < len(words); i += 4 {
			words[i], words[i+1], words[i+2], words[i+3] = words[i+3], words[i+2], words[i+1], words[i]
		}
	}
	buf := make([]byte, 0, len(in.magic)+len(words)+64+8)
	buf = append(buf, in.magic...)
	buf = append(buf, words...)
	buf = append(buf, make([]byte, 64)...)
	buf = binary.BigEndian.AppendUint64(buf, 64)
	d := in.newHash()
	if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(buf); err != nil {
		return nil, fmt.Errorf("pwhash: restore hash state: %w", err)
	}
	return d, nil
}

// CRAMDigestFromContext computes the CRAM digest of challenge from a stored
// hmac-*pw context (HMACContext's output).
func CRAMDigestFromContext(h HMACHash, context string, challenge []byte) ([]byte, error) {
	in, ok := h.info()
	if !ok {
		return nil, fmt.Errorf("%w: hmac %q", ErrUnsupported, h)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(context))
	if err != nil || len(raw) != 2*in.size {
		return nil, fmt.Errorf("%w: hmac-%s context", ErrMalformed, h)
	}
	inner, err := resume(in, raw[in.size:])
	if err != nil {
		return nil, err
	}
	inner.Write(challenge)
	outer, err := resume(in, raw[:in.size])
	if err != nil {
		return nil, err
	}
	outer.Write(inner.Sum(nil))
	return outer.Sum(nil), nil
}

// CRAMDigest computes HMAC(password, challenge), the CRAM digest.
func CRAMDigest(h HMACHash, password string, challenge []byte) ([]byte, error) {
	in, ok := h.info()
	if !ok {
		return nil, fmt.Errorf("%w: hmac %q", ErrUnsupported, h)
	}
	m := hmac.New(in.newHash, []byte(password))
	m.Write(challenge)
	return m.Sum(nil), nil
}

// VerifyCRAM checks a hex CRAM response (case-insensitive) against an
// expected digest in constant time.
func VerifyCRAM(expected []byte, responseHex string) bool {
	got, err := hex.DecodeString(strings.ToLower(responseHex))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(expected, got) == 1
}
