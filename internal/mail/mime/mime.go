// Package mime parses a stored message into a tree of MIME parts with byte offsets, exactly as
// Courier's rfc2045 library does, so that the IMAP server can report BODYSTRUCTURE, sizes and
// body sections byte for byte as Courier-IMAP does.
//
// Courier's parser is line based and forgiving, and several of its choices are visible to IMAP
// clients; this package reproduces them on purpose:
//
//   - Content-Type, Content-Disposition and their parameters count only when the header has
//     "MIME-Version: 1.0" (a message/rfc822 enclosure needs its own); otherwise the part is
//     text/plain without parameters.
//   - Parts of a multipart inherit the parent's Content-Transfer-Encoding and charset.
//   - A boundary matches any line that starts with "--" and the boundary, compared without
//     case; an outer boundary also ends inner multiparts.
//   - At most 300 parts are made; the rest of the message is then ignored, sizes included
//     (MaxParts). Nesting is bounded by the same limit.
//   - Lines are read in 8 KiB chunks; the start of a line longer than 1 KiB that crosses a
//     chunk border is counted but not looked at (Courier's rfc2045_parse_partial).
//
// Sizes are those IMAP reports: every line ending counts as CRLF. Courier stores messages with
// LF endings; a message stored with CRLF endings is treated exactly as the same message with LF
// endings (Courier itself would send such a message with CR CR LF line endings, which RFC 5322
// §2.3 forbids).
//
// Memory is bounded: bodies are never held, a line is looked at through a window of about
// 9 KiB, and the headers kept for each part are capped (MaxHeaderBytes).
package mime

import (
	"bytes"
	"strings"
)

// Limits of the parser. MaxParts is Courier's MAXPARTS.
const (
	MaxParts = 300
	// MaxHeaderBytes caps the header bytes kept in Part.Header for one part; MaxTotalHeaderBytes
	// for the whole message. Offsets and sizes are exact whatever the caps.
	MaxHeaderBytes      = 1 << 20
	MaxTotalHeaderBytes = 4 << 20
	// maxFieldAccum caps one MIME header field while it is being parsed (Courier has no limit;
	// nothing real comes close).
	maxFieldAccum = 256 << 10
)

// Param is one parameter of Content-Type or Content-Disposition. Name is lower-cased; Value is
// as Courier keeps it: tokens pasted together without the spaces and comments between them, a
// quoted string's inside with its backslashes, lower-cased for "charset". RFC 2231 parameters
// (name*0*=...) are kept as they are, as Courier does.
type Param struct {
	Name, Value string
}

// Field is one header field.
type Field struct {
	// Name is the text before the first colon, as written (no trimming, so "Subject " is not
	// "Subject"); a line without a colon has the whole line as Name and no value.
	Name string
	// Raw is the whole field: name, colon, value and the LF line breaks of any folding, without
	// the final line break. CRLF endings are stored as LF.
	Raw []byte
}

// Value returns the field's value: the raw text after the first colon, folding included.
func (f Field) Value() []byte {
	if i := bytes.IndexByte(f.Raw, ':'); i >= 0 {
		return f.Raw[i+1:]
	}
	return nil
}

// Header is a part's header, in order.
type Header struct {
	Fields []Field
	// Truncated is set when the header was larger than the caps and some fields are missing.
	Truncated bool
}

// Get returns the value of the first field with the given name (compared without case), with
// leading and trailing white space removed and folding line breaks taken out, or "".
func (h Header) Get(name string) string {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return unfold(f.Value())
		}
	}
	return ""
}

// Values returns the unfolded values of every field with the given name, in order.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, unfold(f.Value()))
		}
	}
	return out
}

// Has reports whether a field with the given name is present.
func (h Header) Has(name string) bool {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

func unfold(v []byte) string {
	s := string(bytes.ReplaceAll(v, []byte("\n"), nil))
	return strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && IsSpace(byte(r)) })
}

