package app

import (
	"testing"

	"courier/internal/queue"
)

// TestMessageSource: the message sources of ESMTP_BLOCKBACKSCATTER.
func TestMessageSource(t *testing.T) {
	for _, c := range []struct {
		env  queue.Envelope
		want string
	}{
		{queue.Envelope{Protocol: "ESMTP"}, "smtp"},
		{queue.Envelope{Protocol: "UTF8ESMTPS"}, "smtp"},
		{queue.Envelope{Protocol: "ESMTPSA", AuthUser: "demo"}, "authsmtp"},
		{queue.Envelope{Protocol: "ESMTP", RelayClient: true}, "authsmtp"},
		{queue.Envelope{Protocol: "local"}, ""},
		{queue.Envelope{Protocol: "dsn"}, ""},
		{queue.Envelope{Protocol: "forward"}, ""},
	} {
		if got := messageSource(&c.env); got != c.want {
			t.Errorf("%+v: %q, want %q", c.env, got, c.want)
		}
	}
}
