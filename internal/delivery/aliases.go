package delivery

// The alias table of makealiases(8): "name: address, address" lines (continuation lines
// begin with a blank), ":include:/path" lists, program and mailbox targets ("| command",
// "/path"), and "@domain: user" virtual domains. A name without "@" is name@me.
//
// The text source is the aliases file or directory; `courier makealiases` compiles it into
// aliases.dat, which the resolver then reads instead (so that, as with Courier, edits take
// effect when compiled). Our aliases.dat is text: CompiledMagic, then one "key: target,
// target" line per alias in the canonical form (names lower-case only in the domain, as
// Courier keeps them), "@domain: user" lines for virtual domains.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"courier/internal/config/courierfmt"
)

// CompiledMagic is the first line of an aliases.dat made by our makealiases.
const CompiledMagic = "#courier-aliases 1"

// Aliases is a parsed alias table.
type Aliases struct {
	// Targets maps "name@domain" (local part as written, domain lower case; looked up
	// case-insensitively through its lower-case form) to its targets in file order.
	Targets map[string][]string
	// Instr maps a program or mailbox alias (lower-case key) to its instruction
	// ("| command", "/var/shared/info"): the alias's whole list.
	Instr map[string]string
	// Keys are the names as first written, in file order (for -dump).
	Keys []string
	// Virtual maps a virtual domain to its user ("@domain: user").
	Virtual map[string]string
	// VirtualOrder lists the virtual domains in file order.
	VirtualOrder []string
}

// ParseAliases reads alias source lines (courierfmt.ReadControl of the aliases file or
// directory). Bad lines are logged and skipped, as makealiases skips them.
func ParseAliases(ls []courierfmt.Line, me string, log *slog.Logger) *Aliases {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Aliases{Targets: map[string][]string{}, Virtual: map[string]string{}, Instr: map[string]string{}}
	// Join each alias's lines first: a program or mailbox alias is one whose whole list
	// begins with "|" or "/" (Courier reads "x: a, | prog" as two addresses).
	type entry struct {
		key, list, pos string
	}
	var entries []*entry
	var cur *entry
	for _, l := range ls {
		text := l.Text
		if text != "" && (text[0] == ' ' || text[0] == '\t') {
			if cur != nil {
				cur.list += "," + text
			}
			continue
		}
		cur = nil
		n, targets, ok := strings.Cut(text, ":")
		n = strings.TrimSpace(n)
		if !ok || n == "" || strings.ContainsAny(n, " \t,") {
			log.Warn("aliases: bad line", "at", l.Pos())
			continue
		}
		if strings.HasPrefix(n, "@") {
			d := strings.ToLower(strings.TrimPrefix(n, "@"))
			user := strings.TrimSpace(targets)
			if d == "" || user == "" || strings.ContainsAny(user, " \t,@") {
				log.Warn("aliases: a virtual domain names one local user", "at", l.Pos())
				continue
			}
			if _, dup := a.Virtual[d]; !dup {
				a.VirtualOrder = append(a.VirtualOrder, d)
			}
			a.Virtual[d] = user
			continue
		}
		cur = &entry{key: canonical(n, me), list: targets, pos: l.Pos()}
		entries = append(entries, cur)
	}
	for _, e := range entries {
		if _, seen := a.Targets[strings.ToLower(e.key)]; !seen {
			a.Keys = append(a.Keys, e.key)
			a.Targets[strings.ToLower(e.key)] = nil
		}
		list := strings.TrimLeft(e.list, " \t,")
		if strings.HasPrefix(list, "|") || strings.HasPrefix(list, "/") {
			if len(a.Targets[strings.ToLower(e.key)]) == 0 {
				a.Instr[strings.ToLower(e.key)] = strings.TrimSpace(strings.ReplaceAll(list, ",\t", " "))
			}
			continue
		}
		for _, t := range strings.Split(list, ",") {
			t = strings.TrimSpace(t)
			switch {
			case t == "":
			case strings.HasPrefix(t, ":include:"):
				inc, err := os.ReadFile(strings.TrimSpace(strings.TrimPrefix(t, ":include:")))
				if err != nil {
					log.Warn("aliases: include", "at", e.pos, "err", err)
					continue
				}
				for _, l := range strings.Split(string(inc), "\n") {
					if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
						for _, x := range strings.Split(l, ",") {
							if x = strings.TrimSpace(x); x != "" {
								a.addTarget(e.key, canonicalTarget(x))
							}
						}
					}
				}
			default:
				a.addTarget(e.key, canonicalTarget(t))
			}
		}
	}
	return a
}

