// Package privsep runs a logged-in mail session in a process of its own that has the
// account's uid, gid and groups, as Courier's login stages do: imaplogin and pop3login
// authenticate, then setgid, setgroups, setuid to the account, chdir to its home and exec
// imapd or pop3d. Go cannot change the identity of one thread, so the server (running as
// root) re-executes its own binary ("courier imapd", "courier pop3d", later webmail) for the
// session. The server stays the login stage; the child is the session stage.
//
// Plan decides whether a session is handed off at all (see its rule); Spawner.Spawn starts
// the child and Process.Wait follows it to its end; Spawner.Serve does all three for one
// authenticated account.
//
// Invariants:
//   - A child never runs as uid 0 and never keeps the server's supplementary groups: its
//     credentials are exactly the account's uid, gid and group list.
//   - Its environment is built from nothing: only what the caller puts in Spec.Env reaches
//     it, never the server's own environment (configuration paths, keys, secrets).
//   - It gets three descriptors: 0 and 1 are the client connection itself, or one end of a
//     socketpair whose other end the parent proxies to the connection; 2 is a pipe whose
//     lines the parent logs. Every other descriptor of the server is close-on-exec.
//   - Bytes the server read from the client but did not use (pipelined commands after a
//     LOGIN) reach the child first and in order, ahead of anything read later.
//   - Process.Wait returns only after the child has exited and been reaped, and the
//     connection is not closed before; so the connection keeps its slot in the listener's
//     limits (MAXDAEMONS, MAXPERIP) for the whole session, and no zombie is left.
//   - When the server drains (the context ends), the child gets SIGTERM (it says BYE and
//     exits) and, if it is still running after KillAfter, SIGKILL.
//   - After the handoff the parent never interprets the session's bytes: it copies them.
//
// Cost: a plain TCP connection with nothing buffered is given to the child as is (its
// descriptor becomes the child's standard input and output) and the parent only waits.
// Otherwise (TLS, which the parent terminates because the child has no keys, or pipelined
// input already read) the parent proxies: two goroutines with a 32 KiB buffer each, a
// socketpair (two descriptors) and one extra copy of every byte in each direction through
// the parent. Either way each handed-off session also costs the parent one goroutine
// waiting for the child, and the child a whole process (a few MiB of resident memory);
// virtual accounts that share the server's uid stay in-process and cost none of this.
package privsep

import (
	"errors"
	"fmt"
	"math"
	"os/user"
	"slices"
	"strconv"

	"courier/internal/auth"
)

// Mode says where a session runs.
type Mode int

const (
	// InProcess means the server's own process serves the session.
	InProcess Mode = iota
	// Handoff means a child process running as the account serves it.
	Handoff
)

// String names the mode for logs.
func (m Mode) String() string {
	if m == Handoff {
		return "handoff"
	}
	return "in-process"
}

// Credential is the identity a session process runs with.
type Credential struct {
	UID, GID uint32
	// Groups is the supplementary group list (setgroups); it always holds GID.
	Groups []uint32
}

// SystemUser is what the system's user database says about a login name.
type SystemUser struct {
	UID, GID int
	// Groups are the user's group ids (as initgroups would set them).
	Groups []int
}

// UserLookup finds a system user by name (getpwnam plus its groups).
type UserLookup func(name string) (SystemUser, error)

// LookupSystemUser reads the system's user and group databases (/etc/passwd and
// /etc/group, or NSS with cgo).
func LookupSystemUser(name string) (SystemUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return SystemUser{}, fmt.Errorf("privsep: system user %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return SystemUser{}, fmt.Errorf("privsep: system user %q has a non-numeric uid or gid (%s:%s)", name, u.Uid, u.Gid)
	}
	su := SystemUser{UID: uid, GID: gid}
	ids, err := u.GroupIds()
	if err != nil {
		return SystemUser{}, fmt.Errorf("privsep: groups of system user %q: %w", name, err)
	}
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil {
			su.Groups = append(su.Groups, g)
		}
	}
	return su, nil
}

// Errors of Plan, wrapped around the auth sentinels the protocol servers already answer:
// a refusal is auth.ErrDisabled (the credentials were right, the policy says no), a failure
// to find the account's identity auth.ErrTempFail.
var (
	errRootRefused = fmt.Errorf("privsep: a system account with uid 0 may not log in to a mail service: %w", auth.ErrDisabled)
)

// Plan decides where the session of account a runs when the server's effective uid is euid,
// and with which credentials. The rule:
//
//   - A server that does not run as root (euid != 0) serves every session in-process, as
//     before privilege separation: it cannot change uid, and the kernel confines every
//     session to the server's own uid anyway.
//   - A server running as root resolves the account's identity: a system account
//     (auth.Account.SysUser, from passwd, shadow, PAM or an authdaemon USERNAME= reply)
//     through the system's user database, with its groups; any other account from its UID
//     and GID, with GID as its only group.
//   - A system account whose uid is 0 (root's own login) is refused: a root password never
//     opens a mail session.
//   - An account whose uid is 0, the root server's own (virtual accounts that share the
//     server's uid, such as quickstart's when it is run as root), is served in-process:
//     there is no uid to change to.
//   - Every other account is handed off to a child running as its uid, gid and groups.
func Plan(a *auth.Account, euid int, lookup UserLookup) (Mode, Credential, error) {
	if euid != 0 {
		return InProcess, Credential{}, nil
	}
	if a == nil {
		return InProcess, Credential{}, fmt.Errorf("privsep: no account: %w", auth.ErrTempFail)
	}
	var uid, gid int
	var groups []int
	system := a.SysUser != ""
	if system {
		if lookup == nil {
			lookup = LookupSystemUser
		}
		su, err := lookup(a.SysUser)
		if err != nil {
			return InProcess, Credential{}, fmt.Errorf("%w: %w", err, auth.ErrTempFail)
		}
		uid, gid, groups = su.UID, su.GID, su.Groups
		// authlib runs a system account with the GID of the account record when it has one
		// (libmail_changeusername with the record's group), else the passwd group.
		if a.GID > 0 {
			gid = a.GID
		}
	} else {
		uid, gid = a.UID, a.GID
	}
	if uid < 0 || gid < 0 || uid > math.MaxUint32-1 || gid > math.MaxUint32-1 {
		return InProcess, Credential{}, fmt.Errorf("privsep: account %s has an invalid uid/gid %d/%d: %w", a.Address, uid, gid, auth.ErrTempFail)
	}
	if uid == 0 {
		if system {
			return InProcess, Credential{}, errRootRefused
		}
		return InProcess, Credential{}, nil
	}
	c := Credential{UID: uint32(uid), GID: uint32(gid), Groups: []uint32{uint32(gid)}}
	for _, g := range groups {
		if g >= 0 && g <= math.MaxUint32-1 && !slices.Contains(c.Groups, uint32(g)) {
			c.Groups = append(c.Groups, uint32(g))
		}
	}
	return Handoff, c, nil
}

// IsRefusal reports whether err is Plan's refusal of the account rather than a temporary
// failure.
func IsRefusal(err error) bool { return errors.Is(err, auth.ErrDisabled) }
