package mailbot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ExitTempFail (EX_TEMPFAIL) is the exit status for a command line mailbot cannot use and
// for a message it could not read, build or send: Courier's mailbot answers both with 75.
const ExitTempFail = 75

// ErrFeedbackFormat is returned for -R without -T feedback or -T replyfeedback; mailbot then
// exits with status 1, as Courier's does.
var ErrFeedbackFormat = errors.New(`"-T feedback" or "-T replyfeedback" required`)

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
	Format     string   // -T: reply, replyall, replydsn, replydraft, forward, forwardatt, feedback, replyfeedback
	NoQuote    bool     // -N
	ErrorsTo   bool     // -e
	Salutation string   // -S
	Recipients []string // -r
	DryRun     bool     // -n
	Command    []string // the program and its arguments

	DSNFrom      string      // -M: the DSN's Final-Recipient (makes -T replydsn)
	FeedbackType string      // -R: abuse, fraud, other or virus (-T feedback, replyfeedback)
	Feedback     [][2]string // --feedback-NAME VALUE, in order
	FullMessage  bool        // -a: attach the whole message to a report, not its headers
	ForwardSep   string      // -F: the line between the text and a forwarded message
	Maildir      string      // -l: the maildir of -T replydraft
}

// formats are the -T values.
var formats = map[string]bool{
	"reply": true, "replyall": true, "replydsn": true, "replydraft": true,
	"forward": true, "forwardatt": true, "feedback": true, "replyfeedback": true,
}

// ParseArgs reads mailbot's options. Options taking a value accept "-tX" and "-t X", except
// -f, whose address must be attached ("-f" alone takes the SENDER variable, through getenv).
func ParseArgs(args []string, getenv func(string) string) (*Options, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	o := &Options{Days: 1, Charset: localeCharset(getenv), Format: "reply", Salutation: "%F writes:",
		ForwardSep: "--- Forwarded message ---"}
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
		if name, ok := strings.CutPrefix(s, "--feedback-"); ok {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("option %s needs a value", s)
			}
			i++
			o.Feedback = append(o.Feedback, [2]string{name, args[i]})
			continue
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
			if !formats[val] {
				return nil, fmt.Errorf("-T %s: unsupported reply format", val)
			}
			o.Format = val
		case 'S':
			if val != "" {
				o.Salutation = val
			}
		case 'F':
			if val != "" {
				o.ForwardSep = val
			}
		case 'M':
			o.DSNFrom = val
		case 'R':
			o.FeedbackType = val
		case 'l':
			o.Maildir = val
		case 'a':
			o.FullMessage = true
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
	if o.Format == "replydraft" {
		if o.Maildir == "" {
			return nil, errors.New("-T replydraft needs -l maildir")
		}
	} else if o.Template == "" && o.MIMEFile == "" {
		return nil, errors.New("either -t or -m is required")
	}
	if o.Template != "" && o.MIMEFile != "" {
		return nil, errors.New("-t and -m exclude each other")
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

// messageHeader returns the message's header in net/mail's form, read by our MIME parser:
// like Courier's, it takes any header line, one without a colon too, where net/mail refuses
// the whole message.
func messageHeader(data []byte) mail.Header {
	h := mail.Header{}
	for _, f := range headers(parseMessage(data)) {
		k := textproto.CanonicalMIMEHeaderKey(f.name)
		lines := strings.Split(f.value, "\n")
		for i := range lines {
			lines[i] = strings.TrimRight(lines[i], "\r")
		}
		h[k] = append(h[k], unfold(strings.Join(lines, "\n")))
	}
	return h
}

// Build reads the message and returns the autoreply and the address it goes to, or a
// non-empty reason when no reply may be sent.
func Build(o *Options, msgData []byte, getenv func(string) string, now time.Time) (reply []byte, to, reason string, err error) {
	h := messageHeader(msgData)
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

	if o.DSNFrom == "" && o.FeedbackType != "" && o.Format != "feedback" && o.Format != "replyfeedback" {
		// Courier's mailbot says so only once it has read the message and found a reply due.
		return nil, "", "", ErrFeedbackFormat
	}
	r := &builder{o: o, data: msgData, top: parseMessage(msgData), charset: o.Charset, mode: o.Format, now: now}
	if o.DSNFrom != "" {
		r.mode = "replydsn"
	}
	r.bound = func() string { return makeBoundary(msgData, now) }
	r.mimeHdr = func() bool { return false }
	var text []byte
	switch {
	case o.MIMEFile != "":
		data, err := os.ReadFile(o.MIMEFile)
		if err != nil {
			return nil, "", "", fmt.Errorf("-m: %w", err)
		}
		hdrs, body := splitHeaders(data)
		if cs := mimeCharset(hdrs); cs != "" {
			r.charset = cs
		}
		if r.mode == "replydraft" {
			text = data
		} else {
			text = body
			r.mimeHdr = func() bool {
				for _, line := range hdrs {
					name, _, _ := strings.Cut(line, ":")
					if !strings.EqualFold(strings.TrimSpace(name), "Content-Transfer-Encoding") {
						r.writes(line)
					}
				}
				return true
			}
		}
	case o.Template != "":
		data, err := os.ReadFile(o.Template)
		if err != nil {
			return nil, "", "", fmt.Errorf("-t: %w", err)
		}
		text = data
	}
	r.content = func() { r.b.Write(text) }
	if r.mode == "replydraft" {
		// The draft is looked for even when -t or -m gives the text, which then wins.
		draft, ok := findDraft(o.Maildir)
		if !ok {
			return nil, "", "no draft in " + o.Maildir, nil
		}
		if text == nil {
			r.content = func() { copyDraft(&r.b, draft) }
		}
	}
	for _, a := range o.Headers {
		r.writes(strings.TrimRight(a, "\r\n") + "\n")
	}
	r.writes("Precedence: junk\nAuto-Submitted: auto-replied\n")
	if r.mode == "forward" || r.mode == "forwardatt" {
		err = r.mkforward()
	} else {
		err = r.mkreply()
	}
	if err != nil {
		return nil, "", "", err
	}
	return r.b.Bytes(), to, "", nil
}

// mimeCharset is the charset parameter of the Content-Type among a -m file's headers.
func mimeCharset(hdrs []string) string {
	for _, line := range hdrs {
		name, value, _ := strings.Cut(line, ":")
		if !strings.EqualFold(strings.TrimSpace(name), "Content-Type") {
			continue
		}
		if _, params, err := mime.ParseMediaType(unfold(value)); err == nil {
			return params["charset"]
		}
	}
	return ""
}

// Main runs mailbot: it returns 0 when a reply was sent or none was due, the program's exit
// code when sending failed, ExitTempFail otherwise.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	o, err := ParseArgs(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "mailbot: %v\nUsage: mailbot [ options ] [ $MAILER arg arg... ]\n", err)
		return ExitTempFail
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
	if errors.Is(err, ErrFeedbackFormat) {
		fmt.Fprintln(stderr, err)
		return 1
	}
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
