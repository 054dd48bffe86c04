package server

import (
	"sort"
	"strconv"
	"strings"

	"courier/internal/imap/wire"
	"courier/internal/store"
)

// selected is the selected mailbox as this session's client knows it.
type selected struct {
	name     string
	mb       store.Mailbox
	readOnly bool
	unlisted bool                // msgs not made yet: mb's view as opened (listView)
	msgs     []store.Message     // sequence number i is msgs[i-1]; sorted by UID
	kw       []string            // keywords announced in the last FLAGS response, sorted
	vsize    map[store.UID]int64 // RFC822.SIZE of messages already measured
}

// keywordLister is what a mailbox offers (maildirstore's views do) to list the keywords in
// use without listing its messages; SELECT then leaves the list of messages to the next
// command (listView).
type keywordLister interface {
	KeywordsInUse() []string
}

// listView makes the list of the selected mailbox's messages when SELECT left it to be
// made. The mailbox's view changes only at Sync and through the session's own commands,
// and none ran since SELECT, so the list is the one SELECT would have made: EXISTS and
// RECENT as SELECT reported them. It runs before every command (dispatch).
func (ss *session) listView() {
	if s := ss.sel; s != nil && s.unlisted {
		s.msgs = s.mb.Messages()
		s.unlisted = false
	}
}

// seqOf returns the sequence number of uid, or 0.
func (s *selected) seqOf(uid store.UID) uint32 {
	i := sort.Search(len(s.msgs), func(i int) bool { return s.msgs[i].UID >= uid })
	if i < len(s.msgs) && s.msgs[i].UID == uid {
		return uint32(i + 1)
	}
	return 0
}

// recent counts the \Recent messages.
func (s *selected) recent() int {
	n := 0
	for i := range s.msgs {
		if s.msgs[i].Recent {
			n++
		}
	}
	return n
}

