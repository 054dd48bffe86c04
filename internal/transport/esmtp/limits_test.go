package esmtp_test

import (
	"fmt"
	"testing"
	"time"

	"courier/internal/queue"
	"courier/internal/transport/esmtp"
)

// TestModuleLimits: module.esmtp's MAXHOST=2 caps the connections open at once to one
// peer (eight messages to eight domains routed there, eight queue workers, a peer that
// holds each reply a while and counts simultaneous connections), and MAXRCPT=2 splits a
// message for five recipients of one domain into transactions of 2, 2 and 1.
func TestModuleLimits(t *testing.T) {
	p := startRawPeer(t, "PIPELINING", "8BITMIME", "SIZE")
	p.setHold(150 * time.Millisecond)
	conf := t.TempDir()
	h := newHarnessN(t, esmtp.Options{ConfigDir: conf}, 8)
	h.write("module.esmtp", "NAME=esmtp\nPRIORITY=50\nPROG=./courieresmtp\nMAXDELS=40\nMAXHOST=2\nMAXRCPT=2\n")
	h.write("esmtproutes", ": 127.0.0.1,"+itoa(p.port)+"\n")
	// the transport reads module.esmtp when it starts: make a new one over the same dir
	h = newHarnessN(t, esmtp.Options{ConfigDir: conf}, 8)
	var ids []string
	for i := range 8 {
		ids = append(ids, h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts(fmt.Sprintf("x@d%d.example", i))}, body))
	}
	for _, id := range ids {
		h.waitGone(id)
	}
	conns, txns := p.peaks()
	if conns > 2 || conns < 2 {
		t.Errorf("at most %d connections at once, want exactly MAXHOST=2 (some overlap, never more)", conns)
	}
	if txns > 2 {
		t.Errorf("%d transactions at once", txns)
	}
	if n := len(p.transactions()); n != 8 {
		t.Fatalf("%d transactions, want 8", n)
	}

	before := len(p.transactions())
	id := h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts("a@big.example", "b@big.example", "c@big.example", "d@big.example", "e@big.example")}, body)
	h.waitGone(id)
	var sizes []int
	for _, tx := range p.transactions()[before:] {
		sizes = append(sizes, len(tx.rcpts))
	}
	if fmt.Sprint(sizes) != "[2 2 1]" {
		t.Errorf("recipients per transaction %v, want [2 2 1] (MAXRCPT=2)", sizes)
	}
}

// TestMaxDels: MAXDELS=1 lets one delivery run at a time even with eight workers and a
// peer that would take more.
func TestMaxDels(t *testing.T) {
	p := startRawPeer(t, "8BITMIME")
	p.setHold(100 * time.Millisecond)
	conf := t.TempDir()
	h := newHarnessN(t, esmtp.Options{ConfigDir: conf, MaxDels: 1, MaxHost: 8}, 8)
	h.write("esmtproutes", ": 127.0.0.1,"+itoa(p.port)+"\n")
	var ids []string
	for i := range 4 {
		ids = append(ids, h.send(&queue.Envelope{From: "a@sender.test", Rcpts: rcpts(fmt.Sprintf("x@m%d.example", i))}, body))
	}
	for _, id := range ids {
		h.waitGone(id)
	}
	if _, txns := p.peaks(); txns != 1 {
		t.Errorf("%d transactions at once, want 1 (MAXDELS=1)", txns)
	}
}

// TestBlockBackscatter: with ESMTP_BLOCKBACKSCATTER=smtp/dsn in courierd, a notification
// about a message from an unauthenticated SMTP client is discarded (it leaves the queue,
// nothing is sent), while one about a message from an authenticated client, or one when
// the setting is absent, is sent.
func TestBlockBackscatter(t *testing.T) {
	p := startPeer(t, false)
	h := newHarness(t, esmtp.Options{})
	h.write("esmtproutes", route("example.net", p.port))
	dsnEnv := func(src string) *queue.Envelope {
		return &queue.Envelope{From: "", Protocol: "dsn", DSNSource: src, Rcpts: rcpts("forged@example.net")}
	}
	id := h.send(dsnEnv("smtp"), body)
	h.waitGone(id)
	if n := len(p.transactions()); n != 1 {
		t.Fatalf("without the setting: %d transactions, want 1", n)
	}
	h.write("courierd", "# Courier's default\nESMTP_BLOCKBACKSCATTER=smtp/dsn\n")
	time.Sleep(1100 * time.Millisecond) // the control files are checked once a second
	id = h.send(dsnEnv("smtp"), body)
	h.waitGone(id)
	if n := len(p.transactions()); n != 1 {
		t.Errorf("smtp/dsn: %d transactions, want still 1 (discarded)", n)
	}
	id = h.send(dsnEnv("authsmtp"), body)
	h.waitGone(id)
	// a message made here (no source) is never discarded
	id2 := h.send(dsnEnv(""), body)
	h.waitGone(id2)
	if n := len(p.transactions()); n != 3 {
		t.Errorf("authsmtp and local notifications: %d transactions, want 3", n)
	}
	h.write("courierd", "ESMTP_BLOCKBACKSCATTER=smtp/dsn,authsmtp/dsn\n")
	time.Sleep(1100 * time.Millisecond)
	id = h.send(dsnEnv("authsmtp"), body)
	h.waitGone(id)
	if n := len(p.transactions()); n != 3 {
		t.Errorf("authsmtp/dsn: %d transactions, want still 3", n)
	}
	if ns := h.notes.of(id); len(ns) != 0 {
		t.Errorf("notices %+v", ns)
	}
}
