package esmtp_test

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawPeer is a small SMTP server on 127.0.0.1 built on a net.Listener, for what go-smtp's
// server cannot do: leave 8BITMIME out of its EHLO reply, and hold the reply to the final
// dot a while so that deliveries overlap. It records what it receives and counts
// connections open at once.
type rawPeer struct {
	port int
	ext  []string      // EHLO keywords
	hold time.Duration // wait before answering the final dot

	mu       sync.Mutex
	open     int // connections open now
	maxOpen  int
	inTxn    int // transactions between MAIL and the reply to the dot, now
	maxInTxn int
	txns     []rawTxn
}

type rawTxn struct {
	mail  string // the MAIL FROM line
	rcpts []string
	data  string // as received, dot-stuffing undone, CRLF kept
}

func startRawPeer(t *testing.T, ext ...string) *rawPeer {
	t.Helper()
	p := &rawPeer{ext: ext}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p.port = ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *rawPeer) serve(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	p.open++
	p.maxOpen = max(p.maxOpen, p.open)
	hold := p.hold
	p.mu.Unlock()
	defer func() { p.mu.Lock(); p.open--; p.mu.Unlock() }()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	say := func(s string) { w.WriteString(s + "\r\n"); w.Flush() }
	say("220 raw.test ESMTP")
	var cur *rawTxn
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			lines := append([]string{"raw.test"}, p.ext...)
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				say("250" + sep + l)
			}
		case strings.HasPrefix(cmd, "MAIL"):
			cur = &rawTxn{mail: strings.TrimSpace(line)}
			p.mu.Lock()
			p.inTxn++
			p.maxInTxn = max(p.maxInTxn, p.inTxn)
			p.mu.Unlock()
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT"):
			cur.rcpts = append(cur.rcpts, strings.TrimSpace(line))
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.data = b.String()
			time.Sleep(hold)
			p.mu.Lock()
			p.txns = append(p.txns, *cur)
			p.inTxn--
			p.mu.Unlock()
			cur = nil
			say("250 queued")
		case cmd == "RSET":
			if cur != nil {
				p.mu.Lock()
				p.inTxn--
				p.mu.Unlock()
				cur = nil
			}
			say("250 ok")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

// setHold sets how long the reply to the final dot waits.
func (p *rawPeer) setHold(d time.Duration) {
	p.mu.Lock()
	p.hold = d
	p.mu.Unlock()
}

func (p *rawPeer) transactions() []rawTxn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rawTxn(nil), p.txns...)
}

func (p *rawPeer) peaks() (conns, txns int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxOpen, p.maxInTxn
}
