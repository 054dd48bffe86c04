// Package reformail implements Courier's reformail(1): it reformats a message's header (add,
// replace, rename, deduplicate and extract header fields, From_ line handling, line ends),
// splits an mbox into messages, and keeps the Message-ID cache of -D. Behaviour follows
// Debian's reformail as observed, including its quirks (a folded header keeps its inner
// line breaks under -d1; -x strips only the blanks before the value).
//
// A message is read as: leading blank lines (dropped), an optional From_ line, the header
// (logical fields: a line and its continuation lines), the blank separator and the body.
// Nothing here keeps package-level state.
package reformail

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Field is one logical header field: its name with the colon ("Subject:") case as written,
// and the raw text of the whole field without the final line end (continuation lines
// included, separated by "\n").
type Field struct {
	Raw string
}

// Name returns the lower-cased name up to and including the colon, or the whole first
// line lower-cased when there is no colon.
func (f Field) Name() string {
	if i := strings.IndexByte(f.Raw, ':'); i >= 0 {
		return strings.ToLower(f.Raw[:i+1])
	}
	return strings.ToLower(f.Raw)
}

// Message is a parsed message.
type Message struct {
	FromLine string // the From_ line without its line end, or ""
	Fields   []Field
	HasBody  bool // the header ended with a blank line
	Body     []byte
}

// Parse reads a message. CR LF line ends become LF.
func Parse(data []byte) *Message {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	for len(data) > 0 && data[0] == '\n' {
		data = data[1:]
	}
	m := &Message{}
	line := func() (string, bool) {
		if len(data) == 0 {
			return "", false
		}
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		return string(l), true
	}
	if bytes.HasPrefix(data, []byte("From ")) {
		m.FromLine, _ = line()
	}
	for {
		if len(data) > 0 && (data[0] == ' ' || data[0] == '\t') && len(m.Fields) > 0 {
			l, _ := line()
			m.Fields[len(m.Fields)-1].Raw += "\n" + l
			continue
		}
		l, ok := line()
		if !ok {
			break
		}
		if l == "" {
			m.HasBody = true
			break
		}
		m.Fields = append(m.Fields, Field{Raw: l})
	}
	m.Body = data
	return m
}

// unfold joins continuation lines: a line break and the blanks after it become one space.
func unfold(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			for i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
				i++
			}
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Extract returns what -x (names) and -X (withName) print: the matching fields in message
// order, unfolded; -x without the name and the blanks after it. A name is matched with its
// colon, case-insensitively; the first option naming a field decides its form.
func (m *Message) Extract(opts []Extraction) []string {
	var out []string
	for _, f := range m.Fields {
		n := f.Name()
		for _, o := range opts {
			if normName(o.Name) != n {
				continue
			}
			v := unfold(f.Raw)
			if !o.WithName {
				v = strings.TrimLeft(v[len(n):], " \t")
			}
			out = append(out, v)
			break
		}
	}
	return out
}

// Extraction is one -x or -X option.
type Extraction struct {
	Name     string
	WithName bool
}

// normName is an option's header name as matched: trimmed and lower-cased.
func normName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Options are the reformatting options.
type Options struct {
	From0, From1 bool // -f0, -f1
	Concat       bool // -c
	CRLF         bool // -d1
	AddIfMissing []string
	Add          []string
	Insert       []string    // -i
	Replace      []string    // -I
	Rename       [][2]string // -R old new
	KeepFirst    []string    // -u
	KeepLast     []string    // -U
	// Host is the host name in generated Message-IDs; Now and PID make them unique.
	Host string
	Now  time.Time
	PID  int
}

// headerOf splits an option's "Name: value" into the lower-cased name with its colon and
// whether the value is empty (nothing after the colon).
func headerOf(s string) (name string, empty bool, err error) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", false, fmt.Errorf("%q: no colon after the header name", s)
	}
	return strings.ToLower(s[:i+1]), i+1 == len(s), nil
}

// messageID is the value -a and -A put in an empty Message-ID or Resent-Message-ID.
func (o *Options) messageID(seq int) string {
	host := o.Host
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("<%X.%X.%d.reformail@%s>", o.Now.Unix(), o.PID, seq, host)
}

