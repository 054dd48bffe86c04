// Package downgrade turns an 8-bit MIME message into a 7-bit one for a peer that does not
// offer 8BITMIME (RFC 6152 section 3: the client must convert the message or return it).
//
// It is MIME-aware: every leaf part whose body holds octets above 127 and whose
// Content-Transfer-Encoding is an identity one (absent, 7bit, 8bit, binary) is re-encoded
// as quoted-printable (RFC 2045 section 6.7), and its Content-Transfer-Encoding field is
// replaced; multiparts are walked part by part (RFC 2046 section 5.1) and message/rfc822
// parts are walked into, since RFC 2046 section 5.2.1 forbids encoding them; a container
// whose content was converted and which was labelled 8bit or binary is relabelled 7bit.
// Parts that are already 7-bit are copied octet for octet, and no other header field is
// touched, so a 7-bit message comes out unchanged.
//
// What cannot be converted is reported, not guessed at: octets above 127 in header fields
// (RFC 6152 makes 8BITMIME about bodies only; raw 8-bit headers are either RFC 6532 UTF-8
// headers, which need SMTPUTF8, or broken mail whose charset is unknown), and 8-bit octets
// in a part with a transfer encoding we do not know. The caller decides what to do with such
// a message (package esmtp returns it to its sender). The exceptions are base64 and
// quoted-printable bodies holding stray 8-bit octets: those are made 7-bit in the way their
// decoders read them (RFC 2045 section 6.8 makes a base64 decoder ignore them, so they are
// dropped; a quoted-printable decoder passes them through, so they are written as =XX),
// and 8-bit octets in a multipart's preamble or epilogue, which no reader shows, become '?'.
//
// The conversion is two passes over the same octets: Scan finds what must change (a part's
// header comes before the body that decides whether it changes, and parts may be large),
// then Plan.Convert writes the result while streaming. Both passes parse identically, so
// the output is a pure function of the input: converting twice gives the same octets,
// which lets a DKIM signature be computed on one pass and the message sent on another.
//
// Lines may end in LF (as the queue stores mail) or CRLF; the output keeps the input's line
// endings. Lines of any length are handled in pieces; memory is bounded by the largest
// header of one part.
package downgrade

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxDepth bounds the nesting of multiparts and enclosed messages; deeper content is
// treated as the body of a leaf (as mail readers bound their own parsers).
const maxDepth = 50

// Plan is the result of Scan: what the conversion of one message will do.
type Plan struct {
	// Has8Bit says the message has octets above 127 somewhere (header or body).
	Has8Bit bool
	// Header8Bit says a header field (of the message or of a part) has octets above
	// 127: the converted message is not 7-bit.
	Header8Bit bool
	// Unconvertible says a body with 8-bit octets has a transfer encoding this package
	// does not know; it is copied as it is, and the converted message is not 7-bit.
	Unconvertible bool
	// Parts is the number of leaf bodies that will be re-encoded.
	Parts int

	ents []entInfo // per entity, in the order the parser meets them
}

// Clean reports whether the converted message is 7-bit.
func (p *Plan) Clean() bool { return !p.Header8Bit && !p.Unconvertible }

// entInfo is what the scan learnt of one entity (a header and its body).
type entInfo struct {
	body8 bool // its body (its whole subtree, for a container) has 8-bit octets
}

// Scan reads a message and works out its conversion.
func Scan(r io.Reader) (*Plan, error) {
	p := &Plan{}
	w := &walker{lr: newLineReader(r), plan: p, scan: true}
	if _, err := w.entity(nil, 0); err != nil {
		return nil, err
	}
	return p, nil
}

// Convert writes the 7-bit form of the message to w; r must give the same octets Scan
// read. A message without 8-bit octets is copied unchanged.
func (p *Plan) Convert(w io.Writer, r io.Reader) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	wk := &walker{lr: newLineReader(r), plan: p, out: bw}
	if _, err := wk.entity(nil, 0); err != nil {
		return err
	}
	if wk.next != len(p.ents) {
		return errChanged
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("downgrade: writing: %w", err)
	}
	return nil
}

