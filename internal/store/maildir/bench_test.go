package maildir

import (
	"bytes"
	"strings"
	"testing"
)

// BenchmarkDeliver measures deliveries per second into one folder with the full durability
// path (write, fsync the file, link into new/, fsync new/), without a quota.
func BenchmarkDeliver(b *testing.B) {
	m := newMD(b)
	in := m.Inbox()
	msg := []byte("From: a@example.com\nTo: b@example.com\nSubject: bench\n\n" + strings.Repeat("body line of a message\n", 100))
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Deliver(bytes.NewReader(msg), &DeliverOptions{NoQuota: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkDeliverQuota is BenchmarkDeliver with a maildirsize to check and append to.
func BenchmarkDeliverQuota(b *testing.B) {
	m := newMD(b)
	if err := setTestQuota(m.Path()); err != nil {
		b.Fatal(err)
	}
	in := m.Inbox()
	msg := []byte("Subject: bench\n\n" + strings.Repeat("body line of a message\n", 100))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Deliver(bytes.NewReader(msg), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
