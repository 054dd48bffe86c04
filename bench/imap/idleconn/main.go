// Command idleconn opens N logged-in IMAP connections that sit in IDLE on one mailbox, for
// measuring a server's memory per idle connection (the anchors' cmd/imapidle, with a mailbox
// flag, small client buffers so 10,000 connections stay cheap for the client, and loopback
// only). It prints "READY <ok> idle connections (<failed> failed) setup <s>s" once every
// connection is idling (or has failed), writes "<ok> <failed>" to -ready-file, holds them for
// -hold or until SIGINT/SIGTERM, then ends IDLE and logs out on each and prints how many were
// still alive: "DONE <alive> connections were still alive at teardown". With -tls it connects
// with implicit TLS (an imaps port; the certificate is not verified: loopback, self-signed).
//
//	idleconn -addr 127.0.0.1:10143 -user U -pass P -n 1000 [-mailbox INBOX] [-par 20] [-hold 60s] [-tls]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"courier/bench/imap/internal/imapc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:10143", "server host:port (loopback only)")
	user := flag.String("user", "", "login name")
	pass := flag.String("pass", "", "password")
	mailbox := flag.String("mailbox", "INBOX", "mailbox to SELECT before IDLE")
	n := flag.Int("n", 1000, "connections")
	par := flag.Int("par", 20, "connections being set up at once")
	hold := flag.Duration("hold", 60*time.Second, "how long to hold the idle connections at most")
	setupTimeout := flag.Duration("setup-timeout", 60*time.Second, "per-connection limit for connect + LOGIN + SELECT + IDLE")
	useTLS := flag.Bool("tls", false, "connect with implicit TLS (an imaps port)")
	readyFile := flag.String("ready-file", "", "write \"<ok> <failed>\" here once all connections are idling")
	flag.Parse()
	a, err := imapc.Loopback(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "idleconn:", err)
		os.Exit(2)
	}
	if *n < 1 || *par < 1 {
		fmt.Fprintln(os.Stderr, "idleconn: -n and -par must be positive")
		os.Exit(2)
	}

	conns := make([]*imapc.Conn, *n)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, *par)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			// Small buffers: the client's memory is not what is measured, but 10,000
			// connections with the default 4 KB buffers would still cost 80 MB.
			c, err := imapc.Dial(a, imapc.Options{TLS: *useTLS, Timeout: *setupTimeout, ReadBuf: 1024, WriteBuf: 512})
			if err == nil {
				_ = c.NetConn().SetDeadline(time.Now().Add(*setupTimeout))
				if err = c.Login(*user, *pass); err == nil {
					if _, err = c.Select(*mailbox); err == nil {
						err = c.Idle()
					}
				}
				_ = c.NetConn().SetDeadline(time.Time{})
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				if c != nil {
					c.Close()
				}
				return
			}
			conns[i] = c
			ok.Add(1)
		}(i)
	}
	wg.Wait()
	fmt.Printf("READY %d idle connections (%d failed) setup %.2fs\n", ok.Load(), failed.Load(), time.Since(t0).Seconds())
	if e := firstErr.Load(); e != nil {
		fmt.Printf("first error: %v\n", e)
	}
	if *readyFile != "" {
		if err := os.WriteFile(*readyFile, []byte(fmt.Sprintf("%d %d\n", ok.Load(), failed.Load())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "idleconn:", err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-time.After(*hold):
	}
	var alive atomic.Int64
	for _, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(c *imapc.Conn) {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
			if c.Done() == nil {
				alive.Add(1)
				_ = c.Logout()
			}
			c.Close()
		}(c)
	}
	wg.Wait()
	fmt.Printf("DONE %d connections were still alive at teardown\n", alive.Load())
}