// keywordsInUse returns the keywords of the mailbox's messages, sorted.
func (s *selected) keywordsInUse() []string {
	set := map[string]bool{}
	for i := range s.msgs {
		for _, k := range s.msgs[i].Keywords {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// systemFlags in the order Courier lists them.
var systemFlags = []struct {
	f    store.Flags
	name string
}{
	{store.Draft, `\Draft`}, {store.Answered, `\Answered`}, {store.Flagged, `\Flagged`},
	{store.Deleted, `\Deleted`}, {store.Seen, `\Seen`},
}

// appendFlags appends a message's flag list "(\\Seen \\Recent kw)". It runs for every
// message of FETCH 1:* (FLAGS): plain appends, no allocation.
func appendFlags(b []byte, m *store.Message) []byte {
	b = append(b, '(')
	start := len(b)
	add := func(b []byte, name string) []byte {
		if len(b) > start {
			b = append(b, ' ')
		}
		return append(b, name...)
	}
	if m.Flags&store.Answered != 0 {
		b = add(b, `\Answered`)
	}
	if m.Flags&store.Flagged != 0 {
		b = add(b, `\Flagged`)
	}
	if m.Flags&store.Deleted != 0 {
		b = add(b, `\Deleted`)
	}
	if m.Flags&store.Seen != 0 {
		b = add(b, `\Seen`)
	}
	if m.Flags&store.Draft != 0 {
		b = add(b, `\Draft`)
	}
	if m.Recent {
		b = add(b, `\Recent`)
	}
	for _, k := range m.Keywords {
		b = add(b, k)
	}
	return append(b, ')')
}

// flagsResponses writes FLAGS and PERMANENTFLAGS for the selected mailbox (RFC 3501 §7.2.6).
func (ss *session) flagsResponses() {
	s := ss.sel
	var kw string
	if len(s.kw) > 0 {
		kw = strings.Join(s.kw, " ") + " "
	}
	ss.untagged(`FLAGS (` + kw + `\Draft \Answered \Flagged \Deleted \Seen \Recent)`)
	switch {
	case s.readOnly:
		ss.untagged(`OK [PERMANENTFLAGS ()] No permanent flags permitted`)
	case ss.set.Keywords:
		ss.untagged(`OK [PERMANENTFLAGS (` + kw + `\* \Draft \Answered \Flagged \Deleted \Seen)] Limited`)
	default:
		ss.untagged(`OK [PERMANENTFLAGS (\Draft \Answered \Flagged \Deleted \Seen)] Limited`)
	}
}

// announceKeywords re-sends FLAGS when the keywords in use changed. added reports whether
// new ones appeared (Courier announces those before the FETCH responses that show them,
// and removals after).
func (ss *session) announceKeywords(onlyAdded bool) {
	if ss.sel == nil || !ss.set.Keywords {
		return
	}
	now := ss.sel.keywordsInUse()
	old := ss.sel.kw
	if equalStrings(now, old) {
		return
	}
	if onlyAdded && !hasNew(now, old) {
		return
	}
	ss.sel.kw = now
	ss.flagsResponses()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hasNew reports whether now has an element old lacks (both sorted).
func hasNew(now, old []string) bool {
	set := map[string]bool{}
	for _, k := range old {
		set[k] = true
	}
	for _, k := range now {
		if !set[k] {
			return true
		}
	}
	return false
}

// sync brings the session's view up to date with what others changed and tells the client:
// EXPUNGE for each message gone, FETCH FLAGS for changed ones, EXISTS and RECENT when the
// count changed (Courier reports RECENT with every EXISTS).
func (ss *session) sync(report bool) {
	s := ss.sel
	if s == nil {
		return
	}
	ss.listView() // made by dispatch already; here too so that no change is applied to none
	ch, err := s.mb.Sync()
	if err != nil {
		ss.log.Warn("mailbox sync failed", "mailbox", s.name, "err", err)
		return
	}
	if ch.Empty() {
		return
	}
	ss.applyExpunged(ch.Expunged)
	for _, m := range ch.Updated {
		if seq := s.seqOf(m.UID); seq > 0 {
			s.msgs[seq-1] = m
		}
	}
	ss.announceKeywords(false)
	for _, m := range ch.Updated {
		if seq := s.seqOf(m.UID); seq > 0 {
			b := []byte("* " + strconv.Itoa(int(seq)) + " FETCH (FLAGS ")
			b = appendFlags(b, &s.msgs[seq-1])
			b = append(b, ")\r\n"...)
			ss.writeRaw(b)
		}
	}
	if len(ch.New) > 0 {
		s.msgs = append(s.msgs, ch.New...)
		sort.Slice(s.msgs, func(i, j int) bool { return s.msgs[i].UID < s.msgs[j].UID })
		ss.announceKeywords(true)
	}
	if len(ch.New) > 0 || len(ch.Expunged) > 0 {
		ss.existsRecent()
	}
}

// existsRecent writes EXISTS and RECENT.
func (ss *session) existsRecent() {
	ss.untagged(strconv.Itoa(len(ss.sel.msgs)) + " EXISTS")
	ss.untagged(strconv.Itoa(ss.sel.recent()) + " RECENT")
}

// applyExpunged removes messages from the view and writes an EXPUNGE for each, with the
// sequence number it has at that moment (RFC 3501 §7.4.1).
func (ss *session) applyExpunged(uids []store.UID) {
	if len(uids) == 0 {
		return
	}
	s := ss.sel
	gone := make(map[store.UID]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	out := s.msgs[:0]
	removed := 0
	for i := range s.msgs {
		if gone[s.msgs[i].UID] {
			ss.untagged(strconv.Itoa(i+1-removed) + " EXPUNGE")
			removed++
			continue
		}
		out = append(out, s.msgs[i])
	}
	for i := len(out); i < len(s.msgs); i++ {
		s.msgs[i] = store.Message{}
	}
	s.msgs = out
}

// resolveSet turns a sequence set (or a UID set) into the indexes of the view's messages
// it names, in ascending order. Numbers that name no message are skipped (RFC 3501 §6.4.8
// for UIDs; Courier does the same for sequence numbers beyond the last). The set is first
// brought to normal form (sorted, disjoint ranges), then each range is located by binary
// search in the view (sorted by UID): the cost is O(ranges × log messages + result), not
// messages × ranges, whatever the client sends.
func (ss *session) resolveSet(set wire.SeqSet, uid bool) []int {
	var out []int
	if !uid {
		// as many as the ranges name within the view (they are disjoint once resolved)
		n, total := int64(len(ss.sel.msgs)), int64(0)
		for _, r := range set.Resolve(uint32(n)) {
			if lo, hi := max(int64(r.Lo), 1), min(int64(r.Hi), n); hi >= lo {
				total += hi - lo + 1
			}
		}
		out = make([]int, 0, total)
	}
	ss.eachInSet(set, uid, func(i int) { out = append(out, i) })
	return out
}

// eachInSet calls fn with the index of each message of the view the set names, in ascending
// order, as resolveSet lists them, without making the list.
func (ss *session) eachInSet(set wire.SeqSet, uid bool, fn func(i int)) {
	s := ss.sel
	n := len(s.msgs)
	if n == 0 {
		return
	}
	if !uid {
		for _, r := range set.Resolve(uint32(n)) {
			lo, hi := int64(r.Lo), int64(r.Hi)
			lo = max(lo, 1)
			hi = min(hi, int64(n))
			for i := lo; i <= hi; i++ {
				fn(int(i - 1))
			}
		}
		return
	}
	for _, r := range set.Resolve(uint32(s.msgs[n-1].UID)) {
		i := sort.Search(n, func(i int) bool { return uint32(s.msgs[i].UID) >= r.Lo })
		for ; i < n && uint32(s.msgs[i].UID) <= r.Hi; i++ {
			fn(i)
		}
	}
}
