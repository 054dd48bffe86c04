package userdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
)

// ModuleName is the authmodulelist name of this module.
const ModuleName = "authuserdb"

// fallbackDummy is verified for unknown users when the index has no password
// to borrow (an MD5-crypt hash of a random string).
const fallbackDummy = "$1$Qc7ZbK2v$3s0dCwz1n8wYx0Vf6lXcL."

// Module serves accounts from a compiled userdb (authuserdb). It rereads the
// index files when makeuserdb replaces them. Safe for concurrent use.
type Module struct {
	source string

	mu   sync.Mutex // guards snap; held only to swap snapshots
	snap *snapshot
	// edit serialises password changes made through this module.
	edit sync.Mutex
}

// fileID identifies one version of an index file.
type fileID struct {
	ino   uint64
	size  int64
	mtime int64
}

// snapshot is one loaded pair of index files.
type snapshot struct {
	pubID, secID fileID
	pub, sec     *Index
	caps         auth.Capabilities
	dummy        string // a real stored hash, verified for unknown users
}

// New returns the module for the userdb source path (for example
// /etc/courier/userdb); it reads SOURCE.dat and SOURCEshadow.dat.
func New(source string) *Module {
	return &Module{source: strings.TrimRight(source, "/")}
}

// Name implements auth.Module.
func (m *Module) Name() string { return ModuleName }

// Source returns the userdb source path.
func (m *Module) Source() string { return m.source }

// statID returns the identity of path; a missing file has the zero identity.
func statID(path string) (fileID, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileID{}, nil
	}
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: st.Size(), mtime: st.ModTime().UnixNano()}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		id.ino = s.Ino
	}
	return id, nil
}

// current returns the snapshot matching the files on disk, loading it if
// they changed. Missing index files are an empty database (as Courier's
// authuserdb without userdb.dat); unreadable or corrupt ones a temporary
// failure.
func (m *Module) current() (*snapshot, error) {
	datPath, shadowPath := IndexPaths(m.source)
	pubID, err := statID(datPath)
	if err != nil {
		return nil, fmt.Errorf("userdb: %v: %w", err, auth.ErrTempFail)
	}
	secID, err := statID(shadowPath)
	if err != nil {
		return nil, fmt.Errorf("userdb: %v: %w", err, auth.ErrTempFail)
	}
	m.mu.Lock()
	s := m.snap
	m.mu.Unlock()
	if s != nil && s.pubID == pubID && s.secID == secID {
		return s, nil
	}
	ns := &snapshot{pubID: pubID, secID: secID, dummy: fallbackDummy}
	if pubID != (fileID{}) {
		if ns.pub, err = ReadIndex(datPath); err != nil {
			return nil, fmt.Errorf("%v: %w", err, auth.ErrTempFail)
		}
	}
	if secID != (fileID{}) {
		if ns.sec, err = ReadIndex(shadowPath); err != nil {
			return nil, fmt.Errorf("%v: %w", err, auth.ErrTempFail)
		}
	}
	ns.caps = auth.Capabilities{CRAM: map[auth.Mechanism]bool{}}
	ns.sec.Each(func(_, v string) error {
		r, err := ParseLine("x\t" + v)
		if err != nil {
			return nil
		}
		for _, f := range r.Fields {
			switch {
			case strings.HasSuffix(f.Name, "hmac-md5pw"):
				ns.caps.CRAM[auth.MechCRAMMD5] = true
			case strings.HasSuffix(f.Name, "hmac-sha1pw"):
				ns.caps.CRAM[auth.MechCRAMSHA1] = true
			case strings.HasSuffix(f.Name, "hmac-sha256pw"):
				ns.caps.CRAM[auth.MechCRAMSHA256] = true
			case strings.HasSuffix(f.Name, "scram-sha-256pw"):
				ns.caps.SCRAM = true
			case f.Name == "systempw" && ns.dummy == fallbackDummy && pwhash.Identify(f.Value) != "":
				ns.dummy = f.Value
			}
		}
		return nil
	})
	m.mu.Lock()
	m.snap = ns
	m.mu.Unlock()
	return ns, nil
}

// record returns the merged record for name from both indexes.
func (s *snapshot) record(name string) (*Record, bool) {
	if strings.HasSuffix(name, "=") {
		return nil, false
	}
	pub, ok1 := s.pub.Get(name)
	sec, ok2 := s.sec.Get(name)
	if !ok1 && !ok2 {
		return nil, false
	}
	line := name + "\t" + pub
	if ok2 {
		if pub != "" {
			line += "|"
		}
		line += sec
	}
	r, err := ParseLine(line)
	if err != nil {
		return nil, false
	}
	return r, true
}

