// Command mixload is the IMAP load driver of the benchmarks: N concurrent clients each run
// sessions of imaptest's default command mix (plus SEARCH) against one mailbox for a fixed
// time, and it reports per-command counts, latency percentiles, operations per second and
// errors, as a table and as one JSON line. Loopback only.
//
// This file: the mix, i.e. which commands a session issues and how often.
package main

import (
	"fmt"
	"strconv"
	"strings"
)

// op is one kind of command in the mix, in the order a session issues them (the order of
// imaptest's default states: Logi List Stat Sele Fetc Fet2 Stor Dele Expu Appe Logo, with
// SEARCH added before APPEND).
type op int

const (
	opLogin op = iota
	opList
	opStatus
	opSelect
	opFetch
	opFetch2
	opStore
	opDelete
	opExpunge
	opSearch
	opAppend
	opLogout
	nOps
)

// opNames are the mix keys and the report's row names.
var opNames = [nOps]string{"login", "list", "status", "select", "fetch", "fetch2", "store", "delete", "expunge", "search", "append", "logout"}

func (o op) String() string {
	if o == opConnect {
		return "connect"
	}
	if o < 0 || o >= nOps {
		return "op(" + strconv.Itoa(int(o)) + ")"
	}
	return opNames[o]
}

// Mix is the percentage chance of each command per session. LOGIN, SELECT and LOGOUT are
// always 100: a session without them is not a session.
type Mix [nOps]int

// DefaultMix is imaptest's default ("Logi 100% List 50% Stat 50% Sele 100% Fetc 100%
// Fet2 100% Stor 50% Dele 100% Expu 100% Appe 100% Logo 100%") plus SEARCH at 50%.
const DefaultMix = "list=50,status=50,fetch=100,fetch2=100,store=50,delete=100,expunge=100,search=50,append=100"

// imaptestNames maps imaptest's four-letter state names (its "Logi 100% List 50% ..." output
// and -profile syntax) to ours, so imaptest's mix can be pasted as it is printed.
var imaptestNames = map[string]string{
	"logi": "login", "list": "list", "stat": "status", "sele": "select", "fetc": "fetch",
	"fet2": "fetch2", "stor": "store", "dele": "delete", "expu": "expunge", "appe": "append",
	"logo": "logout", "sear": "search", "srch": "search",
}

// ParseMix reads "name=percent,..." over the default of 0 for every optional command, or
// imaptest's form "Logi 100% List 50% ..." (four-letter names, whitespace-separated). Unknown
// names, percentages outside 0..100 and repeated names are errors.
func ParseMix(s string) (Mix, error) {
	var m Mix
	m[opLogin], m[opSelect], m[opLogout] = 100, 100, 100
	seen := map[string]bool{}
	s = strings.TrimSpace(s)
	if s == "" {
		return m, nil
	}
	var items []string
	if strings.Contains(s, "=") {
		items = strings.Split(s, ",")
	} else {
		f := strings.Fields(s)
		if len(f)%2 != 0 {
			return m, fmt.Errorf("mix %q: want name=percent,... or imaptest's \"Name N%% ...\"", s)
		}
		for i := 0; i < len(f); i += 2 {
			name := strings.ToLower(f[i])
			if long, ok := imaptestNames[name]; ok {
				name = long
			}
			items = append(items, name+"="+f[i+1])
		}
	}
	for _, item := range items {
		name, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return m, fmt.Errorf("mix item %q: want name=percent", item)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			return m, fmt.Errorf("mix item %q: %s given twice", item, name)
		}
		seen[name] = true
		o := op(-1)
		for i, n := range opNames {
			if n == name {
				o = op(i)
			}
		}
		if o < 0 {
			return m, fmt.Errorf("mix item %q: unknown command %q (known: %s)", item, name, strings.Join(opNames[:], " "))
		}
		p, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(val), "%"))
		if err != nil || p < 0 || p > 100 {
			return m, fmt.Errorf("mix item %q: percent must be 0..100", item)
		}
		if (o == opLogin || o == opSelect || o == opLogout) && p != 100 {
			return m, fmt.Errorf("mix item %q: %s is always 100", item, name)
		}
		m[o] = p
	}
	return m, nil
}

// String is the mix in ParseMix's syntax, every command listed.
func (m Mix) String() string {
	parts := make([]string, 0, nOps)
	for o := op(0); o < nOps; o++ {
		parts = append(parts, fmt.Sprintf("%s=%d", o, m[o]))
	}
	return strings.Join(parts, ",")
}
