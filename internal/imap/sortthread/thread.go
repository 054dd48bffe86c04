package sortthread

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"courier/internal/imap/search"
)

// Node is one node of a thread tree. Msg is nil for a dummy (a message that is referenced
// but not in the result, kept only to hold its children together).
type Node struct {
	Msg      *search.Message
	Children []*Node

	parent *Node
	in     *info
}

// Thread builds threads over msgs with "ORDEREDSUBJECT" or "REFERENCES" (RFC 5256 §4, the
// algorithm name is case-insensitive) and returns the top-level nodes in order.
func Thread(alg string, msgs []*search.Message, opt Options) ([]*Node, error) {
	switch strings.ToUpper(alg) {
	case "ORDEREDSUBJECT", "REFERENCES":
	default:
		return nil, fmt.Errorf("threading algorithm %q: %w", alg, ErrBadCriterion)
	}
	// the RFC processes messages in mailbox order (duplicate Message-IDs: the first wins)
	sorted := slices.Clone(msgs)
	slices.SortStableFunc(sorted, func(a, b *search.Message) int { return cmpInt(int64(a.Seq), int64(b.Seq)) })
	infos := make([]*info, len(sorted))
	for i, m := range sorted {
		hdr, err := loadHeader(m)
		if err != nil {
			return nil, err
		}
		in := &info{msg: m}
		s, _ := fieldString(hdr, "Subject")
		in.subject, in.refwd = search.SubjectInfo(s)
		in.sent = sentDate(m, hdr)
		if strings.EqualFold(alg, "REFERENCES") {
			in.messageID = firstID(hdr, "Message-ID")
			in.refs = msgIDs(hdr, "References")
			if len(in.refs) == 0 {
				if id := firstID(hdr, "In-Reply-To"); id != "" {
					in.refs = []string{id}
				}
			}
		}
		infos[i] = in
	}
	if strings.EqualFold(alg, "ORDEREDSUBJECT") {
		return orderedSubject(infos), nil
	}
	return references(infos), nil
}

// msgIDs returns the message identifiers ("<...>", white space inside removed) of a field.
func msgIDs(hdr []byte, field string) []string {
	v, ok := search.FieldValue(hdr, field)
	if !ok {
		return nil
	}
	var out []string
	s := string(v)
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		id := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s[i+1:i+j])
		if id != "" {
			out = append(out, id)
		}
		s = s[i+j+1:]
	}
	return out
}

