package mime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Courier reads a message in BUFSIZ (8 KiB) chunks; a line still incomplete at the end of a
// chunk and longer than 1 KiB is counted without being looked at.
const (
	chunkSize      = 8192
	partialTrigger = 1024
)

// parser is the state of one Parse. Positions are kept twice: in the normalised message (CRLF
// read as LF), where Courier's arithmetic applies, and in the stored one, for reading.
type parser struct {
	root *Part
	seq  uint64
	cur  pos    // where the pending segment starts
	seg  []byte // the current line since the last partial flush (normalised)
	tmp  []byte
	// hdrBudget is what is left of MaxTotalHeaderBytes.
	hdrBudget int
}

// Parse reads the message in r (size bytes) and returns its part tree. Bodies are not kept in
// memory. Parse fails only when reading fails; any content gives a tree.
func Parse(r io.ReaderAt, size int64) (*Part, error) {
	if size < 0 {
		return nil, fmt.Errorf("mime: negative message size %d", size)
	}
	ps := &parser{hdrBudget: MaxTotalHeaderBytes}
	ps.root = &Part{inHeader: true}
	ps.seg = make([]byte, 0, 2*partialTrigger)
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 8<<10)
	for {
		piece, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) && len(piece) > 1 && piece[len(piece)-1] == '\r' {
			// Keep a CR that may start a CRLF for the next read.
			if uerr := br.UnreadByte(); uerr == nil {
				piece = piece[:len(piece)-1]
			}
		}
		if len(piece) > 0 {
			ps.feed(piece)
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		return nil, fmt.Errorf("mime: reading message: %w", err)
	}
	ps.finish()
	finalize(ps.root)
	return ps.root, nil
}

// feed takes the next piece of the stored message: part of a line, or the rest of one with its
// line ending.
func (ps *parser) feed(piece []byte) {
	content, rawEnd := piece, 0
	if n := len(piece); n > 0 && piece[n-1] == '\n' {
		if n > 1 && piece[n-2] == '\r' {
			content, rawEnd = piece[:n-2], 2
		} else {
			content, rawEnd = piece[:n-1], 1
		}
	}
	for len(content) > 0 {
		room := int((ps.cur.n+int64(len(ps.seg)))/chunkSize+1)*chunkSize - int(ps.cur.n+int64(len(ps.seg)))
		take := min(room, len(content))
		ps.seg = append(ps.seg, content[:take]...)
		content = content[take:]
		if (ps.cur.n+int64(len(ps.seg)))%chunkSize == 0 && len(ps.seg) > partialTrigger {
			ps.flush()
		}
	}
	if rawEnd > 0 {
		ps.seg = append(ps.seg, '\n')
		lineEnd := pos{ps.cur.n + int64(len(ps.seg)), ps.cur.r + int64(len(ps.seg)-1+rawEnd)}
		ps.doline(ps.seg, lineEnd)
		ps.cur = lineEnd
		ps.seg = ps.seg[:0]
	}
}

// innermost returns the innermost part still open (rfc2045_parse_partial's target).
func (ps *parser) innermost() *Part {
	p := ps.root
	for len(p.children) > 0 && !p.children[len(p.children)-1].closed {
		p = p.children[len(p.children)-1]
	}
	return p
}

// flush counts the pending part of a long line without looking at it, keeping a final CR.
func (ps *parser) flush() {
	l := len(ps.seg)
	if l > 0 && ps.seg[l-1] == '\r' {
		l--
	}
	p := ps.innermost()
	at := pos{ps.cur.n + int64(l), ps.cur.r + int64(l)}
	ps.update(p, at, at, 0)
	p.informData = true
	if p.inHeader {
		ps.keepHeader(p, ps.seg[:l])
	}
	ps.cur = at
	ps.seg = append(ps.seg[:0], ps.seg[l:]...)
}

// finish handles an incomplete last line (rfc2045_parse_partial at end of input).
func (ps *parser) finish() {
	if len(ps.seg) > 0 {
		ps.flush()
	}
}

func (ps *parser) update(p *Part, end, endBody pos, lines int64) {
	ps.seq++
	p.end, p.endBody, p.endSeq = end, endBody, ps.seq
	p.ownLines += lines
	if !p.inHeader {
		p.ownBodyLines += lines
	}
}

// appendPart adds a part to p starting at at; inherit copies the parent's transfer encoding
// and charset, as Courier does for the parts of a multipart.
func (ps *parser) appendPart(p *Part, at pos, inherit bool) *Part {
	ps.seq++
	np := &Part{Parent: p, start: at, startBody: at, end: at, endBody: at, endSeq: ps.seq, inHeader: true}
	p.children = append(p.children, np)
	ps.root.numParts++
	if inherit {
		np.cte, np.hasCTE = p.cte, p.hasCTE
		if v, ok := paramGet(p.contentTypeP, "charset"); ok {
			np.contentTypeP = []Param{{Name: "charset", Value: v}}
		}
	}
	return np
}

