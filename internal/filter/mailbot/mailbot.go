package mailbot

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Exit codes.
const (
	ExitUsage    = 64 // EX_USAGE: bad command line
	ExitTempFail = 75 // EX_TEMPFAIL: could not read, build or send
)

// MaxMessage bounds the message read from standard input.
const MaxMessage = 64 << 20

// Options are mailbot's command-line options.
type Options struct {
	Template   string   // -t: flowed plain text
	MIMEFile   string   // -m: MIME headers, blank line, content
	Charset    string   // -c
	DB         string   // -d
	Days       float64  // -D (default 1)
	Headers    []string // -A
	Subject    string   // -s
	SubjectSet bool
	To         string // -faddress
	ToSet      bool
	Format     string   // -T: reply or replyall
	NoQuote    bool     // -N
	ErrorsTo   bool     // -e
	Salutation string   // -S
	Recipients []string // -r
	DryRun     bool     // -n
	Command    []string // the program and its arguments
}

// ParseArgs reads mailbot's options. Options taking a value accept "-tX" and "-t X", except
// -f, whose address must be attached ("-f" alone takes the SENDER variable, through getenv).
func ParseArgs(args []string, getenv func(string) string) (*Options, error) {
	o := &Options{Days: 1, Charset: localeCharset(getenv), Format: "reply", Salutation: "%F writes:"}
	i := 0
	for ; i < len(args); i++ {
		s := args[i]
		if s == "--" {
			i++
			break
		}
		if len(s) < 2 || s[0] != '-' {
			break
		}
		opt, val := s[1], s[2:]
		if opt == 'f' {
			o.To, o.ToSet = val, true
			if val == "" {
				o.To = getenv("SENDER")
			}
			continue
		}
		if strings.IndexByte("tmcdDAsTSrMRlF", opt) >= 0 && val == "" {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("option -%c needs a value", opt)
			}
			i++
			val = args[i]
		}
		switch opt {
		case 't':
			o.Template = val
		case 'm':
			o.MIMEFile = val
		case 'c':
			o.Charset = val
		case 'd':
			o.DB = val
		case 'D':
			d, err := strconv.ParseFloat(val, 64)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("-D %q: not a number of days", val)
			}
			o.Days = d
		case 'A':
			if !strings.Contains(val, ":") {
				return nil, fmt.Errorf("-A %q: not a header", val)
			}
			o.Headers = append(o.Headers, val)
		case 's':
			o.Subject, o.SubjectSet = val, true
		case 'T':
			if val != "reply" && val != "replyall" {
				return nil, fmt.Errorf("-T %s: unsupported reply format", val)
			}
			o.Format = val
		case 'S':
			o.Salutation = val
		case 'r':
			for _, a := range strings.Split(val, ",") {
				if a = strings.TrimSpace(a); a != "" {
					o.Recipients = append(o.Recipients, strings.ToLower(a))
				}
			}
		case 'N':
			o.NoQuote = true
		case 'e':
			o.ErrorsTo = true
		case 'n':
			o.DryRun = true
		default:
			return nil, fmt.Errorf("unsupported option -%c", opt)
		}
	}
	if o.Template == "" && o.MIMEFile == "" {
		return nil, errors.New("either -t or -m is required")
	}
	o.Command = args[i:]
	if len(o.Command) == 0 {
		o.Command = []string{"sendmail", "-f", ""}
	}
	return o, nil
}

// Suppressed says why no autoreply may be sent to msg ("" when one may). sender is the
// envelope sender when known (SENDER), envelopeKnown whether it is.
func Suppressed(h mail.Header, sender string, envelopeKnown bool) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "bulk", "list", "junk":
		return "Precedence: " + p
	}
	for k := range h {
		if strings.HasPrefix(k, "List-") {
			return k + " header"
		}
	}
	if ct := strings.ToLower(h.Get("Content-Type")); strings.HasPrefix(strings.TrimSpace(ct), "multipart/report") {
		return "delivery report"
	}
	if rp, ok := h["Return-Path"]; ok && len(rp) > 0 && strings.TrimSpace(rp[0]) == "<>" {
		return "null sender"
	}
	if envelopeKnown {
		s := strings.TrimSpace(sender)
		if s == "" || s == "<>" || strings.EqualFold(s, "MAILER-DAEMON") {
			return "null sender"
		}
	}
	return ""
}

