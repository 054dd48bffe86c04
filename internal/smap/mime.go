package smap

import (
	"bytes"
	"mime"
	"strings"
)

// The MIME structure SMAP shows: Courier's rfc2045 part tree with byte offsets. (A shared
// package internal/mail/mime is planned; until it exists this small parser does what SMAP
// needs, with Courier's offsets.)
//
// Offsets as Courier computes them (checked against Courier 5.0.13):
//   - A part runs from the line after its delimiter to the line end before the next
//     delimiter. That line end belongs to the delimiter, so it is not part of the body -
//     except for a message/rfc822 part, whose body (and its enclosed message) keeps it.
//   - LINES counts the line ends in the body, less one for a part ended by a delimiter
//     (and for the message inside a message/rfc822 part so ended).
//   - The top part runs to the end of the message.
//   - MIME ids: the message is "1" (shown as ""), the parts of a multipart are numbered from
//     1 ("1.1", "1.2"), the message inside a message/rfc822 part is 0 ("1.2.0").

// maxDepth bounds nesting so a hostile message can't exhaust the stack.
const maxDepth = 50

// part is one MIME part of a message.
type part struct {
	start, bodyStart, end int // offsets in the message
	lines                 int
	pindex                int
	parent                *part
	children              []*part
	ctype                 string // lower case "type/subtype"
	cte                   string // lower case Content-Transfer-Encoding
	charset               string // lower case charset parameter
}

// parseMIME builds the part tree of a whole message.
func parseMIME(data []byte) *part {
	p := &part{start: 0, pindex: 1}
	parsePart(data, p, len(data), 0, 0)
	return p
}

// lineEnd returns the offset just past the line starting at i (past its "\n"), or len.
func lineEnd(data []byte, i, end int) int {
	j := bytes.IndexByte(data[i:end], '\n')
	if j < 0 {
		return end
	}
	return i + j + 1
}

// parsePart fills p, whose headers start at p.start and whose body ends at end; lineAdj is
// subtracted from its line count; depth bounds recursion.
func parsePart(data []byte, p *part, end, lineAdj, depth int) {
	p.end = end
	// Headers end at the first empty line.
	i := p.start
	p.bodyStart = end
	for i < end {
		le := lineEnd(data, i, end)
		line := data[i:le]
		if len(bytes.TrimRight(line, "\r\n")) == 0 && (le > i) {
			p.bodyStart = le
			break
		}
		i = le
	}
	p.lines = max(bytes.Count(data[p.bodyStart:end], []byte{'\n'})-lineAdj, 0)
	hdr := parseHeaders(data[p.start:min(p.bodyStart, end)])
	p.ctype = "text/plain"
	var params map[string]string
	if v, ok := hdr.get("content-type"); ok {
		if mt, ps, err := mime.ParseMediaType(v); err == nil {
			p.ctype, params = strings.ToLower(mt), ps
			p.charset = strings.ToLower(ps["charset"])
		} else if k := strings.IndexByte(v, ';'); k >= 0 {
			p.ctype = strings.ToLower(strings.TrimSpace(v[:k]))
		} else {
			p.ctype = strings.ToLower(strings.TrimSpace(v))
		}
	}
	if v, ok := hdr.get("content-transfer-encoding"); ok {
		p.cte = strings.ToLower(strings.TrimSpace(v))
	}
	if depth >= maxDepth {
		return
	}
	switch {
	case strings.HasPrefix(p.ctype, "multipart/") && params["boundary"] != "":
		parseMultipart(data, p, params["boundary"], depth)
	case p.ctype == "message/rfc822":
		c := &part{start: p.bodyStart, pindex: 0, parent: p}
		p.children = []*part{c}
		parsePart(data, c, end, lineAdj, depth+1)
	}
}

// parseMultipart splits a multipart body at its delimiter lines.
func parseMultipart(data []byte, p *part, boundary string, depth int) {
	delim := []byte("--" + boundary)
	type cut struct{ lineStart, next int }
	var cuts []cut // delimiter lines
	closed := false
	for i := p.bodyStart; i < p.end; {
		le := lineEnd(data, i, p.end)
		if bytes.HasPrefix(data[i:le], delim) {
			rest := data[i+len(delim) : le]
			cuts = append(cuts, cut{i, le})
			if bytes.HasPrefix(rest, []byte("--")) {
				closed = true
				break
			}
		}
		i = le
	}
	for k, c := range cuts {
		if k == len(cuts)-1 && closed {
			break
		}
		child := &part{start: c.next, pindex: len(p.children) + 1, parent: p}
		if k+1 < len(cuts) {
			raw := cuts[k+1].lineStart
			if raw < c.next {
				raw = c.next
			}
			end := raw
			// The line end before a delimiter belongs to the delimiter.
			if end > c.next && data[end-1] == '\n' {
				end--
				if end > c.next && data[end-1] == '\r' {
					end--
				}
			}
			// Courier keeps it in a message/rfc822 part: find the type first.
			probe := &part{start: c.next}
			hdrEnd := headerEnd(data, c.next, raw)
			probeType(data[c.next:hdrEnd], probe)
			if probe.ctype == "message/rfc822" {
				end = raw
			}
			parsePartLines(data, child, end, raw, depth)
		} else {
			parsePart(data, child, p.end, 0, depth+1)
		}
		p.children = append(p.children, child)
	}
}

