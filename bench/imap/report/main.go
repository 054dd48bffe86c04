// Command report turns the raw results of one bench/imap/run.sh run (a directory) into
// Markdown tables and checks the targets:
//
//	report -dir /srv/imapbench/results/20260101-120000
//
// Inputs in the directory: mix-<server>-c<clients>-r<round>.txt (mixload's output, the last
// line its JSON report), idle-<server>-<n>.txt and idle-<server>-tls-<n>.txt (first line
// key=value, tls=1 for a run over implicit TLS), big.txt (bigbox's
// key=value lines, label=<server>-<phase>-r<round>), versions.txt and uptime.txt.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Targets of the issue.
const (
	targetMixRatio  = 1.5  // our ops/s over Dovecot's, same run
	targetIdleKB    = 32.0 // PSS per idle connection, without TLS
	targetIdleTLSKB = 48.0 // PSS per idle connection, with TLS
	targetSelectMs  = 2.0  // warm, 100k messages
	targetFetchMs   = 40.0 // FETCH 1:* (FLAGS), warm
	targetSearchMs  = 140.0
	ourServer       = "go"
	referenceServer = "dovecot"
)

var serverOrder = []string{"go", "dovecot", "courier"}

func main() {
	dir := flag.String("dir", ".", "results directory of one run")
	flag.Parse()
	if err := write(os.Stdout, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// mixReport is the part of mixload's JSON report used here.
type mixReport struct {
	Label     string         `json:"label"`
	Clients   int            `json:"clients"`
	DurationS float64        `json:"duration_s"`
	WallS     float64        `json:"wall_s"`
	Load1     float64        `json:"load1_before"`
	Sessions  int            `json:"sessions"`
	OpsTotal  int            `json:"ops_total"`
	OpsPerS   float64        `json:"ops_per_s"`
	Errors    int            `json:"errors"`
	Kinds     map[string]int `json:"errors_by_kind"`
	Ops       []struct {
		Name   string  `json:"name"`
		Count  int     `json:"count"`
		PerS   float64 `json:"per_s"`
		P50ms  float64 `json:"p50_ms"`
		P99ms  float64 `json:"p99_ms"`
		Errors int     `json:"errors"`
	} `json:"ops"`
	FirstErrors []string `json:"first_errors"`
	server      string
	round       int
}

func readMix(dir string) ([]*mixReport, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "mix-*.txt"))
	var out []*mixReport
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var r mixReport
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
			fmt.Fprintf(os.Stderr, "report: %s: no JSON report (%v)\n", f, err)
			continue
		}
		// label: <server>-c<clients>-r<round>
		parts := strings.Split(r.Label, "-")
		if len(parts) >= 3 {
			r.server = strings.Join(parts[:len(parts)-2], "-")
			r.round, _ = strconv.Atoi(strings.TrimPrefix(parts[len(parts)-1], "r"))
		}
		out = append(out, &r)
	}
	return out, nil
}

