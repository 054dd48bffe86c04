package httpd

import (
	"net/netip"
	"testing"

	clog "courier/internal/log"
)

func TestMetricsAllowList(t *testing.T) {
	def := New(Options{Log: clog.Discard()})
	listed := New(Options{Log: clog.Discard(), MetricsAllow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	cases := []struct {
		s      *Server
		remote string
		want   bool
	}{
		{def, "127.0.0.1:5000", true},
		{def, "[::1]:5000", true},
		{def, "[::ffff:127.0.0.1]:5000", true},
		{def, "192.0.2.7:5000", false},
		{def, "garbage", false},
		{listed, "192.0.2.7:5000", true},
		{listed, "127.0.0.1:5000", false},
		{listed, "198.51.100.1:5000", false},
	}
	for _, c := range cases {
		if got := c.s.allowed(c.remote); got != c.want {
			t.Errorf("allowed(%q) = %v, want %v", c.remote, got, c.want)
		}
	}
}
