package app

import (
	"testing"

	"courier/internal/queue"
)

func TestMayCancel(t *testing.T) {
	own := &queue.Envelope{Protocol: "local", AuthUser: "alice"}
	smtp := &queue.Envelope{Protocol: "ESMTPSA", AuthUser: "alice"}
	for _, tc := range []struct {
		priv bool
		name string
		env  *queue.Envelope
		want bool
	}{
		{true, "", smtp, true},
		{false, "alice", own, true},
		{false, "bob", own, false},
		{false, "alice", smtp, false}, // "alice" the login is not alice the Unix user
		{false, "", own, false},
	} {
		if got := mayCancel(tc.priv, tc.name, tc.env); got != tc.want {
			t.Errorf("%+v: %v", tc, got)
		}
	}
}
