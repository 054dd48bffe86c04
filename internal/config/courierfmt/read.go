package courierfmt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxLine is the longest physical line, and the longest logical statement
// (continuation lines and multi-line quotes included), that the parsers
// accept, in bytes.
const MaxLine = 1 << 20

// MaxExpanded bounds the total size in bytes of all names and expanded values
// of one env file, so that repeated "$VAR" expansion cannot blow up memory.
const MaxExpanded = 16 << 20

// Warning is a problem that does not stop loading: something skipped or
// ignored. Line is 0 when the warning concerns a whole file.
type Warning struct {
	File string // path the warning is about
	Line int    // 1-based line number, or 0
	Msg  string // what is wrong
}

// String formats the warning as "file:line: msg" (or "file: msg" when Line is 0).
func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg)
	}
	return fmt.Sprintf("%s: %s", w.File, w.Msg)
}

// lineError builds an error of the form "file:line: msg".
func lineError(file string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
}

// lineReader hands out physical lines, without their line terminator (a
// trailing "\r" is dropped too), refusing lines longer than MaxLine and lines
// containing NUL bytes.
type lineReader struct {
	br   *bufio.Reader
	file string
	n    int    // number of the line last returned
	buf  []byte // reused for lines longer than the bufio buffer
	eof  bool
}

func newLineReader(file string, r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 16<<10), file: file}
}

// next returns the next line. ok is false at end of input. The returned slice
// is valid until the following call.
func (lr *lineReader) next() (line []byte, ok bool, err error) {
	if lr.eof {
		return nil, false, nil
	}
	lr.buf = lr.buf[:0]
	long := false
	for {
		chunk, rerr := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > MaxLine+1 { // +1 for the '\n'
			lr.n++
			lr.eof = true
			return nil, false, lineError(lr.file, lr.n, "line longer than %d bytes", MaxLine)
		}
		switch {
		case rerr == nil:
			if long {
				lr.buf = append(lr.buf, chunk...)
				line = lr.buf
			} else {
				line = chunk
			}
		case errors.Is(rerr, bufio.ErrBufferFull):
			lr.buf = append(lr.buf, chunk...)
			long = true
			continue
		case errors.Is(rerr, io.EOF):
			lr.eof = true
			lr.buf = append(lr.buf, chunk...)
			if len(lr.buf) == 0 {
				return nil, false, nil
			}
			line = lr.buf
		default:
			lr.eof = true
			return nil, false, fmt.Errorf("%s: read after line %d: %w", lr.file, lr.n, rerr)
		}
		break
	}
	lr.n++
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if lr.n == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	}
	if bytes.IndexByte(line, 0) >= 0 {
		lr.eof = true
		return nil, false, lineError(lr.file, lr.n, "NUL byte in line")
	}
	return line, true, nil
}

// openRegular opens path for reading and makes sure it is a regular file.
// The open does not block on a FIFO. A missing file gives an error for which
// errors.Is(err, fs.ErrNotExist) holds.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err // *fs.PathError already names the path
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a file", path)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	return f, nil
}
