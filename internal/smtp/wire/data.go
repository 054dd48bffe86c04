package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Policy violations found while reading message content. Each is the reply to give after
// the rest of the content has been read (Drain).
var (
	// ErrTooBig: the content exceeds the size limit (RFC 1870).
	ErrTooBig = R(552, "5.3.4", "Message too big.")
	// ErrLineTooLong: a line exceeds the line-length limit (RFC 5321 section 4.5.3.1.6).
	ErrLineTooLong = R(554, "5.6.0", "Message has a line longer than 1000 octets.")
	// ErrNUL: the content holds a NUL octet, which SMTP does not allow in text (RFC 5321
	// section 4.1.4 and RFC 6152); Courier cut such lines short, we refuse the message.
	ErrNUL = R(554, "5.6.0", "Message contains NUL characters.")
	// ErrCommandTooLong: a command line exceeds MaxCommandLine.
	ErrCommandTooLong = R(500, "5.5.2", "Line too long.")
)

// ReadCommandLine reads one command line and returns it without its line ending (CRLF or a
// bare LF, as Courier accepts both). A line longer than max is read to its end and
// discarded, and ErrCommandTooLong returned. The result is valid until the next read.
func ReadCommandLine(br *bufio.Reader, max int, buf []byte) ([]byte, error) {
	buf = buf[:0]
	tooLong := false
	for {
		seg, err := br.ReadSlice('\n')
		if len(buf)+len(seg) > max+2 {
			tooLong = true
		}
		if !tooLong {
			buf = append(buf, seg...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read command: %w", err)
		}
		break
	}
	if tooLong {
		return nil, ErrCommandTooLong
	}
	buf = bytes.TrimSuffix(buf, []byte{'\n'})
	buf = bytes.TrimSuffix(buf, []byte{'\r'})
	if len(buf) > max {
		return nil, ErrCommandTooLong
	}
	return buf, nil
}

// Limits bound message content. Zero means no limit.
type Limits struct {
	MaxLine int   // octets per line including its CRLF
	MaxSize int64 // octets of content as stored (lines ending in LF)
}

// checker applies Limits to normalized lines.
type checker struct {
	Limits
	size int64
}

// check looks at one line of content as stored (ending in "\n"); orig is its length on the
// wire including the line ending.
func (c *checker) check(line []byte, orig int) error {
	c.size += int64(len(line))
	switch {
	case c.MaxSize > 0 && c.size > c.MaxSize:
		return ErrTooBig
	case c.MaxLine > 0 && orig > c.MaxLine:
		return ErrLineTooLong
	case bytes.IndexByte(line, 0) >= 0:
		return ErrNUL
	}
	return nil
}

// DataReader reads the content of a DATA command (RFC 5321 section 4.1.1.4): lines up to
// the terminating CRLF "." CRLF, with dot-stuffing removed and every line ending turned into
// a single LF (the form Courier stores). A bare LF ends a line, as Courier accepts it, and
// a bare CR is kept as content; but a "." line ends the message only when it and the line
// before it both end in CRLF, so neither "\n.\r\n" nor "\r\n.\n" can end the data (SMTP
// smuggling). Such a lone "." that does not end the data is kept as the content ".".
type DataReader struct {
	br       *bufio.Reader
	chk      checker
	prevCRLF bool
	line     []byte
	err      error // sticky: a limit violation or an I/O error
	done     bool
}

// NewDataReader starts reading content from br, just after the 354 reply.
func NewDataReader(br *bufio.Reader, lim Limits) *DataReader {
	return &DataReader{br: br, chk: checker{Limits: lim}, prevCRLF: true}
}

// Size returns the octets of content read so far, as stored.
func (d *DataReader) Size() int64 { return d.chk.size }

// ReadLine returns the next line of content, ending in "\n", valid until the next call.
// At the terminator it returns io.EOF. A limit violation returns one of ErrTooBig,
// ErrLineTooLong, ErrNUL: call Drain to consume the rest before replying. A connection
// error is returned wrapped (io.ErrUnexpectedEOF for a connection closed mid-data).
func (d *DataReader) ReadLine() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.done {
		return nil, io.EOF
	}
	line, term, err := d.next(true)
	if err != nil {
		d.err = err
		return nil, err
	}
	if term {
		d.done = true
		return nil, io.EOF
	}
	return line, nil
}

// Drain reads and discards the rest of the content up to the terminator. It returns nil
// when the terminator was read (the connection is in step again), else the I/O error.
func (d *DataReader) Drain() error {
	if d.done {
		return nil
	}
	var e *Reply
	if d.err != nil && !errors.As(d.err, &e) {
		return d.err
	}
	for {
		_, term, err := d.next(false)
		if err != nil {
			var r *Reply
			if errors.As(err, &r) {
				continue
			}
			return err
		}
		if term {
			d.done = true
			return nil
		}
	}
}

