// Package imapc is the small IMAP4rev1 client the IMAP benchmarks drive servers with. It
// speaks just enough of RFC 3501 to run a load mix: tagged commands, untagged responses,
// server literals (counted and discarded, never held in memory), synchronizing literals for
// APPEND (§7.5: the client waits for the "+" continuation before sending the message), and
// IDLE (RFC 2177). It keeps the mailbox size current from untagged EXISTS and EXPUNGE
// responses (§7.3.1, §7.4.1), which is all the load driver needs to pick message numbers.
//
// A Conn is used by one goroutine at a time. Every read is bounded: a response line longer
// than MaxLine is an error, and literals are skipped with a counted copy, so a hostile or
// broken server cannot make the client allocate without limit.
//
// The benchmarks are for loopback only: Dial refuses any address that is not a loopback
// address (or a name that resolves to loopback addresses only), so a typo cannot turn a load
// test on somebody else's server.
package imapc

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// MaxLine bounds one response line (without its literals). A UID SEARCH over 100,000
// messages answers with a line of about 700 KB, so the bound leaves room for ten times that.
const MaxLine = 8 << 20

// MaxLiteral bounds one literal the server may send; larger announcements are an error.
const MaxLiteral = 1 << 30

// ErrLineTooLong reports a response line over MaxLine.
var ErrLineTooLong = errors.New("imapc: response line too long")

// Conn is one IMAP connection.
type Conn struct {
	nc   net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tagN int
	// Greeting is the server's first line (RFC 3501 §7.1).
	Greeting string
	// Exists is the message count of the selected mailbox as the server last reported it.
	Exists int
	// LiteralBytes counts the literal octets received (and discarded) so far.
	LiteralBytes int64
	// Untagged, when set, is called with each untagged line Cmd reads: a caller can count
	// 100,000 FETCH lines without keeping them.
	Untagged func(line string)
}

// Options say how to reach the server.
type Options struct {
	// TLS connects with implicit TLS (port 993 style). The certificate is not verified:
	// the benchmarks run on loopback against self-signed test certificates.
	TLS bool
	// Timeout bounds connecting and reading the greeting.
	Timeout time.Duration
	// ReadBuf and WriteBuf size the buffers (defaults 4 KB); idle-connection tests keep
	// them small so that the client's own memory stays modest.
	ReadBuf, WriteBuf int
}

// ErrNotLoopback reports an address outside 127.0.0.0/8 and ::1.
var ErrNotLoopback = errors.New("imapc: refusing a non-loopback address (these benchmarks run on loopback only)")

// Loopback checks that addr ("host:port") names a loopback address and returns it with the
// host resolved to an IP literal, so that the address dialled is the address checked. A name
// is accepted only when every address it resolves to is a loopback address.
func Loopback(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("imapc: address %q: %w", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("imapc: address %q: bad port", addr)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("%w: %s", ErrNotLoopback, addr)
		}
		return net.JoinHostPort(ip.String(), port), nil
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("imapc: resolving %q: %v", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("%w: %s resolves to %s", ErrNotLoopback, host, ip)
		}
	}
	return net.JoinHostPort(ips[0].String(), port), nil
}

