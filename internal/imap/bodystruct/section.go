package bodystruct

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"courier/internal/mail/mime"
)

// Section is a parsed section-spec of RFC 3501 §6.4.5.
type Section struct {
	Part   []int    // "1.2" → {1,2}; empty = the whole message
	Spec   string   // "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"
	Fields []string // for HEADER.FIELDS(.NOT), as the client gave them
}

// ErrBadSection is returned by ParseSection for a section Courier refuses (it answers NO).
var ErrBadSection = errors.New("bodystruct: invalid section")

// ParseSection parses the text between the brackets of BODY[...] without the field list
// ("1.2.HEADER.FIELDS"), with fields the header field names that followed it. Like Courier it
// refuses part number 0, a MIME without a part number and any unknown word; the words are
// matched without case.
func ParseSection(spec string, fields []string) (Section, error) {
	var s Section
	rest := spec
	for rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n == 0 {
			return Section{}, fmt.Errorf("%w: part number %q", ErrBadSection, rest[:i])
		}
		s.Part = append(s.Part, n)
		rest = rest[i:]
		if rest == "" {
			break
		}
		if rest[0] != '.' || len(rest) == 1 {
			return Section{}, fmt.Errorf("%w: %q", ErrBadSection, spec)
		}
		rest = rest[1:]
	}
	switch up := strings.ToUpper(rest); up {
	case "", "HEADER", "TEXT", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "MIME":
		s.Spec = up
	default:
		return Section{}, fmt.Errorf("%w: %q", ErrBadSection, spec)
	}
	if s.Spec == "MIME" && len(s.Part) == 0 {
		return Section{}, fmt.Errorf("%w: MIME needs a part number", ErrBadSection)
	}
	if strings.HasPrefix(s.Spec, "HEADER.FIELDS") {
		if len(fields) == 0 {
			return Section{}, fmt.Errorf("%w: %s needs field names", ErrBadSection, s.Spec)
		}
		s.Fields = fields
	} else if len(fields) > 0 {
		return Section{}, fmt.Errorf("%w: field names after %q", ErrBadSection, spec)
	}
	return s, nil
}

// Name returns the section as Courier echoes it in the FETCH response key: the spec in upper
// case and the field names as the client gave them, each in double quotes, e.g. `1.2.MIME` or
// `HEADER.FIELDS ("Subject" "From")`. The caller adds "<start>" for a partial fetch (Courier
// echoes only the start: BODY.PEEK[2]<0.16> answers BODY[2]<0>).
//
// Courier writes a field name between quotes without escaping it; a name holding '"' or '\'
// is escaped here (RFC 3501 §4.3) and one holding CR, LF or 8-bit bytes, which cannot be quoted,
// is sent as a literal.
func (s Section) Name() string {
	var b []byte
	for i, n := range s.Part {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if s.Spec != "" {
		if len(s.Part) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.Spec...)
	}
	if len(s.Fields) > 0 {
		b = append(b, " ("...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendQuoted(b, f, true)
		}
		b = append(b, ')')
	}
	return string(b)
}

// resolve finds the part a section number names, as Courier's dofetchmsgbody walks it: it
// returns the part for TEXT/HEADER/body and the one whose header MIME means. A number naming
// a message/rfc822 part means the part when it is the last thing in the section, else the
// message inside it; "1" of a message that is not multipart is the message itself (at any
// depth of "1.1.1"), but "1.1" of a single part inside a multipart names nothing.
func resolve(root *mime.Part, s Section) (part, header *mime.Part) {
	part, header = root, root
	isMsg := true
	for idx, n := range s.Part {
		header = part
		if part == nil {
			continue
		}
		if isMsg {
			if part.IsLeaf() {
				if n != 1 {
					part = nil
				}
				continue
			}
			isMsg = strings.EqualFold(part.ContentType, "message/rfc822")
		}
		var c *mime.Part
		if part.Message != nil {
			if n == 1 {
				c = part.Message
			}
		} else if n-1 < len(part.Parts) {
			c = part.Parts[n-1]
		}
		part, header = c, c
		if c != nil && c.Message != nil {
			if idx == len(s.Part)-1 && s.Spec == "" {
				break
			}
			part, isMsg = c.Message, true
		}
	}
	if s.Spec == "MIME" {
		part = header
	}
	return part, header
}

