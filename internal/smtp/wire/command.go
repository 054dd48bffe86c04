package wire

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits from RFC 5321 section 4.5.3.1.
const (
	MaxLocalPart = 64
	MaxDomain    = 255
	MaxPath      = 256
	// MaxCommandLine bounds a command line without its CRLF. RFC 5321 allows 512 octets
	// plus 512 per extension that adds parameters; 2048 covers every extension offered.
	MaxCommandLine = 2048
)

// Command is one parsed command line.
type Command struct {
	Verb string // upper case: "MAIL", "EHLO", …
	Arg  string // the rest of the line after the verb and one space, trailing blanks removed
}

// ParseCommand splits a command line (without CRLF) into verb and argument. A line with a
// control character other than TAB (NUL, a bare CR) or invalid UTF-8 is a syntax error.
func ParseCommand(line []byte) (Command, error) {
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return Command{}, R(500, "5.5.2", "Syntax error (control character in command).")
		}
	}
	if !utf8.Valid(line) {
		return Command{}, R(500, "5.5.2", "Syntax error (invalid UTF-8).")
	}
	s := strings.TrimRight(string(line), " \t")
	verb, arg, _ := strings.Cut(s, " ")
	if verb == "" {
		return Command{}, R(500, "5.5.2", "Syntax error.")
	}
	return Command{Verb: strings.ToUpper(verb), Arg: strings.TrimLeft(arg, " ")}, nil
}

// Path is a reverse-path or forward-path (RFC 5321 section 4.1.2) with any source route
// removed. The null reverse-path "<>" has Null set; "<postmaster>" has an empty Domain.
type Path struct {
	Local  string // local part as written (a quoted string keeps its quotes)
	Domain string // domain or address literal ("[192.0.2.1]") as written
	Null   bool
}

// String returns "local@domain", "postmaster", or "" for the null path.
func (p Path) String() string {
	if p.Null {
		return ""
	}
	if p.Domain == "" {
		return p.Local
	}
	return p.Local + "@" + p.Domain
}

