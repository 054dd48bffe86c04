// Package sasl implements the server side of the SASL mechanisms Courier's
// servers offer, over a protocol-neutral step API: PLAIN (RFC 4616), LOGIN,
// CRAM-MD5 (RFC 2195) and its SHA-1 and SHA-256 variants, SCRAM-SHA-256 and
// SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677, channel binding tls-exporter
// RFC 9266 or tls-unique RFC 5929), and EXTERNAL (RFC 4422 appendix A).
//
// The protocol layer decodes and encodes base64 and frames the exchange;
// this package sees raw bytes. A Server is one exchange; it is not safe for
// concurrent use.
package sasl

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xdg-go/scram"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
)

// Errors a step can return. Authentication failures wrap ErrAuthFailed and
// the auth sentinel (auth.ErrBadPassword, auth.ErrNoUser, auth.ErrTempFail,
// auth.ErrDisabled), so protocol servers can answer NO or a temporary
// failure accordingly.
var (
	ErrUnknownMechanism = errors.New("sasl: unknown or unavailable mechanism")
	ErrMalformed        = errors.New("sasl: malformed client message")
	ErrAuthFailed       = errors.New("sasl: authentication failed")
	ErrSequence         = errors.New("sasl: step out of sequence")
)

// Mechanism names.
const (
	Plain          = "PLAIN"
	Login          = "LOGIN"
	CRAMMD5        = "CRAM-MD5"
	CRAMSHA1       = "CRAM-SHA1"
	CRAMSHA256     = "CRAM-SHA256"
	SCRAMSHA256    = "SCRAM-SHA-256"
	SCRAMSHA256Pls = "SCRAM-SHA-256-PLUS"
	External       = "EXTERNAL"
)

// Config is what the server knows about the connection.
type Config struct {
	Auth     auth.Module // normally an *auth.Chain
	Service  string      // "imap", "pop3", "esmtp", "webmail"
	RemoteIP string
	// TLS is the connection state, nil without TLS.
	TLS *tls.ConnectionState
	// AllowPlaintext offers PLAIN and LOGIN without TLS.
	AllowPlaintext bool
	// ExternalIdentity is the identity established outside SASL (a
	// verified client certificate); empty disables EXTERNAL.
	ExternalIdentity string
	// Hostname goes into CRAM challenges.
	Hostname string
}

// Server runs one SASL exchange.
type Server struct {
	cfg     Config
	mech    string
	step    int
	done    bool
	account *auth.Account
	user    string     // LOGIN: user name given
	chal    []byte     // CRAM: challenge sent
	conv    *scramConv // SCRAM state
}

// scramConv wraps the library conversation and what the lookup found.
type scramConv struct {
	c     *scram.ServerConversation
	found bool
	err   error
}

// New starts a server for one exchange.
func New(cfg Config) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	return &Server{cfg: cfg}
}

// Account returns the authenticated account after a successful exchange.
func (s *Server) Account() *auth.Account {
	if !s.done {
		return nil
	}
	return s.account
}

// Mechanism returns the mechanism in use.
func (s *Server) Mechanism() string { return s.mech }

// capabilities asks the module what it can verify.
func (s *Server) capabilities() auth.Capabilities {
	if r, ok := s.cfg.Auth.(auth.CapabilityReporter); ok {
		return r.Capabilities()
	}
	return auth.Capabilities{}
}

// channelBinding returns the binding for the TLS connection, if any.
func (s *Server) channelBinding() (scram.ChannelBinding, bool) {
	cs := s.cfg.TLS
	if cs == nil {
		return scram.ChannelBinding{}, false
	}
	if cs.Version >= tls.VersionTLS13 {
		cb, err := scram.NewTLSExporterBinding(cs)
		return cb, err == nil
	}
	if len(cs.TLSUnique) > 0 {
		return scram.NewTLSUniqueBinding(cs.TLSUnique), true
	}
	return scram.ChannelBinding{}, false
}

// Mechanisms lists what this connection may use, strongest first: only
// mechanisms the module can verify, PLAIN and LOGIN only with TLS (or
// AllowPlaintext), -PLUS only with a channel binding.
func (s *Server) Mechanisms() []string {
	var out []string
	caps := s.capabilities()
	if caps.SCRAM {
		if _, ok := s.channelBinding(); ok {
			out = append(out, SCRAMSHA256Pls)
		}
		out = append(out, SCRAMSHA256)
	}
	for _, m := range []struct {
		name string
		mech auth.Mechanism
	}{{CRAMSHA256, auth.MechCRAMSHA256}, {CRAMSHA1, auth.MechCRAMSHA1}, {CRAMMD5, auth.MechCRAMMD5}} {
		if caps.CRAM[m.mech] {
			out = append(out, m.name)
		}
	}
	if s.cfg.TLS != nil || s.cfg.AllowPlaintext {
		out = append(out, Plain, Login)
	}
	if s.cfg.ExternalIdentity != "" {
		out = append(out, External)
	}
	return out
}