// errChanged is returned when the second pass meets an entity the scan did not see.
var errChanged = errors.New("downgrade: the message changed between the scan and the conversion")

// lineReader returns a message line by line; a line longer than its buffer comes in
// pieces, the later ones marked as continuations (never a boundary or a header start).
type lineReader struct {
	br       *bufio.Reader
	midLine  bool   // the previous piece did not end its line
	pending  []byte // a piece given back with unread
	pendCont bool
	hasPend  bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 16<<10)}
}

// next returns the next piece (valid until the next call), whether it continues a line,
// and io.EOF at the end.
func (lr *lineReader) next() ([]byte, bool, error) {
	if lr.hasPend {
		lr.hasPend = false
		return lr.pending, lr.pendCont, nil
	}
	cont := lr.midLine
	b, err := lr.br.ReadSlice('\n')
	switch {
	case err == nil:
		lr.midLine = false
	case errors.Is(err, bufio.ErrBufferFull):
		lr.midLine = true
		err = nil
		if len(b) > 1 && b[len(b)-1] == '\r' && lr.br.UnreadByte() == nil {
			// keep a CR that may begin the line's CRLF with it
			b = b[:len(b)-1]
		}
	case errors.Is(err, io.EOF):
		if len(b) == 0 {
			return nil, false, io.EOF
		}
		lr.midLine = false
		err = nil
	default:
		return nil, false, fmt.Errorf("downgrade: reading: %w", err)
	}
	return b, cont, err
}

// unread gives a piece back; the next call to next returns it again.
func (lr *lineReader) unread(b []byte, cont bool) {
	lr.pending = append(lr.pending[:0], b...)
	lr.pendCont, lr.hasPend = cont, true
}

// walker is one pass over a message.
type walker struct {
	lr   *lineReader
	plan *Plan
	scan bool          // first pass: record, write nothing
	out  *bufio.Writer // second pass
	next int           // index of the next entity in plan.ents
}

// stop says why a body ended.
type stop int

const (
	atEOF      stop = iota
	atBoundary      // a boundary line of an enclosing multipart is pending
)

func (w *walker) write(b []byte) {
	if !w.scan {
		w.out.Write(b)
	}
}

