package config

import (
	"reflect"
	"testing"
	"time"
)

func TestParseBool(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"1": true, "0": false, "yes": true, "NO": false, "True": true,
		"false": false, "on": true, "OFF": false, " 1 ": true, "YES": true} {
		got, err := ParseBool(in)
		if err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "2", "y", "maybe", "-1"} {
		if _, err := ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
	if _, err := ParseBool("maybe"); err.Error() != `"maybe" is not a boolean (use 1 or 0)` {
		t.Errorf("err = %v", err)
	}
}

func TestParseInt(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"0": 0, "40": 40, "-3": -3, " 7 ": 7, "+5": 5} {
		got, err := ParseInt(in)
		if err != nil || got != want {
			t.Errorf("ParseInt(%q) = %v, %v", in, got, err)
		}
	}
	for in, msg := range map[string]string{
		"abc":                  `"abc" is not a number`,
		"":                     `"" is not a number`,
		"1.5":                  `"1.5" is not a number`,
		"0x10":                 `"0x10" is not a number`,
		"99999999999999999999": `"99999999999999999999" is out of range`,
	} {
		if _, err := ParseInt(in); err == nil || err.Error() != msg {
			t.Errorf("ParseInt(%q) err = %v, want %q", in, err, msg)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "10485760": 10485760, "10K": 10240, "10k": 10240,
		"2M": 2 << 20, "1G": 1 << 30, "8g": 8 << 30, " 5 ": 5} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v", in, got, err)
		}
	}
	for in, msg := range map[string]string{
		"10X":                  `"10X" is not a size (bytes, or a number followed by K, M or G)`,
		"K":                    `"K" is not a size (bytes, or a number followed by K, M or G)`,
		"-1":                   `"-1" is not a size (bytes, or a number followed by K, M or G)`,
		"1.5M":                 `"1.5M" is not a size (bytes, or a number followed by K, M or G)`,
		"10 M":                 `"10 M" is not a size (bytes, or a number followed by K, M or G)`,
		"9999999999999G":       `"9999999999999G" is out of range`,
		"99999999999999999999": `"99999999999999999999" is out of range`,
	} {
		if _, err := ParseSize(in); err == nil || err.Error() != msg {
			t.Errorf("ParseSize(%q) err = %v, want %q", in, err, msg)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"0":          0,
		"60":         time.Minute,
		"1w":         7 * day,
		"1w2d":       9 * day,
		"1w2d3h4m5s": 9*day + 3*time.Hour + 4*time.Minute + 5*time.Second,
		"4h":         4 * time.Hour,
		"3h30m":      3*time.Hour + 30*time.Minute,
		"1h30":       time.Hour + 30*time.Second,
		"1W 2D":      9 * day,
		" 15m ":      15 * time.Minute,
		"5m5m":       10 * time.Minute,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := ` is not a time interval (like 1w2d3h4m5s; a plain number is seconds)`
	for in, msg := range map[string]string{
		"":                      `""` + bad,
		"1y":                    `"1y"` + bad,
		"1.5h":                  `"1.5h"` + bad,
		"-1h":                   `"-1h"` + bad,
		"h":                     `"h"` + bad,
		"1hh":                   `"1hh"` + bad,
		"99999999999w":          `"99999999999w"` + ` is out of range`,
		"99999999999999999999s": `"99999999999999999999s" is out of range`,
		"15000w15000w":          `"15000w15000w" is out of range`,
	} {
		if _, err := ParseDuration(in); err == nil || err.Error() != msg {
			t.Errorf("ParseDuration(%q) err = %v, want %q", in, err, msg)
		}
	}
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"postmaster@example.com", "example.com", "a.b-c.example", "user+tag@sub.example",
		"пример.испытание", "josé@exämple.test", "root@[127.0.0.1]", "localhost", " x@y.z "} {
		if _, err := ParseAddress(in); err != nil {
			t.Errorf("ParseAddress(%q): %v", in, err)
		}
	}
	for in, msg := range map[string]string{
		"":             `"" is not an e-mail address or domain: empty`,
		"a b@c":        `"a b@c" is not an e-mail address or domain: contains ' '`,
		"@example.com": `"@example.com" is not an e-mail address or domain: nothing before @`,
		"a@b@c":        `"a@b@c" is not an e-mail address or domain: more than one @`,
		"user@":        `"user@" is not an e-mail address or domain: empty domain`,
		"a..b":         `"a..b" is not an e-mail address or domain: empty label in domain`,
		"-a.b":         `"-a.b" is not an e-mail address or domain: domain label starts or ends with '-'`,
		"a_b.c":        `"a_b.c" is not an e-mail address or domain: '_' in domain`,
		"<a@b>":        `"<a@b>" is not an e-mail address or domain: contains '<'`,
		"a@[]":         `"a@[]" is not an e-mail address or domain: empty address literal`,
		"\xff@x":       `"\xff@x" is not an e-mail address or domain: not valid UTF-8`,
		"example.com.": `"example.com." is not an e-mail address or domain: empty label in domain`,
	} {
		if _, err := ParseAddress(in); err == nil || err.Error() != msg {
			t.Errorf("ParseAddress(%q) err = %v, want %q", in, err, msg)
		}
	}
}

func TestSplitLists(t *testing.T) {
	t.Parallel()
	if got := SplitList(" IMAP4rev1  UIDPLUS\tIDLE "); !reflect.DeepEqual(got, []string{"IMAP4rev1", "UIDPLUS", "IDLE"}) {
		t.Errorf("SplitList = %q", got)
	}
	if got := SplitList(""); got != nil {
		t.Errorf("SplitList(\"\") = %q", got)
	}
	if got := SplitCommaList("143, 127.0.0.1.900 ,,993,"); !reflect.DeepEqual(got, []string{"143", "127.0.0.1.900", "993"}) {
		t.Errorf("SplitCommaList = %q", got)
	}
	if got := SplitCommaList(" , "); got != nil {
		t.Errorf("SplitCommaList = %q", got)
	}
}
