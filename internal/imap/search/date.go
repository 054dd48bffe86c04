package search

import (
	"strconv"
	"strings"
	"time"
)

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

var zoneNames = map[string]int{
	"ut": 0, "gmt": 0, "utc": 0, "z": 0,
	"est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600,
	"mst": -7 * 3600, "mdt": -6 * 3600, "pst": -8 * 3600, "pdt": -7 * 3600,
}

// ParseDate parses an RFC 5322 §3.3 date-time leniently (obsolete forms of §4.3 included:
// a missing day name or seconds, two- or three-digit years, named zones, comments). It
// reports false when no date can be made out. A missing or unknown zone counts as UTC.
func ParseDate(s string) (time.Time, bool) {
	s = stripComments(s)
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ','
	})
	// skip a day name
	if len(f) > 0 && len(f[0]) >= 3 && !isDigits(f[0]) && monthIndex(f[0]) < 0 {
		f = f[1:]
	}
	if len(f) < 3 {
		return time.Time{}, false
	}
	var day, mon, year int
	switch {
	case isDigits(f[0]) && monthIndex(f[1]) >= 0: // 1 Jan 2020
		day, _ = strconv.Atoi(f[0])
		mon = monthIndex(f[1]) + 1
	case monthIndex(f[0]) >= 0 && isDigits(f[1]): // Jan 1 2020
		day, _ = strconv.Atoi(f[1])
		mon = monthIndex(f[0]) + 1
	default:
		return time.Time{}, false
	}
	if !isDigits(f[2]) || len(f[2]) > 4 {
		return time.Time{}, false
	}
	year, _ = strconv.Atoi(f[2])
	switch {
	case len(f[2]) <= 2 && year < 50:
		year += 2000
	case len(f[2]) <= 3:
		year += 1900
	}
	if day < 1 || day > 31 {
		return time.Time{}, false
	}
	f = f[3:]
	hh, mm, ss := 0, 0, 0
	if len(f) > 0 && strings.Contains(f[0], ":") {
		parts := strings.Split(f[0], ":")
		if len(parts) < 2 || len(parts) > 3 {
			return time.Time{}, false
		}
		var vals [3]int
		for i, p := range parts {
			if !isDigits(p) || len(p) > 2 {
				return time.Time{}, false
			}
			vals[i], _ = strconv.Atoi(p)
		}
		hh, mm, ss = vals[0], vals[1], vals[2]
		if hh > 23 || mm > 59 || ss > 60 {
			return time.Time{}, false
		}
		f = f[1:]
	}
	off := 0
	if len(f) > 0 {
		z := f[0]
		if (z[0] == '+' || z[0] == '-') && len(z) == 5 && isDigits(z[1:]) {
			h, _ := strconv.Atoi(z[1:3])
			m, _ := strconv.Atoi(z[3:5])
			off = h*3600 + m*60
			if z[0] == '-' {
				off = -off
			}
		} else if o, ok := zoneNames[strings.ToLower(z)]; ok {
			off = o
		}
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.FixedZone("", off))
	if t.Day() != day { // 31 Feb and the like
		return time.Time{}, false
	}
	return t, true
}

func monthIndex(s string) int {
	if len(s) < 3 {
		return -1
	}
	p := strings.ToLower(s[:3])
	for i, m := range monthNames {
		if m == p {
			return i
		}
	}
	return -1
}

func isDigits(s string) bool {
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

// SentDate returns the date of the first Date: field of a header block.
func SentDate(hdr []byte) (time.Time, bool) {
	v, ok := FieldValue(hdr, "Date")
	if !ok {
		return time.Time{}, false
	}
	return ParseDate(unfold(v))
}

// civil is a calendar day as a comparable number (yyyymmdd).
type civil int32

func dayOf(t time.Time) civil {
	y, m, d := t.Date()
	return civil(y*10000 + int(m)*100 + d)
}
