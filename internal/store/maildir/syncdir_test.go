package maildir

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSyncDirGroupCommit runs many concurrent link+syncDir callers on one directory and
// checks the group-commit rule on the real fsyncs: every caller returns only after an fsync
// that began after the caller's link, and concurrent callers share fsyncs.
func TestSyncDirGroupCommit(t *testing.T) {
	dir := t.TempDir()
	var clock atomic.Int64 // orders links, fsync starts and fsync ends
	type span struct{ start, end int64 }
	var mu sync.Mutex
	var spans []span
	fsyncDirFunc = func(d string) error {
		s := clock.Add(1)
		err := fsyncDir(d)
		e := clock.Add(1)
		mu.Lock()
		spans = append(spans, span{s, e})
		mu.Unlock()
		return err
	}
	defer func() { fsyncDirFunc = fsyncDir }()

	const callers = 64
	type call struct{ linked, returned int64 }
	calls := make([]call, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), []byte("x"), 0o600); err != nil {
				t.Error(err)
				return
			}
			calls[i].linked = clock.Add(1)
			if err := syncDir(dir); err != nil {
				t.Error(err)
			}
			calls[i].returned = clock.Add(1)
		}(i)
	}
	close(start)
	wg.Wait()
	for i, c := range calls {
		covered := false
		for _, s := range spans {
			if s.start > c.linked && s.end < c.returned {
				covered = true
				break
			}
		}
		if !covered {
			t.Errorf("caller %d (linked at %d, returned at %d) had no fsync begun after its link", i, c.linked, c.returned)
		}
	}
	if len(spans) > callers {
		t.Errorf("%d fsyncs for %d callers", len(spans), callers)
	}
	t.Logf("%d callers, %d directory fsyncs", callers, len(spans))
	dirSyncs.mu.Lock()
	left := len(dirSyncs.m)
	dirSyncs.mu.Unlock()
	if left != 0 {
		t.Errorf("%d directories still registered after all callers returned", left)
	}
}

func TestSyncDirMissing(t *testing.T) {
	if err := syncDir(filepath.Join(t.TempDir(), "gone")); err == nil {
		t.Fatal("syncing a missing directory succeeded")
	}
}
