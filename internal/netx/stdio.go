package netx

import (
	"io"
	"net"
	"os"
	"time"
)

// StdioConn makes a net.Conn of a reader and a writer (standard input and output), for
// protocol servers run on stdin/stdout (sendmail -bs). Deadlines are not supported: they
// are accepted and ignored, as the other end is a local process that ends the session by
// closing its side.
func StdioConn(in io.Reader, out io.Writer) net.Conn { return &stdioConn{in: in, out: out} }

type stdioConn struct {
	in  io.Reader
	out io.Writer
}

func (c *stdioConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *stdioConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// Close closes standard output when it is a file, so the other end sees the end.
func (c *stdioConn) Close() error {
	if f, ok := c.out.(*os.File); ok {
		return f.Close()
	}
	return nil
}

func (c *stdioConn) LocalAddr() net.Addr              { return stdioAddr{} }
func (c *stdioConn) RemoteAddr() net.Addr             { return stdioAddr{} }
func (c *stdioConn) SetDeadline(time.Time) error      { return nil }
func (c *stdioConn) SetReadDeadline(time.Time) error  { return nil }
func (c *stdioConn) SetWriteDeadline(time.Time) error { return nil }

type stdioAddr struct{}

func (stdioAddr) Network() string { return "stdio" }
func (stdioAddr) String() string  { return "stdio" }
