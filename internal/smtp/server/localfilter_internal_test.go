package server

import "testing"

// TestFilterReply: the codes Courier's submit gives a filter's refusal at RCPT (the
// output's own code, else 511, and 571 without output) and after the content (the output's
// code, else 450 with "Access denied." without output).
func TestFilterReply(t *testing.T) {
	for _, c := range []struct {
		out  string
		rcpt bool
		want string
	}{
		{"550 5.7.1 Go away.\n", true, "550 5.7.1 Go away."},
		{"Go away.\n", true, "511 5.7.1 Go away."},
		{"", true, "571 5.7.1 Delivery not authorized, message refused."},
		{"451 Later.\n", true, "451 4.7.1 Later."},
		{"554-first\n554 second\n", false, "554 5.7.1 first / second"},
		{"spam\n", false, "450 4.7.1 spam"},
		{"", false, "450 4.7.1 Access denied."},
		{"250 fine\n", false, "450 4.7.1 fine"},
	} {
		if got := filterReply(c.out, c.rcpt).Error(); got != c.want {
			t.Errorf("filterReply(%q, %v) = %q, want %q", c.out, c.rcpt, got, c.want)
		}
	}
}
