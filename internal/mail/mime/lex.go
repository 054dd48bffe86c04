package mime

// This file holds an RFC 822 lexer that splits structured header values the way Courier's
// rfc822 library does, because every visible detail of BODYSTRUCTURE and ENVELOPE (which
// spaces survive, what a broken quoted string turns into) follows from its token stream.

// Token kinds. An atom is TokAtom; a quoted string is TokQuoted (Text is its inside, with
// backslashes still in it); a comment is TokComment (Text includes the parentheses); any other
// kind is the special character itself ('<', '@', ',', ';', ':', '.', '=', ...).
const (
	TokAtom    = 0
	TokQuoted  = '"'
	TokComment = '('
)

// Token is one lexical token of a structured header value.
type Token struct {
	Kind int    // TokAtom, TokQuoted, TokComment or a special character
	Text string // the token's text (see the Tok* constants)
	// Pos is the offset of Text in the tokenized string; the address parser needs it to merge
	// a run of tokens back into the original text, as Courier does for odd display names.
	Pos int
}

// IsAtomLike reports whether a token is an atom, a quoted string or a comment: two such tokens
// in a row are printed with a space between them.
func (t Token) IsAtomLike() bool {
	return t.Kind == TokAtom || t.Kind == TokQuoted || t.Kind == TokComment
}

// lexSpecials are the characters that end an atom.
const lexSpecials = "<>@,;:.[]()%!\"\\?=/"

// rfc822Specials are RFC 822's specials, which end an encoded word's scan.
const rfc822Specials = "()<>[]:;@\\,.\""

// IsSpace is C's isspace in the C locale, which Courier uses throughout.
func IsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isLexSpecial(c byte) bool {
	for i := 0; i < len(lexSpecials); i++ {
		if lexSpecials[i] == c {
			return true
		}
	}
	return false
}

func isRFC822Special(c byte) bool {
	for i := 0; i < len(rfc822Specials); i++ {
		if rfc822Specials[i] == c {
			return true
		}
	}
	return false
}

// Tokenize splits s into tokens. It never fails: stray ')' and '\' are dropped, an unclosed
// comment or quoted string ends the value (as a quoted string), and '<' inside angle brackets
// or '>' outside them is dropped, all as Courier does. An empty "<>" yields an empty atom
// between the brackets so that it parses as a null address.
func Tokenize(s string) []Token {
	var toks []Token
	inBracket := false
	p := 0
	for p < len(s) {
		c := s[p]
		if IsSpace(c) {
			p++
			continue
		}
		switch c {
		case '(':
			start := p
			level := 0
			for {
				if p >= len(s) {
					// Unclosed comment: what was read becomes a quoted string, and
					// tokenizing stops.
					return append(toks, Token{Kind: TokQuoted, Text: s[start:p], Pos: start})
				}
				if s[p] == '(' {
					level++
				}
				if s[p] == ')' {
					level--
					if level == 0 {
						p++
						break
					}
				}
				if s[p] == '\\' && p+1 < len(s) {
					p++
				}
				p++
			}
			toks = append(toks, Token{Kind: TokComment, Text: s[start:p], Pos: start})
			continue
		case '"':
			p++
			start := p
			for p < len(s) && s[p] != '"' {
				if s[p] == '\\' && p+1 < len(s) {
					p++
				}
				p++
			}
			toks = append(toks, Token{Kind: TokQuoted, Text: s[start:p], Pos: start})
			if p >= len(s) {
				return toks
			}
			p++
			continue
		case '\\', ')':
			p++
			continue
		case '=':
			if p+1 < len(s) && s[p+1] == '?' {
				// An RFC 2047 encoded word is one atom even though it holds specials.
				j := 2
				for ; p+j < len(s); j++ {
					if s[p+j] == '?' && p+j+1 < len(s) && s[p+j+1] == '=' {
						break
					}
					if s[p+j] == '?' || s[p+j] == '=' {
						continue
					}
					if isRFC822Special(s[p+j]) || IsSpace(s[p+j]) {
						break
					}
				}
				if p+j+1 < len(s) && s[p+j] == '?' && s[p+j+1] == '=' {
					j += 2
					toks = append(toks, Token{Kind: TokAtom, Text: s[p : p+j], Pos: p})
					p += j
					continue
				}
			}
		}
		if isLexSpecial(c) {
			if (c == '<' && inBracket) || (c == '>' && !inBracket) {
				p++
				continue
			}
			if c == '<' {
				inBracket = true
			}
			if c == '>' {
				inBracket = false
			}
			toks = append(toks, Token{Kind: int(c), Text: s[p : p+1], Pos: p})
			if c == '<' && p+1 < len(s) && s[p+1] == '>' {
				toks = append(toks, Token{Kind: TokAtom, Text: "", Pos: p + 1})
			}
			p++
			continue
		}
		start := p
		for p < len(s) && !IsSpace(s[p]) && !isLexSpecial(s[p]) {
			p++
		}
		toks = append(toks, Token{Kind: TokAtom, Text: s[start:p], Pos: start})
	}
	return toks
}

// PasteTokens joins tokens without spaces, dropping comments: atoms and the insides of quoted
// strings are copied as they are, specials as their character. Courier builds MIME types and
// parameter values this way, so "text / plain (x)" becomes "text/plain".
func PasteTokens(toks []Token) string {
	n := 0
	for _, t := range toks {
		n += len(t.Text)
	}
	b := make([]byte, 0, n)
	for _, t := range toks {
		switch t.Kind {
		case TokComment:
		case TokAtom, TokQuoted:
			b = append(b, t.Text...)
		default:
			b = append(b, byte(t.Kind))
		}
	}
	return string(b)
}

// PrintTokens is Courier's rfc822tok_print: tokens are printed back with a space between two
// atom-like tokens, quoted strings re-quoted (a '"' inside, or a lone trailing backslash, gets a
// backslash) and comments as they are.
func PrintTokens(dst []byte, toks []Token) []byte {
	prevAtom := false
	for _, t := range toks {
		isAtom := t.IsAtomLike()
		if prevAtom && isAtom {
			dst = append(dst, ' ')
		}
		switch t.Kind {
		case TokAtom, TokComment:
			dst = append(dst, t.Text...)
		case TokQuoted:
			dst = append(dst, '"')
			s := t.Text
			for i := 0; i < len(s); i++ {
				n := len(s) - i
				if s[i] == '"' || (s[i] == '\\' && n == 1) {
					dst = append(dst, '\\')
				}
				if s[i] == '\\' && n > 1 {
					dst = append(dst, '\\')
					i++
				}
				dst = append(dst, s[i])
			}
			dst = append(dst, '"')
		default:
			dst = append(dst, byte(t.Kind))
		}
		prevAtom = isAtom
	}
	return dst
}
