package cnum

import "testing"

func TestAtoi(t *testing.T) {
	for in, want := range map[string]int{"": 0, "90": 90, " 90%": 90, "\t-7days": -7, "+3": 3, "x1": 0, "- 1": 0, "12a34": 12, "99999999999999999999": maxInt, "-99999999999999999999": -maxInt} {
		if got := Atoi(in); got != want {
			t.Errorf("Atoi(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzAtoi(f *testing.F) {
	for _, s := range []string{"", "-", "+12", " \n 7x", "1e9", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := Atoi(s); n > maxInt || n < -maxInt {
			t.Fatalf("Atoi(%q) = %d", s, n)
		}
	})
}
