package auth

import (
	"strings"
	"sync"
	"time"
)

// ThrottleConfig sets the failed-login policy. Zero fields take the defaults
// shown.
type ThrottleConfig struct {
	FreeFailures int           // failures without delay (3)
	BaseDelay    time.Duration // delay after the first counted failure, doubling (1s)
	MaxDelay     time.Duration // largest delay (16s)
	LockoutAfter int           // failures after which logins are refused (10)
	LockoutFor   time.Duration // how long the refusal lasts (5m)
	Window       time.Duration // a key with no failure for this long is forgotten (15m)
	MaxEntries   int           // memory bound; the oldest keys go first (100000)
}

func (c ThrottleConfig) withDefaults() ThrottleConfig {
	if c.FreeFailures <= 0 {
		c.FreeFailures = 3
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 16 * time.Second
	}
	if c.LockoutAfter <= 0 {
		c.LockoutAfter = 10
	}
	if c.LockoutFor <= 0 {
		c.LockoutFor = 5 * time.Minute
	}
	if c.Window <= 0 {
		c.Window = 15 * time.Minute
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 100000
	}
	return c
}

// throttleEntry counts the failures of one remote address or one account.
type throttleEntry struct {
	failures    int
	last        time.Time
	lockedUntil time.Time
}

// Throttle slows down and then refuses repeated failed logins, counted both
// per remote address and per account, so neither one address trying many
// accounts nor many addresses trying one account gets far. It is safe for
// concurrent use by every protocol server. The clock is injected.
//
// Use: d, err := t.Check(ip, user); if err != nil answer a temporary
// failure; else wait d, authenticate, then call Failure or Success.
type Throttle struct {
	cfg ThrottleConfig
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*throttleEntry
}

// NewThrottle makes a Throttle; now nil means time.Now.
func NewThrottle(cfg ThrottleConfig, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{cfg: cfg.withDefaults(), now: now, entries: map[string]*throttleEntry{}}
}

// keys returns the counters an attempt touches.
func throttleKeys(ip, user string) []string {
	var k []string
	if ip != "" {
		k = append(k, "ip\x00"+ip)
	}
	if user != "" {
		if len(user) > MaxUserLen {
			user = user[:MaxUserLen]
		}
		k = append(k, "user\x00"+strings.ToLower(user))
	}
	return k
}

// get returns the live entry for key, dropping an expired one.
func (t *Throttle) get(key string, now time.Time) *throttleEntry {
	e := t.entries[key]
	if e != nil && now.Sub(e.last) > t.cfg.Window && now.After(e.lockedUntil) {
		delete(t.entries, key)
		return nil
	}
	return e
}

// delayFor is the delay after n failures.
func (t *Throttle) delayFor(n int) time.Duration {
	if n < t.cfg.FreeFailures {
		return 0
	}
	d := t.cfg.BaseDelay
	for i := t.cfg.FreeFailures; i < n && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// Check says how long to wait before trying this login, or ErrThrottled if
// the address or the account is locked out.
func (t *Throttle) Check(ip, user string) (time.Duration, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var d time.Duration
	for _, k := range throttleKeys(ip, user) {
		e := t.get(k, now)
		if e == nil {
			continue
		}
		if now.Before(e.lockedUntil) {
			return 0, ErrThrottled
		}
		d = max(d, t.delayFor(e.failures))
	}
	return d, nil
}

// Failure records a failed login.
func (t *Throttle) Failure(ip, user string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range throttleKeys(ip, user) {
		e := t.get(k, now)
		if e == nil {
			if len(t.entries) >= t.cfg.MaxEntries {
				t.evict(now)
			}
			e = &throttleEntry{}
			t.entries[k] = e
		}
		e.failures++
		e.last = now
		if e.failures >= t.cfg.LockoutAfter {
			e.lockedUntil = now.Add(t.cfg.LockoutFor)
			e.failures = t.cfg.FreeFailures // after the lockout, delays resume from the start
		}
	}
}

// Success forgets the account's failures (not the address's: one good
// account must not wash an address that guesses at others).
func (t *Throttle) Success(ip, user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if user != "" {
		delete(t.entries, throttleKeys("", user)[0])
	}
}

// evict drops expired entries, then the oldest tenth if still full.
func (t *Throttle) evict(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.last) > t.cfg.Window && now.After(e.lockedUntil) {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < t.cfg.MaxEntries {
		return
	}
	cutoff := now
	n := 0
	for _, e := range t.entries {
		if n == 0 || e.last.Before(cutoff) {
			cutoff = e.last
		}
		n++
	}
	// Remove entries at or near the oldest time until a tenth is gone.
	target := len(t.entries) - t.cfg.MaxEntries*9/10
	for k, e := range t.entries {
		if target <= 0 {
			break
		}
		if !e.last.After(cutoff.Add(t.cfg.Window/10)) || now.After(e.lockedUntil) {
			delete(t.entries, k)
			target--
		}
	}
}

// Len returns the number of tracked keys (for metrics and tests).
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
