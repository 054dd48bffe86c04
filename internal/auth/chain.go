package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MaxUserLen bounds a login name; longer names are refused before any module
// sees them.
const MaxUserLen = 512

// Chain tries its modules in authmodulelist order, as authdaemond does: a
// rejection (no such user, wrong password, not supported) moves on to the
// next module, a temporary failure stops the chain. DefaultOptions
// (DEFAULTOPTIONS) are merged into every account returned.
type Chain struct {
	Modules        []Module
	DefaultOptions Options
}

// NewChain builds a chain.
func NewChain(defaults Options, modules ...Module) *Chain {
	return &Chain{Modules: modules, DefaultOptions: defaults}
}

// Name is "chain"; a Chain is itself a Module.
func (c *Chain) Name() string { return "chain" }

// ValidUser reports whether a login name can name an account at all: not
// empty, not over MaxUserLen, no control characters (NUL, CR, LF, TAB) that
// would break the line-based formats behind the modules.
func ValidUser(user string) bool {
	if user == "" || len(user) > MaxUserLen {
		return false
	}
	for i := 0; i < len(user); i++ {
		if user[i] < 0x20 || user[i] == 0x7f {
			return false
		}
	}
	return true
}

// finish decorates a module's account.
func (c *Chain) finish(m Module, a *Account) *Account {
	a.Options = a.Options.Merge(c.DefaultOptions)
	if a.Module == "" {
		a.Module = m.Name()
	}
	return a
}

// stop reports whether a module error ends the chain (anything that is not a
// rejection), and returns the error to give the caller.
func stop(m Module, err error) (bool, error) {
	if IsReject(err) {
		return false, nil
	}
	if errors.Is(err, ErrTempFail) {
		return true, fmt.Errorf("%s: %w", m.Name(), err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true, fmt.Errorf("%s: %v: %w", m.Name(), err, ErrTempFail)
	}
	return true, fmt.Errorf("%s: %v: %w", m.Name(), err, ErrTempFail)
}

// Lookup implements Module (authlib PRE).
func (c *Chain) Lookup(ctx context.Context, service, user string) (*Account, error) {
	if !ValidUser(user) {
		return nil, wrapf(ErrNoUser, "lookup %.64q", user)
	}
	for _, m := range c.Modules {
		a, err := m.Lookup(ctx, service, user)
		if err == nil {
			return c.finish(m, a), nil
		}
		if s, e := stop(m, err); s {
			return nil, e
		}
	}
	return nil, wrapf(ErrNoUser, "lookup %.64q", user)
}

// Authenticate implements Module. The result is ErrBadPassword when some
// module knew the user, ErrNoUser otherwise; both are the same FAIL on the
// wire, the difference is for logs and the throttle.
func (c *Chain) Authenticate(ctx context.Context, req *Request) (*Account, error) {
	if !ValidUser(req.User) {
		return nil, wrapf(ErrNoUser, "authenticate %.64q", req.User)
	}
	bad := false
	for _, m := range c.Modules {
		a, err := m.Authenticate(ctx, req)
		if err == nil {
			return c.finish(m, a), nil
		}
		if errors.Is(err, ErrBadPassword) {
			bad = true
		}
		if s, e := stop(m, err); s {
			return nil, e
		}
	}
	if bad {
		return nil, wrapf(ErrBadPassword, "authenticate %.64q", req.User)
	}
	return nil, wrapf(ErrNoUser, "authenticate %.64q", req.User)
}

// ChangePassword implements Module: the first module that knows the user and
// supports changes does it.
func (c *Chain) ChangePassword(ctx context.Context, service, user, oldPassword, newPassword string) error {
	if !ValidUser(user) || strings.ContainsAny(newPassword, "\x00\n\r\t|") {
		return wrapf(ErrNoUser, "change password %.64q", user)
	}
	bad := false
	for _, m := range c.Modules {
		err := m.ChangePassword(ctx, service, user, oldPassword, newPassword)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrBadPassword) {
			bad = true
		}
		if s, e := stop(m, err); s {
			return e
		}
	}
	if bad {
		return wrapf(ErrBadPassword, "change password %.64q", user)
	}
	return wrapf(ErrNoUser, "change password %.64q", user)
}

// Enumerate implements Module: every module's accounts in chain order.
func (c *Chain) Enumerate(ctx context.Context, fn func(*Account) error) error {
	for _, m := range c.Modules {
		err := m.Enumerate(ctx, func(a *Account) error { return fn(c.finish(m, a)) })
		if err != nil && !errors.Is(err, ErrNotSupported) {
			return fmt.Errorf("enumerate %s: %w", m.Name(), err)
		}
	}
	return nil
}

// Capabilities is the union of the modules' capabilities.
func (c *Chain) Capabilities() Capabilities {
	out := Capabilities{CRAM: map[Mechanism]bool{}}
	for _, m := range c.Modules {
		r, ok := m.(CapabilityReporter)
		if !ok {
			continue
		}
		mc := r.Capabilities()
		for k, v := range mc.CRAM {
			if v {
				out.CRAM[k] = true
			}
		}
		out.SCRAM = out.SCRAM || mc.SCRAM
	}
	return out
}

// SCRAMSHA256 implements SCRAMSource with the first module that has
// credentials for user.
func (c *Chain) SCRAMSHA256(ctx context.Context, service, user string) (SCRAMCredentials, bool, error) {
	if !ValidUser(user) {
		return SCRAMCredentials{}, false, nil
	}
	for _, m := range c.Modules {
		s, ok := m.(SCRAMSource)
		if !ok {
			continue
		}
		cred, found, err := s.SCRAMSHA256(ctx, service, user)
		if err != nil {
			if st, e := stop(m, err); st {
				return SCRAMCredentials{}, false, e
			}
			continue
		}
		if found {
			return cred, true, nil
		}
	}
	return SCRAMCredentials{}, false, nil
}

var (
	_ Module             = (*Chain)(nil)
	_ CapabilityReporter = (*Chain)(nil)
	_ SCRAMSource        = (*Chain)(nil)
)
