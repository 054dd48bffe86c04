// Package sqwebmail reads and writes the maildrop filter SqWebMail generates for a user
// ($HOME/.mailfilter): the rules in its machine-readable "##" comments, checked as SqWebMail
// checks them, and the recipe written back from them as SqWebMail writes it. maildirmake
// --convutf8 uses it to rename the folders a filter delivers to; webmail will edit filters
// through it.
package sqwebmail

import (
	"bytes"
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"

	"courier/internal/cnum"
)

// mailbot is the mailbot SqWebMail's vacation rules run (Debian's path).
const mailbot = "/usr/bin/mailbot"

// Folder returns the folder the rule delivers to ("INBOX.x", "!address", "*exit"...).
func (r *Rule) Folder() string { return r.folder }

// SetFolder changes the folder the rule delivers to.
func (r *Rule) SetFolder(f string) { r.folder = f }

// Rule is a mailfilter rule as SqWebMail's machine-parsable comments describe it.
type Rule struct {
	op, header, value, folder, from, name string
	plain, doesnot, body, cont            bool
}

var ops = []string{"startswith", "endswith", "contains", "hasrecipient", "mimemultipart", "textplain", "islargerthan", "anymessage"}

// ErrForeign is returned by Load for a file SqWebMail did not write.
var ErrForeign = errors.New("not a SqWebMail mail filter")

