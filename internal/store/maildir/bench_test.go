package maildir

import (
	"bytes"
	"runtime"
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

// BenchmarkDeliverQuotaParallel is BenchmarkDeliverQuota with 8 deliveries at once into the
// one maildir, as the server's local delivery workers run them: file fsyncs overlap and the
// directory fsyncs are group-committed (syncdir.go). Compare with Courier's deliverquota run
// 8 at once: `P=8 bench/deliver.sh`.
func BenchmarkDeliverQuotaParallel(b *testing.B) {
	m := newMD(b)
	if err := setTestQuota(m.Path()); err != nil {
		b.Fatal(err)
	}
	in := m.Inbox()
	msg := []byte("From: a@example.com\nTo: b@example.com\nSubject: bench\n\n" + strings.Repeat("body line of a message\n", 100))
	b.SetParallelism((8 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := in.Deliver(bytes.NewReader(msg), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
