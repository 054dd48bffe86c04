package server

import (
	"net"
	"syscall"
	"unsafe"

	"courier/internal/netx"
)

// rawConn returns the descriptor access of a TCP (or Unix) connection, through which
// awaitInput waits for input without reading it: the socket itself, or the socket under a
// TLS session (which may hold input of its own: awaitTLSInput looks there first); nil for
// anything else.
func rawConn(c net.Conn) syscall.RawConn {
	if nc, ok := c.(*netx.Conn); ok {
		if nc.TLS != nil {
			c = nc.TLS.NetConn()
		} else {
			c = nc.Conn
		}
	}
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil // a wrapper might hold input of its own
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// peekFunc returns the function RawConn.Read calls to learn whether input is there: it
// peeks at one byte without taking it (recv with MSG_PEEK|MSG_DONTWAIT) and reports false
// only when there is none yet (EAGAIN), so that Read waits for the descriptor to become
// readable and asks again, exactly as the runtime's own reads do. Input that arrived before
// the wait began is seen at the first call, so none is ever missed; the end of input and
// errors count as "there", for the real read to report.
func peekFunc() func(fd uintptr) bool {
	var b [1]byte
	return func(fd uintptr) bool {
		for {
			_, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
				syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			return true
		}
	}
}
