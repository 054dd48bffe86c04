package server

import "courier/internal/imap/wire"

// appendQuoted appends s as Courier sends strings: quoted, or as a literal when it cannot be.
func appendQuoted(b []byte, s string, utf8 bool) []byte {
	return wire.AppendQuoted(b, s, utf8)
}
