package smap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strconv"
	"strings"

	"courier/internal/store"
)

// The attributes FETCH can report on a "* FETCH n" line, always in this order.
const (
	fetchUID = 1 << iota
	fetchSize
	fetchFlags
	fetchKeywords
	fetchInternalDate
)

// chunkSize is Courier's SMAP_BUFSIZ: contents go out in pieces of at most this many bytes.
const chunkSize = 8192

// maxFetchSize caps the message size FETCH CONTENTS loads into memory.
const maxFetchSize = 1 << 30

func itoa(n int) string { return strconv.Itoa(n) }

// flagWords renders flags as Courier does: DRAFT, MARKED, REPLIED, SEEN, DELETED.
func flagWords(f store.Flags) string {
	var parts []string
	if f&store.Draft != 0 {
		parts = append(parts, "DRAFT")
	}
	if f&store.Flagged != 0 {
		parts = append(parts, "MARKED")
	}
	if f&store.Answered != 0 {
		parts = append(parts, "REPLIED")
	}
	if f&store.Seen != 0 {
		parts = append(parts, "SEEN")
	}
	if f&store.Deleted != 0 {
		parts = append(parts, "DELETED")
	}
	return strings.Join(parts, ",")
}

// attrs writes "* FETCH n …" with the chosen attributes of message n.
func (s *session) attrs(n int, items int) {
	m := s.msgs[n-1]
	var b strings.Builder
	b.WriteString("* FETCH " + itoa(n))
	if items&fetchFlags != 0 {
		b.WriteString(" FLAGS=" + flagWords(m.Flags))
	}
	if items&fetchKeywords != 0 && s.keywords {
		b.WriteString(` "KEYWORDS=` + quoteBody(strings.Join(m.Keywords, ",")) + `"`)
	}
	if items&fetchUID != 0 {
		b.WriteString(` "UID=` + quoteBody(uidString(s.mb, m.UID)) + `"`)
	}
	if items&fetchSize != 0 {
		b.WriteString(" SIZE=" + strconv.FormatInt(m.Size, 10))
	}
	if items&fetchInternalDate != 0 {
		if t, err := s.mb.InternalDate(m.UID); err == nil {
			b.WriteString(` "INTERNALDATE=` + quoteBody(t.In(timeLocation()).Format("Mon, 02 Jan 2006 15:04:05 -0700")) + `"`)
		}
	}
	b.WriteString("\n")
	s.writes(b.String())
}

// fetchItem is one CONTENTS[.PEEK]=ENTITY[mimeid](headers) request.
type fetchItem struct {
	peek   bool
	entity string // MIME, HEADERS, RAWHEADERS, BODY, ALL, BODY.DECODED
	mimeID string
	hdrs   string // upper case, comma separated; "" means all
}

// cmdFetch is FETCH set item…: CONTENTS requests run in order, each over the whole set;
// the plain attributes are reported last, one line per message.
func (s *session) cmdFetch(w *words) {
	set, word, err := parseMsgSet(w)
	if err != nil {
		// Courier: a bad set ends the item list; nothing is fetched.
		s.writes("+OK Message retrieved.\n")
		return
	}
	items := 0
	for ; word != ""; word = w.next() {
		k := strings.IndexByte(word, '=')
		if k < 0 {
			switch upper(word) {
			case "UID":
				items |= fetchUID
			case "SIZE":
				items |= fetchSize
			case "FLAGS":
				items |= fetchFlags
			case "KEYWORDS":
				items |= fetchKeywords
			case "INTERNALDATE":
				items |= fetchInternalDate
			}
			continue
		}
		name, entity := upper(word[:k]), word[k+1:]
		if name != "CONTENTS" && name != "CONTENTS.PEEK" {
			continue
		}
		fi := fetchItem{peek: name == "CONTENTS.PEEK"}
		if j := strings.LastIndexByte(entity, '('); j >= 0 {
			h := entity[j+1:]
			if e := strings.LastIndexByte(h, ')'); e >= 0 {
				h = h[:e]
			}
			fi.hdrs = upper(h)
			entity = entity[:j]
		}
		if j := strings.LastIndexByte(entity, '['); j >= 0 {
			id := entity[j+1:]
			if e := strings.LastIndexByte(id, ']'); e >= 0 {
				id = id[:e]
			}
			fi.mimeID = id
			entity = entity[:j]
		}
		fi.entity = upper(entity)
		var ferr error
		set.each(len(s.msgs), func(n int) bool {
			ferr = s.fetchContents(n, fi)
			return ferr == nil
		})
		if ferr != nil {
			s.writes("-ERR Cannot retrieve message: " + errText(ferr) + "\n")
			return
		}
	}
	if items != 0 {
		set.each(len(s.msgs), func(n int) bool {
			s.attrs(n, items)
			return true
		})
	}
	s.writes("+OK Message retrieved.\n")
}

// load reads a whole message.
func (s *session) load(uid store.UID) ([]byte, error) {
	c, err := s.mb.OpenMessage(uid)
	if err != nil {
		return nil, fmt.Errorf("smap: open message %d: %w", uid, err)
	}
	defer c.Close()
	if c.Size() > maxFetchSize {
		return nil, fmt.Errorf("smap: message %d too large", uid)
	}
	data := make([]byte, c.Size())
	if _, err := c.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("smap: read message %d: %w", uid, err)
	}
	return data, nil
}

