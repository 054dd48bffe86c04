package esmtp_test

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// TestOutboundSign: Options.Sign is asked once per message; its header fields go before
// the message in every transaction (here two domains), and SIZE counts them.
func TestOutboundSign(t *testing.T) {
	p := startPeer(t, false)
	var calls atomic.Int32
	const sig = "DKIM-Signature: v=1; a=ed25519-sha256; d=sender.test;\r\n b=abc\r\n"
	h := newHarness(t, esmtp.Options{Sign: func(ctx context.Context, m *queue.Message, content io.Reader) (string, error) {
		calls.Add(1)
		if b, err := io.ReadAll(content); err != nil || string(b) != body {
			t.Errorf("signed %q (%v), want the message as stored", b, err)
		}
		return sig, nil
	}})
	h.write("esmtproutes", route("example.net", p.port)+route("example.org", p.port))
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@example.net", "y@example.org")}, body)
	h.waitGone(id)
	txns := p.transactions()
	if len(txns) != 2 {
		t.Fatalf("%d transactions", len(txns))
	}
	for _, tx := range txns {
		if string(tx.data) != sig+crlf(body) {
			t.Errorf("data %q", tx.data)
		}
		if tx.mailOpts.Size != int64(len(sig)+len(body)) {
			t.Errorf("SIZE=%d, want %d", tx.mailOpts.Size, len(sig)+len(body))
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Sign called %d times, want 1", n)
	}
	if !strings.HasPrefix(string(txns[0].data), "DKIM-Signature:") {
		t.Errorf("signature not first")
	}
}
