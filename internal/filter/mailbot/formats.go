package mailbot

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	mailmime "courier/internal/mail/mime"
)

// UserAgent is what the feedback report says made it; Courier's mailbot writes its
// library's name and the maildrop package version (Debian's: 2.9.3).
const UserAgent = "librfc2045 maildrop/2.9.3"

// mimeMsg is the text Courier puts before the first boundary of a multipart reply.
const mimeMsg = "This is a MIME-formatted message.  If you see this text it means that your\n" +
	"E-mail software does not support MIME-formatted messages.\n"

// forwardedHeaders are the headers a "forward" copies above the forwarded text.
var forwardedHeaders = map[string]bool{
	"subject": true, "from": true, "to": true, "cc": true, "date": true, "message-id": true,
	"resent-from": true, "resent-to": true, "resent-cc": true, "resent-date": true, "resent-message-id": true,
}

// addressHeaders are displayed as address lists.
var addressHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "resent-from": true, "resent-to": true, "resent-cc": true,
}

// builder assembles a reply to one message.
type builder struct {
	o       *Options
	data    []byte
	top     *mailmime.Part
	b       bytes.Buffer
	charset string // of the reply text (-c, or the -m file's)
	mode    string
	now     time.Time
	content func()        // writes the autoreply text (content_specify)
	mimeHdr func() bool   // writes the -m file's headers; false when there is no -m file
	bound   func() string // makes a boundary
}

func (r *builder) writes(s string) { r.b.WriteString(s) }

// makeBoundary returns a boundary that does not occur in the message: "=_host-pid-time-N".
func makeBoundary(data []byte, now time.Time) string {
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	if host == "" {
		host = "localhost"
	}
	for n := 1; ; n++ {
		b := fmt.Sprintf("=_%s-%d-%d-%04d", host, os.Getpid(), now.Unix(), n)
		if !bytes.Contains(data, []byte(b)) {
			return b
		}
	}
}

// textHeaders writes the Content-Type and Content-Transfer-Encoding of the autoreply text
// and the blank line after them.
func (r *builder) textHeaders() {
	if !r.mimeHdr() {
		fmt.Fprintf(&r.b, "Content-Type: text/plain; format=flowed; delsp=yes; charset=\"%s\"\n", r.charset)
	}
	r.writes("Content-Transfer-Encoding: 8bit\n\n")
}

// coreSubject is rfc822_coresubj_keepblobs: the subject without its "Re:", "Fw:", "Fwd:"
// prefixes (and the [blobs] before them), "(fwd)" trailers and "[fwd: ...]" wrapping, with
// runs of blanks made one space.
func coreSubject(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for {
		old := s
		for {
			l := strings.ToLower(s)
			if strings.HasSuffix(l, "(fwd)") {
				s = strings.TrimRight(s[:len(s)-5], " ")
				continue
			}
			break
		}
		// leading blobs followed by re/fw/fwd [blob] ":"
		rest := s
		for strings.HasPrefix(rest, "[") {
			i := strings.IndexByte(rest, ']')
			if i < 0 {
				break
			}
			rest = strings.TrimLeft(rest[i+1:], " ")
		}
		l := strings.ToLower(rest)
		for _, pfx := range []string{"fwd", "fw", "re"} {
			if !strings.HasPrefix(l, pfx) {
				continue
			}
			t := strings.TrimLeft(rest[len(pfx):], " ")
			if strings.HasPrefix(t, "[") {
				if i := strings.IndexByte(t, ']'); i >= 0 {
					t = strings.TrimLeft(t[i+1:], " ")
				}
			}
			if strings.HasPrefix(t, ":") {
				s = strings.TrimLeft(t[1:], " ")
			}
			break
		}
		l = strings.ToLower(s)
		if strings.HasPrefix(l, "[fwd:") && strings.HasSuffix(s, "]") {
			s = strings.TrimSpace(s[5 : len(s)-1])
		}
		if s == old {
			return s
		}
	}
}

