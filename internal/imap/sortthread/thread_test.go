package sortthread

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"courier/internal/imap/search"
)

func msgsFrom(raws ...string) []*search.Message {
	var out []*search.Message
	for i, r := range raws {
		out = append(out, testMessage(uint32(i+1), []byte(r), time.Unix(int64(1600000001+i), 0)))
	}
	return out
}

func TestFormat(t *testing.T) {
	m := func(n uint32) *search.Message { return &search.Message{Seq: n, UID: n * 10} }
	nodes := []*Node{
		{Msg: m(1)},
		{Msg: m(2), Children: []*Node{{Msg: m(3), Children: []*Node{{Msg: m(4)}, {Msg: m(5)}}}}},
		{Children: []*Node{{Msg: m(6)}, {Msg: m(7), Children: []*Node{{Msg: m(8)}}}}},
	}
	if got, want := Format(nodes, false), "(1)(2 3 (4)(5))((6)(7 8))"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got, want := Format(nodes, true), "(10)(20 30 (40)(50))((60)(70 80))"; got != want {
		t.Errorf("Format(uid) = %q, want %q", got, want)
	}
	if got := Format(nil, false); got != "" {
		t.Errorf("Format(nil) = %q", got)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Sort(nil, []SortKey{{Criterion: "BOGUS"}}, Options{}); !errors.Is(err, ErrBadCriterion) {
		t.Errorf("Sort: %v", err)
	}
	if _, err := Sort(nil, nil, Options{}); !errors.Is(err, ErrBadCriterion) {
		t.Errorf("Sort empty: %v", err)
	}
	if _, err := Thread("REFS", nil, Options{}); !errors.Is(err, ErrBadCriterion) {
		t.Errorf("Thread: %v", err)
	}
	boom := errors.New("boom")
	bad := []*search.Message{{Seq: 1, Header: func() ([]byte, error) { return nil, boom }}}
	if _, err := Sort(bad, []SortKey{{Criterion: "subject"}}, Options{}); !errors.Is(err, boom) {
		t.Errorf("Sort read error: %v", err)
	}
	if _, err := Thread("references", bad, Options{}); !errors.Is(err, boom) {
		t.Errorf("Thread read error: %v", err)
	}
	// ARRIVAL and SIZE need no header
	if _, err := Sort(bad, []SortKey{{Criterion: "SIZE"}, {Criterion: "ARRIVAL", Reverse: true}}, Options{}); err != nil {
		t.Errorf("Sort SIZE: %v", err)
	}
}

// TestSortDisplay covers RFC 5957 DISPLAYFROM/DISPLAYTO (Courier has no SORT=DISPLAY).
func TestSortDisplay(t *testing.T) {
	msgs := msgsFrom(
		"From: \"Zed\" <a@x>\nTo: b@y\n\n",
		"From: c@x\nTo: \"Bob\" <z@y>\n\n",
		"From: =?utf-8?q?Andr=C3=A9?= <z@x>\nTo: a@y\n\n",
	)
	for _, c := range []struct {
		key  string
		want string
	}{{"DISPLAYFROM", "3 2 1"}, {"DISPLAYTO", "3 1 2"}, {"FROM", "1 2 3"}, {"TO", "3 1 2"}} {
		out, err := Sort(msgs, []SortKey{{Criterion: c.key}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range out {
			got = append(got, fmt.Sprint(m.Seq))
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s: %s, want %s", c.key, g, c.want)
		}
	}
}

// TestReferencesRFC: cases the RFC settles where Courier differs (see deviations_test.go).
func TestReferencesRFC(t *testing.T) {
	d := func(h int) string { return fmt.Sprintf("Date: Wed, 01 Jan 2020 %02d:00:00 +0000\n", h) }
	msgs := msgsFrom(
		"Message-ID: <k13@x>\nSubject: p13\nReferences: <gone@x>\n"+d(13)+"\n",
		"Message-ID: <k14@x>\nSubject: Re: p13\nReferences: <gone2@x>\n"+d(12)+"\n",
		"Message-ID: <s@x>\nReferences: <s@x>\nSubject: self\n"+d(1)+"\n", // refers to itself
		"Message-ID: <a@x>\nReferences: <b@x> <a@x> <b@x>\nSubject: loop\n"+d(2)+"\n",
	)
	nodes, err := Thread("REFERENCES", msgs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Format(nodes, false), "(3)(4)(1 2)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

var threadSyntax = regexp.MustCompile(`^(\((\d+ ?|\(|\))*\))*$`)

func FuzzThread(f *testing.F) {
	f.Add("Message-ID: <a@x>\nReferences: <b@x>\nSubject: Re: x\n", "Message-ID: <b@x>\nReferences: <a@x>\nSubject: x\n", "Message-ID: <a@x>\nIn-Reply-To: <a@x>\n")
	f.Add("Subject: [fwd: [fwd: ]]\nDate: garbage\n", "References: <<<>>> <> < >\n", "Message-ID:\nReferences: <x> <x> <x>\n")
	f.Add("Subject: =?utf-8?q?Re=3A?=\n", "Subject: re: (fwd)\nMessage-ID: <d@x>\n", "References: <d@x> <e@x>\nMessage-ID: <e@x>\n")
	f.Fuzz(func(t *testing.T, h1, h2, h3 string) {
		msgs := msgsFrom(h1+"\n", h2+"\n", h3+"\n", h1+"\n", h3+h2+"\n")
		for _, alg := range []string{"REFERENCES", "ORDEREDSUBJECT"} {
			nodes, err := Thread(alg, msgs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := Format(nodes, false)
			if !threadSyntax.MatchString(s) || strings.Contains(s, "()") {
				t.Fatalf("%s: malformed %q", alg, s)
			}
			// every message exactly once
			seen := map[string]int{}
			for _, n := range regexp.MustCompile(`\d+`).FindAllString(s, -1) {
				seen[n]++
			}
			if len(seen) != len(msgs) {
				t.Fatalf("%s: %q does not list each message once", alg, s)
			}
			for n, c := range seen {
				if c != 1 {
					t.Fatalf("%s: %s listed %d times in %q", alg, n, c, s)
				}
			}
		}
		if _, err := Sort(msgs, []SortKey{{Criterion: "SUBJECT"}, {Criterion: "DATE", Reverse: true}, {Criterion: "FROM"}}, Options{}); err != nil {
			t.Fatal(err)
		}
	})
}