// parsePartLines parses a part ended by a delimiter at raw (its size ends at end): its line
// count is that of the raw range less the delimiter's line end.
func parsePartLines(data []byte, child *part, end, raw, depth int) {
	parsePart(data, child, end, 0, depth+1)
	hs := child.bodyStart
	if hs > raw {
		hs = raw
	}
	child.lines = max(bytes.Count(data[hs:raw], []byte{'\n'})-1, 0)
	if len(child.children) == 1 && child.ctype == "message/rfc822" {
		in := child.children[0]
		ib := min(in.bodyStart, raw)
		in.lines = max(bytes.Count(data[ib:raw], []byte{'\n'})-1, 0)
	}
}

// headerEnd returns the offset of the body of the part whose headers start at i.
func headerEnd(data []byte, i, end int) int {
	for i < end {
		le := lineEnd(data, i, end)
		if len(bytes.TrimRight(data[i:le], "\r\n")) == 0 {
			return le
		}
		i = le
	}
	return end
}

func probeType(hdrs []byte, p *part) {
	p.ctype = "text/plain"
	if v, ok := parseHeaders(hdrs).get("content-type"); ok {
		if mt, _, err := mime.ParseMediaType(v); err == nil {
			p.ctype = strings.ToLower(mt)
		} else {
			p.ctype = strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		}
	}
}

// header is one header field: its name as written and its value.
type header struct {
	name, value, raw string
}

type headerList []header

func (h headerList) get(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value, true
		}
	}
	return "", false
}

// parseHeaders splits a header block into fields. The value is unfolded as Courier's
// rfc2045header_get gives it (each line end with the white space around it becomes one
// space); raw keeps the line ends.
func parseHeaders(block []byte) headerList {
	var out headerList
	lines := strings.SplitAfter(string(block), "\n")
	var cur []string
	flush := func() {
		if len(cur) == 0 {
			return
		}
		first := strings.TrimRight(cur[0], "\r\n")
		k := strings.IndexByte(first, ':')
		if k < 0 {
			cur = nil
			return
		}
		name := strings.TrimRight(first[:k], " \t")
		var val, raw strings.Builder
		val.WriteString(strings.TrimLeft(first[k+1:], " \t"))
		raw.WriteString(strings.TrimLeft(first[k+1:], " \t"))
		for _, c := range cur[1:] {
			c = strings.TrimRight(c, "\r\n")
			raw.WriteString("\n" + c)
			t := strings.TrimLeft(c, " \t")
			v := strings.TrimRight(val.String(), " \t")
			val.Reset()
			val.WriteString(v + " " + t)
		}
		out = append(out, header{name: name, value: strings.TrimRight(val.String(), " \t"), raw: strings.TrimRight(raw.String(), " \t")})
		cur = nil
	}
	for _, l := range lines {
		if l == "" {
			continue
		}
		if strings.TrimRight(l, "\r\n") == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(cur) > 0 {
				cur = append(cur, l)
			}
			continue
		}
		flush()
		cur = []string{l}
	}
	flush()
	return out
}

// mimeID writes a part's id as Courier's writemimeid does.
func mimeID(p *part) string {
	if p.parent == nil {
		return itoa(p.pindex)
	}
	return mimeID(p.parent) + "." + itoa(p.pindex)
}

// findPart finds a part by MIME id ("1.2.0"); nil when there is none.
func findPart(root *part, id string) *part {
	level := []*part{root}
	var cur *part
	for id != "" {
		if id[0] < '0' || id[0] > '9' {
			return nil
		}
		n := 0
		for id != "" && id[0] >= '0' && id[0] <= '9' {
			if n < 1<<30 {
				n = n*10 + int(id[0]-'0')
			}
			id = id[1:]
		}
		cur = nil
		for _, p := range level {
			if p.pindex == n {
				cur = p
				break
			}
		}
		if cur == nil {
			return nil
		}
		if id != "" && id[0] == '.' {
			id = id[1:]
			if len(cur.children) == 0 {
				return nil
			}
			level = cur.children
			if id == "" {
				return cur.children[0]
			}
		}
	}
	return cur
}
