package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"courier/internal/imap/search"
	"courier/internal/imap/wire"
	"courier/internal/store"
)

// searchMessages builds the search package's view of the selected mailbox: header and
// content are read only when a key needs them.
// withDates says whether internal dates are needed (they cost a stat per message).
// withSizes says whether RFC822.SIZE is needed (it costs reading each message not yet
// measured; the store keeps the sizes it measured). hl, when not nil, answers headers from
// the header cache.
func (ss *session) searchMessages(withDates, withSizes bool, hl *headerLookup) []*search.Message {
	s := ss.sel
	out := make([]*search.Message, len(s.msgs))
	backing := make([]search.Message, len(s.msgs)) // one allocation, not one per message
	for i := range s.msgs {
		m := &s.msgs[i]
		uid := m.UID
		sm := &backing[i]
		*sm = search.Message{
			Seq: uint32(i + 1), UID: uint32(uid), Flags: m.Flags, Keywords: m.Keywords,
			Recent: m.Recent, Size: m.Size,
		}
		mb := s.mb
		if hl != nil {
			sm.Header = func() ([]byte, error) { return hl.header(mb, i, uid) }
		} else {
			sm.Header = func() ([]byte, error) { return readHeader(mb, uid) }
		}
		sm.Content = func() (io.ReaderAt, int64, error) {
			c, err := mb.OpenMessage(uid)
			if err != nil {
				return nil, 0, err
			}
			// The content is small enough to hold for one evaluation; closing the file at
			// once keeps descriptors bounded on big folders.
			buf := make([]byte, c.Size())
			_, err = c.ReadAt(buf, 0)
			c.Close()
			if err != nil && err != io.EOF {
				return nil, 0, err
			}
			return bytes.NewReader(buf), int64(len(buf)), nil
		}
		if withDates {
			sm.InternalDate, _ = mb.InternalDate(uid)
		}
		if withSizes {
			// RFC822.SIZE (see searchSize); a message that cannot be measured (expunged
			// by another process meanwhile) counts as empty.
			sm.Size, _ = ss.searchSize(mb, uid)
		}
		out[i] = sm
	}
	return out
}

// readHeader reads a message's header block (up to the blank line).
func readHeader(mb store.Mailbox, uid store.UID) ([]byte, error) {
	c, err := mb.OpenMessage(uid)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	br := bufio.NewReaderSize(io.NewSectionReader(c, 0, c.Size()), 8192)
	var h []byte
	for len(h) < 1<<20 {
		line, err := br.ReadSlice('\n')
		h = append(h, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	return h, nil
}

// usesOp reports whether a key uses one of the operators.
func usesOp(k *search.Key, ops ...search.Op) bool {
	for _, op := range ops {
		if k.Op == op {
			return true
		}
	}
	for i := range k.Keys {
		if usesOp(&k.Keys[i], ops...) {
			return true
		}
	}
	return false
}

// runSearch evaluates a program and returns the view's messages and the matching ones. With
// p.headerCache, the header cache may answer, and then the caller commits what the search
// added to it (commitHeaders) once it has written the answer.
func (ss *session) runSearch(p *searchProgram) ([]*search.Message, []*search.Message, error) {
	hl := ss.headerLookup(p)
	p.lookup = hl
	all := ss.searchMessages(p.needsDates || usesOp(&p.key, search.Before, search.On, search.Since),
		p.needsSizes || usesOp(&p.key, search.Larger, search.Smaller), hl)
	m := search.NewMatcher(p.key, search.Options{Location: time.Local})
	var hits []*search.Message
	for _, msg := range all {
		ok, err := m.Match(msg)
		if errors.Is(err, store.ErrNoMessage) || errors.Is(err, fs.ErrNotExist) {
			// Another session expunged it since our view was taken: its file is gone, so
			// it matches nothing (RFC 3501 §7.4.1 lets the server report the expunge
			// later); failing the whole SEARCH would punish this client for another's act.
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if ok {
			hits = append(hits, msg)
		}
	}
	return all, hits, nil
}

// cmdSearch: RFC 3501 §6.4.4, with ESEARCH (RFC 4731) when RETURN is given.
func (ss *session) cmdSearch(uid bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	p, err := ss.searchArgs(true)
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	// Only SEARCH: SORT and THREAD read the hits' headers again for their keys, which
	// may name fields the cache does not keep.
	p.headerCache = true
	_, hits, err := ss.runSearch(p)
	defer ss.commitHeaders(p.lookup)
	if err != nil {
		return no("", "SEARCH failed: "+err.Error())
	}
	nums := make([]uint32, len(hits))
	for i, h := range hits {
		if uid {
			nums[i] = h.UID
		} else {
			nums[i] = h.Seq
		}
	}
	if p.esearch {
		b := []byte("* ESEARCH (TAG ")
		b = wire.AppendQuoted(b, ss.tag, false)
		b = append(b, ')')
		if uid {
			b = append(b, " UID"...)
		}
		for _, r := range p.ret {
			switch {
			case r == "MIN" && len(nums) > 0:
				b = append(b, " MIN "...)
				b = appendUint(b, uint64(nums[0]))
			case r == "MAX" && len(nums) > 0:
				b = append(b, " MAX "...)
				b = appendUint(b, uint64(nums[len(nums)-1]))
			case r == "ALL" && len(nums) > 0:
				b = append(b, " ALL "...)
				b = append(b, wire.FormatNums(nums)...)
			case r == "COUNT":
				b = append(b, " COUNT "...)
				b = appendUint(b, uint64(len(nums)))
			}
		}
		b = append(b, "\r\n"...)
		ss.writeRaw(b)
		return ok("", "SEARCH done.")
	}
	var sb strings.Builder
	sb.WriteString("* SEARCH")
	for _, n := range nums {
		sb.WriteByte(' ')
		sb.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	sb.WriteString("\r\n")
	ss.w.WriteString(sb.String())
	return ok("", "SEARCH done.")
}