// Build reads the message and returns the autoreply and the address it goes to, or a
// non-empty reason when no reply may be sent.
func Build(o *Options, msgData []byte, getenv func(string) string, now time.Time) (reply []byte, to, reason string, err error) {
	msg, err := mail.ReadMessage(bytes.NewReader(msgData))
	if err != nil {
		return nil, "", "", fmt.Errorf("reading the message: %w", err)
	}
	h := msg.Header
	sender, known := lookupEnv(getenv, "SENDER")
	if r := Suppressed(h, sender, known); r != "" {
		return nil, "", r, nil
	}
	if len(o.Recipients) > 0 && !addressedTo(h, o.Recipients) {
		return nil, "", "not addressed to any -r address", nil
	}
	toHdr := o.To
	if !o.ToSet {
		toHdr = firstOf(h, "Reply-To", "From")
		if o.ErrorsTo {
			if v := firstOf(h, "Errors-To", "Return-Path"); v != "" {
				toHdr = v
			}
		}
	}
	toHdr = strings.TrimSpace(toHdr)
	if toHdr == "" || toHdr == "<>" {
		return nil, "", "no address to reply to", nil
	}
	addr, err := mail.ParseAddress(toHdr)
	if err != nil {
		return nil, "", "unparsable reply address " + strconv.Quote(toHdr), nil
	}
	to = addr.Address

	var b bytes.Buffer
	for _, a := range o.Headers {
		b.WriteString(strings.TrimRight(a, "\r\n") + "\n")
	}
	b.WriteString("Precedence: junk\nAuto-Submitted: auto-replied\n")
	fmt.Fprintf(&b, "To: %s\n", toHdr)
	if o.Format == "replyall" {
		var cc []string
		for _, k := range []string{"To", "Cc"} {
			if v := strings.TrimSpace(h.Get(k)); v != "" {
				cc = append(cc, v)
			}
		}
		if len(cc) > 0 {
			fmt.Fprintf(&b, "Cc: %s\n", strings.Join(cc, ", "))
		}
	}
	if id := strings.TrimSpace(h.Get("Message-Id")); id != "" {
		refs := strings.TrimSpace(h.Get("References"))
		if refs != "" {
			refs += " "
		}
		fmt.Fprintf(&b, "References: %s%s\nIn-Reply-To: %s\n", refs, id, id)
	}
	subject := o.Subject
	if !o.SubjectSet {
		subject = strings.TrimSpace(h.Get("Subject"))
		if !strings.HasPrefix(strings.ToLower(subject), "re:") {
			subject = "Re: " + subject
		}
	}
	fmt.Fprintf(&b, "Subject: %s\nMime-Version: 1.0\n", subject)

	var text []byte
	if o.MIMEFile != "" {
		data, err := os.ReadFile(o.MIMEFile)
		if err != nil {
			return nil, "", "", fmt.Errorf("-m: %w", err)
		}
		hdrs, body := splitHeaders(data)
		for _, line := range hdrs {
			name, _, _ := strings.Cut(line, ":")
			if strings.EqualFold(strings.TrimSpace(name), "Content-Transfer-Encoding") {
				continue
			}
			b.WriteString(line)
		}
		b.WriteString("Content-Transfer-Encoding: 8bit\n\n")
		text = body
	} else {
		data, err := os.ReadFile(o.Template)
		if err != nil {
			return nil, "", "", fmt.Errorf("-t: %w", err)
		}
		fmt.Fprintf(&b, "Content-Type: text/plain; format=flowed; delsp=yes; charset=\"%s\"\nContent-Transfer-Encoding: 8bit\n\n", o.Charset)
		text = data
	}
	if !o.NoQuote && isPlainText(h) {
		author := addr
		if a, err := mail.ParseAddress(h.Get("From")); err == nil {
			author = a
		}
		b.WriteString(salutation(o.Salutation, h, author) + "\n\n")
		body, _ := io.ReadAll(io.LimitReader(msg.Body, MaxMessage))
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if strings.HasPrefix(line, ">") {
				fmt.Fprintf(&b, ">%s\n", line)
			} else {
				fmt.Fprintf(&b, "> %s\n", line)
			}
		}
		b.WriteString("\n")
	}
	// Courier's mailbot ends the reply with two newlines after the text as it stands,
	// whether or not the text ends with one; the replies are compared byte for byte.
	b.Write(text)
	b.WriteString("\n\n")
	return b.Bytes(), to, "", nil
}