// Extract returns the section's bytes as IMAP sends them (CRLF line endings), from the
// stored message. See Open.
func Extract(msg io.ReaderAt, root *mime.Part, s Section) ([]byte, error) {
	r, n, err := Open(msg, root, s)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("bodystruct: reading section %s: %w", s.Name(), err)
	}
	return b, nil
}

// Open returns a reader of the section's bytes and their number, so that a large body can be
// streamed as a literal of known size. A part number that does not exist gives an empty
// section, as in Courier ("BODY[9] {0}"). HEADER and TEXT work on any part (for a part that is
// not a message they mean its MIME header and body); MIME, HEADER.FIELDS and HEADER.FIELDS.NOT
// end with a blank line; MIME keeps only MIME-Version and Content-* fields.
func Open(msg io.ReaderAt, root *mime.Part, s Section) (io.Reader, int64, error) {
	return OpenPartial(msg, root, s, 0, -1)
}

// OpenPartial is Open for BODY[section]<start.length>: the bytes from start, at most length
// of them (length < 0: to the end). A start past the end gives an empty section.
func OpenPartial(msg io.ReaderAt, root *mime.Part, s Section, start, length int64) (io.Reader, int64, error) {
	if root == nil {
		return nil, 0, errors.New("bodystruct: no part tree")
	}
	part, _ := resolve(root, s)
	if part == nil {
		return bytes.NewReader(nil), 0, nil
	}
	var from, cnt int64
	switch s.Spec {
	case "TEXT":
		from, cnt = part.BodyStart, part.BodySize
	case "HEADER":
		from, cnt = part.HeaderStart, part.HeaderSize
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT", "MIME":
		b, err := headerFields(msg, part, s)
		if err != nil {
			return nil, 0, err
		}
		b = partial(b, start, length)
		return bytes.NewReader(b), int64(len(b)), nil
	default:
		if len(s.Part) == 0 {
			from, cnt = part.HeaderStart, part.Size
		} else {
			from, cnt = part.BodyStart, part.BodySize
		}
	}
	skip, cnt := window(cnt, start, length)
	return newCRLFReader(msg, from, skip, cnt), cnt, nil
}

// window applies <start.length> to a section of cnt bytes.
func window(cnt, start, length int64) (skip, n int64) {
	cnt = max(cnt, 0)
	skip = max(start, 0)
	if skip > cnt {
		skip = cnt
	}
	n = cnt - skip
	if length >= 0 && n > length {
		n = length
	}
	return skip, n
}

func partial(b []byte, start, length int64) []byte {
	skip, n := window(int64(len(b)), start, length)
	return b[skip : skip+n]
}

// OpenRFC822 returns FETCH RFC822: the whole stored message of size bytes, LF sent as CRLF.
// Courier counts the file itself here, not its MIME structure.
func OpenRFC822(msg io.ReaderAt, size int64) (io.Reader, int64, error) {
	n, err := countVirtual(msg, size, false)
	if err != nil {
		return nil, 0, err
	}
	return newCRLFReader(msg, 0, 0, n), n, nil
}

// OpenRFC822Header returns FETCH RFC822.HEADER as Courier computes it: the message up to and
// including the first empty line that follows a line break (a message starting with an empty
// line does not end there), or the whole message when it has none.
func OpenRFC822Header(msg io.ReaderAt, size int64) (io.Reader, int64, error) {
	n, err := countVirtual(msg, size, true)
	if err != nil {
		return nil, 0, err
	}
	return newCRLFReader(msg, 0, 0, n), n, nil
}

