package mime

import "bytes"

// doHeader interprets one complete MIME header field of p (Courier's do_header). Fields that do
// not start with an atom and a colon are ignored.
func (ps *parser) doHeader(p *Part) {
	if len(p.hdrAccum) == 0 {
		return
	}
	s := string(p.hdrAccum)
	toks := Tokenize(s)
	if len(toks) < 2 || toks[0].Kind != TokAtom || toks[1].Kind != ':' {
		return
	}
	switch lower(toks[0].Text) {
	case "mime-version":
		p.MIMEVersion, p.hasMV = PasteTokens(toks[2:]), true
	case "content-type":
		parseContentHeader(toks, 2, func(t string) {
			p.contentType, p.hasCT = t, true
		}, func(name string, val []Token) {
			v := PasteTokens(val)
			if name == "charset" {
				v = lower(v)
			}
			p.contentTypeP = paramSet(p.contentTypeP, name, v)
			if name == "boundary" {
				p.boundary, p.hasBoundary = lower(PasteTokens(val)), true
			}
		})
	case "content-transfer-encoding":
		p.cte, p.hasCTE = lower(PasteTokens(toks[2:])), true
	case "content-disposition":
		parseContentHeader(toks, 2, func(t string) {
			p.Disposition = t
		}, func(name string, val []Token) {
			p.DispositionParams = paramSet(p.DispositionParams, name, PasteTokens(val))
		})
	case "content-id":
		// Courier reads the whole field as an address list; the first real address wins.
		for _, a := range ParseAddresses(s) {
			if a.Tokens != nil {
				p.ID = string(PrintTokens(nil, a.Tokens))
				break
			}
		}
	case "content-description":
		if v := rawValue(s); v != "" {
			p.Description = v
		}
	case "content-language":
		if v := rawValue(s); v != "" {
			p.Language = v
		}
	case "content-md5":
		if v := rawValue(s); v != "" {
			p.MD5 = v
		}
	case "content-base":
		p.Base = pasteUnquoted(toks[2:])
	case "content-location":
		p.Location = pasteUnquoted(toks[2:])
	}
}

// rawValue returns what follows the first colon, without leading white space.
func rawValue(s string) string {
	i := bytes.IndexByte([]byte(s), ':')
	if i < 0 {
		return ""
	}
	s = s[i+1:]
	for len(s) > 0 && IsSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// pasteUnquoted pastes tokens with quoted strings taken as atoms (Content-Base, -Location).
func pasteUnquoted(toks []Token) string {
	t := make([]Token, len(toks))
	copy(t, toks)
	for i := range t {
		if t[i].Kind == TokQuoted {
			t[i].Kind = TokAtom
		}
	}
	return PasteTokens(t)
}

// parseContentHeader splits "type; name=value; ..." from token start on (Courier's
// parse_content_header): everything before the first ';' is the lower-cased type; each later
// segment counts only if its first token (a comment may follow) is followed by '='.
func parseContentHeader(toks []Token, start int, onType func(string), onParam func(string, []Token)) {
	i := start
	for i < len(toks) && toks[i].Kind != ';' {
		i++
	}
	onType(lower(PasteTokens(toks[start:i])))
	if i < len(toks) {
		i++
	}
	start = i
	for start < len(toks) {
		i = start
		for i < len(toks) && toks[i].Kind != ';' {
			i++
		}
		j := start
		if j < i {
			j++
			for j < i && toks[j].Kind == TokComment {
				j++
			}
			if j < i && toks[j].Kind == '=' {
				j++
				onParam(lower(PasteTokens(toks[start:start+1])), toks[j:i])
			}
		}
		if i < len(toks) {
			i++
		}
		start = i
	}
}

// paramSet sets a parameter: a known name keeps its place and takes the new value.
func paramSet(ps []Param, name, value string) []Param {
	for i := range ps {
		if ps[i].Name == name {
			ps[i].Value = value
			return ps
		}
	}
	return append(ps, Param{Name: name, Value: value})
}

func paramGet(ps []Param, name string) (string, bool) {
	for _, a := range ps {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}