// Dial connects to addr, which must be a loopback address (see Loopback), and reads the
// greeting, which must be untagged OK or PREAUTH.
func Dial(addr string, o Options) (*Conn, error) {
	addr, err := Loopback(addr)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	d := net.Dialer{Timeout: o.Timeout}
	var nc net.Conn
	if o.TLS {
		nc, err = tls.DialWithDialer(&d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) // #nosec G402 -- loopback benchmark against self-signed certificates
	} else {
		nc, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := New(nc, o.ReadBuf, o.WriteBuf)
	_ = nc.SetReadDeadline(time.Now().Add(o.Timeout))
	g, err := c.ReadResponse()
	_ = nc.SetReadDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	if !strings.HasPrefix(g.Line, "* OK") && !strings.HasPrefix(g.Line, "* PREAUTH") {
		nc.Close()
		return nil, fmt.Errorf("greeting from %s: %q", addr, g.Line)
	}
	c.Greeting = g.Line
	return c, nil
}

// New wraps an established connection (tests use net.Pipe); rbuf and wbuf of 0 mean 4 KB.
func New(nc net.Conn, rbuf, wbuf int) *Conn {
	if rbuf <= 0 {
		rbuf = 4096
	}
	if wbuf <= 0 {
		wbuf = 4096
	}
	return &Conn{nc: nc, r: bufio.NewReaderSize(nc, rbuf), w: bufio.NewWriterSize(nc, wbuf)}
}

// NetConn is the underlying connection, for deadlines.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Close closes the connection without LOGOUT.
func (c *Conn) Close() error { return c.nc.Close() }

// Response is one server response: its first line with every literal replaced by
// "{n}" markers kept as sent, and the literal sizes.
type Response struct {
	Line     string // the text without CRLF; literal contents are not included
	Literals []int64
}

// ReadResponse reads one response, skipping the contents of any literals it carries
// (RFC 3501 §4.3: a literal is "{" number "}" CRLF followed by that many octets, after which
// the response line continues).
func (c *Conn) ReadResponse() (Response, error) {
	var resp Response
	var sb []byte // the parts read so far, when a literal split the response
	for {
		part, err := c.readLine(MaxLine - len(sb))
		if err != nil {
			return resp, err
		}
		n, ok, err := trailingLiteral(part)
		if err != nil {
			return resp, err
		}
		if !ok {
			if sb == nil {
				// the common case, one line: one copy, into the string (the client's own
				// cost per line is part of what bigbox times, 100,000 times for FETCH 1:*)
				resp.Line = string(part)
			} else {
				resp.Line = string(append(sb, part...))
			}
			return resp, nil
		}
		sb = append(sb, part...)
		got, err := io.CopyN(io.Discard, c.r, n)
		c.LiteralBytes += got
		if err != nil {
			return resp, fmt.Errorf("reading a %d-octet literal: %w", n, err)
		}
		resp.Literals = append(resp.Literals, n)
	}
}

// readLine returns one line without its CRLF (or bare LF), failing beyond max octets. The
// line is valid until the next read.
func (c *Conn) readLine(max int) ([]byte, error) {
	var buf []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		if len(buf)+len(frag) > max+2 {
			return nil, ErrLineTooLong
		}
		if err == nil {
			if buf == nil {
				buf = frag // in the reader's buffer: the caller copies what it keeps
			} else {
				buf = append(buf, frag...)
			}
			return bytes.TrimSuffix(buf[:len(buf)-1], []byte("\r")), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(buf)+len(frag) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		buf = append(buf, frag...)
	}
}

// trailingLiteral reports whether line ends in a literal announcement {n} (or the
// non-synchronizing {n+} of RFC 7888, which a server never sends but costs nothing to accept).
func trailingLiteral(line []byte) (int64, bool, error) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, nil
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, nil
	}
	digits := bytes.TrimSuffix(line[i+1:len(line)-1], []byte("+"))
	if len(digits) == 0 {
		return 0, false, nil
	}
	for _, b := range digits {
		if b < '0' || b > '9' {
			return 0, false, nil
		}
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil || n > MaxLiteral {
		return 0, false, fmt.Errorf("literal of %s octets is over the %d limit", digits, int64(MaxLiteral))
	}
	return n, true, nil
}

// Result is what a tagged command produced.
type Result struct {
	Status   string   // "OK", "NO" or "BAD"
	Text     string   // the rest of the tagged line
	Untagged []string // untagged lines, when collected
}

// StatusError is a tagged NO or BAD.
type StatusError struct {
	Command string
	Status  string
	Text    string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %s %s", e.Command, e.Status, e.Text)
}

func (c *Conn) nextTag() string {
	c.tagN++
	return "a" + strconv.Itoa(c.tagN)
}

// Cmd sends one command line and reads responses up to its tagged completion. keep says
// whether untagged lines are returned (SEARCH results); they are always inspected for
// EXISTS and EXPUNGE. A NO or BAD completion is returned as a *StatusError.
func (c *Conn) Cmd(line string, keep bool) (Result, error) {
	tag := c.nextTag()
	if _, err := c.w.WriteString(tag + " " + line + "\r\n"); err != nil {
		return Result{}, fmt.Errorf("send %s: %w", verb(line), err)
	}
	if err := c.w.Flush(); err != nil {
		return Result{}, fmt.Errorf("send %s: %w", verb(line), err)
	}
	return c.complete(tag, verb(line), keep)
}

// complete reads until the tagged line for tag.
func (c *Conn) complete(tag, what string, keep bool) (Result, error) {
	var res Result
	for {
		r, err := c.ReadResponse()
		if err != nil {
			return res, fmt.Errorf("%s: %w", what, err)
		}
		l := r.Line
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			res.Status, res.Text, _ = strings.Cut(rest, " ")
			if res.Status != "OK" {
				return res, &StatusError{Command: what, Status: res.Status, Text: res.Text}
			}
			return res, nil
		}
		if strings.HasPrefix(l, "* ") {
			c.track(l)
			if c.Untagged != nil {
				c.Untagged(l)
			}
			if keep {
				res.Untagged = append(res.Untagged, l)
			}
			continue
		}
		if strings.HasPrefix(l, "+") {
			return res, fmt.Errorf("%s: unexpected continuation %q", what, l)
		}
		return res, fmt.Errorf("%s: unexpected response %q", what, l)
	}
}

