//go:build lean

package maildrop

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// pcreHelper is the `courier maildrop-pcre` process this lean binary sends the patterns Go's
// regexp cannot take to; started on first need, it lives until this process exits (its
// standard input then ends and so does it).
var pcreHelper struct {
	sync.Mutex
	started bool
	err     error
	w       *bufio.Writer
	r       *bufio.Reader
}

// helperBinary is the full courier binary that runs PCRE patterns for the lean build: the
// `courier` beside this executable.
func helperBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(self), "courier")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("this pattern needs %s (the full courier binary), which is missing: %w", bin, err)
	}
	return bin, nil
}

func askPCRE(q *pcreRequest) ([][]string, error) {
	h := &pcreHelper
	h.Lock()
	defer h.Unlock()
	if !h.started {
		h.started = true
		h.err = func() error {
			bin, err := helperBinary()
			if err != nil {
				return err
			}
			cmd := exec.Command(bin, "maildrop-pcre")
			cmd.Stderr = os.Stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				return err
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				return err
			}
			if err := cmd.Start(); err != nil {
				return fmt.Errorf("starting %s maildrop-pcre: %w", bin, err)
			}
			h.w, h.r = bufio.NewWriter(in), bufio.NewReader(out)
			return nil
		}()
	}
	if h.err != nil {
		return nil, h.err
	}
	if err := writeRequest(h.w, q); err != nil {
		h.err = fmt.Errorf("maildrop-pcre: %w", err)
		return nil, h.err
	}
	ms, err := readAnswer(h.r)
	if err != nil && !errors.Is(err, errBadPattern) && !errors.Is(err, errMatchTimeout) {
		h.err = fmt.Errorf("maildrop-pcre: %w", err)
	}
	return ms, err
}

// compilePCRE has the helper compile the pattern, so that a bad one is reported here.
func compilePCRE(src string, icase bool, timeout time.Duration) (matcher, error) {
	if _, err := askPCRE(&pcreRequest{op: 'C', icase: icase, timeout: timeout, pattern: src}); err != nil {
		return nil, err
	}
	return remoteMatcher{src, icase, timeout}, nil
}

type remoteMatcher struct {
	src     string
	icase   bool
	timeout time.Duration
}

func (m remoteMatcher) first(s string) ([]string, error) {
	ms, err := askPCRE(&pcreRequest{op: 'F', icase: m.icase, timeout: m.timeout, pattern: m.src, text: s})
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[0], nil
}

func (m remoteMatcher) all(s string, max int) ([][]string, error) {
	return askPCRE(&pcreRequest{op: 'A', icase: m.icase, timeout: m.timeout, max: max, pattern: m.src, text: s})
}
