package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ParseBool parses a Courier boolean: 1 or 0, also yes/no, true/false and
// on/off in any case. Surrounding blanks are ignored.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use 1 or 0)", s)
}

// ParseInt parses a decimal integer, optionally signed.
func ParseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return n, nil
}

// ParseSize parses a size in bytes: a non-negative integer, optionally
// followed by K, M or G (powers of 1024, either case).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	if !allDigits(t) {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number followed by K, M or G)", s)
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n * mult, nil
}

// ParseDuration parses a time interval the way Courier reads queuetime and
// warntime (courier(8)): integers each followed by w (weeks), d (days),
// h (hours), m (minutes) or s (seconds), e.g. "1w2d" or "3h30m"; a number
// without a letter is seconds. Fractions and negative values are refused.
func ParseDuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%q is not a time interval (like 1w2d3h4m5s; a plain number is seconds)", s)
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return bad()
	}
	var total time.Duration
	for t != "" {
		i := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == 0 {
			return bad()
		}
		n, err := strconv.ParseInt(t[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		unit := time.Second
		if i < len(t) {
			switch t[i] {
			case 'w', 'W':
				unit = 7 * 24 * time.Hour
			case 'd', 'D':
				unit = 24 * time.Hour
			case 'h', 'H':
				unit = time.Hour
			case 'm', 'M':
				unit = time.Minute
			case 's', 'S':
				unit = time.Second
			default:
				return bad()
			}
			i++
		}
		if n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		total += time.Duration(n) * unit
		t = strings.TrimLeft(t[i:], " \t")
	}
	return total, nil
}

// ParseAddress checks, lightly, that s is an e-mail address (local@domain)
// or a bare domain, and returns it with surrounding blanks removed. The
// domain may be UTF-8 (IDN) or a bracketed address literal.
func ParseAddress(s string) (string, error) {
	t := strings.TrimSpace(s)
	fail := func(why string) (string, error) {
		return "", fmt.Errorf("%q is not an e-mail address or domain: %s", s, why)
	}
	if t == "" {
		return fail("empty")
	}
	if !utf8.ValidString(t) {
		return fail("not valid UTF-8")
	}
	for _, r := range t {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("<>(),;\\\"", r) {
			return fail(fmt.Sprintf("contains %q", r))
		}
	}
	domain := t
	if at := strings.LastIndexByte(t, '@'); at >= 0 {
		if at == 0 {
			return fail("nothing before @")
		}
		if strings.IndexByte(t[:at], '@') >= 0 {
			return fail("more than one @")
		}
		domain = t[at+1:]
	}
	if why := checkDomain(domain); why != "" {
		return fail(why)
	}
	return t, nil
}

// checkDomain returns why d is not a valid domain, or "".
func checkDomain(d string) string {
	switch {
	case d == "":
		return "empty domain"
	case strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]"):
		if len(d) == 2 {
			return "empty address literal"
		}
		return ""
	case len(d) > 253:
		return "domain longer than 253 bytes"
	}
	for _, label := range strings.Split(d, ".") {
		switch {
		case label == "":
			return "empty label in domain"
		case len(label) > 63:
			return "domain label longer than 63 bytes"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "domain label starts or ends with '-'"
		}
		for _, r := range label {
			if r < 0x80 && !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return fmt.Sprintf("%q in domain", r)
			}
		}
	}
	return ""
}

// SplitList splits a blank-separated list (IMAP_CAPABILITY, authmodulelist);
// an empty list is nil.
func SplitList(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}

// SplitCommaList splits a comma-separated list (PORT=143,993), trimming blanks
// around items and dropping empty ones.
func SplitCommaList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