// ASCII reports whether the path is plain ASCII (needs no SMTPUTF8).
func (p Path) ASCII() bool {
	s := p.String()
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// IsPostmaster reports whether the local part is postmaster (any case).
func (p Path) IsPostmaster() bool { return strings.EqualFold(p.Local, "postmaster") }

// Mail is a parsed MAIL FROM command.
type Mail struct {
	From     Path
	Size     int64  // SIZE= (RFC 1870); -1 when not given
	Body     string // BODY=: "7BIT", "8BITMIME" or "BINARYMIME"; "" when not given
	SMTPUTF8 bool   // RFC 6531
	Ret      string // RET=: "FULL" or "HDRS" (RFC 3461)
	EnvID    string // ENVID=, xtext-decoded
	Auth     string // AUTH= (RFC 4954), xtext-decoded; "<>" for none
	// RequireTLS is the REQUIRETLS parameter (RFC 8689 section 2).
	RequireTLS bool
}

// Rcpt is a parsed RCPT TO command.
type Rcpt struct {
	To     Path
	Notify []string // NOTIFY=: NEVER, or some of SUCCESS, FAILURE, DELAY (upper case)
	ORCPT  string   // ORCPT= as "addr-type;address", the address xtext-decoded
}

// ParseMail parses the argument of MAIL ("FROM:<a@b> SIZE=10").
func ParseMail(arg string) (*Mail, error) {
	rest, ok := cutPrefixFold(arg, "FROM:")
	if !ok {
		return nil, R(501, "5.5.4", "Syntax error: MAIL FROM:<address> expected.")
	}
	p, params, err := parsePathArg(rest, true)
	if err != nil {
		return nil, R(501, "5.1.7", "Invalid sender address: "+err.Error()+".")
	}
	m := &Mail{From: p, Size: -1}
	seen := map[string]bool{}
	for _, kv := range params {
		k, v, hasV := strings.Cut(kv, "=")
		k = strings.ToUpper(k)
		if seen[k] {
			return nil, R(501, "5.5.4", "Duplicate parameter "+k+".")
		}
		seen[k] = true
		if hasV && !validParamValue(v) {
			return nil, R(501, "5.5.4", "Invalid value of "+k+".")
		}
		switch k {
		case "SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if !hasV || err != nil || n < 0 || len(v) > 20 {
				return nil, R(501, "5.5.4", "Invalid SIZE.")
			}
			m.Size = n
		case "BODY":
			v = strings.ToUpper(v)
			if v != "7BIT" && v != "8BITMIME" && v != "BINARYMIME" {
				return nil, R(501, "5.5.4", "Invalid BODY.")
			}
			m.Body = v
		case "SMTPUTF8":
			if hasV {
				return nil, R(501, "5.5.4", "SMTPUTF8 takes no value.")
			}
			m.SMTPUTF8 = true
		case "REQUIRETLS":
			if hasV {
				return nil, R(501, "5.5.4", "REQUIRETLS takes no value.")
			}
			m.RequireTLS = true
		case "RET":
			v = strings.ToUpper(v)
			if v != "FULL" && v != "HDRS" {
				return nil, R(501, "5.5.4", "Invalid RET.")
			}
			m.Ret = v
		case "ENVID":
			d, err := DecodeXtext(v)
			if !hasV || err != nil || len(v) > 100 || !cleanText(d) {
				return nil, R(501, "5.5.4", "Invalid ENVID.")
			}
			m.EnvID = d
		case "AUTH":
			d, err := DecodeXtext(v)
			if !hasV || err != nil || !cleanText(d) || len(v) > 500 {
				return nil, R(501, "5.5.4", "Invalid AUTH.")
			}
			m.Auth = d
		default:
			return nil, R(555, "5.5.4", "Unsupported parameter "+truncate(k, 32)+".")
		}
	}
	if !m.SMTPUTF8 && !m.From.ASCII() {
		return nil, R(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8.")
	}
	return m, nil
}

// ParseRcpt parses the argument of RCPT ("TO:<a@b> NOTIFY=NEVER").
func ParseRcpt(arg string) (*Rcpt, error) {
	rest, ok := cutPrefixFold(arg, "TO:")
	if !ok {
		return nil, R(501, "5.5.4", "Syntax error: RCPT TO:<address> expected.")
	}
	p, params, err := parsePathArg(rest, false)
	if err != nil {
		return nil, R(501, "5.1.3", "Invalid recipient address: "+err.Error()+".")
	}
	if p.Domain == "" && !p.IsPostmaster() {
		return nil, R(501, "5.1.3", "Invalid recipient address: domain missing.")
	}
	r := &Rcpt{To: p}
	seen := map[string]bool{}
	for _, kv := range params {
		k, v, hasV := strings.Cut(kv, "=")
		k = strings.ToUpper(k)
		if seen[k] {
			return nil, R(501, "5.5.4", "Duplicate parameter "+k+".")
		}
		seen[k] = true
		if hasV && !validParamValue(v) {
			return nil, R(501, "5.5.4", "Invalid value of "+k+".")
		}
		switch k {
		case "NOTIFY":
			if !hasV {
				return nil, R(501, "5.5.4", "Invalid NOTIFY.")
			}
			for _, n := range strings.Split(strings.ToUpper(v), ",") {
				switch n {
				case "NEVER", "SUCCESS", "FAILURE", "DELAY":
				default:
					return nil, R(501, "5.5.4", "Invalid NOTIFY.")
				}
				r.Notify = append(r.Notify, n)
			}
			if len(r.Notify) > 1 && containsStr(r.Notify, "NEVER") {
				return nil, R(501, "5.5.4", "NOTIFY=NEVER cannot be combined.")
			}
		case "ORCPT":
			typ, addr, ok := strings.Cut(v, ";")
			d, err := DecodeXtext(addr)
			if !hasV || !ok || typ == "" || err != nil || len(v) > 500 || !cleanText(d) {
				return nil, R(501, "5.5.4", "Invalid ORCPT.")
			}
			r.ORCPT = typ + ";" + d
		default:
			return nil, R(555, "5.5.4", "Unsupported parameter "+truncate(k, 32)+".")
		}
	}
	return r, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return strings.TrimLeft(s[len(prefix):], " "), true
}

// validParamValue: esmtp-value = 1*(%d33-60 / %d62-126) (RFC 5321 section 4.1.2).
func validParamValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 33 || c > 126 || c == '=' {
			return false
		}
	}
	return true
}

