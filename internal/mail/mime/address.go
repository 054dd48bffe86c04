package mime

// Address is one element of an address list as Courier's rfc822 library splits it. A real
// address has Tokens (the addr-spec, or whatever stood between angle brackets) and maybe Name
// (the display name: a phrase, a quoted string, or the last comment of an old-style
// "addr (Name)" address). An element without Tokens is group syntax: a "name:" group start,
// a ";" group end or a lone comment.
type Address struct {
	Tokens []Token
	Name   []Token
}

// ParseAddresses splits an address list the way Courier does. It never fails; anything
// unparsable becomes some address or is skipped, as in Courier: two atoms in a row end an
// old-style address ("john doe@x" is "john" and "doe@x"), a display name that is not only atoms
// is kept as the raw text between its first and last token, and a comment in a display name
// is kept with its parentheses.
func ParseAddresses(s string) []Address {
	all := Tokenize(s)
	// Courier rescans the rest of the list for every address, which is quadratic; the next
	// non-word token and the next ',', ';' or '<' after each position are found once instead.
	// (Tokens before the current position get rewritten, never those after it.)
	nextNonWord := make([]int, len(all)+1)
	nextSep := make([]int, len(all)+1)
	nextNonWord[len(all)], nextSep[len(all)] = len(all), len(all)
	for k := len(all) - 1; k >= 0; k-- {
		nextNonWord[k], nextSep[k] = k, k
		if all[k].Kind == TokAtom || all[k].Kind == TokQuoted {
			nextNonWord[k] = nextNonWord[k+1]
		}
		if all[k].Kind != ';' && all[k].Kind != ',' && all[k].Kind != '<' {
			nextSep[k] = nextSep[k+1]
		}
	}
	toks := all
	var out []Address
	for len(toks) > 0 {
		base := len(all) - len(toks)
		i := nextNonWord[base] - base
		if i < len(toks) && toks[i].Kind == ':' {
			i++
			out = append(out, Address{Name: toks[:i:i]})
			toks = toks[i:]
			continue
		}
		if toks[0].Kind == ',' || toks[0].Kind == ';' {
			if toks[0].Kind == ';' {
				out = append(out, Address{Name: toks[:1:1]})
			}
			toks = toks[1:]
			continue
		}
		i = nextSep[base] - base
		if i < len(toks) && toks[i].Kind == '<' {
			j := 0
			for j < i && (toks[j].Kind == TokAtom || toks[j].Kind == TokComment) {
				j++
			}
			var name []Token
			if j == i {
				if i > 0 {
					name = toks[:i:i]
				}
			} else {
				// Not only atoms: Courier takes the text from the first token to the end of
				// the last one as one quoted string.
				first, last := toks[0], toks[i-1]
				end := last.Pos + len(last.Text)
				text := ""
				if end >= first.Pos && end <= len(s) {
					text = s[first.Pos:end]
				}
				toks[0] = Token{Kind: TokQuoted, Text: text, Pos: first.Pos}
				name = toks[:1:1]
			}
			for k := range name {
				if name[k].Kind == TokComment {
					name[k].Kind = TokQuoted
				}
			}
			toks = toks[i+1:]
			i = 0
			for i < len(toks) && toks[i].Kind != '>' {
				i++
			}
			a := Address{Name: name}
			if i > 0 {
				a.Tokens = toks[:i:i]
			}
			out = append(out, a)
			toks = toks[i:]
			if len(toks) > 0 {
				toks = toks[1:]
			}
			continue
		}
		// Old-style address: it ends at a comma, a semicolon or a second atom in a row.
		flag := false
		i = 0
		for ; i < len(toks) && toks[i].Kind != ',' && toks[i].Kind != ';'; i++ {
			if toks[i].Kind == TokComment {
				continue
			}
			if toks[i].Kind == TokAtom || toks[i].Kind == TokQuoted {
				if flag {
					break
				}
				flag = true
			} else {
				flag = false
			}
		}
		if i == 0 {
			toks = toks[1:]
			continue
		}
		var a Address
		var comment Token
		found := false
		k := 0
		for j := 0; j < i; j++ {
			if toks[j].Kind == TokComment {
				comment, found = toks[j], true
				continue
			}
			toks[k] = toks[j]
			k++
		}
		if found {
			toks[i-1] = comment
			a.Name = toks[i-1 : i : i]
		}
		if k > 0 {
			a.Tokens = toks[:k:k]
		}
		out = append(out, a)
		toks = toks[i:]
	}
	return out
}