// keepHeader stores header bytes of p for Part.Header, within the caps.
func (ps *parser) keepHeader(p *Part, b []byte) {
	if p.hdrFull {
		return
	}
	if len(p.hdrRaw)+len(b) > MaxHeaderBytes || len(b) > ps.hdrBudget {
		p.hdrFull = true
		return
	}
	p.hdrRaw = append(p.hdrRaw, b...)
	ps.hdrBudget -= len(b)
}

// doline is Courier's doline: c is a whole line (or the rest of a long one) ending in LF.
func (ps *parser) doline(c []byte, lineEnd pos) {
	root := ps.root
	if root.numParts > MaxParts {
		root.TooComplex = true
		return
	}
	orig := c
	if bytes.IndexByte(c, 0) >= 0 {
		ps.tmp = append(ps.tmp[:0], c...)
		c = ps.tmp
		for i := range c {
			if c[i] == 0 {
				c[i] = ' '
			}
		}
	}
	bit8 := false
	for _, b := range c {
		if b&0x80 != 0 {
			bit8 = true
			break
		}
	}
	cnt := len(c)
	n := cnt - 1
	if n > 0 && c[n-1] == '\r' {
		n--
	}
	start := ps.cur
	endAll := lineEnd
	endN := pos{start.n + int64(n), start.r + int64(n)}

	p := root
	for np := root; len(np.children) > 0 && !np.children[len(np.children)-1].closed; np = np.children[len(np.children)-1] {
		if !np.hasBoundary || np.inHeader {
			continue
		}
		if lc := np.children[len(np.children)-1]; lc.informData {
			p = lc
			lc.informData = false
			break
		}
	}
	for len(p.children) > 0 {
		lc := p.children[len(p.children)-1]
		if lc.closed {
			ps.update(p, endAll, endN, 1)
			return
		}
		if !p.hasBoundary || p.inHeader {
			p = lc
			continue
		}
		l := len(p.boundary)
		if c[0] == '-' && c[1] == '-' && n >= 2+l && equalFoldASCII(p.boundary, c[2:2+l]) {
			if n >= 4+l && c[2+l] == '-' && c[3+l] == '-' {
				lc.closed = true
				ps.update(p, endAll, endAll, 1)
				return
			}
			np := ps.appendPart(p, endAll, true)
			ps.update(p, endAll, endN, 1)
			np.MIMEVersion, np.hasMV = p.MIMEVersion, p.hasMV
			return
		}
		p = lc
	}

	if !p.inHeader {
		if bit8 && !(p.hasCTE && p.cte == "8bit") {
			for q := p; q != nil; q = q.Parent {
				q.Has8BitBody = true
			}
		}
		// In a multipart the line break before a boundary belongs to the boundary.
		bodyEnd := endAll
		if p.Parent != nil && p.Parent.hasCT && hasPrefixFold(p.Parent.contentType, "multipart/") {
			bodyEnd = endN
		}
		ps.update(p, endAll, bodyEnd, 1)
		return
	}
	if bit8 {
		for q := p; q != nil; q = q.Parent {
			q.Has8BitHeader = true
		}
	}
	if n == 0 {
		ps.endHeader(p, endAll)
		return
	}
	ps.update(p, endAll, endN, 1)
	p.startBody = p.endBody
	ps.keepHeader(p, orig)
	if IsSpace(c[0]) {
		p.addAccum([]byte{' '})
	} else {
		ps.doHeader(p)
		p.hdrAccum = p.hdrAccum[:0]
	}
	p.addAccum(c[:n])
}

func (p *Part) addAccum(b []byte) {
	room := maxFieldAccum - len(p.hdrAccum)
	if room <= 0 {
		return
	}
	if len(b) > room {
		b = b[:room]
	}
	p.hdrAccum = append(p.hdrAccum, b...)
}

// endHeader handles the blank line that ends p's header.
func (ps *parser) endHeader(p *Part, at pos) {
	ps.doHeader(p)
	p.hdrAccum = nil
	p.startBody = at
	ps.update(p, at, at, 1) // the blank line is a header line
	p.inHeader = false
	mime1 := isMIME1(p)
	if !mime1 {
		// Without MIME-Version: 1.0 Courier ignores the MIME structure of the part.
		p.contentType, p.hasCT = "", false
		p.contentTypeP = nil
		p.Disposition = ""
		p.DispositionParams = nil
		p.boundary, p.hasBoundary = "", false
	}
	if mime1 && !p.hasCT {
		p.contentType, p.hasCT = "text/plain", true
		if p.Parent != nil && p.Parent.hasCT && p.Parent.contentType == "multipart/digest" {
			p.contentType = "message/rfc822"
		}
	}
	if !p.hasCT || !strings.HasPrefix(p.contentType, "multipart/") {
		p.boundary, p.hasBoundary = "", false
	}
	if p.hasCT && isMessageType(p.contentType) {
		ps.appendPart(p, p.startBody, false)
		return
	}
	if p.hasBoundary {
		np := ps.appendPart(p, p.startBody, true)
		np.inHeader = false
		np.isDummy = true
	}
}

