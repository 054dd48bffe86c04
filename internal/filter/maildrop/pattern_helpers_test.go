package maildrop

import (
	"bufio"
	"io"
)

func newTestWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }
func newTestReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
