package pwhash

import (
	"errors"
	"fmt"
)

// Traditional Unix crypt(3): 25 encryptions of a zero block with DES whose
// expansion table is perturbed by a 12-bit salt, keyed by the first eight
// characters of the password (7 bits each). The tables are those of FIPS 46-3;
// bit positions count from 1 at the most significant bit.

var errDESSalt = errors.New("pwhash: bad DES crypt salt")

// desIP is the initial permutation.
var desIP = [64]byte{
	58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
}

// desFP is the final permutation (the inverse of desIP).
var desFP = [64]byte{
	40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
	38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
	36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
	34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
}

// desE is the expansion of the 32-bit right half to 48 bits.
var desE = [48]byte{
	32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9,
	8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
	16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25,
	24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
}

// desP is the permutation applied to the S-box output.
var desP = [32]byte{
	16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
}

// desPC1 selects 56 key bits.
var desPC1 = [56]byte{
	57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
}

// desPC2 selects the 48 bits of each round key.
var desPC2 = [48]byte{
	14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
}

// desShifts is the left rotation of the key halves per round.
var desShifts = [16]byte{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}

// desS holds the eight S-boxes, row-major (row = outer bits, column = inner bits).
var desS = [8][64]byte{
	{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
		0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
		4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
		15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13},
	{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
		3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
		0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
		13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9},
	{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
		13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
		13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
		1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12},
	{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
		13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
		10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
		3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14},
	{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
		14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
		4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
		11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3},
	{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
		10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
		9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
		4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13},
	{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
		13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
		1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
		6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12},
	{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
		1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
		7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
		2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11},
}

// cryptAlphabet is the 64-character alphabet of crypt(3) outputs and salts.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// cryptIndex returns the value of one crypt(3) alphabet character.
func cryptIndex(c byte) (int, bool) {
	switch {
	case c >= '.' && c <= '9':
		return int(c - '.'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 12, true
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 38, true
	}
	return 0, false
}

// permute builds a value of len(table) bits: output bit k (from the top) is
// input bit table[k] of an inBits-wide input.
func permute(in uint64, inBits int, table []byte) uint64 {
	var out uint64
	for _, t := range table {
		out = out<<1 | (in>>(inBits-int(t)))&1
	}
	return out
}

// desSubkeys computes the 16 round keys of a 64-bit key.
func desSubkeys(key uint64) [16]uint64 {
	var ks [16]uint64
	cd := permute(key, 64, desPC1[:])
	c, d := uint32(cd>>28)&0x0fffffff, uint32(cd)&0x0fffffff
	for i := 0; i < 16; i++ {
		s := desShifts[i]
		c = (c<<s | c>>(28-s)) & 0x0fffffff
		d = (d<<s | d>>(28-s)) & 0x0fffffff
		ks[i] = permute(uint64(c)<<28|uint64(d), 56, desPC2[:])
	}
	return ks
}

// DESCrypt computes the traditional 13-character crypt(3) hash of password
// with the 2-character salt taken from the start of salt.
func DESCrypt(password, salt string) (string, error) {
	if len(salt) < 2 {
		return "", errDESSalt
	}
	var saltBits [2]int
	for i := 0; i < 2; i++ {
		v, ok := cryptIndex(salt[i])
		if !ok {
			return "", fmt.Errorf("%w %q", errDESSalt, salt[:2])
		}
		saltBits[i] = v
	}
	// The salt swaps expansion outputs k and k+24 for each set bit.
	e := desE
	for i := 0; i < 2; i++ {
		for j := 0; j < 6; j++ {
			if saltBits[i]>>j&1 == 1 {
				k := 6*i + j
				e[k], e[k+24] = e[k+24], e[k]
			}
		}
	}
	var key uint64
	for i := 0; i < 8; i++ {
		var c byte
		if i < len(password) {
			c = password[i]
		}
		key = key<<8 | uint64(c<<1)
	}
	ks := desSubkeys(key)
	var block uint64
	for n := 0; n < 25; n++ {
		b := permute(block, 64, desIP[:])
		l, r := uint32(b>>32), uint32(b)
		for round := 0; round < 16; round++ {
			x := permute(uint64(r), 32, e[:]) ^ ks[round]
			var sOut uint32
			for s := 0; s < 8; s++ {
				six := byte(x>>(42-6*s)) & 0x3f
				row := six>>4&2 | six&1
				col := six >> 1 & 0xf
				sOut = sOut<<4 | uint32(desS[s][row*16+col])
			}
			f := uint32(permute(uint64(sOut), 32, desP[:]))
			l, r = r, l^f
		}
		block = permute(uint64(r)<<32|uint64(l), 64, desFP[:])
	}
	out := make([]byte, 0, 13)
	out = append(out, salt[0], salt[1])
	for i := 0; i < 11; i++ {
		var c byte
		for j := 0; j < 6; j++ {
			bit := 6*i + j
			c <<= 1
			if bit < 64 {
				c |= byte(block>>(63-bit)) & 1
			}
		}
		out = append(out, cryptAlphabet[c])
	}
	return string(out), nil
}