// track follows the mailbox size: "* n EXISTS" sets it, "* n EXPUNGE" removes one.
func (c *Conn) track(l string) {
	// "* n WORD[ ...]": only EXISTS and EXPUNGE count, so test the word before parsing
	// (this runs for each of 100,000 FETCH lines).
	rest, ok := strings.CutPrefix(l, "* ")
	if !ok {
		return
	}
	num, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return
	}
	word, _, _ := strings.Cut(rest, " ")
	exists, expunge := strings.EqualFold(word, "EXISTS"), strings.EqualFold(word, "EXPUNGE")
	if !exists && !expunge {
		return
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return
	}
	if exists {
		c.Exists = n
	} else if c.Exists > 0 {
		c.Exists--
	}
}

func verb(line string) string {
	v, rest, _ := strings.Cut(line, " ")
	if strings.EqualFold(v, "UID") {
		w, _, _ := strings.Cut(rest, " ")
		return "UID " + strings.ToUpper(w)
	}
	return strings.ToUpper(v)
}

// Quote makes an IMAP quoted string (RFC 3501 §4.3); s must not hold CR or LF.
func Quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// Login sends LOGIN user pass.
func (c *Conn) Login(user, pass string) error {
	_, err := c.Cmd("LOGIN "+Quote(user)+" "+Quote(pass), false)
	return err
}

// Append stores msg (CRLF line ends) in mailbox with a synchronizing literal: the message is
// sent only after the server's "+" continuation (RFC 3501 §7.5), which every server supports.
func (c *Conn) Append(mailbox, flags string, msg []byte) error {
	tag := c.nextTag()
	cmd := "APPEND " + Quote(mailbox)
	if flags != "" {
		cmd += " (" + flags + ")"
	}
	fmt.Fprintf(c.w, "%s %s {%d}\r\n", tag, cmd, len(msg))
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("send APPEND: %w", err)
	}
	for {
		r, err := c.ReadResponse()
		if err != nil {
			return fmt.Errorf("APPEND: %w", err)
		}
		if strings.HasPrefix(r.Line, "+") {
			break
		}
		if rest, ok := strings.CutPrefix(r.Line, tag+" "); ok {
			st, text, _ := strings.Cut(rest, " ")
			if st == "OK" {
				return fmt.Errorf("APPEND: completed before the literal was sent: %q", r.Line)
			}
			return &StatusError{Command: "APPEND", Status: st, Text: text}
		}
		if strings.HasPrefix(r.Line, "* ") {
			c.track(r.Line)
			continue
		}
		return fmt.Errorf("APPEND: unexpected response %q", r.Line)
	}
	c.w.Write(msg)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil { // a failed Write leaves the error for Flush
		return fmt.Errorf("send APPEND literal: %w", err)
	}
	_, err := c.complete(tag, "APPEND", false)
	return err
}

// Idle sends IDLE and returns once the server's continuation arrives (RFC 2177 §3).
func (c *Conn) Idle() error {
	tag := c.nextTag()
	c.w.WriteString(tag + " IDLE\r\n")
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("send IDLE: %w", err)
	}
	for {
		r, err := c.ReadResponse()
		if err != nil {
			return fmt.Errorf("IDLE: %w", err)
		}
		switch {
		case strings.HasPrefix(r.Line, "+"):
			return nil
		case strings.HasPrefix(r.Line, tag+" "):
			return fmt.Errorf("IDLE refused: %q", r.Line)
		case strings.HasPrefix(r.Line, "* "):
			c.track(r.Line)
		default:
			return fmt.Errorf("IDLE: unexpected response %q", r.Line)
		}
	}
}

// Done ends IDLE and waits for the IDLE command's tagged completion.
func (c *Conn) Done() error {
	tag := "a" + strconv.Itoa(c.tagN)
	c.w.WriteString("DONE\r\n")
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("send DONE: %w", err)
	}
	_, err := c.complete(tag, "IDLE", false)
	return err
}

// Select opens mailbox read-write and returns its size from the untagged EXISTS, which
// RFC 3501 §6.3.1 requires; a completion without one is an error.
func (c *Conn) Select(mailbox string) (int, error) {
	c.Exists = -1
	if _, err := c.Cmd("SELECT "+Quote(mailbox), false); err != nil {
		return 0, err
	}
	if c.Exists < 0 {
		c.Exists = 0
		return 0, fmt.Errorf("SELECT %s: no EXISTS response", mailbox)
	}
	return c.Exists, nil
}

// Logout sends LOGOUT, which must be answered with an untagged BYE before the tagged OK
// (RFC 3501 §6.1.3), and closes the connection.
func (c *Conn) Logout() error {
	defer c.nc.Close()
	res, err := c.Cmd("LOGOUT", true)
	if err != nil {
		return err
	}
	for _, l := range res.Untagged {
		if strings.HasPrefix(strings.ToUpper(l), "* BYE") {
			return nil
		}
	}
	return fmt.Errorf("LOGOUT: no BYE before the tagged OK")
}