// splitAddresses splits an address list at the commas outside quotes, angle brackets,
// parentheses and group syntax, each address trimmed, blanks collapsed.
func splitAddresses(v string) []string {
	var out []string
	depthAngle, depthParen, inQuote := 0, 0, false
	cur := strings.Builder{}
	flush := func() {
		if s := strings.Join(strings.Fields(cur.String()), " "); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case inQuote:
			if c == '\\' && i+1 < len(v) {
				cur.WriteByte(c)
				i++
				c = v[i]
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '(':
			depthParen++
		case c == ')' && depthParen > 0:
			depthParen--
		case c == '<':
			depthAngle++
		case c == '>' && depthAngle > 0:
			depthAngle--
		case c == ',' && depthAngle == 0 && depthParen == 0:
			flush()
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return out
}

// renderAddress writes one address of a list as Courier's address parser writes it back:
// a comment after a bare address moves after it ("addr (comment)"), or, shown in a forward,
// becomes its name ("comment <addr>"); the end of a group (";") is dropped unless shown.
func renderAddress(a string, display bool) string {
	if !display {
		a = strings.TrimRight(strings.TrimSuffix(a, ";"), " ")
	}
	if i := strings.LastIndexByte(a, '<'); display && i > 0 && !strings.Contains(a[:i], ":") {
		return displayName(a[:i]) + " " + a[i:]
	}
	if strings.ContainsAny(a, "<\"") || !strings.Contains(a, "(") || strings.Contains(a, ":") {
		return a
	}
	var comment, rest strings.Builder
	depth := 0
	for _, c := range a {
		switch {
		case c == '(':
			if depth > 0 {
				comment.WriteRune(c)
			}
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth > 0 {
				comment.WriteRune(c)
			}
		case depth > 0:
			comment.WriteRune(c)
		default:
			rest.WriteRune(c)
		}
	}
	addr, cm := strings.TrimSpace(rest.String()), strings.TrimSpace(comment.String())
	if addr == "" || cm == "" {
		return a
	}
	if display {
		return cm + " <" + addr + ">"
	}
	return addr + " (" + cm + ")"
}

// displayName is an address's name as a forward shows it: unquoted, encoded words decoded,
// and quoted again only when it needs to be. What is not valid UTF-8 is dropped.
func displayName(n string) string {
	n = strings.TrimSpace(n)
	if len(n) >= 2 && n[0] == '"' && n[len(n)-1] == '"' {
		var b strings.Builder
		for i := 1; i < len(n)-1; i++ {
			if n[i] == '\\' && i+1 < len(n)-1 {
				i++
			}
			b.WriteByte(n[i])
		}
		n = b.String()
	} else {
		n = decodeWords(n)
	}
	n = strings.ToValidUTF8(n, "")
	if strings.ContainsAny(n, "()<>@,;:\\\".[]") {
		n = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(n) + `"`
	}
	return n
}

// addrOf is the mailbox of one address as written: what is in angle brackets, else the
// address without comments.
func addrOf(a string) string {
	if i := strings.LastIndexByte(a, '<'); i >= 0 {
		if j := strings.IndexByte(a[i:], '>'); j >= 0 {
			return strings.TrimSpace(a[i+1 : i+j])
		}
	}
	if i := strings.IndexByte(a, '('); i >= 0 {
		a = a[:i]
	}
	return strings.TrimSpace(a)
}

// references writes the References: value as Courier does: the old references and the
// message ID, the last 20 of them, one a line.
func (r *builder) references(oldref, msgid string) {
	all := strings.TrimSpace(oldref + " " + msgid)
	var ids []string
	for _, f := range strings.FieldsFunc(all, func(c rune) bool { return c == ' ' || c == '\t' || c == ',' }) {
		f = strings.TrimSuffix(strings.TrimPrefix(f, "<"), ">")
		if f != "" {
			ids = append(ids, f)
		}
	}
	if len(ids) > 20 {
		ids = ids[len(ids)-20:]
	}
	for i, id := range ids {
		if i > 0 {
			r.writes("            ")
		}
		r.writes("<" + id + ">\n")
	}
}

// copyHeaders writes the text/rfc822-headers part: every header of the message, unfolded.
func (r *builder) copyHeaders() {
	r.writes("\nContent-Type: text/rfc822-headers; charset=\"utf-8\"\n" +
		"Content-Disposition: attachment\n" +
		"Content-Transfer-Encoding: 8bit\n\n")
	for _, h := range headers(r.top) {
		r.writes(h.name + ": " + unfold(h.value) + "\n")
	}
}

// mkreply builds reply, replyall, replydsn (-M), feedback, replyfeedback and replydraft.
func (r *builder) mkreply() error {
	top := r.top
	var subject, oldfrom, oldreplyto, msgid, refs, envelope, newsgroups, newsgroup, date string
	var hasSubject, hasFrom, hasMsgid, hasRefs, hasDate bool
	var tocc []string
	hasTocc := false
	for _, h := range headers(top) {
		v := unfold(h.value)
		switch strings.ToLower(h.name) {
		case "subject":
			subject, hasSubject = v, true
		case "reply-to":
			oldreplyto = v
		case "from":
			oldfrom, hasFrom = v, true
		case "message-id":
			msgid, hasMsgid = v, true
		case "references":
			refs, hasRefs = v, true
		case "return-path", "errors-to":
			if r.o.ErrorsTo {
				envelope = v
			}
		case "newsgroups":
			newsgroups = v
		case "x-newsgroup":
			newsgroup = v
		case "date":
			date, hasDate = v, true
		case "to", "cc":
			if r.mode == "replyall" {
				tocc = append(tocc, splitAddresses(v)...)
				hasTocc = true
			}
		}
	}
	// The salutation names the From: author.
	name, addr := "", "(no address given)"
	if list := splitAddresses(oldfrom); len(list) > 0 {
		addr = addrOf(list[0])
		name = addr
		if a, err := mail.ParseAddress(list[0]); err == nil {
			addr = a.Address
			name = a.Name
			if name == "" {
				name = a.Address
			}
		}
	}
	if !hasDate {
		date = ""
	}
	enc := newEncoder(r.charset)
	name = enc.convert(decodeWords(name))
	whowrote := salutationOf(r.o.Salutation, salutInfo{
		subjectShown: enc.convert(decodeWords(subject)),
		newsgroup:    newsgroup, msgid: msgid, newsgroups: newsgroups,
		addr: addr, name: name, date: date, subject: subject,
	})
	if oldreplyto != "" {
		oldfrom, hasFrom = oldreplyto, true
	}
	if envelope != "" {
		oldfrom, hasFrom = envelope, true
	}
	// Cc: the old To: and Cc:, less the reply's addressee and duplicates.
	if hasTocc {
		var skip []string
		for _, a := range splitAddresses(oldfrom) {
			skip = append(skip, addrOf(a))
		}
		var kept []string
	next:
		for _, a := range tocc {
			m := addrOf(a)
			for _, s := range skip {
				if s == m {
					continue next
				}
			}
			skip = append(skip, m)
			kept = append(kept, renderAddress(a, false))
		}
		tocc = kept
	}
	if r.mode == "feedback" {
		hasFrom, hasTocc = false, false
	}
	if hasFrom {
		r.writes("To: " + oldfrom + "\n")
	}
	if hasTocc {
		r.writes("Cc: " + strings.Join(tocc, ", ") + "\n")
	}
	if hasMsgid || hasRefs {
		r.writes("References: ")
		r.references(refs, msgid)
	}
	if hasMsgid {
		r.writes("In-Reply-To: " + msgid + "\n")
	}
	r.writes("Subject: ")
	switch {
	case r.o.SubjectSet:
		r.writes(r.o.Subject)
	case hasSubject && (r.mode == "feedback" || r.mode == "replyfeedback"):
		r.writes(subject)
	case hasSubject:
		r.writes("Re: " + coreSubject(subject))
	}
	if r.mode == "replydraft" {
		r.writes("\n")
		return r.replydraft()
	}
	r.writes("\nMime-Version: 1.0\n")

	reportType := ""
	switch {
	case r.mode == "replydsn" && r.o.DSNFrom != "":
		reportType = "delivery-status"
	case r.mode == "feedback" || r.mode == "replyfeedback":
		reportType = "feedback-report"
	}
	boundary := ""
	if reportType != "" {
		boundary = r.bound()
		r.writes("Content-Type: multipart/report; report-type=" + reportType + ";\n    boundary=\"" + boundary + "\"\n\n" +
			mimeMsg + "\n--" + boundary + "\n")
	}
	r.textHeaders()
	if !r.o.NoQuote {
		r.writes(whowrote + "\n\n")
		if t := searchContentType(top, "text/plain"); t != nil {
			reformat(&r.b, r.data, t, 1, r.charset)
		}
		r.writes("\n")
	}
	r.content()
	r.writes("\n\n")
	if boundary == "" {
		return nil
	}
	r.writes("\n--" + boundary + "\nContent-Type: message/" + reportType + "\nContent-Transfer-Encoding: 7bit\n\n")
	r.writes("Arrival-Date: " + r.now.Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\n")
	if reportType == "delivery-status" {
		r.writes("\nFinal-Recipient: rfc822; " + r.o.DSNFrom + "\nAction: delivered\nStatus: 2.0.0\n")
	} else {
		r.writes("User-Agent: " + UserAgent + "\nVersion: 1\n")
		if r.o.FeedbackType != "" {
			for _, f := range r.o.Feedback {
				r.writes(feedbackName(f[0]) + ": " + f[1] + "\n")
			}
		}
	}
	r.writes("\n--" + boundary)
	if r.o.FullMessage {
		r.writes("\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n")
		// Courier copies from the start of the message to the end of the input.
		r.b.Write(r.data[top.HeaderStart:])
	} else {
		r.copyHeaders()
	}
	r.writes("\n--" + boundary + "--\n")
	return nil
}

// feedbackName turns a --feedback-NAME option into a header name: lower case, each word
// after a '-' capitalised.
func feedbackName(n string) string {
	b := []byte(strings.ToLower(n))
	last := byte('-')
	for i, c := range b {
		if last == '-' && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		last = b[i]
	}
	return string(b)
}

// replydraft builds the -T replydraft body: the draft's text and the original headers.
func (r *builder) replydraft() error {
	boundary := r.bound()
	r.writes("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\n\n" + mimeMsg + "\n--" + boundary + "\n")
	r.content()
	r.writes("\n--" + boundary)
	r.copyHeaders()
	r.writes("\n--" + boundary + "--\n")
	return nil
}

// mkforward builds forward and forwardatt.
func (r *builder) mkforward() error {
	top := r.top
	subject, hasSubject := get(top, "Subject")
	r.writes("Subject: ")
	switch {
	case r.o.SubjectSet:
		r.writes(r.o.Subject)
	case hasSubject:
		r.writes(coreSubject(subject) + " (fwd)")
	}
	r.writes("\nMime-Version: 1.0\n")

	fp := top
	if fp.ContentType == "multipart/signed" && len(fp.Parts) > 0 {
		fp = fp.Parts[0]
	} else if fp.ContentType == "multipart/x-mimegpg" && len(fp.Parts) > 1 && fp.Parts[0].ContentType == "text/x-gpg-output" {
		fp = fp.Parts[1]
	}
	var text *mailmime.Part
	var attachments []*mailmime.Part
	asMessage := false
	switch fp.ContentType {
	case "text/plain":
		text = fp
	case "multipart/alternative":
		text = searchContentType(fp, "text/plain")
	case "multipart/mixed":
		if len(fp.Parts) > 0 {
			text = searchContentType(fp.Parts[0], "text/plain")
			if text != nil {
				attachments = fp.Parts[1:]
			}
		}
	}
	if r.mode == "forwardatt" || text == nil {
		text, attachments, asMessage = nil, []*mailmime.Part{fp}, true
	}
	boundary := ""
	if len(attachments) > 0 {
		boundary = r.bound()
		r.writes("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\n\n" + mimeMsg + "\n--" + boundary + "\n")
	}
	r.textHeaders()
	r.content()
	r.writes("\n\n")
	r.writes(r.o.ForwardSep + "\n")
	if text != nil {
		enc := newEncoder(r.charset)
		for _, h := range headers(top) {
			if !forwardedHeaders[strings.ToLower(h.name)] {
				continue
			}
			v := displayValue(h.name, h.value)
			if addressHeaders[strings.ToLower(h.name)] && !isUTF8Name(r.charset) {
				// Courier drops from addresses' names what is not ASCII, unless the reply
				// is in UTF-8.
				v = newEncoder("us-ascii").convert(v)
			}
			r.writes(h.name + ": " + enc.convert(v) + "\n")
		}
		r.writes("\n")
		reformat(&r.b, r.data, text, 0, r.charset)
	}
	if len(attachments) == 0 {
		return nil
	}
	for _, a := range attachments {
		r.writes("\n--" + boundary + "\n")
		if asMessage {
			r.writes("Content-Type: message/rfc822\nContent-Description: Forwarded message\n\n")
		}
		r.b.Write(r.data[a.HeaderStart:a.End])
	}
	r.writes("\n--" + boundary + "--\n")
	return nil
}

// decodeWords decodes RFC 2047 encoded words, leaving the text as it is when it cannot.
func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// displayValue is a header's value as shown in a forward: unfolded, RFC 2047 words decoded,
// address lists written one address after another.
func displayValue(name, v string) string {
	v = unfold(v)
	if addressHeaders[strings.ToLower(name)] {
		list := splitAddresses(v)
		for i, a := range list {
			list[i] = renderAddress(a, true)
		}
		return strings.Join(list, ", ")
	}
	return decodeWords(v)
}

// findDraft returns the most recent message of the maildir's new and cur (the latest
// modification time, the smallest name among equals), skipping messages marked deleted.
func findDraft(dir string) ([]byte, bool) {
	type cand struct {
		path string
		name string
		mt   time.Time
	}
	var best *cand
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") {
				continue
			}
			if _, info, ok := strings.Cut(n, ":2,"); ok && strings.ContainsRune(info, 'T') {
				continue
			}
			fi, err := os.Stat(filepath.Join(dir, sub, n))
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			mt := fi.ModTime().Truncate(time.Second)
			if best != nil && (mt.Before(best.mt) || mt.Equal(best.mt) && n > best.name) {
				continue
			}
			best = &cand{filepath.Join(dir, sub, n), n, mt}
		}
	}
	if best == nil {
		return nil, false
	}
	data, err := os.ReadFile(best.path)
	if err != nil {
		return nil, false
	}
	return data, true
}

