// Package authconfig builds the authentication service that authdaemonrc describes: the
// module chain in authmodulelist order with DEFAULTOPTIONS, the authdaemon socket path and
// the daemon settings. It is the one place that knows which module names map to which
// implementations, so the network servers, authdaemond and authtest all agree.
package authconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"courier/internal/auth"
	"courier/internal/auth/daemon"
	"courier/internal/auth/userdb"
	"courier/internal/config/courierfmt"
)

// Setup is a loaded authdaemonrc.
type Setup struct {
	Chain    *auth.Chain
	Warnings []string // modules named but not available, and similar
	Socket   string   // authdaemonvar/socket
	Debug    int      // DEBUG_LOGIN
	Daemons  int      // daemons
	Settings map[string]string
}

// Load reads DIR/authdaemonrc (a missing file means Courier's defaults: authuserdb only)
// and builds the chain.
func Load(dir string) (*Setup, error) {
	rc := map[string]string{}
	f, err := courierfmt.LoadEnv(filepath.Join(dir, "authdaemonrc"), nil)
	switch {
	case err == nil:
		rc = f.Map()
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, err
	}
	s := &Setup{Settings: rc, Socket: daemon.DefaultSocket}
	if v := rc["authdaemonvar"]; v != "" {
		s.Socket = filepath.Join(v, "socket")
	}
	if v := strings.TrimSpace(rc["DEBUG_LOGIN"]); v != "" {
		if s.Debug, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("%s: DEBUG_LOGIN: %q is not a number", filepath.Join(dir, "authdaemonrc"), v)
		}
	}
	s.Daemons = 5
	if v := strings.TrimSpace(rc["daemons"]); v != "" {
		if s.Daemons, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("%s: daemons: %q is not a number", filepath.Join(dir, "authdaemonrc"), v)
		}
	}
	list, set := rc["authmodulelist"]
	if !set {
		list = "authuserdb"
	}
	var mods []auth.Module
	for _, name := range strings.Fields(list) {
		switch name {
		case "authuserdb":
			mods = append(mods, userdb.New(filepath.Join(dir, "userdb")))
		default:
			s.Warnings = append(s.Warnings, fmt.Sprintf("authentication module %s is not available yet; skipped", name))
		}
	}
	s.Chain = auth.NewChain(auth.ParseOptions(rc["DEFAULTOPTIONS"]), mods...)
	return s, nil
}