// offered reports whether mech is in Mechanisms.
func (s *Server) offered(mech string) bool {
	for _, m := range s.Mechanisms() {
		if m == mech {
			return true
		}
	}
	return false
}

// Start begins an exchange. initial is the initial response (nil if the
// client sent none; an empty non-nil slice is an empty one). It returns the
// next challenge, or done=true when the exchange has finished successfully.
func (s *Server) Start(ctx context.Context, mech string, initial []byte) (challenge []byte, done bool, err error) {
	if s.mech != "" {
		return nil, false, ErrSequence
	}
	mech = strings.ToUpper(mech)
	if !s.offered(mech) {
		return nil, false, fmt.Errorf("%w: %.32q", ErrUnknownMechanism, mech)
	}
	s.mech = mech
	switch mech {
	case Plain, External:
		if initial == nil {
			return []byte{}, false, nil
		}
		return s.Next(ctx, initial)
	case Login:
		if initial == nil {
			s.step = 0
			return []byte("Username:"), false, nil
		}
		s.step = 0
		return s.Next(ctx, initial)
	case CRAMMD5, CRAMSHA1, CRAMSHA256:
		var n [8]byte
		if _, err := rand.Read(n[:]); err != nil {
			return nil, false, fmt.Errorf("sasl: random challenge: %w", err)
		}
		s.chal = fmt.Appendf(nil, "<%s.%d@%s>", hex.EncodeToString(n[:]), time.Now().Unix(), s.cfg.Hostname)
		return s.chal, false, nil
	case SCRAMSHA256, SCRAMSHA256Pls:
		if err := s.startSCRAM(ctx); err != nil {
			return nil, false, err
		}
		if initial == nil {
			return []byte{}, false, nil
		}
		return s.Next(ctx, initial)
	}
	return nil, false, fmt.Errorf("%w: %.32q", ErrUnknownMechanism, mech)
}

// Next feeds the client's response to the last challenge.
func (s *Server) Next(ctx context.Context, resp []byte) (challenge []byte, done bool, err error) {
	if s.mech == "" || s.done {
		return nil, false, ErrSequence
	}
	switch s.mech {
	case Plain:
		parts := strings.Split(string(resp), "\x00")
		if len(parts) != 3 || parts[1] == "" {
			return nil, false, fmt.Errorf("%w: PLAIN needs authzid NUL authcid NUL password", ErrMalformed)
		}
		if parts[0] != "" && parts[0] != parts[1] {
			return nil, false, fmt.Errorf("%w: PLAIN authorization identity differs: %w", ErrAuthFailed, auth.ErrNoUser)
		}
		return s.login(ctx, parts[1], parts[2])
	case Login:
		if s.step == 0 {
			s.user = string(resp)
			s.step = 1
			return []byte("Password:"), false, nil
		}
		return s.login(ctx, s.user, string(resp))
	case CRAMMD5, CRAMSHA1, CRAMSHA256:
		i := strings.LastIndexByte(string(resp), ' ')
		if i <= 0 {
			return nil, false, fmt.Errorf("%w: CRAM needs user SP digest", ErrMalformed)
		}
		mech := auth.Mechanism(strings.ToLower(s.mech))
		req := &auth.Request{Service: s.cfg.Service, Mech: mech, User: string(resp[:i]), Challenge: s.chal,
			Response: string(resp[i+1:]), RemoteIP: s.cfg.RemoteIP}
		a, err := s.cfg.Auth.Authenticate(ctx, req)
		return s.finish(a, err)
	case External:
		id := string(resp)
		if id == "" {
			id = s.cfg.ExternalIdentity
		}
		if id != s.cfg.ExternalIdentity {
			return nil, false, fmt.Errorf("%w: EXTERNAL identity differs: %w", ErrAuthFailed, auth.ErrNoUser)
		}
		a, err := s.cfg.Auth.Lookup(ctx, s.cfg.Service, id)
		return s.finish(a, err)
	case SCRAMSHA256, SCRAMSHA256Pls:
		return s.nextSCRAM(ctx, resp)
	}
	return nil, false, ErrSequence
}

