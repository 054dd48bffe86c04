//go:build !lean

package maildrop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// compilePCRE compiles a pattern that Go's regexp cannot take on regexp2, after pcre.go's
// rewriting of the bracket forms it reads differently, with a time limit per match.
func compilePCRE(src string, icase bool, timeout time.Duration) (matcher, error) {
	tr, err := pcreToRegexp2(src)
	if err != nil {
		return nil, badPattern(err)
	}
	opt := regexp2.None
	if icase {
		opt |= regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(tr, opt)
	if err != nil {
		return nil, badPattern(err)
	}
	re.MatchTimeout = timeout
	return pcreMatcher{re}, nil
}

type pcreMatcher struct{ re *regexp2.Regexp }

func groupStrings(m *regexp2.Match) []string {
	gs := m.Groups()
	out := make([]string, len(gs))
	for i := range gs {
		// An unmatched group has no captures; regexp2's String panics on one.
		if len(gs[i].Captures) > 0 {
			out[i] = gs[i].String()
		}
	}
	return out
}

func (p pcreMatcher) first(s string) ([]string, error) {
	m, err := p.re.FindStringMatch(s)
	if err != nil {
		return nil, errMatchTimeout
	}
	if m == nil {
		return nil, nil
	}
	return groupStrings(m), nil
}

func (p pcreMatcher) all(s string, max int) ([][]string, error) {
	var out [][]string
	m, err := p.re.FindStringMatch(s)
	for m != nil && err == nil && len(out) < max {
		out = append(out, groupStrings(m))
		m, err = p.re.FindNextMatch(m)
	}
	if err != nil {
		return out, errMatchTimeout
	}
	return out, nil
}

// ServePCRE answers pattern requests from the lean courier-mda (pattern_proto.go) until r
// ends: the PCRE half of its patterns runs here, in the full binary.
func ServePCRE(r io.Reader, w io.Writer) error {
	br, bw := bufio.NewReader(r), bufio.NewWriter(w)
	type key struct {
		src     string
		icase   bool
		timeout time.Duration
	}
	cache := map[key]matcher{}
	for {
		q, err := readRequest(br)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("maildrop-pcre: request: %w", err)
		}
		if q.timeout <= 0 || q.timeout > time.Minute {
			q.timeout = DefaultMatchTimeout
		}
		k := key{q.pattern, q.icase, q.timeout}
		m := cache[k]
		if m == nil {
			m, err = compilePCRE(q.pattern, q.icase, q.timeout)
			if err != nil {
				bw.WriteByte('E') //nolint:errcheck
				putString(bw, strings.TrimPrefix(err.Error(), errBadPattern.Error()+": "))
				if err := bw.Flush(); err != nil {
					return err
				}
				continue
			}
			if len(cache) > maxSharedRegexps {
				clear(cache)
			}
			cache[k] = m
		}
		var ms [][]string
		switch q.op {
		case 'C':
		case 'F':
			var g []string
			if g, err = m.first(q.text); g != nil {
				ms = [][]string{g}
			}
		case 'A':
			ms, err = m.all(q.text, q.max)
		default:
			return fmt.Errorf("maildrop-pcre: unknown operation %q", q.op)
		}
		if err != nil {
			bw.WriteByte('T') //nolint:errcheck
			if err := bw.Flush(); err != nil {
				return err
			}
			continue
		}
		if err := writeMatches(bw, ms); err != nil {
			return err
		}
	}
}
