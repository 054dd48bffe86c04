package queue

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCommitThen: the callback runs after the file is committed and before any delivery.
func TestCommitThen(t *testing.T) {
	dir := t.TempDir()
	d := newMem()
	q, err := Open(Options{Dir: dir, Deliverer: d})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	w, err := q.Create(&Envelope{From: "a@b", Rcpts: []Recipient{{Addr: "c@d", Local: true}}, Time: time.Now(), Pickup: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: s\n\nx\n")
	ran := false
	err = w.CommitThen(func() {
		ran = true
		b, err := os.ReadFile(filepath.Join(dir, w.ID()))
		if err != nil || b[len(magic)] != 'C' {
			t.Errorf("in the callback the file is not committed: %v %.20q", err, b)
		}
		time.Sleep(20 * time.Millisecond)
		if d.count() != 0 {
			t.Error("delivered before the callback returned")
		}
	})
	if err != nil || !ran {
		t.Fatalf("CommitThen: %v, ran %v", err, ran)
	}
	waitFor(t, "delivery", func() bool { return d.count() == 1 })
}

// TestScanAndRecovered: Scan reads a spool another Queue owns, with the per-recipient
// records; Recovered lists what the next Open found, once, even after delivery.
func TestScanAndRecovered(t *testing.T) {
	dir := t.TempDir()
	hold := newMem()
	hold.outcome = func(m *Message, i int) Outcome {
		switch m.Env.Rcpts[i].Addr {
		case "held@x":
			return Hold
		case "bad@x":
			return Failed
		}
		return Delivered
	}
	q, err := Open(Options{Dir: dir, Deliverer: hold})
	if err != nil {
		t.Fatal(err)
	}
	id := put(t, q, "Subject: s\n\nbody\n", "ok@x", "held@x", "bad@x")
	waitFor(t, "first attempt", func() bool { return hold.count() == 1 })
	var got []Stored
	waitFor(t, "records", func() bool {
		got, err = Scan(dir)
		return err == nil && len(got) == 1 && got[0].Done[0] && got[0].Failed[2]
	})
	s := got[0]
	if s.ID != id || s.Size != int64(len("Subject: s\n\nbody\n")) || s.Env.From != "a@b.test" || len(s.Env.Rcpts) != 3 || s.Done[1] || s.Failed[1] {
		t.Errorf("Scan: %+v %+v", s, s.Env)
	}
	if r := q.Recovered(); r != nil {
		t.Errorf("Recovered of a fresh spool: %v", r)
	}
	q.Close(context.Background())

	q2, err := Open(Options{Dir: dir, Deliverer: newMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close(context.Background())
	waitFor(t, "redelivery", func() bool { return q2.Len() == 0 })
	r := q2.Recovered()
	if len(r) != 1 || r[0].From != "a@b.test" {
		t.Fatalf("Recovered: %v", r)
	}
	if q2.Recovered() != nil {
		t.Error("Recovered returned the list twice")
	}
	if got, err := Scan(dir); err != nil || len(got) != 0 {
		t.Errorf("Scan of an empty spool: %v %v", got, err)
	}
	if _, err := Scan(filepath.Join(dir, "missing")); err == nil {
		t.Error("Scan of a missing directory succeeded")
	}
}