// fetchContents sends one CONTENTS item of message n, then marks it seen unless peeking.
func (s *session) fetchContents(n int, fi fetchItem) error {
	m := s.msgs[n-1]
	data, err := s.load(m.UID)
	if err != nil {
		return err
	}
	root := parseMIME(data)
	var p *part
	if fi.mimeID != "" {
		if p = findPart(root, fi.mimeID); p == nil {
			return errSyntax
		}
	}
	switch fi.entity {
	case "MIME":
		s.dumpMIME(data, n, root, fi.hdrs)
	case "HEADERS", "RAWHEADERS":
		s.dumpHeaders(data, n, p, root, fi.hdrs, fi.entity)
	case "BODY", "ALL":
		start, end := 0, len(data)
		switch {
		case p != nil && fi.entity == "ALL":
			start, end = p.start, p.end
		case p != nil:
			start, end = p.bodyStart, p.end
		case fi.entity == "BODY":
			start = root.bodyStart
		}
		s.dumpChunks(n, data[start:end], end-start)
	case "BODY.DECODED":
		if p == nil {
			p = root
		}
		est := p.end - p.bodyStart
		if p.cte == "base64" {
			est = est / 4 * 3
		}
		s.dumpChunks(n, decode(p.cte, data[p.bodyStart:p.end]), est)
	default:
		return nil
	}
	if !fi.peek && m.Flags&store.Seen == 0 && strings.Contains(s.rights, "s") {
		got, err := s.mb.SetFlags([]store.UID{m.UID}, store.Add, store.Seen, nil)
		if err != nil {
			return fmt.Errorf("smap: mark seen: %w", err)
		}
		if len(got) == 1 {
			s.msgs[n-1] = got[0]
			s.attrs(n, fetchFlags)
		}
	}
	return nil
}

// dumpChunks sends contents framed as Courier does: "{n/total} FETCH k CONTENTS", the first
// piece, then "n" and a piece for each further one, then a line end; "{.0} … ." when empty.
func (s *session) dumpChunks(n int, body []byte, total int) {
	if len(body) == 0 {
		s.writes("{.0} FETCH " + itoa(n) + " CONTENTS\n.\n")
		return
	}
	for i := 0; i < len(body); i += chunkSize {
		piece := body[i:min(i+chunkSize, len(body))]
		if i == 0 {
			s.writes("{" + itoa(len(piece)) + "/" + itoa(total) + "} FETCH " + itoa(n) + " CONTENTS\n")
		} else {
			s.writes(itoa(len(piece)) + "\n")
		}
		s.write(piece)
	}
	s.writes("\n")
}

// decode undoes a Content-Transfer-Encoding; anything but base64 and quoted-printable is
// sent as it is. Undecodable input ends the decoded data where it stops making sense.
func decode(cte string, body []byte) []byte {
	var r io.Reader
	switch cte {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, bytes.NewReader(body))
	case "quoted-printable":
		r = quotedprintable.NewReader(bytes.NewReader(body))
	default:
		return body
	}
	out, _ := io.ReadAll(r)
	return out
}

// wantHeader reports whether header name is in the requested list (Courier's hashdr):
// empty means all; ":ENVELOPE" stands for the envelope headers and ":MIME" for those plus
// MIME-Version and Content-*.
func wantHeader(list, name string) bool {
	if list == "" {
		return true
	}
	un := upper(name)
	for _, item := range strings.Split(list, ",") {
		switch item {
		case "":
			continue
		case ":ENVELOPE", ":MIME":
			switch un {
			case "DATE", "SUBJECT", "FROM", "SENDER", "REPLY-TO", "TO", "CC", "BCC", "IN-REPLY-TO", "MESSAGE-ID", "REFERENCES":
				return true
			}
			if item == ":MIME" && (un == "MIME-VERSION" || strings.HasPrefix(un, "CONTENT-")) {
				return true
			}
		}
		if item == un {
			return true
		}
	}
	return false
}

// dumpHeaders sends the headers of the message (p nil) or of a part.
func (s *session) dumpHeaders(data []byte, n int, p, root *part, hdrs, entity string) {
	hp := p
	if hp == nil {
		hp = root
		s.writes("{.0} FETCH " + itoa(n) + " " + entity + "\n")
	} else {
		s.writes("{." + itoa(hp.bodyStart-hp.start) + "} FETCH " + itoa(n) + " " + entity + "\n")
	}
	s.headerLines(data, hp, hdrs, entity == "RAWHEADERS")
}

func (s *session) headerLines(data []byte, p *part, hdrs string, raw bool) {
	for _, h := range parseHeaders(data[p.start:min(p.bodyStart, p.end)]) {
		if !wantHeader(hdrs, h.name) {
			continue
		}
		v := h.value
		if raw {
			v = h.raw
		}
		if strings.HasPrefix(h.name, ".") {
			s.writes(".")
		}
		s.writes(h.name + ": " + v + "\n")
	}
	s.writes(".\n")
}

// dumpMIME sends the headers and sizes of every part.
func (s *session) dumpMIME(data []byte, n int, p *part, hdrs string) {
	s.writes("{." + itoa(p.bodyStart-p.start) + "} FETCH " + itoa(n) + " LINES=" + itoa(p.lines) + " SIZE=" + itoa(p.end-p.bodyStart) + ` "MIME.ID=`)
	if p.parent != nil {
		s.writes(mimeID(p) + `" "MIME.PARENT=`)
		if p.parent.parent != nil {
			s.writes(mimeID(p.parent))
		}
	}
	s.writes("\"\n")
	s.headerLines(data, p, hdrs, false)
	for _, c := range p.children {
		s.dumpMIME(data, n, c, hdrs)
	}
}
