package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"versions.txt": "dovecot 2.3\n",
		"uptime.txt":   "12:00:00 start: load average: 1.00\n",
		"mix-go-c10-r1.txt": "table...\n" +
			`{"label":"go-c10-r1","clients":10,"duration_s":30,"ops_per_s":300,"errors":2,"errors_by_kind":{"no":1,"no_expunged":1},"sessions":9,` +
			`"ops":[{"name":"login","count":90,"per_s":3,"p50_ms":1,"p99_ms":2}],"first_errors":["search: NO boom"]}` + "\n",
		"mix-dovecot-c10-r1.txt": `{"label":"dovecot-c10-r1","clients":10,"duration_s":30,"ops_per_s":150,"errors":0,"errors_by_kind":{},"sessions":5,` +
			`"ops":[{"name":"login","count":45,"per_s":1.5,"p50_ms":3,"p99_ms":9}]}` + "\n",
		"idle-go-1000.txt":        "server=go n=1000 ok=1000 failed=0 alive_at_teardown=1000 setup_s=2 pss_kb_before=100 pss_kb_after=20580 pss_kb_per_conn=20.5 rss_kb_per_conn=21.0 procs_after=1\n    detail\n",
		"idle-go-1000.client.txt": "READY 1000\n",
		"idle-go-tls-1000.txt":    "server=go tls=1 n=1000 ok=1000 failed=0 alive_at_teardown=1000 setup_s=3 pss_kb_before=100 pss_kb_after=40580 pss_kb_per_conn=40.5 rss_kb_per_conn=41.0 procs_after=1\n",
		"big.txt": "label=go-first-r1 exists=100 select_ms=300.0 fetch_flags_ms=50.0 uid_search_ms=900.0 search_hits=1 check=ok\n" +
			"label=go-warm-r1 exists=100 select_ms=1.0 fetch_flags_ms=30.0 uid_search_ms=200.0 search_hits=1 check=ok\n" +
			"label=courier-warm-r1 error=\"boom\"\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := write(&b, dir); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| 10 | go | 300.0 | 2.00x | 2 | 1 | 1 |",
		"| 10 | dovecot | 150.0 | 1.00x | 0 |",
		"- go-c10-r1: `search: NO boom`",
		"MET: mix, 10 clients: ours 300.0 ops/s = 2.00x Dovecot's 150.0",
		"| 1000 | go | no | 1000 | 0 | 20.5 | 21.0 | 0.1 -> 20.1 | 1 | 2 | 1000 |",
		"MET: idle, 1000 connections: ours 20.5 KB",
		"| 1000 | go | yes | 1000 | 0 | 40.5 | 41.0 | 0.1 -> 39.6 | 1 | 3 | 1000 |",
		"MET: idle TLS, 1000 connections: ours 40.5 KB PSS per connection, 1000/1000 idling, 1000 alive at teardown (target < 48 KB)",
		"| go | warm | 1 | 1.0 | 30.0 | 200.0 | 1 | 100 | ok |",
		"| courier | warm | 1 | - | - | - | - | - | error \"boom\" |",
		"MET: warm SELECT: ours 1.0 ms",
		"MET: warm FETCH 1:* (FLAGS): ours 30.0 ms",
		"NOT MET: warm UID SEARCH HEADER: ours 200.0 ms",
		"12:00:00 start",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q\n%s", want, out)
		}
	}
}