// cleanText reports whether s has no control characters.
func cleanText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

type pathError string

func (e pathError) Error() string { return string(e) }

// parsePathArg parses "<path> params…"; an address without angle brackets is accepted too
// (many clients send it). nullOK allows "<>".
func parsePathArg(s string, nullOK bool) (Path, []string, error) {
	var p Path
	var rest string
	if strings.HasPrefix(s, "<") {
		end := closingBracket(s)
		if end < 0 {
			return p, nil, pathError("missing >")
		}
		inner := s[1:end]
		rest = s[end+1:]
		if rest != "" && rest[0] != ' ' {
			return p, nil, pathError("text after >")
		}
		if inner == "" {
			if !nullOK {
				return p, nil, pathError("empty address")
			}
			p.Null = true
		} else {
			var err error
			if p, err = parseMailbox(stripRoute(inner)); err != nil {
				return p, nil, err
			}
		}
	} else {
		addr, r, _ := strings.Cut(s, " ")
		rest = " " + r
		if addr == "" {
			return p, nil, pathError("address missing")
		}
		var err error
		if p, err = parseMailbox(addr); err != nil {
			return p, nil, err
		}
	}
	return p, strings.Fields(rest), nil
}

// closingBracket finds the ">" that ends the path, skipping quoted strings.
func closingBracket(s string) int {
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '>':
			return i
		}
	}
	return -1
}

// stripRoute removes an obsolete source route ("@a,@b:user@d").
func stripRoute(s string) string {
	if !strings.HasPrefix(s, "@") {
		return s
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// parseMailbox parses local-part "@" domain, or a bare "postmaster".
func parseMailbox(s string) (Path, error) {
	if len(s) > MaxPath {
		return Path{}, pathError("address too long")
	}
	if !utf8.ValidString(s) {
		return Path{}, pathError("invalid UTF-8")
	}
	var local, rest string
	if strings.HasPrefix(s, `"`) {
		end := -1
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				if i < len(s) && (s[i] < 32 || s[i] > 126) {
					return Path{}, pathError("bad quoted pair")
				}
				continue
			}
			if s[i] == '"' {
				end = i
				break
			}
			if s[i] < 32 || s[i] == 127 {
				return Path{}, pathError("control character")
			}
		}
		if end < 0 {
			return Path{}, pathError("unterminated quoted string")
		}
		local, rest = s[:end+1], s[end+1:]
	} else {
		i := strings.LastIndexByte(s, '@')
		if i < 0 {
			local, rest = s, ""
		} else {
			local, rest = s[:i], s[i:]
		}
		if !dotString(local) {
			return Path{}, pathError("invalid local part")
		}
	}
	if len(local) > MaxLocalPart {
		return Path{}, pathError("local part too long")
	}
	if rest == "" {
		if !strings.EqualFold(local, "postmaster") {
			return Path{}, pathError("domain missing")
		}
		return Path{Local: local}, nil
	}
	if rest[0] != '@' {
		return Path{}, pathError("@ expected")
	}
	dom := rest[1:]
	if !validDomain(dom) {
		return Path{}, pathError("invalid domain")
	}
	return Path{Local: local, Domain: dom}, nil
}

// atext per RFC 5322, plus UTF-8 (RFC 6531).
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func dotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

func validDomain(d string) bool {
	if d == "" || len(d) > MaxDomain {
		return false
	}
	if d[0] == '[' {
		if d[len(d)-1] != ']' || len(d) < 3 {
			return false
		}
		for i := 1; i < len(d)-1; i++ {
			c := d[i]
			if c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return false
			}
		}
		return true
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80) {
				return false
			}
		}
	}
	return true
}

// DecodeXtext decodes RFC 3461 xtext ("+2B" escapes).
func DecodeXtext(s string) (string, error) {
	if !strings.Contains(s, "+") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", pathError("bad xtext")
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil || s[i+1] >= 'a' || s[i+2] >= 'a' {
			return "", pathError("bad xtext")
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

// EncodeXtext encodes s as RFC 3461 xtext.
func EncodeXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '+' || c == '=' {
			b.WriteString("+" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
