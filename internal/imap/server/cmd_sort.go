package server

import (
	"strconv"
	"strings"

	"courier/internal/imap/search"
	"courier/internal/imap/sortthread"
)

// cmdSort: RFC 5256 §3.
func (ss *session) cmdSort(uid bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	if err := ss.r.Expect('('); err != nil {
		return wireErr(err)
	}
	var keys []sortthread.SortKey
	reverse := false
	for ss.r.Peek() != ')' {
		if ss.r.Peek() == ' ' {
			ss.r.Skip(1)
		}
		a, err := ss.r.Atom()
		if err != nil {
			return wireErr(err)
		}
		a = strings.ToUpper(a)
		switch a {
		case "REVERSE":
			reverse = true
			continue
		case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO":
		default:
			return errUnknown
		}
		keys = append(keys, sortthread.SortKey{Criterion: a, Reverse: reverse})
		reverse = false
	}
	ss.r.Skip(1)
	if len(keys) == 0 || reverse {
		return errUnknown
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	cs, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if _, err := search.Decode(cs, nil); err != nil {
		return no("BADCHARSET", "Unknown charset.")
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	p := &searchProgram{charset: cs, needsDates: true}
	for _, k := range keys {
		p.needsSizes = p.needsSizes || k.Criterion == "SIZE"
	}
	ks, err := ss.searchKeys(p, 0, false)
	if err != nil {
		return wireErr(err)
	}
	p.key = search.Key{Op: search.And, Keys: ks}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	_, hits, err := ss.runSearch(p)
	if err != nil {
		return no("", "SORT failed: "+err.Error())
	}
	sorted, err := sortthread.Sort(hits, keys, sortthread.Options{})
	if err != nil {
		return no("", "SORT failed: "+err.Error())
	}
	var sb strings.Builder
	sb.WriteString("* SORT")
	for _, m := range sorted {
		n := m.Seq
		if uid {
			n = m.UID
		}
		sb.WriteByte(' ')
		sb.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	sb.WriteString("\r\n")
	ss.w.WriteString(sb.String())
	return ok("", "SORT done.")
}

// cmdThread: RFC 5256 §4.
func (ss *session) cmdThread(uid bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	alg, err := ss.r.Atom()
	if err != nil {
		return wireErr(err)
	}
	alg = strings.ToUpper(alg)
	if alg != "ORDEREDSUBJECT" && alg != "REFERENCES" {
		return errUnknown
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	cs, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if _, err := search.Decode(cs, nil); err != nil {
		return no("BADCHARSET", "Unknown charset.")
	}
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	p := &searchProgram{charset: cs, needsDates: true}
	ks, err := ss.searchKeys(p, 0, false)
	if err != nil {
		return wireErr(err)
	}
	p.key = search.Key{Op: search.And, Keys: ks}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	_, hits, err := ss.runSearch(p)
	if err != nil {
		return no("", "THREAD failed: "+err.Error())
	}
	nodes, err := sortthread.Thread(alg, hits, sortthread.Options{})
	if err != nil {
		return no("", "THREAD failed: "+err.Error())
	}
	ss.w.WriteString("* THREAD " + sortthread.Format(nodes, uid) + "\r\n")
	return ok("", "THREAD done.")
}
