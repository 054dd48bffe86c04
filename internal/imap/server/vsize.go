package server

import (
	"bytes"
	"io"

	"courier/internal/store"
)

// virtualSize returns a message's size as IMAP reports it (RFC822.SIZE): every bare LF of the
// stored message counts as CRLF. It reads the message; the session caches the result.
func (ss *session) virtualSize(mb store.Mailbox, uid store.UID) (int64, error) {
	if ss.sel != nil && ss.sel.mb == mb {
		if n, ok := ss.sel.vsize[uid]; ok {
			return n, nil
		}
	}
	c, err := mb.OpenMessage(uid)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	n, err := countVirtual(c, c.Size())
	if err != nil {
		return 0, err
	}
	if ss.sel != nil && ss.sel.mb == mb {
		if ss.sel.vsize == nil {
			ss.sel.vsize = map[store.UID]int64{}
		}
		ss.sel.vsize[uid] = n
	}
	return n, nil
}

// countVirtual counts size plus one for each LF not preceded by CR.
func countVirtual(r io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	prevCR := false
	for off := int64(0); off < size; {
		k, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if k == 0 && err != nil {
			return 0, err
		}
		b := buf[:k]
		for {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				break
			}
			if (i == 0 && !prevCR) || (i > 0 && b[i-1] != '\r') {
				n++
			}
			prevCR = false
			b = b[i+1:]
			if len(b) == 0 {
				break
			}
		}
		if k > 0 {
			prevCR = buf[k-1] == '\r'
		}
		off += int64(k)
	}
	return size + n, nil
}
