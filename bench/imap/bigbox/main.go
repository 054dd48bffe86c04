// Command bigbox times big-mailbox operations on one connection, as the anchors' cmd/imapbig
// (with a mailbox flag, answer checks and loopback only): LOGIN, SELECT, FETCH 1:* (FLAGS)
// and UID SEARCH HEADER Subject "anchor-needle". It prints one line of key=value timings in
// milliseconds. Each is measured from sending the command to its tagged OK.
//
// Checks (reported as check=..., never fatal): FETCH returns one response per message, and,
// with -want-hits, the search finds that many UIDs (genmail puts "anchor-needle" in the
// subject of every message whose number ends in 42, so 100,000 messages give 1,000 hits).
//
//	bigbox -addr 127.0.0.1:10143 -user U -pass P [-mailbox INBOX] [-label L] [-want-hits 1000]
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"courier/bench/imap/internal/imapc"
)

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func fail(label string, err error) {
	fmt.Printf("label=%s error=%q\n", label, err.Error())
	os.Exit(1)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:10143", "server host:port (loopback only)")
	user := flag.String("user", "", "login name")
	pass := flag.String("pass", "", "password")
	mbox := flag.String("mailbox", "INBOX", "mailbox")
	hdr := flag.String("search-header", "Subject", "header for UID SEARCH HEADER")
	text := flag.String("search-text", "anchor-needle", "text for UID SEARCH HEADER")
	wantHits := flag.Int("want-hits", -1, "expected number of search hits (-1: not checked)")
	label := flag.String("label", "", "label printed with the result")
	limit := flag.Duration("limit", 15*time.Minute, "give up after this long")
	flag.Parse()
	a, err := imapc.Loopback(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigbox:", err)
		os.Exit(2)
	}
	t0 := time.Now()
	c, err := imapc.Dial(a, imapc.Options{Timeout: 30 * time.Second, ReadBuf: 64 << 10})
	if err != nil {
		fail(*label, err)
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(*limit))
	if err := c.Login(*user, *pass); err != nil {
		fail(*label, err)
	}
	tLogin := time.Since(t0)
	var checks []string

	t1 := time.Now()
	exists, err := c.Select(*mbox)
	if err != nil {
		fail(*label, err)
	}
	tSelect := time.Since(t1)

	// The FETCH responses are counted as they come, not kept: keeping 100,000 lines cost
	// this client more than the server's whole answer (measured against a server that sends
	// a prepared answer in one write: 44-58 ms before, with the line handling of imapc
	// made lighter too).
	nf := 0
	c.Untagged = func(l string) {
		if strings.Contains(l, " FETCH ") {
			nf++
		}
	}
	t2 := time.Now()
	_, err = c.Cmd("FETCH 1:* (FLAGS)", false)
	tFetch := time.Since(t2)
	c.Untagged = nil
	if err != nil {
		fail(*label, err)
	}
	if nf != exists {
		checks = append(checks, fmt.Sprintf("fetch_lines!=exists(%d!=%d)", nf, exists))
	}

	t3 := time.Now()
	res, err := c.Cmd("UID SEARCH HEADER "+imapc.Quote(*hdr)+" "+imapc.Quote(*text), true)
	tSearch := time.Since(t3)
	if err != nil {
		fail(*label, err)
	}
	hits := -1
	for _, l := range res.Untagged {
		if strings.HasPrefix(strings.ToUpper(l), "* SEARCH") {
			hits = len(strings.Fields(l)) - 2
		}
	}
	if hits < 0 {
		checks = append(checks, "no_search_response")
	} else if *wantHits >= 0 && hits != *wantHits {
		checks = append(checks, fmt.Sprintf("hits!=%d", *wantHits))
	}
	if err := c.Logout(); err != nil {
		checks = append(checks, "logout:"+strings.ReplaceAll(err.Error(), " ", "_"))
	}
	check := "ok"
	if len(checks) > 0 {
		check = strings.Join(checks, ",")
	}
	fmt.Printf("label=%s exists=%d login_ms=%s select_ms=%s fetch_flags_ms=%s fetch_lines=%d uid_search_ms=%s search_hits=%d total_ms=%s check=%s\n",
		*label, exists, ms(tLogin), ms(tSelect), ms(tFetch), nf, ms(tSearch), hits, ms(time.Since(t0)), check)
}
