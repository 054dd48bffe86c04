package server

import (
	"sort"
	"strings"

	"courier/internal/imap/wire"
	"courier/internal/store"
)

// specialUses maps the usual folder names below INBOX to RFC 6154 attributes; quickstart
// creates these folders for its account.
var specialUses = map[string]string{
	"INBOX.Sent": `\Sent`, "INBOX.Drafts": `\Drafts`, "INBOX.Trash": `\Trash`,
	"INBOX.Junk": `\Junk`, "INBOX.Archive": `\Archive`, "INBOX.Spam": `\Junk`,
	"INBOX.Sent Items": `\Sent`, "INBOX.Sent Messages": `\Sent`, "INBOX.Deleted Messages": `\Trash`,
}

// specialUse returns a folder's special-use attribute, or "".
func specialUse(name string) string { return specialUses[name] }

// listOpts are LIST-EXTENDED's selection and return options (RFC 5258 §3, RFC 6154, RFC 5819).
type listOpts struct {
	subscribed, recursive, specialOnly     bool // selection
	retSubscribed, retChildren, retSpecial bool
	status                                 []string // LIST-STATUS items
	extended                               bool     // any LIST-EXTENDED syntax was used
}

// folderNode is one name a LIST may report.
type folderNode struct {
	name     string
	exists   bool // a folder (else only implied by a child: \Noselect)
	children bool
	subbed   bool
}

// cmdList: RFC 3501 §6.3.8 with LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154) and
// LIST-STATUS (RFC 5819).
func (ss *session) cmdList(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	var o listOpts
	if ss.r.Peek() == '(' {
		o.extended = true
		if err := ss.listSelection(&o); err != nil {
			return wireErr(err)
		}
		if err := ss.r.SP(); err != nil {
			return wireErr(err)
		}
	}
	ref, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	var patterns []string
	if ss.r.Peek() == '(' {
		o.extended = true
		ss.r.Skip(1)
		for ss.r.Peek() != ')' {
			if len(patterns) > 0 {
				if err := ss.r.SP(); err != nil {
					return wireErr(err)
				}
			}
			p, err := ss.r.ListMailbox()
			if err != nil {
				return wireErr(err)
			}
			patterns = append(patterns, p)
		}
		ss.r.Skip(1)
	} else {
		p, err := ss.r.ListMailbox()
		if err != nil {
			return wireErr(err)
		}
		patterns = append(patterns, p)
	}
	if !ss.r.AtEnd() {
		if err := ss.listReturn(&o); err != nil {
			return wireErr(err)
		}
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if len(patterns) == 1 && patterns[0] == "" && !o.extended {
		// RFC 3501 §6.3.8: the hierarchy delimiter and the root of the reference.
		ss.untagged(`LIST (\Noselect) "." ""`)
		return ok("", "LIST completed")
	}
	return ss.list("LIST", ref, patterns, o)
}

// cmdLsub: RFC 3501 §6.3.9.
func (ss *session) cmdLsub(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	ref, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	p, err := ss.r.ListMailbox()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	return ss.list("LSUB", ref, []string{p}, listOpts{})
}

func (ss *session) listSelection(o *listOpts) error {
	ss.r.Skip(1)
	for ss.r.Peek() != ')' {
		if ss.r.Peek() == ' ' {
			ss.r.Skip(1)
		}
		a, err := ss.r.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			o.subscribed = true
		case "RECURSIVEMATCH":
			o.recursive = true
		case "SPECIAL-USE":
			o.specialOnly, o.retSpecial = true, true
		case "REMOTE":
		default:
			return bad("", "Unknown LIST selection option.")
		}
	}
	ss.r.Skip(1)
	if o.recursive && !o.subscribed && !o.specialOnly {
		return bad("", "RECURSIVEMATCH needs another selection option.")
	}
	return nil
}

func (ss *session) listReturn(o *listOpts) error {
	if err := ss.r.SP(); err != nil {
		return err
	}
	a, err := ss.r.Atom()
	if err != nil || !strings.EqualFold(a, "RETURN") {
		return bad("", "Expected RETURN.")
	}
	o.extended = true
	if err := ss.r.SP(); err != nil {
		return err
	}
	if err := ss.r.Expect('('); err != nil {
		return err
	}
	for ss.r.Peek() != ')' {
		if ss.r.Peek() == ' ' {
			ss.r.Skip(1)
		}
		a, err := ss.r.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			o.retSubscribed = true
		case "CHILDREN":
			o.retChildren = true
		case "SPECIAL-USE":
			o.retSpecial = true
		case "STATUS":
			if err := ss.r.SP(); err != nil {
				return err
			}
			items, err := ss.statusItems()
			if err != nil {
				return err
			}
			o.status = items
		default:
			return bad("", "Unknown LIST return option.")
		}
	}
	ss.r.Skip(1)
	return nil
}

