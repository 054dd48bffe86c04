package submit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxHeader bounds the header block sendmail reads into memory (and the Ingester scans).
const MaxHeader = 1 << 20

// ErrHeaderTooBig: the header block exceeds MaxHeader.
var ErrHeaderTooBig = fmt.Errorf("submit: header block larger than %d octets", MaxHeader)

// Reader reads a message the way sendmail takes it from standard input: CRLF becomes LF
// (the queue and Maildir store LF), and unless dots are ignored (-i, -oi) a line holding
// only "." ends the message, as in sendmail. Dots are never unstuffed: this is not SMTP.
type Reader struct {
	br         *bufio.Reader
	ignoreDots bool
	atStart    bool // the next octet starts a line
	pendingCR  bool // a CR ended the last piece of a long line; its LF may follow
	done       bool
	pushback   []byte // a body line read while looking for the end of the header
}

// NewReader reads r; ignoreDots is sendmail's -i.
func NewReader(r io.Reader, ignoreDots bool) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), ignoreDots: ignoreDots, atStart: true}
}

// next returns the next piece of input: a whole line (ending in LF unless it is the last
// one and has none) or a part of a line longer than the buffer. It returns io.EOF at the
// end of input or at the terminating dot line.
func (r *Reader) next() ([]byte, error) {
	if r.done {
		return nil, io.EOF
	}
	p, err := r.br.ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("submit: reading the message: %w", err)
	}
	whole := err == nil // ends in LF
	start := r.atStart
	r.atStart = whole
	if len(p) == 0 && errors.Is(err, io.EOF) {
		r.done = true
		if r.pendingCR {
			r.pendingCR = false
			return []byte{'\r'}, nil
		}
		return nil, io.EOF
	}
	if start && !r.ignoreDots && (string(p) == ".\n" || string(p) == ".\r\n" || (errors.Is(err, io.EOF) && (string(p) == "." || string(p) == ".\r"))) {
		r.done = true
		return nil, io.EOF
	}
	var out []byte
	if r.pendingCR {
		r.pendingCR = false
		if p[0] != '\n' {
			out = append(out, '\r')
		}
	}
	switch {
	case whole && len(p) >= 2 && p[len(p)-2] == '\r':
		out = append(out, p[:len(p)-2]...)
		out = append(out, '\n')
	case !whole && !errors.Is(err, io.EOF) && p[len(p)-1] == '\r':
		out = append(out, p[:len(p)-1]...)
		r.pendingCR = true
	default:
		out = append(out, p...)
	}
	if errors.Is(err, io.EOF) {
		r.done = true
	}
	return out, nil
}

// ReadHeader reads the header block: the lines up to the blank line (which it consumes)
// or up to the first line that cannot belong to a header (which stays for the body). A
// leading mbox "From " line is dropped. sep tells whether a body follows (or at least the
// blank line did), that is whether the rewritten message needs the blank line.
func (r *Reader) ReadHeader() (block []byte, sep bool, err error) {
	first := true
	var cur []byte // the line being assembled from pieces
	for {
		p, err := r.next()
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return nil, false, err
		}
		cur = append(cur, p...)
		if len(block)+len(cur) > MaxHeader {
			return nil, false, ErrHeaderTooBig
		}
		if len(cur) == 0 {
			return block, false, nil // the end
		}
		if cur[len(cur)-1] != '\n' {
			if !eof && !r.done {
				continue // a long line: read on
			}
			cur = append(cur, '\n') // the last line lacked its LF
		}
		line := cur
		cur = nil
		switch {
		case first && bytes.HasPrefix(line, []byte("From ")):
			// an mbox separator, as sendmail drops it
		case string(line) == "\n":
			return block, true, nil
		case (line[0] == ' ' || line[0] == '\t') && len(block) > 0, fieldName(line) != "":
			block = append(block, line...)
		default:
			r.pushback = line
			return block, true, nil
		}
		first = false
		if eof || r.done {
			return block, false, nil
		}
	}
}

// WriteTo copies the rest of the message (after ReadHeader) to w.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(r.pushback) > 0 {
		k, err := w.Write(r.pushback)
		n += int64(k)
		r.pushback = nil
		if err != nil {
			return n, err
		}
	}
	for {
		p, err := r.next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		k, err := w.Write(p)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
}
