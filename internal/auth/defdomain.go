package auth

import (
	"context"
	"path/filepath"
	"strings"
)

// WithDefDomain returns m with DEFDOMAIN applied: a login name that does not contain the
// domain's first character (normally "@") gets the domain appended, as Courier's login
// programs do. An empty domain returns m itself.
func WithDefDomain(m Module, domain string) Module {
	if domain == "" || m == nil {
		return m
	}
	return defDomain{m, domain}
}

// defDomain appends DEFDOMAIN to login names that do not carry its first character.
type defDomain struct {
	Module
	dom string
}

func (d defDomain) name(user string) string {
	if user == "" || strings.Contains(user, d.dom[:1]) {
		return user
	}
	return user + d.dom
}

// Lookup implements Module.
func (d defDomain) Lookup(ctx context.Context, service, user string) (*Account, error) {
	return d.Module.Lookup(ctx, service, d.name(user))
}

// Authenticate implements Module.
func (d defDomain) Authenticate(ctx context.Context, req *Request) (*Account, error) {
	r := *req
	r.User = d.name(req.User)
	return d.Module.Authenticate(ctx, &r)
}

// Capabilities implements CapabilityReporter.
func (d defDomain) Capabilities() Capabilities {
	if r, ok := d.Module.(CapabilityReporter); ok {
		return r.Capabilities()
	}
	return Capabilities{}
}

// SCRAMSHA256 implements SCRAMSource.
func (d defDomain) SCRAMSHA256(ctx context.Context, service, user string) (SCRAMCredentials, bool, error) {
	if s, ok := d.Module.(SCRAMSource); ok {
		return s.SCRAMSHA256(ctx, service, d.name(user))
	}
	return SCRAMCredentials{}, false, nil
}

// MaildirIn is the account's Maildir as Courier's servers find it: MAILDIR from the account
// (relative to HOME when not absolute), else HOME/sub (MAILDIRPATH; "Maildir" when empty).
// It is "" when the account has neither.
func (a *Account) MaildirIn(sub string) string {
	if a.Maildir != "" {
		if filepath.IsAbs(a.Maildir) || a.Home == "" {
			return a.Maildir
		}
		return filepath.Join(a.Home, a.Maildir)
	}
	if a.Home == "" {
		return ""
	}
	if sub == "" {
		sub = "Maildir"
	}
	return filepath.Join(a.Home, sub)
}