// toAccount converts a record, as authuserdb does: uid, gid and home are
// required; gecos is the full name; mail the maildir.
func toAccount(r *Record) (*auth.Account, error) {
	uidS, ok1 := r.Get("uid")
	gidS, ok2 := r.Get("gid")
	home, ok3 := r.Get("home")
	uid, e1 := strconv.Atoi(uidS)
	gid, e2 := strconv.Atoi(gidS)
	if !ok1 || !ok2 || !ok3 || e1 != nil || e2 != nil || uid < 0 || gid < 0 {
		return nil, fmt.Errorf("userdb: record %q lacks a numeric uid, gid or home: %w", r.Name, auth.ErrNoUser)
	}
	a := &auth.Account{Address: r.Name, UID: uid, GID: gid, Home: home, Module: ModuleName}
	a.FullName, _ = r.Get("gecos")
	a.Maildir, _ = r.Get("mail")
	a.Quota, _ = r.Get("quota")
	if o, ok := r.Get("options"); ok {
		a.Options = auth.ParseOptions(o)
	}
	return a, nil
}

// passwordField returns the name of the field holding the password for
// service: "<service>pw" if the record has it, else "systempw".
func passwordField(r *Record, service string) string {
	if service != "" {
		f := strings.ToLower(service) + "pw"
		if _, ok := r.Get(f); ok {
			return f
		}
	}
	return "systempw"
}

// Lookup implements auth.Module (PRE): the account with its crypted password.
func (m *Module) Lookup(_ context.Context, service, user string) (*auth.Account, error) {
	s, err := m.current()
	if err != nil {
		return nil, err
	}
	r, ok := s.record(user)
	if !ok {
		return nil, fmt.Errorf("userdb: %.64q: %w", user, auth.ErrNoUser)
	}
	a, err := toAccount(r)
	if err != nil {
		return nil, err
	}
	a.Passwd, _ = r.Get(passwordField(r, service))
	return a, nil
}

// Authenticate implements auth.Module. An unknown user costs the same hash
// verification as a known one, so timing does not reveal which accounts
// exist.
func (m *Module) Authenticate(_ context.Context, req *auth.Request) (*auth.Account, error) {
	s, err := m.current()
	if err != nil {
		return nil, err
	}
	r, found := s.record(req.User)
	switch req.Mech {
	case auth.MechLogin, "":
		stored := s.dummy
		if found {
			if v, ok := r.Get(passwordField(r, req.Service)); ok {
				stored = v
			} else {
				found = false
			}
		}
		ok, verr := pwhash.Verify(stored, req.Password)
		if r == nil {
			return nil, fmt.Errorf("userdb: %.64q: %w", req.User, auth.ErrNoUser)
		}
		if !found || !ok {
			if verr != nil {
				return nil, fmt.Errorf("userdb: %.64q: %v: %w", req.User, verr, auth.ErrBadPassword)
			}
			return nil, fmt.Errorf("userdb: %.64q: %w", req.User, auth.ErrBadPassword)
		}
		a, err := toAccount(r)
		if err != nil {
			return nil, err
		}
		a.Passwd = stored
		a.ClearPasswd = req.Password
		return a, nil
	case auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256:
		h, _ := pwhash.ParseHMACHash(string(req.Mech))
		if !found {
			return nil, fmt.Errorf("userdb: %.64q: %w", req.User, auth.ErrNoUser)
		}
		field := "hmac-" + string(h) + "pw"
		ctxHex, ok := r.Get(strings.ToLower(req.Service) + "-" + field)
		if !ok {
			ctxHex, ok = r.Get(field)
		}
		if !ok {
			return nil, fmt.Errorf("userdb: %.64q has no %s: %w", req.User, field, auth.ErrNotSupported)
		}
		want, err := pwhash.CRAMDigestFromContext(h, ctxHex, req.Challenge)
		if err != nil {
			return nil, fmt.Errorf("userdb: %.64q: %v: %w", req.User, err, auth.ErrBadPassword)
		}
		if !pwhash.VerifyCRAM(want, req.Response) {
			return nil, fmt.Errorf("userdb: %.64q: %w", req.User, auth.ErrBadPassword)
		}
		return toAccount(r)
	}
	return nil, fmt.Errorf("userdb: mechanism %q: %w", req.Mech, auth.ErrNotSupported)
}