// Reformat applies the options and returns the new message text.
func Reformat(m *Message, o *Options) ([]byte, error) {
	fields := append([]Field(nil), m.Fields...)
	has := func(name string) bool {
		for _, f := range m.Fields {
			if f.Name() == name {
				return true
			}
		}
		return false
	}
	remove := func(name string) {
		out := fields[:0]
		for _, f := range fields {
			if f.Name() != name {
				out = append(out, f)
			}
		}
		fields = out
	}
	for _, r := range o.Rename {
		old := normName(r[0])
		for i, f := range fields {
			if f.Name() == old {
				fields[i].Raw = r[1] + f.Raw[len(old):]
			}
		}
	}
	for _, n := range o.KeepFirst {
		fields = keepFirst(fields, normName(n))
	}
	// -U keeps the last occurrence, and (as Courier's) moves it after everything added
	var last []Field
	for _, n := range o.KeepLast {
		name := normName(n)
		var keep *Field
		out := fields[:0]
		for _, f := range fields {
			if f.Name() == name {
				keep = &f
				continue
			}
			out = append(out, f)
		}
		fields = out
		if keep != nil {
			last = append(last, *keep)
		}
	}
	var added []Field
	seq := 0
	fill := func(h string) string {
		name, empty, _ := headerOf(h)
		if empty && (name == "message-id:" || name == "resent-message-id:") {
			seq++
			return h + " " + o.messageID(seq)
		}
		return h
	}
	for _, h := range o.AddIfMissing {
		name, _, err := headerOf(h)
		if err != nil {
			return nil, fmt.Errorf("-a: %w", err)
		}
		if !has(name) {
			added = append(added, Field{Raw: fill(h)})
		}
	}
	for _, h := range o.Add {
		if _, _, err := headerOf(h); err != nil {
			return nil, fmt.Errorf("-A: %w", err)
		}
		added = append(added, Field{Raw: fill(h)})
	}
	for _, h := range o.Insert {
		name, _, err := headerOf(h)
		if err != nil {
			return nil, fmt.Errorf("-i: %w", err)
		}
		for i, f := range fields {
			if f.Name() == name {
				fields[i].Raw = "Old-" + f.Raw
			}
		}
		added = append(added, Field{Raw: h})
	}
	for _, h := range o.Replace {
		name, empty, err := headerOf(h)
		if err != nil {
			return nil, fmt.Errorf("-I: %w", err)
		}
		remove(name)
		if !empty {
			added = append(added, Field{Raw: h})
		}
	}
	fields = append(fields, added...)
	fields = append(fields, last...)
	fromLine := m.FromLine
	body := m.Body
	switch {
	case o.From0 && fromLine != "":
		remove("return-path:")
		fields = append(fields, Field{Raw: "Return-Path: <" + fromLineAddr(fromLine) + ">"})
		fromLine = ""
		body = mapFromLines(body, unquoteFrom)
	case o.From1 && fromLine == "":
		fromLine = "From " + senderOf(m.Fields) + " " + o.Now.Format("Mon Jan _2 15:04:05 2006")
		body = mapFromLines(body, quoteFrom)
	}
	if fromLine == "" && len(m.Fields) == 0 && !m.HasBody && len(body) == 0 {
		return nil, nil // nothing in, nothing out
	}
	var b bytes.Buffer
	nl := "\n"
	if o.CRLF {
		nl = "\r\n"
	}
	if fromLine != "" {
		b.WriteString(fromLine + nl)
	}
	for _, f := range fields {
		raw := f.Raw
		if o.Concat {
			raw = unfold(raw)
		}
		b.WriteString(raw + nl)
	}
	b.WriteString(nl)
	if len(body) > 0 {
		if o.CRLF {
			body = bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
		}
		b.Write(body)
		if body[len(body)-1] != '\n' {
			b.WriteString(nl)
		}
	}
	return b.Bytes(), nil
}