// OpenRFC822Text returns FETCH RFC822.TEXT: the body of the message (BODY[TEXT]).
func OpenRFC822Text(msg io.ReaderAt, root *mime.Part) (io.Reader, int64, error) {
	if root == nil {
		return nil, 0, errors.New("bodystruct: no part tree")
	}
	n := max(root.BodySize, 0)
	r := newCRLFReader(msg, root.BodyStart, 0, n)
	// Courier's rfc822text sends a line break that has room for one byte only as a bare LF,
	// where BODY[TEXT] sends the CR.
	r.lastLF = true
	return r, n, nil
}

// countVirtual counts the message in IMAP's form (line breaks as CRLF), up to the header's
// end when header is set.
func countVirtual(msg io.ReaderAt, size int64, header bool) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(msg, 0, size), 32<<10)
	var n int64
	eol := false
	prevCR := false
	for {
		c, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if prevCR {
					n++
				}
				return n, nil
			}
			return 0, fmt.Errorf("bodystruct: reading message: %w", err)
		}
		if prevCR {
			prevCR = false
			if c != '\n' {
				n++ // a lone CR
				eol = false
			}
		}
		if c == '\r' {
			prevCR = true
			continue
		}
		n++
		if c != '\n' {
			eol = false
			continue
		}
		n++
		if header && eol {
			return n, nil
		}
		eol = true
	}
}

// crlfReader reads the stored message from an offset as IMAP sends it: CRLF stays, a bare LF
// becomes CRLF; it skips skip bytes of that and then yields left bytes.
type crlfReader struct {
	br        *bufio.Reader
	skip      int64
	left      int64
	pendingLF bool
	lastLF    bool // a line break with one byte left is sent as LF, not CR
}

func newCRLFReader(msg io.ReaderAt, from, skip, n int64) *crlfReader {
	size := int64(math.MaxInt64) - from
	return &crlfReader{br: bufio.NewReaderSize(io.NewSectionReader(msg, from, size), 32<<10), skip: skip, left: n}
}

func (r *crlfReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		if r.pendingLF {
			r.pendingLF = false
			if r.skip > 0 {
				r.skip--
			} else {
				p[n] = '\n'
				n++
				r.left--
			}
			continue
		}
		// Copy a run of plain bytes at once.
		buf, err := r.br.Peek(1)
		if len(buf) == 0 {
			if errors.Is(err, io.EOF) {
				return n, io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("bodystruct: reading message: %w", err)
		}
		buf, _ = r.br.Peek(r.br.Buffered())
		run := 0
		for run < len(buf) && buf[run] != '\r' && buf[run] != '\n' {
			run++
		}
		if run > 0 {
			if r.skip > 0 {
				k := min(int64(run), r.skip)
				r.skip -= k
				_, _ = r.br.Discard(int(k))
				continue
			}
			k := min(run, len(p)-n, int(min(r.left, math.MaxInt32)))
			copy(p[n:], buf[:k])
			_, _ = r.br.Discard(k)
			n += k
			r.left -= int64(k)
			continue
		}
		c, _ := r.br.ReadByte()
		if c == '\r' {
			if next, err := r.br.Peek(1); err == nil && next[0] == '\n' {
				continue // CRLF: the LF brings its CR
			}
		} else {
			r.pendingLF = true
			if r.lastLF && r.skip == 0 && r.left == 1 {
				r.pendingLF = false
				p[n] = '\n'
				n++
				r.left--
				continue
			}
		}
		if r.skip > 0 {
			r.skip--
			continue
		}
		p[n] = '\r'
		n++
		r.left--
	}
	return n, nil
}

// maxBufHeader is Courier's BUFSIZ: a header up to this size is filtered in memory, a larger
// one by another routine with different quirks.
const maxBufHeader = 8192