func (a *Aliases) addTarget(key, t string) {
	k := strings.ToLower(key)
	for _, x := range a.Targets[k] {
		if x == t {
			return
		}
	}
	a.Targets[k] = append(a.Targets[k], t)
}

// canonical is an address in the table's form: local part as written, "@me" added to a
// bare name, the domain in lower case, angle brackets removed.
func canonical(addr, me string) string {
	addr = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">")
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr + "@" + me
	}
	return addr[:i] + "@" + strings.ToLower(addr[i+1:])
}

// canonicalTarget is a target address in the table's form: as canonical, but a bare name
// stays bare (it is local whatever the domain lists say, as courier(8) takes an address
// without a domain).
func canonicalTarget(addr string) string {
	// Blanks are not part of an address (RFC 5322 folding white space), as Courier reads it.
	addr = strings.Join(strings.Fields(addr), "")
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i] + "@" + strings.ToLower(addr[i+1:])
	}
	return addr
}

// Expanded returns key's targets with the targets that are aliases themselves replaced by
// theirs, recursively, duplicates removed (what makealiases -dump shows and what a message
// to key reaches).
func (a *Aliases) Expanded(key, me string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	var walk func(k string, depth int)
	walk = func(k string, depth int) {
		if in, ok := a.Instr[strings.ToLower(k)]; ok {
			_ = in
			add(`".xalias/` + k + `"@` + me)
			return
		}
		for _, t := range a.Targets[strings.ToLower(k)] {
			if !strings.Contains(t, "@") {
				t += "@" + me
			}
			lt := strings.ToLower(t)
			_, isAlias := a.Targets[lt]
			_, isInstr := a.Instr[lt]
			if (isAlias || isInstr) && !seen["alias:"+lt] && depth < maxAliasDepth {
				seen["alias:"+lt] = true
				walk(t, depth+1)
				continue
			}
			// not an alias, or the alias itself ("larry: larry, moe"): an address
			add(t)
		}
	}
	seen["alias:"+strings.ToLower(key)] = true
	walk(key, 0)
	return out
}

// Dump writes the table as makealiases -dump prints it: each alias with its expanded
// targets and a blank line, program and mailbox targets in Courier's ".xalias/" form, then
// the virtual domains.
func (a *Aliases) Dump(w io.Writer, me string) error {
	bw := bufio.NewWriter(w)
	for _, k := range a.Keys {
		ts := a.Expanded(k, me)
		fmt.Fprintf(bw, "%s: %s\n\n", k, strings.Join(ts, ", "))
	}
	for _, d := range a.VirtualOrder {
		fmt.Fprintf(bw, "@%s: %s\n\n", d, a.Virtual[d])
	}
	return bw.Flush()
}

// WriteCompiled writes the table in our aliases.dat form (not expanded: the resolver
// expands at delivery time, so the table stays small).
func (a *Aliases) WriteCompiled(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(CompiledMagic + "\n")
	keys := append([]string(nil), a.Keys...)
	sort.Strings(keys)
	for _, k := range keys {
		if in, ok := a.Instr[strings.ToLower(k)]; ok {
			fmt.Fprintf(bw, "%s: %s\n", k, in)
			continue
		}
		ts := a.Targets[strings.ToLower(k)]
		if len(ts) == 0 {
			continue
		}
		fmt.Fprintf(bw, "%s: %s\n", k, strings.Join(ts, ", "))
	}
	vs := append([]string(nil), a.VirtualOrder...)
	sort.Strings(vs)
	for _, d := range vs {
		fmt.Fprintf(bw, "@%s: %s\n", d, a.Virtual[d])
	}
	return bw.Flush()
}

// IsCompiledAliases reports whether p is an aliases.dat our makealiases wrote.
func IsCompiledAliases(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(CompiledMagic))
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == CompiledMagic
}

// LoadCompiledAliases reads our aliases.dat.
func LoadCompiledAliases(p, me string) (*Aliases, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("aliases: %w", err)
	}
	ls, err := courierfmt.ParseControl(p, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("aliases: %w", err)
	}
	return ParseAliases(ls, me, nil), nil
}
