package hdrcache

// MaxBlock bounds the header fields kept for one message: a message whose cached fields
// are longer (a References field of a very long thread) is marked so, and its searches read
// the file.
const MaxBlock = 16 << 10

// Cached reports whether the field (its name in lower case) is kept in the cache: the fields
// SEARCH keys name (RFC 3501 §6.4.4: FROM, TO, CC, BCC, SUBJECT; SENTBEFORE/SENTON/SENTSINCE
// read Date) and those clients most often give to HEADER (threading and list fields).
func Cached(lname string) bool {
	switch lname {
	case "subject", "from", "to", "cc", "bcc", "date", "message-id", "in-reply-to",
		"references", "reply-to", "sender", "list-id":
		return true
	}
	return false
}

// fieldSetID names the set of fields Cached accepts; a file written for another set is
// rebuilt. Change it whenever Cached changes.
const fieldSetID = 1

// Extract returns the cached fields of a message's top-level header block hdr (as stored,
// LF or CRLF line ends): every occurrence of a field Cached accepts, each with its
// continuation lines, byte for byte and in the order of hdr. Read by a scanner that finds a
// field by its name at the start of a line (optionally followed by blanks) and a colon, and
// that stops at the first line starting with CR or LF, the block gives the same occurrences
// with the same raw values as hdr itself, so a search of those fields answers the same from
// either. ok is false when the block cannot stand in for hdr: the cached fields exceed
// MaxBlock, or a line starting with CR is not a blank line (scanners of header blocks
// disagree on where such a header ends).
func Extract(dst, hdr []byte) (block []byte, ok bool) {
	start := len(dst)
	for i := 0; i < len(hdr); {
		c := hdr[i]
		end := lineEnd(hdr, i)
		if c == '\n' || c == '\r' {
			if !blank(hdr[i:end]) {
				return dst[:start], false
			}
			break
		}
		if c == ' ' || c == '\t' {
			i = end // a continuation: part of the field before it, or of none
			continue
		}
		// a field runs over its continuation lines
		fend := end
		for fend < len(hdr) && (hdr[fend] == ' ' || hdr[fend] == '\t') {
			fend = lineEnd(hdr, fend)
		}
		if wanted(hdr[i:end]) {
			if len(dst)-start+fend-i > MaxBlock {
				return dst[:start], false
			}
			dst = append(dst, hdr[i:fend]...)
		}
		i = fend
	}
	return dst, true
}

// lineEnd returns the index after the line starting at i (after its LF, or len(b)).
func lineEnd(b []byte, i int) int {
	for j := i; j < len(b); j++ {
		if b[j] == '\n' {
			return j + 1
		}
	}
	return len(b)
}

// blank reports whether a line holds nothing but CR and LF.
func blank(line []byte) bool {
	for _, c := range line {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// wanted reports whether line starts a field Cached accepts: a name, optional blanks, ':'.
func wanted(line []byte) bool {
	var low [16]byte
	n := 0
	for n < len(line) && n < len(low) {
		c := line[n]
		if c == ':' || c == ' ' || c == '\t' {
			break
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[n] = c
		n++
	}
	if n == 0 || n == len(low) {
		return false
	}
	j := n
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j >= len(line) || line[j] != ':' {
		return false
	}
	return Cached(string(low[:n]))
}