// list writes LIST or LSUB responses for the patterns (relative to ref).
func (ss *session) list(verb, ref string, patterns []string, o listOpts) *status {
	folders, err := ss.st.List()
	if err != nil {
		return storeErr(err, verb)
	}
	subs, err := ss.st.Subscriptions()
	if err != nil {
		return storeErr(err, verb)
	}
	subbed := map[string]bool{}
	for _, s := range subs {
		subbed[s] = true
	}
	nodes := map[string]*folderNode{}
	get := func(n string) *folderNode {
		f := nodes[n]
		if f == nil {
			f = &folderNode{name: n}
			nodes[n] = f
		}
		return f
	}
	lsub := verb == "LSUB"
	add := func(n string, exists bool) {
		f := get(n)
		f.exists = f.exists || exists
		for p := parentName(n); p != ""; p = parentName(p) {
			get(p).children = true
		}
	}
	if lsub {
		// Courier lists subscribed folders, their parents as \Noselect, and children among
		// the subscribed names only.
		for _, s := range subs {
			if !isVirtualShared(s) { // listed, rights permitting, by sharedListing
				add(s, true)
			}
		}
	} else {
		for _, f := range folders {
			add(f.Name, true)
		}
	}
	for _, n := range ss.sharedListing(lsub, ref, patterns, subs) {
		add(n, true)
	}
	for n, f := range nodes {
		f.subbed = subbed[n]
	}
	var names []string
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	// Courier reads a reference without a trailing delimiter as the folder to list below.
	prefix := ref
	if prefix != "" && !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	var pats []string
	for _, p := range patterns {
		full := canonPattern(prefix + p)
		if ss.utf8 {
			full = foldernameEncode(full)
		}
		pats = append(pats, full)
	}
	matched := func(n string) bool {
		for _, p := range pats {
			if matchPattern(p, n) {
				return true
			}
		}
		return false
	}
	for _, n := range names {
		f := nodes[n]
		if !matched(n) {
			continue
		}
		if o.subscribed && !f.subbed {
			continue
		}
		use := ""
		if f.exists {
			use = specialUse(n)
		}
		if o.specialOnly && use == "" {
			continue
		}
		var attrs []string
		if !f.exists {
			attrs = append(attrs, `\Noselect`)
		}
		if f.exists && (n == "INBOX" || ss.set.CheckAllFolders) {
			// RFC 3501 §7.2.2 leaves the meaning of \Marked to the server. Courier's: the
			// folder holds a message without \Seen (one in new/, or in cur/ without S),
			// however the session has seen the folder: SELECT takes the \Recent but
			// leaves the messages unseen. It looks at INBOX only (and at every folder with
			// IMAP_CHECK_ALL_FOLDERS), in LSUB too when INBOX is subscribed, and says
			// \Unmarked when there is nothing unseen.
			if ss.hasUnseen(n) {
				attrs = append(attrs, `\Marked`)
			} else {
				attrs = append(attrs, `\Unmarked`)
			}
		}
		if f.children {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
		if (o.subscribed || o.retSubscribed) && f.subbed {
			attrs = append(attrs, `\Subscribed`)
		}
		if o.retSpecial && use != "" {
			attrs = append(attrs, use)
		}
		b := []byte("* " + verb + " (" + strings.Join(attrs, " ") + `) "." `)
		b = ss.quoteName(b, n)
		b = append(b, "\r\n"...)
		ss.writeRaw(b)
		if len(o.status) > 0 && f.exists {
			ss.statusResponse(n, o.status)
		}
	}
	return ok("", verb+" completed")
}

// hasUnseen reports whether a folder holds a message without \Seen, as the files on disk
// say now (Courier looks at the folder, not at the session's view of it), without opening a
// view where the store allows (opening one would claim the messages' \Recent). A folder
// that cannot be looked at (a subscribed name with no folder) has nothing unseen.
func (ss *session) hasUnseen(name string) bool {
	var st store.Status
	var err error
	if sp, ok := ss.st.(statusPeeker); ok {
		st, _, err = sp.PeekStatus(name, nil)
	} else {
		st, _, err = ss.folderStatus(name, false)
	}
	return err == nil && st.Unseen > 0
}

// parentName returns the name above n, or "".
func parentName(n string) string {
	i := strings.LastIndexByte(n, '.')
	if i <= 0 {
		return ""
	}
	return n[:i]
}

// foldernameEncode turns a UTF-8 pattern into the store's modified UTF-7, wildcards kept.
func foldernameEncode(p string) string {
	var b strings.Builder
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '*' || p[i] == '%' {
			b.WriteString(encodeMUTF7(p[start:i]))
			if i < len(p) {
				b.WriteByte(p[i])
			}
			start = i + 1
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func appendUint(b []byte, v uint64) []byte {
	return wire.AppendUint(b, v)
}
