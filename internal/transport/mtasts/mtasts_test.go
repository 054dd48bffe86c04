package mtasts_test

import (
	"strings"
	"testing"
	"time"

	"courier/internal/transport/mtasts"
)

// TestParse: RFC 8461 section 3.2's fields, CRLF or LF, unknown keys ignored, and the
// required ones enforced.
func TestParse(t *testing.T) {
	p, err := mtasts.Parse([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\nmax_age: 604800\r\nextension: x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != mtasts.Enforce || p.MaxAge != 7*24*time.Hour || strings.Join(p.MX, " ") != "mail.example.com *.example.net" {
		t.Errorf("%+v", p)
	}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.example.com.": true, "x.mail.example.com": false,
		"mx1.example.net": true, "example.net": false, "a.b.example.net": false,
	} {
		if got := p.Match(host); got != want {
			t.Errorf("Match(%q) = %v", host, got)
		}
	}
	if p, err := mtasts.Parse([]byte("version: STSv1\nmode: none\nmax_age: 9999999999\n")); err != nil || p.MaxAge != 31557600*time.Second {
		t.Errorf("mode none: %+v %v", p, err)
	}
	for _, bad := range []string{
		"mode: enforce\nmx: a.example\nmax_age: 1\n",
		"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
		"garbage",
	} {
		if _, err := mtasts.Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
