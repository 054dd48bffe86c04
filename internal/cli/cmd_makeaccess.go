package cli

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"courier/internal/config/courierfmt"
	"courier/internal/netx/access"
)

// The access-file compilers: makesmtpaccess (ACCESSFILE of esmtpd), makesmtpaccess-msa
// (esmtpd then esmtpd-msa) and makeimapaccess (IMAPACCESSFILE of imapd). Each compiles the
// text directory into DIR.dat, which the running server picks up by itself within a
// second (Courier's scripts restart couriertcpd instead).

type accessTool struct {
	files []string // configuration files read in order, as the shell scripts source them
	name  string   // the variable naming the access directory
	def   string   // its value when unset (Debian's), relative to the configuration directory
}

var accessTools = map[string]accessTool{
	"makesmtpaccess":     {[]string{"esmtpd"}, "ACCESSFILE", "smtpaccess"},
	"makesmtpaccess-msa": {[]string{"esmtpd", "esmtpd-msa"}, "ACCESSFILE", "smtpaccess"},
	"makeimapaccess":     {[]string{"imapd"}, "IMAPACCESSFILE", "imapaccess"},
}

func init() {
	for name := range accessTools {
		register(&Command{
			Name:  name,
			Usage: "[-c DIR]",
			Short: "compile the " + accessTools[name].def + "/ access directory into " + accessTools[name].def + ".dat",
			Link:  true,
			Run:   func(e *Env) int { return runMakeAccess(e, name) },
		})
	}
}

func runMakeAccess(e *Env, tool string) int {
	dir, args := authConfigDir(e, e.Args)
	if len(args) > 0 {
		return fail(e, tool, 1, "usage: %s [-c DIR]", tool)
	}
	t := accessTools[tool]
	env := map[string]string{}
	lookup := func(n string) (string, bool) {
		if v, ok := env[n]; ok {
			return v, true
		}
		if n == "sysconfdir" {
			return dir, true
		}
		return "", false
	}
	found := false
	for _, f := range t.files {
		ef, err := courierfmt.LoadEnv(filepath.Join(dir, f), lookup)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fail(e, tool, 1, "%v", err)
		}
		found = true
		for _, v := range ef.Vars {
			env[v.Name] = v.Value
		}
	}
	src := strings.TrimSpace(env[t.name])
	if !found {
		src = t.def
	}
	if src == "" {
		return fail(e, tool, 1, "ERROR: No %s specified in %s", t.name, filepath.Join(dir, strings.Join(t.files, "(-msa)")))
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(dir, src)
	}
	src = strings.TrimRight(src, "/")
	if _, err := access.Compile(src, src+".dat"); err != nil {
		return fail(e, tool, 1, "%v", err)
	}
	return 0
}