// Load parses the "##" comments of a SqWebMail filter. Rules that do not
// validate are dropped, as Courier does; an unknown operation makes the whole file foreign
// (the rules read before it are still returned).
func Load(data []byte) ([]Rule, error) {
	lines := strings.Split(string(data), "\n")
	if len(data) == 0 || !strings.HasPrefix(lines[0], "#MFMAILDROP=") {
		return nil, ErrForeign
	}
	if v := cnum.Atoi(lines[0][len("#MFMAILDROP="):]); v != 1 && v != 2 {
		return nil, ErrForeign
	}
	var rules []Rule
	cur := Rule{op: "contains"}
	trunc := func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	for _, line := range lines[1:] {
		if !strings.HasPrefix(line, "##") {
			continue
		}
		p := strings.TrimLeft(line[2:], " \t\r\n\v\f")
		_, val, _ := strings.Cut(p, ":")
		switch {
		case hasPrefixFold(p, "From:"):
			cur.from = trunc(val, 511)
		case hasPrefixFold(p, "Op:"):
			found := false
			for _, op := range ops {
				if strings.EqualFold(op, val) {
					cur.op, found = op, true
				}
			}
			if !found {
				return rules, ErrForeign
			}
		case hasPrefixFold(p, "Header:"):
			cur.header = trunc(val, 255)
		case hasPrefixFold(p, "Value:"):
			cur.value = trunc(val, 255)
		case hasPrefixFold(p, "Folder:"):
			f := ""
			if strings.HasPrefix(val, ".") {
				f = "INBOX"
			}
			if val != "." {
				f += val
			}
			cur.folder = trunc(f, 255)
		case strings.EqualFold(p, "plainstring"):
			cur.plain = true
		case strings.EqualFold(p, "doesnot"):
			cur.doesnot = true
		case strings.EqualFold(p, "continue"):
			cur.cont = true
		case strings.EqualFold(p, "body"):
			cur.body = true
		case hasPrefixFold(p, "Name:"):
			cur.name = val
			cur.from = strings.TrimLeft(cur.from, " \t\r\n\v\f")
			if validRule(rules, &cur) {
				rules = append(rules, cur)
			}
			cur = Rule{op: "contains"}
		}
	}
	return rules, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validRule applies the checks SqWebMail (maildir_filter_ruleupdate) makes.
func validRule(prev []Rule, r *Rule) bool {
	if r.name == "" || len(r.name) > 200 || strings.ContainsAny(r.name, "'\"`") || hasControl(r.name) {
		return false
	}
	for _, p := range prev {
		if p.name == r.name {
			return false
		}
	}
	if len(r.header) > 200 {
		return false
	}
	if r.header == "" {
		switch r.op {
		case "contains", "startswith", "endswith":
			if !r.body {
				return false
			}
		}
	} else {
		for i := 0; i < len(r.header); i++ {
			c := r.header[i]
			if c <= ' ' || strings.IndexByte(":'\\\"`/", c) >= 0 {
				return false
			}
		}
	}
	if len(r.value) > 200 {
		return false
	}
	if r.value == "" {
		switch r.op {
		case "mimemultipart", "textplain", "anymessage":
		default:
			return false
		}
	} else if !r.plain && !validPattern(r.op, r.value) {
		return false
	}
	if hasControl(r.from) {
		return false
	}
	f := r.folder
	if len(f) > 200 {
		return false
	}
	switch {
	case strings.HasPrefix(f, "*") || strings.HasPrefix(f, "!"):
		if strings.ContainsAny(f[1:], "'\"$\\`;(){}#&<>~") || hasControl(f[1:]) {
			return false
		}
	case strings.HasPrefix(f, "+"):
		if len(strings.Fields(f[1:])) == 0 {
			return false
		}
	case f == "exit":
	default:
		if f != "INBOX" && !strings.HasPrefix(f, "INBOX.") {
			return false
		}
		if f != "INBOX" && (strings.Contains(f, "/") || strings.Contains(f, "..") || strings.HasSuffix(f, ".")) {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' {
			return true
		}
	}
	return false
}

// validPattern checks a regular expression as SqWebMail does: "/", "$", "!", quotes
// and control characters must be escaped, a size is digits only, a recipient takes no
// grouping, then the pattern must compile (see the top comment about PCRE).
func validPattern(op, v string) bool {
	at := func(i int) byte {
		if i < len(v) {
			return v[i]
		}
		return 0
	}
	quote := func(c byte) bool { return c == '\'' || c == '"' || c == '`' }
	recipient := op == "hasrecipient"
	for i := 0; i < len(v); {
		c := v[i]
		if c == '/' || c == '$' || c == '!' || c < ' ' || quote(c) {
			return false
		}
		if op == "islargerthan" && (c < '0' || c > '9') {
			return false
		}
		switch c {
		case '(':
			if recipient {
				return false
			}
			i++
			if at(i) == ')' {
				return false
			}
			continue
		case ')':
			if recipient {
				return false
			}
			i++
			continue
		case '[':
			if recipient {
				return false
			}
			i++
			// classChar takes one (possibly escaped) character of the class, or fails.
			classChar := func() bool {
				if quote(at(i)) {
					return false
				}
				if at(i) == '\\' {
					i++
				}
				if at(i) < ' ' {
					return false
				}
				i++
				return true
			}
			for {
				if !classChar() {
					return false
				}
				if at(i) == ']' {
					break
				}
				if at(i) != '-' {
					continue
				}
				i++
				if !classChar() {
					return false
				}
				if at(i) == ']' {
					break
				}
			}
			i++
			continue
		case '\\':
			if recipient {
				return false
			}
			i++
		}
		if at(i) == 0 {
			return false
		}
		i++
	}
	switch op {
	case "contains", "startswith", "endswith":
		if _, err := syntax.Parse(v, syntax.Perl); err != nil {
			var se *syntax.Error
			if errors.As(err, &se) {
				switch se.Code {
				case syntax.ErrMissingParen, syntax.ErrUnexpectedParen, syntax.ErrMissingBracket,
					syntax.ErrMissingRepeatArgument, syntax.ErrInvalidCharRange, syntax.ErrTrailingBackslash:
					return false
				}
			}
		}
	}
	return true
}

// Save regenerates the filter as SqWebMail's maildir_filter_saverules writes
// it; maildir is the path the recipe delivers to, from the sender address of the vacation
// replies.
func Save(rules []Rule, maildir, from string) []byte {
	var b bytes.Buffer
	b.WriteString("#MFMAILDROP=2\n#\n# DO NOT EDIT THIS FILE.  This is an automatically generated filter.\n\n")
	b.WriteString("FROM='" + escapeSingle(from) + "'\n")
	for _, r := range rules {
		folder := r.folder
		switch {
		case folder == "INBOX":
			folder = "."
		case strings.HasPrefix(folder, "INBOX."):
			folder = folder[len("INBOX"):]
		}
		fmt.Fprintf(&b, "##Op:%s\n##Header:%s\n##Value:%s\n##Folder:%s\n##From:%s\n", r.op, r.header, r.value, folder, r.from)
		if r.plain {
			b.WriteString("##PlainString\n")
		}
		if r.doesnot {
			b.WriteString("##DoesNot\n")
		}
		if r.body {
			b.WriteString("##Body\n")
		}
		if r.cont {
			b.WriteString("##Continue\n")
		}
		fmt.Fprintf(&b, "##Name:%s\n\n", r.name)
		b.WriteString("\nif (")
		if r.doesnot {
			b.WriteString("!")
		}
		b.WriteString("(")
		pat := recipePattern(r.plain, r.value)
		switch r.op {
		case "startswith":
			if r.body {
				b.WriteString("/^" + pat + "/:b")
			} else {
				b.WriteString("/^" + r.header + ": *" + pat + "/")
			}
		case "endswith":
			if r.body {
				b.WriteString("/" + pat + "$/:b")
			} else {
				b.WriteString("/^" + r.header + ":.*" + pat + "$/")
			}
		case "contains":
			if r.body {
				b.WriteString("/" + pat + "/:b")
			} else {
				b.WriteString("/^" + r.header + ":.*" + pat + "/")
			}
		case "hasrecipient":
			b.WriteString("hasaddr(\"" + r.value + "\")")
		case "mimemultipart":
			b.WriteString("/^Content-Type: *multipart\\/mixed/")
		case "textplain":
			b.WriteString(" (! /^Content-Type:/) || /^Content-Type: text\\/plain$/ || /^Content-Type: text\\/plain;/")
		case "islargerthan":
			b.WriteString("$SIZE > " + r.value)
		case "anymessage":
			b.WriteString("1")
		}
		b.WriteString("))\n{\n")
		deliver := "to"
		if r.cont {
			deliver = "cc"
		}
		f := r.folder
		switch {
		case strings.HasPrefix(f, "!"):
			fmt.Fprintf(&b, "    %s \"| $SENDMAIL -f \" '\"\"' \" %s\"\n", deliver, f[1:])
		case strings.HasPrefix(f, "*"):
			fmt.Fprintf(&b, "    echo \"%s\"\n    EXITCODE=70\n    exit\n", f[1:])
		case strings.HasPrefix(f, "+"):
			words := strings.FieldsFunc(f[1:], func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
			if len(words) == 0 {
				break
			}
			name, dsn, days, noquote := words[0], false, 0, false
			for _, w := range words[1:] {
				switch {
				case strings.HasPrefix(w, "dsn="):
					dsn = cnum.Atoi(w[4:]) != 0
				case strings.HasPrefix(w, "days="):
					days = cnum.Atoi(w[5:])
				case w == "noquote":
					noquote = true
				}
			}
			if r.from != "" {
				b.WriteString("    AUTOREPLYFROM='" + escapeSingle(r.from) + "'\n")
			} else {
				b.WriteString("    AUTOREPLYFROM=\"$FROM\"\n")
			}
			b.WriteString("   `" + mailbot + " -A \"X-Sender: $FROM\" -A \"From: $AUTOREPLYFROM\"")
			if dsn {
				b.WriteString(" -M \"$FROM\"")
			}
			fmt.Fprintf(&b, " -m \"%s/autoresponses/%s\"", maildir, name)
			if noquote {
				b.WriteString(" -N")
			}
			if days > 0 {
				fmt.Fprintf(&b, " -d \"%s/autoresponses/%s.dat\" -D %d", maildir, name, uint(days))
			}
			b.WriteString(" $SENDMAIL -t -f \"\"`\n")
		case f == "exit":
			b.WriteString("    exit\n")
		default:
			dir := maildir
			if f != "INBOX" {
				dir = maildir + "/" + f[len("INBOX"):]
			}
			fmt.Fprintf(&b, "   %s \"%s/.\"\n", deliver, dir)
		}
		b.WriteString("}\n\n")
	}
	fmt.Fprintf(&b, "to \"%s/.\"\n", maildir)
	return b.Bytes()
}

// mailfilterPattern is SqWebMail's print_pattern: a regular expression starting with a blank
// gets a backslash; a plain string has every byte up to 0x80 but letters and digits escaped.
func recipePattern(plain bool, v string) string {
	if !plain {
		if v != "" && strings.IndexByte(" \t\n\v\f\r", v[0]) >= 0 {
			return "\\" + v
		}
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x80 && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escapeSingle backslash-escapes "'" and "\\" for a single-quoted maildrop string.
func escapeSingle(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
