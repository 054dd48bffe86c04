package pop3

import (
	"bytes"
	"strings"
)

// MaxLine is the longest command line (without its CRLF) a session accepts. RFC 2449 §4
// limits a command to 255 octets; SASL responses (RFC 5034) can be longer, so the limit is
// generous. A longer line is answered with -ERR and skipped; the session goes on.
const MaxLine = 8192

// Command is one parsed command line.
type Command struct {
	// Name is the command keyword in upper case ("RETR"); empty for a blank line.
	Name string
	// Args are the whitespace-separated arguments after the keyword.
	Args []string
	// Rest is everything after the keyword and the single space that follows it, unchanged:
	// PASS takes its password from here, so passwords may hold spaces (RFC 1939 §7 allows
	// servers to accept them).
	Rest string
}

// isSpace reports the separators Courier's command reader accepts between words.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'
}

// ParseCommand splits a command line (CRLF already removed). Like Courier's pop3d it skips
// leading white space and takes the keyword case-insensitively; a keyword longer than any
// POP3 command, or holding anything but letters and digits, still parses (it is answered as
// an invalid command by the dispatcher).
func ParseCommand(line []byte) Command {
	i := 0
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	j := i
	for j < len(line) && !isSpace(line[j]) {
		j++
	}
	var c Command
	if i == j {
		return c
	}
	c.Name = strings.ToUpper(string(line[i:j]))
	if j < len(line) {
		rest := line[j+1:]
		c.Rest = string(rest)
		for _, f := range bytes.FieldsFunc(rest, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) {
			c.Args = append(c.Args, string(f))
		}
	}
	return c
}

// parseNumber reads a message number or a line count as Courier's pop3d does with strtoul:
// an optional '+', then decimal digits up to the first other character ("1x" is 1, "x" is 0).
// Unlike Courier, which lets strtoul wrap ("-4294967295" and "4294967297" name message 1),
// a sign '-' or a value that does not fit in 32 bits is reported as not ok; that wrap-around
// is a bug we do not copy.
func parseNumber(s string) (n uint32, ok bool) {
	if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	var v uint64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + uint64(s[i]-'0')
		if v > 1<<32-1 {
			return 0, false
		}
	}
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	return uint32(v), true
}

// parseLines reads TOP's line count: as parseNumber, except that a negative or overlong
// number asks for the whole message (Courier's unsigned count wraps to a huge value, which
// has that effect), and an unreadable one means 0 lines.
func parseLines(s string) int64 {
	t := strings.TrimPrefix(s, "+")
	if strings.HasPrefix(t, "-") {
		return -1
	}
	var v int64
	for i := 0; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
		v = v*10 + int64(t[i]-'0')
		if v > 1<<40 {
			return -1
		}
	}
	return v
}