// next reads one wire line. With store false the content is not kept (only enough to
// recognise the terminator), so draining a huge message costs no memory.
func (d *DataReader) next(store bool) (line []byte, term bool, err error) {
	d.line = d.line[:0]
	orig := 0
	capped := false
	var tail [2]byte // the last two octets of the wire line
	for {
		seg, rerr := d.br.ReadSlice('\n')
		orig += len(seg)
		switch n := len(seg); {
		case n >= 2:
			tail = [2]byte{seg[n-2], seg[n-1]}
		case n == 1:
			tail = [2]byte{tail[1], seg[0]}
		}
		if !capped {
			room := len(seg)
			limit := 0
			switch {
			case !store:
				limit = 4 // enough to see ".\r\n"
			case d.chk.MaxLine > 0:
				limit = d.chk.MaxLine + 1
			case d.chk.MaxSize > 0:
				limit = int(min(d.chk.MaxSize-d.chk.size+2, 1<<30))
			}
			if limit > 0 && len(d.line)+room > limit {
				room = max(limit-len(d.line), 0)
				capped = true
			}
			d.line = append(d.line, seg[:room]...)
		}
		if rerr == bufio.ErrBufferFull {
			continue
		}
		if rerr != nil {
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return nil, false, fmt.Errorf("read data: %w", rerr)
		}
		break
	}
	// orig counts the whole wire line; d.line holds its start (all of it unless capped).
	crlf := orig >= 2 && tail == [2]byte{'\r', '\n'}
	if capped {
		// A capped line is long, so it is not the terminator.
		d.prevCRLF = crlf
		if !store {
			return nil, false, nil
		}
		d.chk.size += int64(orig)
		if d.chk.MaxSize > 0 && d.chk.size > d.chk.MaxSize {
			return nil, false, ErrTooBig
		}
		return nil, false, ErrLineTooLong
	}
	body := d.line[:len(d.line)-1] // without LF
	if crlf {
		body = body[:len(body)-1]
	}
	prev := d.prevCRLF
	d.prevCRLF = crlf
	if len(body) == 1 && body[0] == '.' {
		if crlf && prev {
			return nil, true, nil
		}
		// A lone dot that does not end the data (smuggling attempt): kept as content.
	} else if len(body) > 0 && body[0] == '.' {
		body = body[1:]
	}
	if !store {
		return nil, false, nil
	}
	// Rebuild the line in place as body + "\n".
	out := append(d.line[:0], body...)
	out = append(out, '\n')
	d.line = out
	if err := d.chk.check(out, orig); err != nil {
		return nil, false, err
	}
	return out, false, nil
}

// ChunkReader turns the raw octets of BDAT chunks (RFC 3030; no dot-stuffing, no
// terminator) into the same lines as DataReader, with the same limits.
type ChunkReader struct {
	chk     checker
	partial []byte
	err     error
	capped  bool
	origLen int
}

// NewChunkReader starts a message sent with BDAT.
func NewChunkReader(lim Limits) *ChunkReader { return &ChunkReader{chk: checker{Limits: lim}} }

// Size returns the octets of content accepted so far, as stored.
func (c *ChunkReader) Size() int64 { return c.chk.size }

// Err returns the first limit violation, if any; after one, lines are no longer emitted.
func (c *ChunkReader) Err() error { return c.err }

// Write feeds chunk octets; emit receives each complete line (ending in "\n", valid only
// during the call). An error from emit is returned and stops the message.
func (c *ChunkReader) Write(p []byte, emit func([]byte) error) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i+1]
		}
		p = p[len(seg):]
		c.origLen += len(seg)
		if c.err == nil && !c.capped {
			if c.chk.MaxLine > 0 && len(c.partial)+len(seg) > c.chk.MaxLine+1 {
				c.capped = true
			} else {
				c.partial = append(c.partial, seg...)
			}
		}
		if i < 0 {
			continue
		}
		if err := c.endLine(emit); err != nil {
			return err
		}
	}
	return nil
}

func (c *ChunkReader) endLine(emit func([]byte) error) error {
	orig := c.origLen
	line := c.partial
	c.partial, c.origLen = c.partial[:0], 0
	if c.err != nil {
		return nil
	}
	if c.capped {
		c.capped = false
		c.chk.size += int64(orig)
		c.err = ErrLineTooLong
		if c.chk.MaxSize > 0 && c.chk.size > c.chk.MaxSize {
			c.err = ErrTooBig
		}
		return nil
	}
	if n := len(line); n >= 2 && line[n-1] == '\n' && line[n-2] == '\r' {
		line = append(line[:n-2], '\n')
	} else if n > 0 && line[n-1] != '\n' {
		line = append(line, '\n')
	}
	if err := c.chk.check(line, orig); err != nil {
		c.err = err
		return nil
	}
	return emit(line)
}

// Close ends the message (BDAT LAST): a last line without a line ending is completed.
func (c *ChunkReader) Close(emit func([]byte) error) error {
	if len(c.partial) > 0 || c.capped {
		return c.endLine(emit)
	}
	return nil
}
