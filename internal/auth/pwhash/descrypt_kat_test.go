package pwhash

import "testing"

func TestDESCryptKnownAnswers(t *testing.T) {
	// Produced by Debian's userdbpw (courier-authlib) with no flag, which calls crypt(3).
	for _, c := range []struct{ pw, hash string }{
		{"secret", "dyJbsazrEZdG6"},
		{"abc", "fA94BSeF66em6"},
		{"secret", "gBhtmEmgU5Yj6"},
		{"secret", "xSZlPfeyyZdOk"},
	} {
		got, err := DESCrypt(c.pw, c.hash[:2])
		if err != nil || got != c.hash {
			t.Errorf("DESCrypt(%q, %q) = %q, %v; want %q", c.pw, c.hash[:2], got, err, c.hash)
		}
	}
}
