//go:build !linux

package server

import (
	"net"
	"syscall"
)

// rawConn: elsewhere sessions keep their buffers while idle (awaitInput does nothing).
func rawConn(net.Conn) syscall.RawConn { return nil }

func peekFunc() func(fd uintptr) bool { return nil }