// SCRAMSHA256 implements auth.SCRAMSource from the scram-sha-256pw field
// (ours; RFC 5803 form, made by userdbpw -scram-sha256).
func (m *Module) SCRAMSHA256(_ context.Context, service, user string) (auth.SCRAMCredentials, bool, error) {
	s, err := m.current()
	if err != nil {
		return auth.SCRAMCredentials{}, false, err
	}
	r, ok := s.record(user)
	if !ok {
		return auth.SCRAMCredentials{}, false, nil
	}
	v, ok := r.Get(strings.ToLower(service) + "-scram-sha-256pw")
	if !ok {
		v, ok = r.Get("scram-sha-256pw")
	}
	if !ok {
		return auth.SCRAMCredentials{}, false, nil
	}
	k, err := pwhash.ParseSCRAMSHA256(v)
	if err != nil {
		return auth.SCRAMCredentials{}, false, nil
	}
	return auth.SCRAMCredentials{Salt: k.Salt, Iters: k.Iters, StoredKey: k.StoredKey, ServerKey: k.ServerKey}, true, nil
}

// Capabilities implements auth.CapabilityReporter.
func (m *Module) Capabilities() auth.Capabilities {
	s, err := m.current()
	if err != nil {
		return auth.Capabilities{}
	}
	return s.caps
}

// Enumerate implements auth.Module: every account record, in name order.
func (m *Module) Enumerate(ctx context.Context, fn func(*auth.Account) error) error {
	s, err := m.current()
	if err != nil {
		return err
	}
	return s.pub.Each(func(k, _ string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, ok := s.record(k)
		if !ok {
			return nil
		}
		a, err := toAccount(r)
		if err != nil {
			return nil
		}
		return fn(a)
	})
}

// ChangePassword implements auth.Module: after checking the old password it
// stores a SHA-512-crypt hash of the new one in the field that matched
// (<service>pw or systempw), refreshes any hmac-*pw and scram-sha-256pw
// fields, and recompiles the index.
func (m *Module) ChangePassword(ctx context.Context, service, user, oldPassword, newPassword string) error {
	if !ValidValue(newPassword) {
		return fmt.Errorf("userdb: new password has a forbidden character: %w", auth.ErrNotSupported)
	}
	m.edit.Lock()
	defer m.edit.Unlock()
	if _, err := m.Authenticate(ctx, &auth.Request{Service: service, Mech: auth.MechLogin, User: user, Password: oldPassword}); err != nil {
		return err
	}
	recs, err := Load(m.source)
	if err != nil {
		return fmt.Errorf("userdb: %v: %w", err, auth.ErrTempFail)
	}
	var file string
	for _, r := range recs {
		if r.Name == user {
			file = r.File
		}
	}
	if file == "" {
		return fmt.Errorf("userdb: %.64q not in the source (run makeuserdb): %w", user, auth.ErrNoUser)
	}
	var ferr error
	_, err = EditFile(file, user, func(r *Record) (*Record, error) {
		if r == nil {
			return nil, auth.ErrNoUser
		}
		h, err := pwhash.Hash(pwhash.SHA512CryptScheme, newPassword)
		if err != nil {
			return nil, err
		}
		r.Set(Field{Name: passwordField(r, service), Value: h, HasValue: true})
		for _, f := range r.Fields {
			v, refresh := "", true
			switch {
			case strings.HasSuffix(f.Name, "hmac-md5pw"):
				v, ferr = pwhash.HMACContext(pwhash.HMACMD5, newPassword)
			case strings.HasSuffix(f.Name, "hmac-sha1pw"):
				v, ferr = pwhash.HMACContext(pwhash.HMACSHA1, newPassword)
			case strings.HasSuffix(f.Name, "hmac-sha256pw"):
				v, ferr = pwhash.HMACContext(pwhash.HMACSHA256, newPassword)
			case strings.HasSuffix(f.Name, "scram-sha-256pw"):
				v, ferr = pwhash.SCRAMSHA256(newPassword)
			default:
				refresh = false
			}
			if ferr != nil {
				return nil, ferr
			}
			if refresh {
				r.Set(Field{Name: f.Name, Value: v, HasValue: true})
			}
		}
		return r, nil
	})
	if err != nil {
		return fmt.Errorf("userdb: change password: %v: %w", err, auth.ErrTempFail)
	}
	if _, err := Make(m.source); err != nil {
		return fmt.Errorf("userdb: change password: %v: %w", err, auth.ErrTempFail)
	}
	return nil
}

var (
	_ auth.Module             = (*Module)(nil)
	_ auth.CapabilityReporter = (*Module)(nil)
	_ auth.SCRAMSource        = (*Module)(nil)
)