// copyDraft writes a draft as the reply text: its Content-* headers, the blank line and
// its body.
func copyDraft(b *bytes.Buffer, data []byte) {
	copying := false
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line = data[:i+1]
		}
		if line[0] == '\n' {
			break
		}
		data = data[len(line):]
		if line[0] != ' ' && line[0] != '\t' {
			copying = len(line) >= 8 && strings.EqualFold(string(line[:8]), "content-")
		}
		if copying {
			b.Write(line)
		}
	}
	b.Write(data)
}

// salutInfo is what a salutation may name.
type salutInfo struct {
	newsgroup, msgid, newsgroups, addr, name, date, subject string
	subjectShown                                            string // decoded, in the reply's charset
}

// salutationOf expands -S as Courier does: %n newline, %C X-Newsgroup:, %i Message-ID:,
// %N Newsgroups:, %f the author's address, %F the author's name, %s the subject, %d the date
// in local time (%{format}d with a strftime format); any other character after % stands
// for itself.
func salutationOf(format string, in salutInfo) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		tf := ""
		if format[i] == '{' {
			j := strings.IndexByte(format[i:], '}')
			if j < 0 || i+j+1 >= len(format) {
				break
			}
			tf = format[i+1 : i+j]
			i += j + 1
		}
		switch format[i] {
		case 'n':
			b.WriteByte('\n')
		case 'C':
			b.WriteString(in.newsgroup)
		case 'i':
			b.WriteString(in.msgid)
		case 'N':
			b.WriteString(in.newsgroups)
		case 'f':
			b.WriteString(in.addr)
		case 'F':
			b.WriteString(in.name)
		case 's':
			b.WriteString(in.subjectShown)
		case 'd':
			t, err := mail.ParseDate(in.date)
			if err != nil {
				b.WriteString(in.date)
				break
			}
			if tf == "" {
				tf = "%a, %d %b %Y %H:%M:%S %z"
			}
			b.WriteString(strftime(tf, t.Local()))
		default:
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// strftime formats t with the common strftime conversions.
func strftime(f string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}
