// Package cnum reads numbers the way Courier's C programs do with atoi(3), so that a
// setting or an argument such as " 90%" or "7days" means what it means to Courier: leading
// blanks, an optional sign, then digits; anything else ends the number, and no digits is 0.
package cnum

// maxInt is C's INT_MAX: larger values are capped there rather than overflowing.
const maxInt = 1<<31 - 1

// Atoi is C's atoi, with values beyond INT_MAX (or below -INT_MAX) capped.
func Atoi(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (maxInt-9)/10 {
			n = maxInt
			break
		}
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}
