package esmtp

// Courier's module.esmtp limits (courier(8), queue.html): MAXDELS deliveries at once,
// MAXHOST connections at once to one host, MAXRCPT recipients per transaction. The file is
// Courier's NAME=value format; it is read when the transport starts (Courier also reads it
// only at start-up), and Options fields that are set take precedence over it.
//
// A "host" here is a peer address and port: what MAXHOST protects is the peer's capacity
// for connections, and two names can share one machine as one name can have several.
// Idle kept sessions count as connections: when a delivery needs a connection to a host
// whose slots are all taken, an idle session to that host (kept for other settings) is
// closed to make room, else the delivery waits for one to be released.

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"courier/internal/config/courierfmt"
)

// Courier's shipped module.esmtp values.
const (
	defaultMaxDels = 40
	defaultMaxHost = 4
	defaultMaxRcpt = 100
)

// moduleLimits are the values of module.esmtp (0: not set there).
type moduleLimits struct {
	maxDels, maxHost, maxRcpt int
}

// readModule reads DIR/module.esmtp. A missing file sets nothing; a bad value is logged
// with its file:line and ignored.
func readModule(dir string, log *slog.Logger) moduleLimits {
	var ml moduleLimits
	if dir == "" {
		return ml
	}
	f, err := courierfmt.LoadEnv(filepath.Join(dir, "module.esmtp"), nil)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("module.esmtp unreadable; Courier's defaults apply", "err", err)
		}
		return ml
	}
	for _, it := range []struct {
		name string
		p    *int
	}{{"MAXDELS", &ml.maxDels}, {"MAXHOST", &ml.maxHost}, {"MAXRCPT", &ml.maxRcpt}} {
		v, ok := f.Lookup(it.name)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v.Value))
		if err != nil || n <= 0 {
			log.Warn("module.esmtp: bad value ignored (want a positive number)", "at", v.Pos(), "name", it.name, "value", v.Value)
			continue
		}
		*it.p = n
	}
	return ml
}

// hostSlots counts the open connections per peer and makes deliveries wait for a free one.
type hostSlots struct {
	mu   sync.Mutex
	max  int
	open map[netip.AddrPort]int
	wake map[netip.AddrPort]chan struct{} // closed when a slot may have become free
}

func newHostSlots(max int) *hostSlots {
	return &hostSlots{max: max, open: map[netip.AddrPort]int{}, wake: map[netip.AddrPort]chan struct{}{}}
}

// tryAcquire takes a slot for a, or returns a channel closed when it is worth trying again.
func (h *hostSlots) tryAcquire(a netip.AddrPort) (bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open[a] < h.max {
		h.open[a]++
		return true, nil
	}
	ch := h.wake[a]
	if ch == nil {
		ch = make(chan struct{})
		h.wake[a] = ch
	}
	return false, ch
}

// release gives a slot back.
func (h *hostSlots) release(a netip.AddrPort) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open[a]--; h.open[a] <= 0 {
		delete(h.open, a)
	}
	h.signalLocked(a)
}

// signal wakes the deliveries waiting for a (a session to it went idle: one of them may
// take it).
func (h *hostSlots) signal(a netip.AddrPort) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signalLocked(a)
}

func (h *hostSlots) signalLocked(a netip.AddrPort) {
	if ch := h.wake[a]; ch != nil {
		close(ch)
		delete(h.wake, a)
	}
}

// delSlots bounds the deliveries in progress (MAXDELS).
type delSlots chan struct{}

// acquire waits for a delivery slot; false when ctx ended first.
func (d delSlots) acquire(ctx context.Context) bool {
	select {
	case d <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (d delSlots) release() { <-d }

// ModuleMaxDels returns module.esmtp's MAXDELS in configDir (Courier's 40 when unset), so
// the queue can run enough workers for the transport to reach it.
func ModuleMaxDels(configDir string, log *slog.Logger) int {
	if n := readModule(configDir, log).maxDels; n > 0 {
		return n
	}
	return defaultMaxDels
}
