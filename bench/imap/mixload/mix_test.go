package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"courier/bench/imap/internal/imapc"
)

func TestParseMixDefault(t *testing.T) {
	m, err := ParseMix(DefaultMix)
	if err != nil {
		t.Fatal(err)
	}
	want := Mix{opLogin: 100, opList: 50, opStatus: 50, opSelect: 100, opFetch: 100, opFetch2: 100,
		opStore: 50, opDelete: 100, opExpunge: 100, opSearch: 50, opAppend: 100, opLogout: 100}
	if m != want {
		t.Errorf("DefaultMix = %v, want %v", m, want)
	}
	// imaptest's own line, as it prints it, plus SEARCH, is the same mix.
	it, err := ParseMix("Logi 100% List 50% Stat 50% Sele 100% Fetc 100% Fet2 100% Stor 50% Dele 100% Expu 100% Appe 100% Logo 100% Sear 50%")
	if err != nil {
		t.Fatal(err)
	}
	if it != want {
		t.Errorf("imaptest form = %v, want %v", it, want)
	}
	// String round-trips.
	if back, err := ParseMix(m.String()); err != nil || back != m {
		t.Errorf("ParseMix(String()) = %v %v", back, err)
	}
	if e, err := ParseMix(""); err != nil || e != (Mix{opLogin: 100, opSelect: 100, opLogout: 100}) {
		t.Errorf("empty mix = %v %v", e, err)
	}
	if e, err := ParseMix(" Fetch = 30% , search=0 "); err != nil || e[opFetch] != 30 || e[opSearch] != 0 {
		t.Errorf("spaces and %% = %v %v", e, err)
	}
}

func TestParseMixErrors(t *testing.T) {
	for _, s := range []string{
		"fetch",           // no percent
		"fetch=101",       // over 100
		"fetch=-1",        // negative
		"fetch=x",         // not a number
		"copy=10",         // unknown command
		"fetch=1,fetch=2", // twice
		"login=50",        // always 100
		"select=0",        // always 100
		"Logi 100% List",  // odd imaptest form
		"Xyzw 10%",        // unknown imaptest name
	} {
		if _, err := ParseMix(s); err == nil {
			t.Errorf("ParseMix(%q) accepted", s)
		}
	}
}

func TestParseMbox(t *testing.T) {
	in := "From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n>From the start\n>>From deeper\n\n" +
		"From a@b Mon Jan  1 00:00:01 2024\nSubject: two\n\ntext\nFrom inside a paragraph is not a separator\n\n"
	msgs, err := parseMbox(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Subject: one\r\n\r\nbody\r\nFrom the start\r\n>From deeper\r\n",
		"Subject: two\r\n\r\ntext\r\nFrom inside a paragraph is not a separator\r\n",
	}
	if len(msgs) != len(want) {
		t.Fatalf("got %d messages: %q", len(msgs), msgs)
	}
	for i := range want {
		if string(msgs[i]) != want[i] {
			t.Errorf("message %d = %q, want %q", i, msgs[i], want[i])
		}
	}
	if _, err := parseMbox(strings.NewReader("Subject: no From line\n")); err == nil {
		t.Error("a file without a From line was accepted")
	}
	if _, err := parseMbox(strings.NewReader("")); err == nil {
		t.Error("an empty file was accepted")
	}
}

func TestFetched(t *testing.T) {
	lines := []string{
		"* 3 FETCH (UID 9 FLAGS () RFC822.SIZE 10)",
		"* 3 FETCH (UID 9 FLAGS () RFC822.SIZE 10)", // duplicate: counted once
		"* 4 FETCH (FLAGS (\\Seen))",                // unsolicited flag update: no RFC822.SIZE
		"* 5 FETCH (UID 11 RFC822.SIZE 12)",
		"* 9 FETCH (UID 20 RFC822.SIZE 12)", // outside the range
		"* 6 EXISTS",
	}
	if n := fetched(lines, 3, 5, "RFC822.SIZE"); n != 2 {
		t.Errorf("fetched = %d, want 2", n)
	}
	if n := fetched(lines, 3, 5, "FLAGS"); n != 2 {
		t.Errorf("fetched FLAGS = %d, want 2", n)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := pctile(d, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := pctile(d, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if p := pctile(d[:1], 0.99); p != time.Millisecond {
		t.Errorf("p99 of one = %v", p)
	}
	if p := pctile(nil, 0.5); p != 0 {
		t.Errorf("p50 of none = %v", p)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err   error
		kind  int
		fatal bool
	}{
		{&imapc.StatusError{Command: "FETCH", Status: "NO"}, errNO, false},
		{&imapc.StatusError{Command: "FETCH", Status: "BAD"}, errBAD, false},
		{&imapc.StatusError{Command: "FETCH", Status: "NO", Text: "Cannot read the message: it may have been expunged meanwhile."}, errExpunged, false},
		{&imapc.StatusError{Command: "FETCH", Status: "NO", Text: "[EXPUNGEISSUED] Some messages were expunged"}, errExpunged, false},
		{fmt.Errorf("wrapped: %w", checkf("x")), errCheck, false},
		{fmt.Errorf("FETCH: %w", timeoutErr{}), errTimeout, true},
		{fmt.Errorf("FETCH: %w", os.ErrDeadlineExceeded), errTimeout, true},
		{errors.New("connection reset"), errIO, true},
	} {
		k, f := classify(tc.err)
		if k != tc.kind || f != tc.fatal {
			t.Errorf("classify(%v) = %s %v, want %s %v", tc.err, errKindNames[k], f, errKindNames[tc.kind], tc.fatal)
		}
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	var out, errb strings.Builder
	if rc := mainArgs([]string{"-addr", "192.0.2.1:143", "-duration", "1s"}, &out, &errb); rc != 2 {
		t.Errorf("exit %d, want 2", rc)
	}
	if !strings.Contains(errb.String(), "loopback") {
		t.Errorf("stderr = %q", errb.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-clients", "0"},
		{"-duration", "0s"},
		{"-mix", "copy=5"},
		{"-search-words", " , "},
		{"extra"},
	} {
		var out, errb strings.Builder
		if rc := mainArgs(args, &out, &errb); rc != 2 {
			t.Errorf("%q: exit %d, want 2", args, rc)
		}
	}
}