// login checks a user name and cleartext password.
func (s *Server) login(ctx context.Context, user, password string) ([]byte, bool, error) {
	a, err := s.cfg.Auth.Authenticate(ctx, &auth.Request{Service: s.cfg.Service, Mech: auth.MechLogin, User: user,
		Password: password, RemoteIP: s.cfg.RemoteIP})
	return s.finish(a, err)
}

// finish applies the service options and ends the exchange.
func (s *Server) finish(a *auth.Account, err error) ([]byte, bool, error) {
	if err != nil {
		s.done = false
		s.mech = "failed"
		return nil, false, fmt.Errorf("%w: %w", ErrAuthFailed, err)
	}
	if !a.ServiceAllowed(s.cfg.Service, s.cfg.TLS != nil) {
		s.mech = "failed"
		return nil, false, fmt.Errorf("%w: %s: %w", ErrAuthFailed, s.cfg.Service, auth.ErrDisabled)
	}
	s.account, s.done = a, true
	return nil, true, nil
}

// startSCRAM prepares the library conversation.
func (s *Server) startSCRAM(ctx context.Context) error {
	sc := &scramConv{}
	lookup := func(user string) (scram.StoredCredentials, error) {
		cred, ok, err := s.scramCredentials(ctx, user)
		if err != nil {
			sc.err = err
			return scram.StoredCredentials{}, err
		}
		sc.found = ok
		return scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(cred.Salt), Iters: cred.Iters},
			StoredKey: cred.StoredKey, ServerKey: cred.ServerKey}, nil
	}
	srv, err := scram.SHA256.NewServer(lookup)
	if err != nil {
		return fmt.Errorf("sasl: scram: %w", err)
	}
	cb, haveCB := s.channelBinding()
	switch {
	case s.mech == SCRAMSHA256Pls:
		sc.c = srv.NewConversationWithChannelBindingRequired(cb)
	case haveCB:
		sc.c = srv.NewConversationWithChannelBinding(cb)
	default:
		sc.c = srv.NewConversation()
	}
	s.conv = sc
	return nil
}

// scramCredentials finds stored SCRAM keys, or derives them from a
// cleartext password; an unknown user gets random keys so the exchange
// fails at the proof like a wrong password.
func (s *Server) scramCredentials(ctx context.Context, user string) (auth.SCRAMCredentials, bool, error) {
	if src, ok := s.cfg.Auth.(auth.SCRAMSource); ok {
		cred, found, err := src.SCRAMSHA256(ctx, s.cfg.Service, user)
		if err != nil && !auth.IsReject(err) {
			return cred, false, err
		}
		if found {
			return cred, true, nil
		}
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	pw := ""
	found := false
	if a, err := s.cfg.Auth.Lookup(ctx, s.cfg.Service, user); err == nil && a.ClearPasswd != "" {
		pw, found = a.ClearPasswd, true
	} else if err != nil && !auth.IsReject(err) {
		return auth.SCRAMCredentials{}, false, err
	}
	if !found {
		r := make([]byte, 32)
		rand.Read(r)
		pw = string(r)
	}
	k, err := pwhash.DeriveSCRAMSHA256(pw, salt, pwhash.SCRAMIterations)
	if err != nil {
		return auth.SCRAMCredentials{}, false, err
	}
	return auth.SCRAMCredentials{Salt: k.Salt, Iters: k.Iters, StoredKey: k.StoredKey, ServerKey: k.ServerKey}, found, nil
}

// nextSCRAM runs one SCRAM step. After a valid client-final message the
// server-final message is returned as a challenge; the client's (empty)
// answer to it ends the exchange.
func (s *Server) nextSCRAM(ctx context.Context, resp []byte) ([]byte, bool, error) {
	sc := s.conv
	if sc.c.Done() {
		if len(resp) != 0 {
			return nil, false, fmt.Errorf("%w: expected an empty response", ErrMalformed)
		}
		a, err := s.cfg.Auth.Lookup(ctx, s.cfg.Service, sc.c.Username())
		return s.finish(a, err)
	}
	out, err := sc.c.Step(string(resp))
	if sc.err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrAuthFailed, sc.err)
	}
	if err != nil {
		if sc.c.Done() {
			return nil, false, fmt.Errorf("%w: %v: %w", ErrAuthFailed, err, auth.ErrBadPassword)
		}
		return nil, false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if sc.c.Done() {
		if !sc.c.Valid() || !sc.found {
			return nil, false, fmt.Errorf("%w: %w", ErrAuthFailed, auth.ErrBadPassword)
		}
		if z := sc.c.AuthzID(); z != "" && z != sc.c.Username() {
			return nil, false, fmt.Errorf("%w: authorization identity differs: %w", ErrAuthFailed, auth.ErrNoUser)
		}
	}
	return []byte(out), false, nil
}