// Part is one MIME part; the root Part is the whole message.
//
// Offsets are into the stored message. Sizes and line counts are IMAP's (CRLF line endings)
// and follow Courier's arithmetic exactly, including its quirks: a part inside a multipart does
// not own the line break before the next boundary, and the last part of a message enclosed in a
// multipart is one byte short of its final CRLF.
type Part struct {
	// HeaderStart is where the part's header starts; [HeaderStart, BodyStart) is the header
	// including the blank line; [BodyStart, End) the body. A part without a header has
	// BodyStart == End.
	HeaderStart, BodyStart, End int64

	// Size is the whole part in IMAP's form (BODY[] of the message, or of an enclosed one).
	Size int64
	// HeaderSize and HeaderLines describe [HeaderStart, BodyStart); BodySize and BodyLines
	// [BodyStart, End), as IMAP sees them (the sizes in BODYSTRUCTURE).
	HeaderSize, HeaderLines int64
	BodySize, BodyLines     int64
	// Lines is HeaderLines + BodyLines.
	Lines int64

	// Header is the part's header, as stored (capped by MaxHeaderBytes).
	Header Header

	// ContentType is the lower-cased media type as Courier keeps it ("text/plain" when absent
	// or ignored); Type and Subtype are its halves as BODYSTRUCTURE prints them.
	ContentType   string
	Type, Subtype string
	// Params are the Content-Type parameters, in Courier's order (an inherited charset first,
	// a repeated parameter keeps its first place and its last value).
	Params []Param
	// Encoding is the lower-cased Content-Transfer-Encoding, inherited from a multipart parent,
	// "" when absent (IMAP then reports "8bit", see EncodingOrDefault).
	Encoding string
	// ID is the Content-ID address without its angle brackets.
	ID, Description, Language, Location, MD5, Base string
	// Disposition is the lower-cased Content-Disposition value, DispositionParams its
	// parameters.
	Disposition       string
	DispositionParams []Param
	// MIMEVersion is the MIME-Version value with comments removed ("" when absent).
	MIMEVersion string

	// Parts are the parts of a multipart (the preamble is not a part). Message is the message
	// enclosed in a message/rfc822 or message/global part.
	Parts   []*Part
	Message *Part
	// Parent is nil for the root and for nothing else.
	Parent *Part

	// Has8BitHeader is set when this part's header, or one inside it, has bytes above 127
	// (Courier's RFC2045_ERR8BITHEADER). Courier-IMAP warns a client that has not enabled
	// UTF-8 when it fetches such a message's content.
	Has8BitHeader bool
	// Has8BitBody is set when a body line inside this part has bytes above 127 although the
	// part does not declare 8bit encoding.
	Has8BitBody bool
	// TooComplex is set on the root when MaxParts was reached and the rest was ignored.
	TooComplex bool

	// Parse state, Courier's names in comments.
	children     []*Part // firstpart..lastpart, the preamble (isdummy) included
	isDummy      bool
	inHeader     bool // workinheader
	closed       bool // workclosed
	informData   bool // informdata
	hasCT        bool // content_type != NULL
	hasMV        bool // mime_version != NULL
	hasBoundary  bool // boundary != NULL
	boundary     string
	contentType  string
	contentTypeP []Param
	cte          string
	hasCTE       bool
	hdrAccum     []byte // header: the field being collected
	start        pos    // startpos
	startBody    pos    // startbody
	end, endBody pos    // endpos, endbody of the latest update of this part itself
	endSeq       uint64
	ownLines     int64 // lines counted at this part itself
	ownBodyLines int64
	numParts     int // root only: numparts
	hdrRaw       []byte
	hdrFull      bool
}

// pos is an offset in both the normalised (LF) message and the stored one.
type pos struct{ n, r int64 }

// IsMultipart reports whether BODYSTRUCTURE shows the part as a multipart: it has a boundary
// and at least one part after the preamble. A multipart whose boundary never appears is shown
// as a single part of type multipart, as Courier does.
func (p *Part) IsMultipart() bool { return len(p.Parts) > 0 }

// IsMessage reports whether the part encloses a message (message/rfc822 or message/global
// with MIME-Version).
func (p *Part) IsMessage() bool { return p.Message != nil }

// IsLeaf reports whether the part has neither parts nor an enclosed message, not even a
// multipart preamble (Courier's firstpart == NULL), which is what section numbers care about.
func (p *Part) IsLeaf() bool { return len(p.children) == 0 }

// EncodingOrDefault returns Encoding, or "8bit" when there is none, as Courier reports it.
func (p *Part) EncodingOrDefault() string {
	if p.Encoding == "" {
		return "8bit"
	}
	return p.Encoding
}

// Param returns the value of the named Content-Type parameter (lower-case name) and whether it
// is present.
func (p *Part) Param(name string) (string, bool) {
	for _, a := range p.Params {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Walk calls fn for p and every part inside it, depth first in section order (a message/rfc822
// part before the message it encloses). It stops at the first error and returns it.
func (p *Part) Walk(fn func(*Part) error) error {
	if err := fn(p); err != nil {
		return err
	}
	if p.Message != nil {
		if err := p.Message.Walk(fn); err != nil {
			return err
		}
	}
	for _, c := range p.Parts {
		if err := c.Walk(fn); err != nil {
			return err
		}
	}
	return nil
}