// Main runs mailbot: it returns 0 when a reply was sent or none was due, the program's exit
// code when sending failed, ExitUsage or ExitTempFail otherwise.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	o, err := ParseArgs(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "mailbot: %v\n", err)
		return ExitUsage
	}
	data, err := io.ReadAll(io.LimitReader(stdin, MaxMessage+1))
	if err != nil {
		fmt.Fprintf(stderr, "mailbot: reading the message: %v\n", err)
		return ExitTempFail
	}
	if len(data) > MaxMessage {
		fmt.Fprintf(stderr, "mailbot: message larger than %d bytes\n", MaxMessage)
		return ExitTempFail
	}
	now := time.Now()
	reply, to, reason, err := Build(o, data, getenv, now)
	if err != nil {
		fmt.Fprintf(stderr, "mailbot: %v\n", err)
		return ExitTempFail
	}
	if reason != "" {
		return 0
	}
	if o.DryRun {
		stdout.Write(reply) //nolint:errcheck
		return 0
	}
	if o.DB != "" {
		ok, err := CheckAndRecord(o.DB, to, time.Duration(o.Days*float64(24*time.Hour)), now)
		if err != nil {
			fmt.Fprintf(stderr, "mailbot: %v\n", err)
			return ExitTempFail
		}
		if !ok {
			return 0
		}
	}
	cmd := exec.Command(o.Command[0], o.Command[1:]...)
	if errors.Is(cmd.Err, exec.ErrDot) {
		// A mailer found through a relative PATH entry ("PATH=./bin:$PATH" in a recipe)
		// runs, as execvp runs it for Courier's mailbot.
		cmd.Err = nil
	}
	cmd.Stdin = bytes.NewReader(reply)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "mailbot: %s: %v\n", o.Command[0], err)
		return ExitTempFail
	}
	return 0
}

// localeCharset is the default of -c: the character set of the locale mailbot runs in, taken
// from the first of LC_ALL, LC_CTYPE and LANG that is set ("C.UTF-8" gives "UTF-8"), and
// US-ASCII for the C locale or a locale name without a codeset, as Courier's mailbot says.
func localeCharset(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	loc := ""
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if loc = getenv(k); loc != "" {
			break
		}
	}
	_, cs, ok := strings.Cut(loc, ".")
	cs, _, _ = strings.Cut(cs, "@")
	if !ok || cs == "" {
		return "US-ASCII"
	}
	if n := strings.ToLower(strings.ReplaceAll(cs, "-", "")); n == "utf8" {
		return "UTF-8"
	}
	return strings.ToUpper(cs)
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	if getenv == nil {
		return os.LookupEnv(name)
	}
	v := getenv(name)
	return v, v != ""
}

func firstOf(h mail.Header, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(h.Get(n)); v != "" {
			return v
		}
	}
	return ""
}

// addressedTo reports whether any To: or Cc: address is in list (lower case).
func addressedTo(h mail.Header, list []string) bool {
	for _, k := range []string{"To", "Cc"} {
		for _, v := range h[textproto.CanonicalMIMEHeaderKey(k)] {
			addrs, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range addrs {
				for _, want := range list {
					if strings.EqualFold(a.Address, want) {
						return true
					}
				}
			}
		}
	}
	return false
}

// isPlainText reports whether the message is plain text, the only kind that is quoted.
func isPlainText(h mail.Header) bool {
	ct := strings.ToLower(strings.TrimSpace(h.Get("Content-Type")))
	return ct == "" || strings.HasPrefix(ct, "text/plain")
}

// splitHeaders splits a MIME file into its header lines (each with its newline, folded lines
// kept with the header before them) and body.
func splitHeaders(data []byte) ([]string, []byte) {
	var hdrs []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		if strings.TrimRight(string(line), "\r\n") == "" {
			break
		}
		s := strings.TrimRight(string(line), "\r\n") + "\n"
		if (s[0] == ' ' || s[0] == '\t') && len(hdrs) > 0 {
			hdrs[len(hdrs)-1] += s
			continue
		}
		hdrs = append(hdrs, s)
	}
	return hdrs, data
}

// salutation expands -S: %% %n %C %N %i %f %F %S %d.
func salutation(format string, h mail.Header, from *mail.Address) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case '%':
			b.WriteByte('%')
		case 'n':
			b.WriteByte('\n')
		case 'C':
			b.WriteString(strings.TrimSpace(h.Get("X-Newsgroup")))
		case 'N':
			b.WriteString(strings.TrimSpace(h.Get("Newsgroups")))
		case 'i':
			b.WriteString(strings.TrimSpace(h.Get("Message-Id")))
		case 'f':
			b.WriteString(from.Address)
		case 'F':
			if from.Name != "" {
				b.WriteString(from.Name)
			} else {
				b.WriteString(from.Address)
			}
		case 'S':
			b.WriteString(strings.TrimSpace(h.Get("Subject")))
		case 'd':
			if t, err := h.Date(); err == nil {
				b.WriteString(t.Local().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
			}
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