// kv parses "a=b c=d" (values without spaces; a quoted value keeps its quotes).
func kv(line string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

func num(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return f
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func orderServers(set map[string]bool) []string {
	var out []string
	for _, s := range serverOrder {
		if set[s] {
			out = append(out, s)
		}
	}
	var rest []string
	for s := range set {
		if !slices.Contains(serverOrder, s) {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func fmtF(f float64, prec int) string {
	if f < 0 {
		return "-"
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

func write(w io.Writer, dir string) error {
	var verdicts []string
	fmt.Fprintf(w, "# IMAP benchmark results (%s)\n\n", filepath.Base(dir))
	if b, err := os.ReadFile(filepath.Join(dir, "versions.txt")); err == nil {
		fmt.Fprintf(w, "```\n%s```\n\n", b)
	}

	// Mixed load.
	mixes, err := readMix(dir)
	if err != nil {
		return err
	}
	if len(mixes) > 0 {
		fmt.Fprintln(w, "## Mixed load (ops/s = completed commands incl. LOGIN/LOGOUT / seconds)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| clients | server | ops/s | vs Dovecot | errors | NO | NO expunged | BAD | check | io | timeout | sessions | load1 before |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		byClients := map[int]map[string][]*mixReport{}
		for _, m := range mixes {
			if byClients[m.Clients] == nil {
				byClients[m.Clients] = map[string][]*mixReport{}
			}
			byClients[m.Clients][m.server] = append(byClients[m.Clients][m.server], m)
		}
		var clients []int
		for c := range byClients {
			clients = append(clients, c)
		}
		sort.Ints(clients)
		for _, c := range clients {
			set := map[string]bool{}
			for s := range byClients[c] {
				set[s] = true
			}
			med := map[string]float64{}
			for _, s := range orderServers(set) {
				var ops []float64
				for _, m := range byClients[c][s] {
					ops = append(ops, m.OpsPerS)
				}
				med[s] = median(ops)
			}
			for _, s := range orderServers(set) {
				for _, m := range byClients[c][s] {
					ratio := "-"
					if ref := med[referenceServer]; ref > 0 {
						ratio = fmt.Sprintf("%.2fx", m.OpsPerS/ref)
					}
					k := m.Kinds
					fmt.Fprintf(w, "| %d | %s | %.1f | %s | %d | %d | %d | %d | %d | %d | %d | %d | %.2f |\n", c, s, m.OpsPerS, ratio,
						m.Errors, k["no"], k["no_expunged"], k["bad"], k["check"], k["io"], k["timeout"], m.Sessions, m.Load1)
				}
			}
			if med[ourServer] > 0 && med[referenceServer] > 0 {
				r := med[ourServer] / med[referenceServer]
				verdicts = append(verdicts, verdict(r >= targetMixRatio,
					fmt.Sprintf("mix, %d clients: ours %.1f ops/s = %.2fx Dovecot's %.1f (target >= %.1fx)", c, med[ourServer], r, med[referenceServer], targetMixRatio)))
			}
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Per command: ops/s, p50 / p99 latency in ms, errors (first round of each).")
		fmt.Fprintln(w)
		var names []string
		for _, o := range mixes[0].Ops {
			names = append(names, o.Name)
		}
		fmt.Fprintf(w, "| clients | server | %s |\n", strings.Join(names, " | "))
		fmt.Fprintf(w, "|---|---|%s\n", strings.Repeat("---|", len(names)))
		for _, c := range clients {
			set := map[string]bool{}
			for s := range byClients[c] {
				set[s] = true
			}
			for _, s := range orderServers(set) {
				m := byClients[c][s][0]
				var cells []string
				for _, o := range m.Ops {
					cell := fmt.Sprintf("%.1f<br>%.1f / %.1f", o.PerS, o.P50ms, o.P99ms)
					if o.Errors > 0 {
						cell += fmt.Sprintf("<br>**%d err**", o.Errors)
					}
					cells = append(cells, cell)
				}
				fmt.Fprintf(w, "| %d | %s | %s |\n", c, s, strings.Join(cells, " | "))
			}
		}
		fmt.Fprintln(w)
		for _, m := range mixes {
			for _, e := range m.FirstErrors {
				fmt.Fprintf(w, "- %s: `%s`\n", m.Label, e)
			}
		}
		fmt.Fprintln(w)
	}

	// Idle connections.
	idles, _ := filepath.Glob(filepath.Join(dir, "idle-*.txt"))
	var idleRows []map[string]string
	for _, f := range idles {
		if strings.HasSuffix(f, ".client.txt") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		first, _, _ := strings.Cut(string(b), "\n")
		if m := kv(first); m["server"] != "" {
			idleRows = append(idleRows, m)
		}
	}
	if len(idleRows) > 0 {
		sort.SliceStable(idleRows, func(i, j int) bool {
			ni, nj := num(idleRows[i]["n"]), num(idleRows[j]["n"])
			if ni != nj {
				return ni < nj
			}
			si, sj := slices.Index(serverOrder, idleRows[i]["server"]), slices.Index(serverOrder, idleRows[j]["server"])
			if si != sj {
				return si < sj
			}
			return idleRows[i]["tls"] < idleRows[j]["tls"]
		})
		fmt.Fprintln(w, "## Memory per idle connection (LOGIN + SELECT 20-message folder + IDLE; server process tree)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| connections | server | TLS | idling | failed | PSS KB/conn | RSS KB/conn | PSS before -> after (MB) | processes | setup s | alive at teardown |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
		for _, m := range idleRows {
			tls, target, what := "no", targetIdleKB, "idle"
			if m["tls"] == "1" {
				tls, target, what = "yes", targetIdleTLSKB, "idle TLS"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.1f -> %.1f | %s | %s | %s |\n", m["n"], m["server"], tls, m["ok"], m["failed"],
				m["pss_kb_per_conn"], m["rss_kb_per_conn"], num(m["pss_kb_before"])/1024, num(m["pss_kb_after"])/1024,
				m["procs_after"], m["setup_s"], m["alive_at_teardown"])
			if m["server"] == ourServer {
				pss := num(m["pss_kb_per_conn"])
				ok := pss >= 0 && pss < target && m["ok"] == m["n"] && m["alive_at_teardown"] == m["ok"]
				verdicts = append(verdicts, verdict(ok, fmt.Sprintf("%s, %s connections: ours %s KB PSS per connection, %s/%s idling, %s alive at teardown (target < %.0f KB)",
					what, m["n"], m["pss_kb_per_conn"], m["ok"], m["n"], m["alive_at_teardown"], target)))
			}
		}
		fmt.Fprintln(w)
	}

	// Big folder.
	if f, err := os.Open(filepath.Join(dir, "big.txt")); err == nil {
		defer f.Close()
		type key struct{ server, phase string }
		rows := map[key][]map[string]string{}
		set := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			m := kv(sc.Text())
			lab := strings.Split(m["label"], "-")
			if len(lab) < 3 {
				continue
			}
			k := key{strings.Join(lab[:len(lab)-2], "-"), lab[len(lab)-2]}
			rows[k] = append(rows[k], m)
			set[k.server] = true
		}
		fmt.Fprintln(w, "## 100,000-message folder (ms; median over rounds, n = rounds)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "first = fresh copy of the folder (no index or UID list), server restarted, page cache dropped; warm, warm2 = at once again on new connections; restart = server restarted and page cache dropped, its index kept.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| server | phase | n | SELECT | FETCH 1:* (FLAGS) | UID SEARCH HEADER | hits | exists | check |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
		for _, s := range orderServers(set) {
			for _, ph := range []string{"first", "warm", "warm2", "restart"} {
				ms := rows[key{s, ph}]
				if len(ms) == 0 {
					continue
				}
				col := func(name string) float64 {
					var xs []float64
					for _, m := range ms {
						if v := num(m[name]); v >= 0 {
							xs = append(xs, v)
						}
					}
					return median(xs)
				}
				checks := map[string]bool{}
				for _, m := range ms {
					if e := m["error"]; e != "" {
						checks["error "+e] = true
					} else {
						checks[m["check"]] = true
					}
				}
				var cs []string
				for c := range checks {
					cs = append(cs, c)
				}
				sort.Strings(cs)
				fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", s, ph, len(ms), fmtF(col("select_ms"), 1),
					fmtF(col("fetch_flags_ms"), 1), fmtF(col("uid_search_ms"), 1), fmtF(col("search_hits"), 0), fmtF(col("exists"), 0), strings.Join(cs, ","))
				if s == ourServer && ph == "warm" {
					sel, fet, sea := col("select_ms"), col("fetch_flags_ms"), col("uid_search_ms")
					allOK := len(cs) == 1 && cs[0] == "ok"
					verdicts = append(verdicts,
						verdict(sel >= 0 && sel < targetSelectMs && allOK, fmt.Sprintf("warm SELECT: ours %s ms (target < %.0f ms)", fmtF(sel, 1), targetSelectMs)),
						verdict(fet >= 0 && fet < targetFetchMs && allOK, fmt.Sprintf("warm FETCH 1:* (FLAGS): ours %s ms (target < %.0f ms)", fmtF(fet, 1), targetFetchMs)),
						verdict(sea >= 0 && sea < targetSearchMs && allOK, fmt.Sprintf("warm UID SEARCH HEADER: ours %s ms (target < %.0f ms)", fmtF(sea, 1), targetSearchMs)))
				}
			}
		}
		fmt.Fprintln(w)
	}

	if len(verdicts) > 0 {
		fmt.Fprintln(w, "## Targets")
		fmt.Fprintln(w)
		for _, v := range verdicts {
			fmt.Fprintln(w, "- "+v)
		}
		fmt.Fprintln(w)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "uptime.txt")); err == nil {
		fmt.Fprintf(w, "## Load before each measurement\n\n```\n%s```\n", b)
	}
	return nil
}

func verdict(ok bool, text string) string {
	if ok {
		return "MET: " + text
	}
	return "NOT MET: " + text
}
