package maildrop

// The pipe protocol between the lean courier-mda, which has no PCRE engine, and
// `courier maildrop-pcre` (ServePCRE), which runs patterns on one for it. A request is an
// operation byte ('C' compile only, 'F' first match, 'A' all matches), the case-insensitive
// flag, the time limit in nanoseconds, the most matches wanted, the pattern and the text; an
// answer is 'M' and the matches (each a list of groups), 'E' and the reason the pattern does
// not compile, or 'T' for a match that ran out of time. Integers are uvarints, strings a
// uvarint length and the bytes.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

type pcreRequest struct {
	op      byte
	icase   bool
	timeout time.Duration
	max     int
	pattern string
	text    string
}

// maxProtoString bounds a string on the pipe; texts are message lines or variables.
const maxProtoString = 64 << 20

func putUvarint(w *bufio.Writer, v uint64) {
	var buf [binary.MaxVarintLen64]byte
	w.Write(buf[:binary.PutUvarint(buf[:], v)]) //nolint:errcheck // Flush reports it
}

func putString(w *bufio.Writer, s string) {
	putUvarint(w, uint64(len(s)))
	w.WriteString(s) //nolint:errcheck // Flush reports it
}

func getString(r *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	if n > maxProtoString {
		return "", fmt.Errorf("maildrop-pcre: string of %d bytes", n)
	}
	// Read what is there rather than allocate what the length claims.
	b, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return "", err
	}
	if uint64(len(b)) != n {
		return "", io.ErrUnexpectedEOF
	}
	return string(b), nil
}

func writeRequest(w *bufio.Writer, q *pcreRequest) error {
	w.WriteByte(q.op) //nolint:errcheck // Flush reports it
	if q.icase {
		w.WriteByte(1) //nolint:errcheck
	} else {
		w.WriteByte(0) //nolint:errcheck
	}
	putUvarint(w, uint64(q.timeout))
	putUvarint(w, uint64(q.max))
	putString(w, q.pattern)
	putString(w, q.text)
	return w.Flush()
}

func readRequest(r *bufio.Reader) (*pcreRequest, error) {
	op, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	ic, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	q := &pcreRequest{op: op, icase: ic == 1}
	t, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	m, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	q.timeout, q.max = time.Duration(t), int(min(m, 1<<30))
	if q.pattern, err = getString(r); err != nil {
		return nil, err
	}
	if q.text, err = getString(r); err != nil {
		return nil, err
	}
	return q, nil
}

func writeMatches(w *bufio.Writer, ms [][]string) error {
	w.WriteByte('M') //nolint:errcheck
	putUvarint(w, uint64(len(ms)))
	for _, g := range ms {
		putUvarint(w, uint64(len(g)))
		for _, s := range g {
			putString(w, s)
		}
	}
	return w.Flush()
}

// readAnswer reads one answer: the matches, or an error wrapping errBadPattern or
// errMatchTimeout.
func readAnswer(r *bufio.Reader) ([][]string, error) {
	st, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch st {
	case 'E':
		msg, err := getString(r)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s", errBadPattern, msg)
	case 'T':
		return nil, errMatchTimeout
	case 'M':
	default:
		return nil, fmt.Errorf("maildrop-pcre: bad answer %q", st)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for i := uint64(0); i < n; i++ {
		k, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if k > 1<<16 {
			return nil, fmt.Errorf("maildrop-pcre: %d groups", k)
		}
		g := make([]string, k)
		for j := range g {
			if g[j], err = getString(r); err != nil {
				return nil, err
			}
		}
		out = append(out, g)
	}
	return out, nil
}