func isMessageType(ct string) bool {
	return strings.EqualFold(ct, "message/rfc822") || strings.EqualFold(ct, "message/global")
}

// isMIME1 is Courier's RFC2045_ISMIME1: MIME-Version present and atoi() of it is 1.
func isMIME1(p *Part) bool {
	if !p.hasMV {
		return false
	}
	return atoi(p.MIMEVersion) == 1
}

// atoi is C's atoi for the values that matter here (overflow saturates).
func atoi(s string) int64 {
	i := 0
	for i < len(s) && IsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v < 1<<40 {
			v = v*10 + int64(s[i]-'0')
		}
	}
	if neg {
		return -v
	}
	return v
}

func equalFoldASCII(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// lower lower-cases ASCII letters only, as C's tolower does in the C locale.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

// finalize computes Courier's rfc2045_mimepos numbers and the exported fields, bottom up.
func finalize(root *Part) {
	type agg struct {
		end, endBody pos
		seq          uint64
		lines        int64
	}
	var walk func(p *Part) agg
	walk = func(p *Part) agg {
		a := agg{end: p.end, endBody: p.endBody, seq: p.endSeq, lines: p.ownLines}
		bodyLines := p.ownBodyLines
		for _, c := range p.children {
			ca := walk(c)
			if ca.seq > a.seq {
				a.end, a.endBody, a.seq = ca.end, ca.endBody, ca.seq
			}
			a.lines += ca.lines
			bodyLines += ca.lines
		}
		p.exportPos(a.end, a.endBody, a.lines, bodyLines)
		p.exportMIME()
		return a
	}
	walk(root)
}

// exportPos applies rfc2045_mimepos: a part inside another does not own its trailing line
// break, and a part without a header has its body start at its end.
func (p *Part) exportPos(end, endBody pos, lines, bodyLines int64) {
	endPos := end
	if p.Parent != nil {
		endPos = endBody
		if lines > 0 {
			lines--
		}
		if bodyLines > 0 {
			bodyLines--
		}
	}
	sb := p.startBody
	if sb.n == p.start.n {
		sb = endPos
	}
	p.HeaderStart, p.BodyStart, p.End = p.start.r, sb.r, endPos.r
	p.Lines, p.BodyLines, p.HeaderLines = lines, bodyLines, lines-bodyLines
	p.Size = endPos.n - p.start.n + lines
	p.BodySize = endPos.n - sb.n + bodyLines
	p.HeaderSize = sb.n - p.start.n + (lines - bodyLines)
}

// exportMIME fills the exported MIME fields from the parse state.
func (p *Part) exportMIME() {
	p.ContentType = "text/plain"
	if p.hasCT && p.contentType != "" {
		p.ContentType = p.contentType
	}
	p.Type, p.Subtype = splitType(p.ContentType)
	p.Params = p.contentTypeP
	if p.hasCTE {
		p.Encoding = p.cte
	}
	p.Parts = nil
	for _, c := range p.children {
		if c.isDummy {
			continue
		}
		if len(p.children) > 0 && p.children[0].isDummy {
			p.Parts = append(p.Parts, c)
		} else {
			p.Message = c
		}
	}
	p.Header = buildHeader(p.hdrRaw, p.hdrFull)
	p.hdrRaw = nil
	p.hdrAccum = nil
}

// splitType splits a media type as Courier's strtok(type, " /") does.
func splitType(ct string) (string, string) {
	isDelim := func(c byte) bool { return c == ' ' || c == '/' }
	i := 0
	for i < len(ct) && isDelim(ct[i]) {
		i++
	}
	j := i
	for j < len(ct) && !isDelim(ct[j]) {
		j++
	}
	typ := ct[i:j]
	if j < len(ct) {
		j++
	}
	k := j
	for k < len(ct) && isDelim(ct[k]) {
		k++
	}
	l := k
	for l < len(ct) && !isDelim(ct[l]) {
		l++
	}
	return typ, ct[k:l]
}

// buildHeader splits stored header lines into fields; a line that starts with a space or a tab
// continues the previous field.
func buildHeader(raw []byte, truncated bool) Header {
	h := Header{Truncated: truncated}
	if len(raw) == 0 {
		return h
	}
	n := bytes.Count(raw, []byte("\n")) + 1
	h.Fields = make([]Field, 0, n)
	start := 0
	for start < len(raw) {
		end := start
		for {
			i := bytes.IndexByte(raw[end:], '\n')
			if i < 0 {
				end = len(raw)
				break
			}
			end += i + 1
			if end >= len(raw) || (raw[end] != ' ' && raw[end] != '\t') {
				break
			}
		}
		f := raw[start:end]
		if len(f) > 0 && f[len(f)-1] == '\n' {
			f = f[:len(f)-1]
		}
		name := f
		if i := bytes.IndexByte(f, ':'); i >= 0 {
			name = f[:i]
		} else if i := bytes.IndexByte(f, '\n'); i >= 0 {
			name = f[:i]
		}
		h.Fields = append(h.Fields, Field{Name: string(name), Raw: f[:len(f):len(f)]})
		start = end
	}
	return h
}