// headerFields builds HEADER.FIELDS, HEADER.FIELDS.NOT or MIME of part, in IMAP form.
func headerFields(msg io.ReaderAt, part *mime.Part, s Section) ([]byte, error) {
	var match func(name []byte) bool
	switch s.Spec {
	case "MIME":
		match = func(name []byte) bool {
			return asciiEqualFold(name, "MIME-VERSION") || (len(name) >= 8 && asciiEqualFold(name[:8], "CONTENT-"))
		}
	case "HEADER.FIELDS":
		match = func(name []byte) bool { return fieldListed(s.Fields, name) }
	default:
		match = func(name []byte) bool { return !fieldListed(s.Fields, name) }
	}
	rawLen := part.BodyStart - part.HeaderStart
	if rawLen <= 0 {
		return toCRLF(filterBuf(nil, match)), nil
	}
	// The header's size as Courier measures it (LF line endings) picks the routine.
	if part.HeaderSize-part.HeaderLines <= maxBufHeader {
		raw := make([]byte, rawLen)
		if _, err := msg.ReadAt(raw, part.HeaderStart); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("bodystruct: reading header: %w", err)
		}
		return toCRLF(filterBuf(normalise(raw), match)), nil
	}
	out, err := filterLarge(io.NewSectionReader(msg, part.HeaderStart, rawLen), match)
	if err != nil {
		return nil, err
	}
	return toCRLF(out), nil
}

// filterBuf is Courier's in-memory header filter: a line starting with a non-space begins a
// field whose name is the text before ':' (a line without ':' has the name ""), continuation
// lines follow their field, the blank line is dropped and one is added at the end.
func filterBuf(hb []byte, match func([]byte) bool) []byte {
	out := make([]byte, 0, len(hb)+1)
	good := match(nil)
	for j := 0; j < len(hb); {
		c := hb[j]
		if c != '\n' && c != '\r' && !mime.IsSpace(c) {
			good = match(nil)
			k := j
			for k < len(hb) && hb[k] != '\n' && hb[k] != ':' {
				k++
			}
			if k < len(hb) && hb[k] == ':' {
				good = match(cutNUL(hb[j:k]))
			}
		} else if c == '\n' {
			good = false
		}
		k := j
		for k < len(hb) {
			k++
			if hb[k-1] == '\n' {
				break
			}
		}
		if good {
			out = append(out, hb[j:k]...)
		}
		j = k
	}
	return append(out, '\n')
}

// filterLarge is Courier's filter for headers larger than 8 KiB, which streams: a field name
// is read up to 255 bytes and a line without ':' is named after the whole line; the blank line
// counts as a field named "" (so HEADER.FIELDS.NOT keeps it), and an empty line is always added
// at the end.
func filterLarge(r io.Reader, match func([]byte) bool) ([]byte, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var out []byte
	good := match(nil)
	first := true // the next piece starts a line
	for {
		piece, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) && len(piece) > 1 && piece[len(piece)-1] == '\r' {
			if br.UnreadByte() == nil {
				piece = piece[:len(piece)-1]
			}
		}
		if n := len(piece); n > 1 && piece[n-1] == '\n' && piece[n-2] == '\r' {
			piece = append(piece[:n-2:n-2], '\n')
		}
		if len(piece) > 0 {
			if first {
				i := 0
				for i < len(piece) && i < 255 && piece[i] != '\n' && piece[i] != ':' {
					i++
				}
				name := piece[:i]
				if len(name) == 0 || (name[0] != '\r' && !mime.IsSpace(name[0])) {
					good = match(cutNUL(name))
				}
			}
			if good {
				out = append(out, piece...)
			}
			first = piece[len(piece)-1] == '\n'
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return append(out, '\n'), nil
		}
		return nil, fmt.Errorf("bodystruct: reading header: %w", err)
	}
}

func cutNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func fieldListed(fields []string, name []byte) bool {
	for _, f := range fields {
		if asciiEqualFold(name, f) {
			return true
		}
	}
	return false
}

func asciiEqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		if y >= 'a' && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// normalise turns CRLF into LF (the stored form Courier expects).
func normalise(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			continue
		}
		out = append(out, b[i])
	}
	return out
}

func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for _, c := range b {
		if c == '\n' {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
