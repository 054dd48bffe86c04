package index

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad100k loads the index of the benchmarks' 100,000-message folder
// ($COURIER_BIG_MAILDIR or /var/tmp/courier-bench/big100k, made by maildirstore's
// BenchmarkOpen100k*); skipped when it is not there.
func BenchmarkLoad100k(b *testing.B) {
	p := os.Getenv("COURIER_BIG_MAILDIR")
	if p == "" {
		p = "/var/tmp/courier-bench/big100k"
	}
	if _, err := os.Stat(filepath.Join(p, FileName)); err != nil {
		b.Skip("no 100k index: run maildirstore's BenchmarkOpen100kWarm first")
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ix, err := Load(p)
		if err != nil {
			b.Fatal(err)
		}
		if !ix.Fresh(p) || ix.Len() != 100000 {
			b.Fatal("not fresh")
		}
	}
}
