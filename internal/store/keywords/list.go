package keywords

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// list is a parsed :list.
type list struct {
	entries []Entry
	// damaged says the file held entries the merge drops (out-of-range numbers, lines
	// without ':', empty sets, messages that are gone), so it must be rewritten.
	damaged bool
	exists  bool
	raw     string
	// canon maps a folded keyword to its spelling: the first one seen (case-insensitive mode).
	canon map[string]string
}

// canonical maps keywords to the first spelling seen, recording new ones.
func (s *Store) canonical(canon map[string]string, kws []string) []string {
	out := make([]string, 0, len(kws))
	for _, k := range kws {
		f := s.fold(k)
		if c, ok := canon[f]; ok {
			k = c
		} else {
			canon[f] = k
		}
		out = append(out, k)
	}
	return out
}

// readList parses :list. exists, when not nil, says which messages are in the folder; entries
// for other messages are dropped.
func (s *Store) readList(exists func(string) bool) (*list, error) {
	data, err := os.ReadFile(filepath.Join(s.kwDir(), ListName))
	if errors.Is(err, fs.ErrNotExist) {
		return &list{canon: map[string]string{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keywords: read %s: %w", ListName, err)
	}
	l := s.parseList(data, exists)
	l.exists = true
	return l, nil
}

// parseList parses the content of :list (see readList).
func (s *Store) parseList(data []byte, exists func(string) bool) *list {
	l := &list{raw: string(data), canon: map[string]string{}}
	lines := strings.Split(string(data), "\n")
	var names []string
	i := 0
	for ; i < len(lines) && lines[i] != ""; i++ {
		names = append(names, lines[i])
	}
	names = s.canonical(l.canon, names)
	for i++; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		c := strings.LastIndexByte(line, ':')
		if c < 0 {
			l.damaged = true
			continue
		}
		base := line[:c]
		var kws []string
		for _, f := range strings.Fields(line[c+1:]) {
			// Courier reads the numbers with atoi: leading digits, anything else is 0.
			j := 0
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			n, _ := strconv.Atoi(f[:j])
			if j == 0 {
				n = 0
			}
			if j < len(f) || n < 0 || n >= len(names) {
				l.damaged = true
			}
			if n >= 0 && n < len(names) {
				kws = append(kws, names[n])
			}
		}
		kws = s.normalize(kws)
		if exists != nil && !exists(base) {
			l.damaged = true
			continue
		}
		if len(kws) == 0 {
			l.damaged = true // listed, as Courier does, but not written back
		}
		l.entries = append(l.entries, Entry{Base: base, Keywords: kws})
	}
	return l
}

// render produces :list content for entries (entries without keywords are left out); "" when
// no message has keywords.
func (s *Store) render(entries []Entry) string {
	index := map[string]int{}
	var names []string
	for _, e := range entries {
		for _, k := range e.Keywords {
			if _, ok := index[s.fold(k)]; !ok {
				index[s.fold(k)] = -1
				names = append(names, k)
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.SliceStable(names, func(i, j int) bool {
		hi, hj := courierHash(s.fold(names[i])), courierHash(s.fold(names[j]))
		if hi != hj {
			return hi < hj
		}
		return s.fold(names[i]) < s.fold(names[j])
	})
	var b strings.Builder
	for i, n := range names {
		index[s.fold(n)] = i
		b.WriteString(n)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	for _, e := range entries {
		if len(e.Keywords) == 0 {
			continue
		}
		b.WriteString(e.Base)
		b.WriteByte(':')
		for i, k := range e.Keywords {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(index[s.fold(k)]))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// courierHash is the bucket of a (folded) keyword in Courier's keyword hash table, which fixes
// the order of names in :list.
func courierHash(k string) uint64 {
	var h uint64
	for i := 0; i < len(k); i++ {
		h = h<<1 ^ uint64(k[i])
	}
	return h % hashSize
}

// update is what the directory scan found for one message.
type update struct {
	plain  bool
	dotted []uint64
}

// ReadAll merges :list with the update files and returns every message's keywords: first the
// messages of :list in its order, then messages known only from update files in directory
// order. Messages whose update file empties their set are returned with no keywords.
//
// exists, when not nil, says which base names are messages of the folder (in new/ or cur/);
// :list entries for other names are dropped, and their update files are removed once their
// ctime is fifteen minutes old. With nil (as maildirkw -L) every name counts as present.
//
// Then, as Courier: when the merge changed anything, :list is rewritten through tmp/ (or
// removed when no message has keywords left); plain update files are renamed to .N.base with
// N = now/300+1; for a message with several .N files whose largest N is below now/300 all but
// the largest are removed, and a lone .N file with N below now/300 is removed.
func (s *Store) ReadAll(exists func(base string) bool) ([]Entry, error) {
	// Courier creates the directory even when only listing; a failure is not an error.
	_ = os.Mkdir(s.kwDir(), 0o700)
	for attempt := 0; ; attempt++ {
		entries, err := s.readAll(exists)
		if errors.Is(err, fs.ErrNotExist) && attempt < maxRestarts {
			continue // an update file vanished under us: start again (README.imapkeywords)
		}
		return entries, err
	}
}

func (s *Store) readAll(exists func(string) bool) ([]Entry, error) {
	now := s.now()
	t := uint64(now.Unix() / 300)
	l, err := s.readList(exists)
	if err != nil {
		return nil, err
	}
	names, err := s.readDirNames()
	if err != nil {
		return nil, err
	}
	updates := map[string]*update{}
	var order []string
	for _, name := range names {
		if name == "." || name == ".." || name == ListName || strings.HasPrefix(name, ".tmp.") {
			continue
		}
		base, num, plain := name, uint64(0), true
		if name[0] == '.' {
			n, b, ok := parseDotted(name)
			if !ok {
				continue
			}
			base, num, plain = b, n, false
		}
		if exists != nil && !exists(base) {
			s.removeIfStale(name, now)
			continue
		}
		u := updates[base]
		if u == nil {
			u = &update{}
			updates[base] = u
			order = append(order, base)
		}
		if plain {
			u.plain = true
		} else {
			u.dotted = append(u.dotted, num)
		}
	}

	pos := make(map[string]int, len(l.entries))
	entries := l.entries
	for i, e := range entries {
		pos[e.Base] = i
	}
	changed := l.damaged
	for _, base := range order {
		u := updates[base]
		file := base
		if !u.plain {
			file = dotted(maxOf(u.dotted), base)
		}
		data, err := readUpdate(filepath.Join(s.kwDir(), file))
		if err != nil {
			return nil, fmt.Errorf("keywords: read update %s: %w", file, err)
		}
		kws := s.normalize(s.canonical(l.canon, parseUpdate(data)))
		if i, ok := pos[base]; ok {
			if !s.same(entries[i].Keywords, kws) {
				changed = true
			}
			entries[i].Keywords = kws
			continue
		}
		if len(kws) > 0 {
			changed = true
		}
		pos[base] = len(entries)
		entries = append(entries, Entry{Base: base, Keywords: kws})
	}

	if changed {
		content := s.render(entries)
		listPath := filepath.Join(s.kwDir(), ListName)
		if content == "" {
			if err := os.Remove(listPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("keywords: remove %s: %w", ListName, err)
			}
		} else if content != l.raw {
			if err := s.writeAtomic(listPath, content); err != nil {
				return nil, fmt.Errorf("keywords: write %s: %w", ListName, err)
			}
		}
	}
	for _, base := range order {
		u := updates[base]
		if u.plain {
			from, to := filepath.Join(s.kwDir(), base), filepath.Join(s.kwDir(), dotted(t+1, base))
			forgetUpdate(from)
			forgetUpdate(to)
			if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("keywords: rename update %s: %w", base, err)
			}
			continue
		}
		switch {
		case len(u.dotted) == 1 && u.dotted[0] < t:
			s.remove(dotted(u.dotted[0], base))
		case len(u.dotted) > 1 && maxOf(u.dotted) < t:
			m := maxOf(u.dotted)
			for _, n := range u.dotted {
				if n != m {
					s.remove(dotted(n, base))
				}
			}
		}
	}
	return entries, nil
}

// same compares two normalized keyword sets.
func (s *Store) same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if s.fold(a[i]) != s.fold(b[i]) {
			return false
		}
	}
	return true
}

func (s *Store) remove(name string) {
	p := filepath.Join(s.kwDir(), name)
	forgetUpdate(p)
	_ = os.Remove(p)
}

// removeIfStale removes an update file for an unknown message once its ctime is fifteen
// minutes old (the message may just have arrived after the folder scan). A file seen not
// to be stale is not looked at again until it may be (cache.go).
func (s *Store) removeIfStale(name string, now time.Time) {
	p := filepath.Join(s.kwDir(), name)
	if notStaleBefore(p, now) {
		return
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return
	}
	ctime := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	if now.Sub(ctime) >= staleUnknown {
		s.remove(name)
		return
	}
	rememberNotStale(p, ctime.Add(staleUnknown))
}

func maxOf(ns []uint64) uint64 {
	m := ns[0]
	for _, n := range ns[1:] {
		if n > m {
			m = n
		}
	}
	return m
}