func firstID(hdr []byte, field string) string {
	if ids := msgIDs(hdr, field); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// before orders two thread nodes by sent date, then sequence number (RFC 5256 §2.2); a dummy
// counts as its first child.
func before(a, b *Node) int {
	ia, ib := a.first(), b.first()
	if ia == nil || ib == nil {
		switch {
		case ia == nil && ib == nil:
			return 0
		case ia == nil:
			return 1
		}
		return -1
	}
	if c := ia.sent.Compare(ib.sent); c != 0 {
		return c
	}
	return cmpInt(int64(ia.msg.Seq), int64(ib.msg.Seq))
}

// first returns the message a node sorts by: its own, or its first child's for a dummy.
func (n *Node) first() *info {
	for n != nil && n.in == nil {
		if len(n.Children) == 0 {
			return nil
		}
		n = n.Children[0]
	}
	if n == nil {
		return nil
	}
	return n.in
}

// orderedSubject implements ORDEREDSUBJECT (RFC 5256 §4): sort by base subject then sent
// date, one thread per base subject whose later messages are children of the first, threads
// in the order of their first messages.
func orderedSubject(infos []*info) []*Node {
	s := slices.Clone(infos)
	slices.SortStableFunc(s, func(a, b *info) int {
		if c := search.CompareFold(a.subject, b.subject); c != 0 {
			return c
		}
		if c := a.sent.Compare(b.sent); c != 0 {
			return c
		}
		return cmpInt(int64(a.msg.Seq), int64(b.msg.Seq))
	})
	var roots []*Node
	for i := 0; i < len(s); {
		root := &Node{Msg: s[i].msg, in: s[i]}
		j := i + 1
		for ; j < len(s) && search.CompareFold(s[j].subject, s[i].subject) == 0; j++ {
			root.Children = append(root.Children, &Node{Msg: s[j].msg, in: s[j], parent: root})
		}
		roots = append(roots, root)
		i = j
	}
	slices.SortStableFunc(roots, before)
	return roots
}

// references implements the REFERENCES algorithm of RFC 5256 §4.
func references(infos []*info) []*Node {
	byID := map[string]*Node{}
	var order []*Node // containers in creation order, for a deterministic root set
	container := func(id string) *Node {
		if c, ok := byID[id]; ok {
			return c
		}
		c := &Node{}
		byID[id] = c
		order = append(order, c)
		return c
	}
	// (1) link messages
	for _, in := range infos {
		var c *Node
		if in.messageID != "" {
			if ex, ok := byID[in.messageID]; ok && ex.in == nil {
				c = ex
			}
		}
		if c == nil {
			// no Message-ID, or a duplicate: a unique container of its own
			c = &Node{}
			if in.messageID != "" {
				if _, dup := byID[in.messageID]; !dup {
					byID[in.messageID] = c
				}
			}
			order = append(order, c)
		}
		c.in, c.Msg = in, in.msg
		// (1A) chain the references
		var prev *Node
		for _, r := range in.refs {
			rc := container(r)
			if prev != nil && rc.parent == nil && prev != rc && !isAncestor(rc, prev) {
				link(prev, rc)
			}
			prev = rc
		}
		// (1B) the last reference is the parent
		if c.parent != nil {
			unlink(c)
		}
		if prev != nil && prev != c && !isAncestor(c, prev) {
			link(prev, c)
		}
	}
	// (2) the root set
	var roots []*Node
	for _, c := range order {
		if c.parent == nil {
			roots = append(roots, c)
		}
	}
	// (3) prune dummies
	roots = prune(roots, true)
	// (4) sort the root set by sent date (a dummy by its earliest child)
	for _, r := range roots {
		if r.in == nil {
			slices.SortStableFunc(r.Children, before)
		}
	}
	slices.SortStableFunc(roots, before)
	// (5) gather threads with the same base subject
	roots = mergeSubjects(roots)
	// (6) sort every set of siblings, deepest first
	sortTree(roots)
	slices.SortStableFunc(roots, before)
	return roots
}

// isAncestor reports whether a is b or an ancestor of b.
func isAncestor(a, b *Node) bool {
	for n := b; n != nil; n = n.parent {
		if n == a {
			return true
		}
	}
	return false
}

func link(parent, child *Node) {
	child.parent = parent
	parent.Children = append(parent.Children, child)
}

func unlink(c *Node) {
	p := c.parent
	if p == nil {
		return
	}
	if i := slices.Index(p.Children, c); i >= 0 {
		p.Children = slices.Delete(p.Children, i, i+1)
	}
	c.parent = nil
}

// prune removes dummies without children and replaces a dummy by its children, except at
// the top level when it has more than one (RFC 5256 §4 step 3).
func prune(list []*Node, top bool) []*Node {
	var out []*Node
	for _, c := range list {
		c.Children = prune(c.Children, false)
		for _, k := range c.Children {
			k.parent = c
		}
		if c.in == nil {
			if len(c.Children) == 0 {
				continue
			}
			if !top || len(c.Children) == 1 {
				for _, k := range c.Children {
					k.parent = c.parent
				}
				out = append(out, c.Children...)
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// threadSubject returns the base subject a root node is grouped by.
func threadSubject(n *Node) (string, *info) {
	if n.in != nil {
		return n.in.subject, n.in
	}
	if len(n.Children) > 0 && n.Children[0].in != nil {
		return n.Children[0].in.subject, n.Children[0].in
	}
	return "", nil
}

// foldKey maps a base subject to its i;ascii-casemap equivalence class.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func isReply(n *Node) bool { return n.in != nil && n.in.refwd }

// mergeSubjects is step 5 of REFERENCES.
func mergeSubjects(roots []*Node) []*Node {
	table := map[string]*Node{}
	for _, r := range roots {
		s, _ := threadSubject(r)
		if s == "" {
			continue
		}
		k := foldKey(s)
		old, ok := table[k]
		if !ok {
			table[k] = r
			continue
		}
		if old.in != nil && (r.in == nil || (isReply(old) && !isReply(r))) {
			table[k] = r
		}
	}
	removed := map[*Node]bool{}
	var out []*Node
	replace := map[*Node]*Node{} // a table message moved under a new dummy → the dummy
	for _, r := range roots {
		s, _ := threadSubject(r)
		if s == "" {
			out = append(out, r)
			continue
		}
		k := foldKey(s)
		t := table[k]
		if t == r {
			out = append(out, r)
			continue
		}
		switch {
		case t.in == nil && r.in == nil:
			for _, c := range r.Children {
				c.parent = t
			}
			t.Children = append(t.Children, r.Children...)
			r.Children = nil
			removed[r] = true
		case t.in == nil:
			link(t, r)
			removed[r] = true
		case isReply(r) && !isReply(t):
			link(t, r)
			removed[r] = true
		default:
			d := &Node{}
			wasTop := t.parent == nil
			link(d, t)
			link(d, r)
			removed[r] = true
			table[k] = d
			if wasTop {
				replace[t] = d
			}
		}
	}
	// the root list keeps its order; messages merged away drop out, a table message that
	// went under a new dummy is replaced by that dummy
	var final []*Node
	for _, r := range out {
		if removed[r] {
			continue
		}
		for replace[r] != nil {
			r = replace[r]
		}
		if r.parent == nil {
			final = append(final, r)
		}
	}
	return final
}

func sortTree(list []*Node) {
	for _, n := range list {
		sortTree(n.Children)
		slices.SortStableFunc(n.Children, before)
	}
}

// Format prints threads as the body of an IMAP THREAD response (RFC 5256 §5), e.g.
// "(1)(2 3 (4)(5))", with UIDs or sequence numbers.
func Format(nodes []*Node, useUID bool) string {
	var b strings.Builder
	for _, n := range nodes {
		b.WriteByte('(')
		formatNode(&b, n, useUID)
		b.WriteByte(')')
	}
	return b.String()
}

// formatNode writes a thread-members list: the node's number, then its only child inline
// or each of several children parenthesised. A dummy writes no number.
func formatNode(b *strings.Builder, n *Node, useUID bool) {
	for {
		wrote := false
		if n.Msg != nil {
			num := n.Msg.Seq
			if useUID {
				num = n.Msg.UID
			}
			b.WriteString(strconv.FormatUint(uint64(num), 10))
			wrote = true
		}
		switch len(n.Children) {
		case 0:
			return
		case 1:
			if wrote {
				b.WriteByte(' ')
			}
			n = n.Children[0] // iterate, so a long chain needs no deep recursion
			continue
		}
		if wrote {
			b.WriteByte(' ')
		}
		for _, c := range n.Children {
			b.WriteByte('(')
			formatNode(b, c, useUID)
			b.WriteByte(')')
		}
		return
	}
}