func keepFirst(fields []Field, name string) []Field {
	keep := -1
	for i, f := range fields {
		if f.Name() == name && keep < 0 {
			keep = i
		}
	}
	out := fields[:0]
	for i, f := range fields {
		if f.Name() != name || i == keep {
			out = append(out, f)
		}
	}
	return out
}

// fromLineAddr is the address of a From_ line: its second word.
func fromLineAddr(l string) string {
	w := strings.Fields(l)
	if len(w) < 2 {
		return ""
	}
	return w[1]
}

// senderOf finds the return address for a new From_ line: Return-Path:, then Errors-To:,
// then the first address of From:; "root" when there is none.
func senderOf(fields []Field) string {
	for _, name := range []string{"return-path:", "errors-to:", "from:"} {
		for _, f := range fields {
			if f.Name() != name {
				continue
			}
			if a := firstAddress(unfold(f.Raw[len(name):])); a != "" {
				return a
			}
		}
	}
	return "root"
}

// firstAddress returns the first address of an address list: what is inside the first
// <...>, else the first word that is no display name.
func firstAddress(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	first := v
	inQuote := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				first = v[:i]
				i = len(v)
			}
		}
	}
	if i := strings.IndexByte(first, '<'); i >= 0 {
		rest := first[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			return strings.TrimSpace(rest[:j])
		}
		return strings.TrimSpace(rest)
	}
	if i := strings.IndexByte(first, '('); i >= 0 {
		first = first[:i]
	}
	return strings.TrimSpace(first)
}

// mapFromLines rewrites the body lines that match ^>*From .
func mapFromLines(body []byte, f func([]byte) []byte) []byte {
	var out bytes.Buffer
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line = body[:i+1]
		}
		body = body[len(line):]
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			line = f(line)
		}
		out.Write(line)
	}
	return out.Bytes()
}

func quoteFrom(l []byte) []byte { return append([]byte{'>'}, l...) }

func unquoteFrom(l []byte) []byte {
	if len(l) > 0 && l[0] == '>' {
		return l[1:]
	}
	return l
}

// Split cuts an mbox into its messages at the lines that begin with "From ", each with its
// From_ line and without the line end before the next one (or before the end of input).
// Text before the first From_ line is a message of its own.
func Split(data []byte) [][]byte {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if len(data) == 0 {
		return nil
	}
	starts := []int{0}
	for pos := 0; ; {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			break
		}
		pos += i + 1
		if bytes.HasPrefix(data[pos:], []byte("From ")) {
			starts = append(starts, pos)
		}
	}
	var out [][]byte
	for k, st := range starts {
		end := len(data)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		out = append(out, bytes.TrimSuffix(data[st:end], []byte("\n")))
	}
	return out
}

// MessageID returns the unfolded, trimmed value of the first Message-ID field, or "".
func (m *Message) MessageID() string {
	for _, f := range m.Fields {
		if f.Name() == "message-id:" {
			return strings.TrimSpace(unfold(f.Raw[len("message-id:"):]))
		}
	}
	return ""
}

// Seen records id in a -D cache (the file's content: NUL-terminated Message-IDs, oldest
// first, and one more NUL) and reports whether it was there already. A repeated id moves to
// the end, as the most recent. The cache keeps about size octets: before an id of n octets
// (with its NUL) goes at the end, the oldest ids go until the rest is at most size-n octets;
// when the id alone is that large, nothing is dropped (as Debian's reformail).
func Seen(cache []byte, id string, size int) (bool, []byte) {
	var ids []string
	seen := false
	for _, s := range strings.Split(string(cache), "\x00") {
		if s == id {
			seen = true
		} else if s != "" {
			ids = append(ids, s)
		}
	}
	total := 0
	for _, s := range ids {
		total += len(s) + 1
	}
	if limit := size - (len(id) + 1); limit > 0 {
		for len(ids) > 0 && total > limit {
			total -= len(ids[0]) + 1
			ids = ids[1:]
		}
	}
	var b bytes.Buffer
	for _, s := range append(ids, id) {
		b.WriteString(s)
		b.WriteByte(0)
	}
	b.WriteByte(0)
	return seen, b.Bytes()
}
