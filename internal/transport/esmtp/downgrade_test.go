package esmtp_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// TestDowngrade (RFC 6152 section 3): a peer without 8BITMIME gets an 8-bit message
// converted to 7 bits (the 8-bit part quoted-printable, the rest as it was), with SIZE
// counting the converted form, and Options.Sign signs that form (its signature goes in
// front of it), while a peer with 8BITMIME gets the stored octets and their own signature.
// A message with 8-bit header fields cannot be converted and is returned with 5.6.3; an
// SMTPUTF8 message with UTF-8 header fields to a peer without SMTPUTF8 with 5.6.9.
func TestDowngrade(t *testing.T) {
	seven := startRawPeer(t, "PIPELINING", "SIZE", "DSN")
	eight := startRawPeer(t, "PIPELINING", "SIZE", "8BITMIME")
	var mu sync.Mutex
	signed := map[string]string{} // signature → the content it signed
	h := newHarness(t, esmtp.Options{Sign: func(ctx context.Context, m *queue.Message, content io.Reader) (string, error) {
		b, err := io.ReadAll(content)
		if err != nil {
			return "", err
		}
		mu.Lock()
		defer mu.Unlock()
		sig := "X-Sig: " + string(rune('A'+len(signed))) + "\r\n"
		signed[sig] = string(b)
		return sig, nil
	}})
	h.write("esmtproutes", route("seven.example", seven.port)+route("eight.example", eight.port))
	const msg = "From: a@sender.test\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße\n" +
		"--b\nContent-Type: text/plain\n\nascii\n--b--\n"
	id := h.send(&queue.Envelope{From: "a@sender.test", Body: "8BITMIME", Rcpts: rcpts("x@seven.example", "y@eight.example")}, msg)
	h.waitGone(id)
	if ns := h.notes.of(id); len(ns) != 0 {
		t.Fatalf("notices %+v", ns)
	}
	st, et := seven.transactions(), eight.transactions()
	if len(st) != 1 || len(et) != 1 {
		t.Fatalf("transactions %d and %d", len(st), len(et))
	}
	want7 := "From: a@sender.test\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nGr=C3=BC=C3=9Fe\n" +
		"--b\nContent-Type: text/plain\n\nascii\n--b--\n"
	sig7, body7, _ := strings.Cut(st[0].data, "\r\n")
	sig8, body8, _ := strings.Cut(et[0].data, "\r\n")
	if body7 != crlf(want7) {
		t.Errorf("7-bit peer got %q", body7)
	}
	if body8 != crlf(msg) {
		t.Errorf("8-bit peer got %q", body8)
	}
	mu.Lock()
	if signed[sig7+"\r\n"] != want7 || signed[sig8+"\r\n"] != msg || sig7 == sig8 {
		t.Errorf("signatures %q and %q over %q", sig7, sig8, signed)
	}
	mu.Unlock()
	if strings.Contains(st[0].mail, "BODY=") || !strings.Contains(st[0].mail, "SIZE="+itoa(len(sig7)+2+len(want7))) {
		t.Errorf("MAIL to the 7-bit peer: %q", st[0].mail)
	}
	if !strings.Contains(et[0].mail, "BODY=8BITMIME") {
		t.Errorf("MAIL to the 8-bit peer: %q", et[0].mail)
	}

	// 8-bit header fields: not convertible
	id = h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("x@seven.example")}, "Subject: Grüße\n\nascii\n")
	h.waitGone(id)
	if ns := h.notes.of(id); len(ns) != 1 || !strings.HasPrefix(ns[0].Err.Error(), "5.6.3 ") {
		t.Errorf("8-bit header: notices %+v", ns)
	}
	// an SMTPUTF8 message with UTF-8 header fields, ASCII addresses, to a peer without
	// SMTPUTF8 (it has 8BITMIME): 5.6.9
	id = h.send(&queue.Envelope{From: "a@sender.test", SMTPUTF8: true, Rcpts: rcpts("y@eight.example")}, "Subject: Grüße\n\nascii\n")
	h.waitGone(id)
	if ns := h.notes.of(id); len(ns) != 1 || !strings.HasPrefix(ns[0].Err.Error(), "5.6.9 ") {
		t.Errorf("UTF-8 header: notices %+v", ns)
	}
	// a 7-bit message to the 7-bit peer goes as it is, BODY= or not
	before := len(seven.transactions())
	id = h.send(&queue.Envelope{From: "a@sender.test", Body: "8BITMIME", Rcpts: rcpts("x@seven.example")}, body)
	h.waitGone(id)
	if st := seven.transactions(); len(st) != before+1 || !strings.HasSuffix(st[before].data, crlf(body)) {
		t.Errorf("7-bit message: %+v", st[before:])
	}
}