// has8 reports whether b has an octet above 127.
func has8(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// boundaryOf reports whether the line is a delimiter of one of bounds (innermost last):
// the index of the boundary, and whether it is the close delimiter ("--B--").
func boundaryOf(line []byte, cont bool, bounds []string) (int, bool, bool) {
	if cont || len(line) < 3 || line[0] != '-' || line[1] != '-' {
		return 0, false, false
	}
	rest := line[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(rest, []byte(b)) {
			continue
		}
		tail := rest[len(b):]
		closing := false
		if bytes.HasPrefix(tail, []byte("--")) {
			closing, tail = true, tail[2:]
		}
		// RFC 2046 section 5.1.1: only transport padding (white space) may follow
		if len(bytes.Trim(tail, " \t\r\n")) == 0 {
			return i, closing, true
		}
	}
	return 0, false, false
}

// header is a part's header as read: its lines (folded lines kept apart) and, when the
// header ended at a blank line, that line.
type header struct {
	lines [][]byte
	blank []byte // the blank line ("\n" or "\r\n"), nil when the header ended otherwise
}

// field returns the unfolded value of the first field called name (lower case), and
// whether there is one.
func (h *header) field(name string) (string, bool) {
	for i := 0; i < len(h.lines); i++ {
		l := h.lines[i]
		if isCont(l) {
			continue
		}
		n, v, ok := bytes.Cut(l, []byte(":"))
		if !ok || !strings.EqualFold(string(bytes.TrimRight(n, " \t")), name) {
			continue
		}
		val := string(v)
		for j := i + 1; j < len(h.lines) && isCont(h.lines[j]); j++ {
			val += string(h.lines[j])
		}
		val = strings.NewReplacer("\r", "", "\n", "").Replace(val)
		return strings.TrimSpace(val), true
	}
	return "", false
}

func isCont(l []byte) bool { return len(l) > 0 && (l[0] == ' ' || l[0] == '\t') }

// isFieldStart reports whether a line can start a header field: a name of printable
// ASCII other than ':' followed by a colon (RFC 5322 section 2.2).
func isFieldStart(l []byte) bool {
	for i, c := range l {
		if c == ':' {
			return i > 0
		}
		if c <= ' ' || c >= 0x7f {
			// "Name :" (white space before the colon) is obsolete syntax still met
			if c == ' ' || c == '\t' {
				rest := bytes.TrimLeft(l[i:], " \t")
				return i > 0 && len(rest) > 0 && rest[0] == ':'
			}
			return false
		}
	}
	return false
}

// readHeader reads a header: lines up to a blank line, the end of the message, a boundary
// line of bounds, or a line that cannot be part of a header (which then starts the body).
func (w *walker) readHeader(bounds []string) (*header, bool, error) {
	h := &header{}
	eight := false
	for {
		l, cont, err := w.lr.next()
		if errors.Is(err, io.EOF) {
			return h, eight, nil
		}
		if err != nil {
			return nil, false, err
		}
		if !cont {
			if string(l) == "\n" || string(l) == "\r\n" {
				h.blank = append([]byte(nil), l...)
				return h, eight, nil
			}
			if _, _, ok := boundaryOf(l, cont, bounds); ok {
				w.lr.unread(l, cont)
				return h, eight, nil
			}
			if !isFieldStart(l) && !(isCont(l) && len(h.lines) > 0) {
				w.lr.unread(l, cont)
				return h, eight, nil
			}
		}
		eight = eight || has8(l)
		if cont && len(h.lines) > 0 {
			h.lines[len(h.lines)-1] = append(h.lines[len(h.lines)-1], l...)
		} else {
			h.lines = append(h.lines, append([]byte(nil), l...))
		}
	}
}

// mediaType returns the lower-case type/subtype of a Content-Type value and its boundary
// parameter. The parse is lenient (mail in the queue has been accepted already): the
// first word is the type, a boundary= parameter is found wherever it is.
func mediaType(v string) (string, string) {
	t, params, _ := strings.Cut(v, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	boundary := ""
	for params != "" {
		var p string
		p, params = splitParam(params)
		name, val, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "boundary") {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' {
			if end := strings.IndexByte(val[1:], '"'); end >= 0 {
				val = val[1 : end+1]
			} else {
				val = val[1:]
			}
		}
		boundary = val
		break
	}
	return t, boundary
}

// splitParam returns the first ";"-separated parameter of s (a ';' inside quotes does not
// count) and the rest.
func splitParam(s string) (string, string) {
	q := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			q = !q
		case '\\':
			if q {
				i++
			}
		case ';':
			if !q {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

// cte returns the lower-case transfer encoding of a header ("" when absent).
func cte(h *header) string {
	v, _ := h.field("content-transfer-encoding")
	if i := strings.IndexByte(v, '('); i >= 0 {
		v = v[:i] // a comment
	}
	return strings.ToLower(strings.TrimSpace(v))
}

func identity(enc string) bool {
	switch enc {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// entity walks one entity (header and body) whose body ends at a boundary of bounds or at
// the end of the message; depth 0 is the message itself (the only level where a converted
// body also needs MIME-Version), and nesting stops at maxDepth.
func (w *walker) entity(bounds []string, depth int) (stop, error) {
	idx := w.next
	w.next++
	if w.scan {
		w.plan.ents = append(w.plan.ents, entInfo{})
	} else if idx >= len(w.plan.ents) {
		return atEOF, errChanged
	}
	h, h8, err := w.readHeader(bounds)
	if err != nil {
		return atEOF, err
	}
	if h8 && w.scan {
		w.plan.Has8Bit, w.plan.Header8Bit = true, true
	}
	ctype, boundary := "text/plain", ""
	if v, ok := h.field("content-type"); ok {
		ctype, boundary = mediaType(v)
	}
	enc := cte(h)
	// (plan.ents grows during the scan's recursion: index it, never keep a pointer)
	body8 := w.plan.ents[idx].body8
	switch {
	case depth < maxDepth && strings.HasPrefix(ctype, "multipart/") && boundary != "" && identity(enc):
		w.writeHeader(h, body8 && (enc == "8bit" || enc == "binary"), "7bit", false)
		eight, st, err := w.multipart(append(bounds[:len(bounds):len(bounds)], boundary), depth)
		if w.scan && eight {
			w.plan.ents[idx].body8 = true
		}
		return st, err
	case depth < maxDepth && (ctype == "message/rfc822" || ctype == "message/news") && identity(enc):
		w.writeHeader(h, body8 && (enc == "8bit" || enc == "binary"), "7bit", false)
		start := len(w.plan.ents)
		st, err := w.entity(bounds, depth+1)
		if w.scan {
			for _, e := range w.plan.ents[start:] {
				if e.body8 {
					w.plan.ents[idx].body8 = true
				}
			}
		}
		return st, err
	}
	// a leaf
	convert := body8 && identity(enc)
	w.writeHeader(h, convert, "quoted-printable", convert && depth == 0)
	nl := "\n"
	if string(h.blank) == "\r\n" || (h.blank == nil && len(h.lines) > 0 && bytes.HasSuffix(h.lines[0], []byte("\r\n"))) {
		nl = "\r\n"
	}
	eight, st, err := w.leaf(bounds, convert, enc, nl)
	if w.scan && eight {
		w.plan.ents[idx].body8 = true
		w.plan.Has8Bit = true
		switch {
		case identity(enc):
			w.plan.Parts++
		case enc == "base64" || enc == "quoted-printable":
		default:
			w.plan.Unconvertible = true
		}
	}
	return st, err
}

// writeHeader writes a header, with its Content-Transfer-Encoding fields replaced by one
// saying enc when relabel is set (and "MIME-Version: 1.0" added when mimeVersion is set
// and the header has none: a top-level body is MIME only with it, RFC 2045 section 4).
func (w *walker) writeHeader(h *header, relabel bool, enc string, mimeVersion bool) {
	if w.scan {
		return
	}
	nl := "\n"
	if h.blank != nil {
		nl = string(h.blank)
	} else if len(h.lines) > 0 && bytes.HasSuffix(h.lines[0], []byte("\r\n")) {
		nl = "\r\n"
	}
	done := false
	skipping := false
	for _, l := range h.lines {
		if isCont(l) {
			if !skipping {
				w.write(l)
			}
			continue
		}
		skipping = false
		if relabel {
			if n, _, ok := bytes.Cut(l, []byte(":")); ok && strings.EqualFold(string(bytes.TrimRight(n, " \t")), "content-transfer-encoding") {
				skipping = true
				if !done {
					w.write([]byte("Content-Transfer-Encoding: " + enc + nl))
					done = true
				}
				continue
			}
		}
		w.write(l)
	}
	if relabel && !done {
		if n := len(h.lines); n > 0 && !bytes.HasSuffix(h.lines[n-1], []byte("\n")) {
			// the last line of a message that is all header has no line break
			w.write([]byte(nl))
		}
		if _, ok := h.field("mime-version"); mimeVersion && !ok {
			w.write([]byte("MIME-Version: 1.0" + nl))
		}
		w.write([]byte("Content-Transfer-Encoding: " + enc + nl))
	}
	if h.blank != nil {
		w.write(h.blank)
	}
}

// multipart walks a multipart body: preamble, parts, epilogue. bounds ends with its own
// boundary. It reports whether anything inside had 8-bit octets.
func (w *walker) multipart(bounds []string, depth int) (bool, stop, error) {
	own := len(bounds) - 1
	eight := false
	// preamble
	st, e8, err := w.filler(bounds)
	eight = eight || e8
	if err != nil || st == atEOF {
		return eight, st, err
	}
	for {
		l, cont, err := w.lr.next()
		if err != nil {
			return eight, atEOF, err
		}
		i, closing, ok := boundaryOf(l, cont, bounds)
		if !ok || i != own {
			w.lr.unread(l, cont) // an outer boundary ends this multipart too
			return eight, atBoundary, nil
		}
		w.write(l)
		if closing {
			st, e8, err := w.filler(bounds[:own])
			return eight || e8, st, err
		}
		start := len(w.plan.ents)
		st, err := w.entity(bounds, depth+1)
		if err != nil {
			return eight, st, err
		}
		if w.scan {
			for _, e := range w.plan.ents[start:] {
				eight = eight || e.body8
			}
		}
		if st == atEOF {
			return eight, atEOF, nil
		}
	}
}

// filler copies a preamble or an epilogue up to a boundary of bounds, with 8-bit octets
// made '?' (no reader shows these lines, and they belong to no part that could be
// labelled).
func (w *walker) filler(bounds []string) (stop, bool, error) {
	eight := false
	for {
		l, cont, err := w.lr.next()
		if errors.Is(err, io.EOF) {
			return atEOF, eight, nil
		}
		if err != nil {
			return atEOF, eight, err
		}
		if _, _, ok := boundaryOf(l, cont, bounds); ok {
			w.lr.unread(l, cont)
			return atBoundary, eight, nil
		}
		if has8(l) {
			eight = true
			if w.scan {
				w.plan.Has8Bit = true
			} else {
				l = append([]byte(nil), l...)
				for i, c := range l {
					if c >= 0x80 {
						l[i] = '?'
					}
				}
			}
		}
		w.write(l)
	}
}

// leaf copies (or, with convert, quoted-printable encodes) a leaf body up to a boundary of
// bounds; nl is the line ending of soft line breaks. A base64 or quoted-printable body with stray 8-bit octets is made 7-bit as its
// decoder reads it (see the package comment). It reports whether the body had 8-bit
// octets.
func (w *walker) leaf(bounds []string, convert bool, enc, nl string) (bool, stop, error) {
	eight := false
	var qp *qpWriter
	if convert && !w.scan {
		qp = &qpWriter{w: w.out, nl: nl}
	}
	for {
		l, cont, err := w.lr.next()
		if errors.Is(err, io.EOF) {
			if qp != nil {
				qp.flush()
			}
			return eight, atEOF, nil
		}
		if err != nil {
			return eight, atEOF, err
		}
		if _, _, ok := boundaryOf(l, cont, bounds); ok {
			w.lr.unread(l, cont)
			if qp != nil {
				qp.flush()
			}
			return eight, atBoundary, nil
		}
		e := has8(l)
		eight = eight || e
		switch {
		case w.scan:
		case qp != nil:
			qp.piece(l)
		case e && enc == "base64":
			for _, c := range l {
				if c < 0x80 {
					w.out.WriteByte(c)
				}
			}
		case e && enc == "quoted-printable":
			for _, c := range l {
				if c < 0x80 {
					w.out.WriteByte(c)
				} else {
					w.out.WriteString(hexEsc(c))
				}
			}
		default:
			w.write(l)
		}
	}
}

const hexDigits = "0123456789ABCDEF"

func hexEsc(c byte) string { return string([]byte{'=', hexDigits[c>>4], hexDigits[c&15]}) }
