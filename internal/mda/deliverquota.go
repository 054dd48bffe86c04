package mda

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"courier/internal/cnum"
	"courier/internal/fsutil"
	"courier/internal/store/maildir"
	"courier/internal/store/quota"
)

// deliverquota exit codes, as Courier's (Debian's build returns EX_TEMPFAIL over quota, not
// the EX_NOPERM its manual page promises).
const (
	dqExitUsage = 73 // EX_CANTCREAT
	dqExitFail  = 75 // EX_TEMPFAIL: over quota or cannot deliver
)

// Deliverquota runs deliverquota(8): it parses its options as Courier's does: "-c", "-w N" and "-W FILE" are
// recognised only in that exact form; the first other argument is the maildir (even when it
// starts with "-"), the next one an optional quota, and further ones are ignored.
func Deliverquota(e *Invocation) int {
	args := e.Args
	create := false
	warnPercent := -1 // no -w: no warning (-w 0 warns whenever there is a quota)
	warnFile := ""
	i := 0
	for ; i < len(args); i++ {
		switch {
		case args[i] == "-c":
			create = true
			continue
		case args[i] == "-w" && i+1 < len(args):
			i++
			warnPercent = cnum.Atoi(args[i])
			continue
		case args[i] == "-W" && i+1 < len(args):
			i++
			warnFile = e.path(args[i])
			continue
		}
		break
	}
	if i >= len(args) {
		fmt.Fprintln(e.Stderr, "Usage: deliverquota [-c] [-w percent] maildir")
		return dqExitUsage
	}
	name := args[i] // as given, for messages
	md := e.path(name)
	override := ""
	if i+1 < len(args) {
		override = args[i+1]
	}
	if create {
		if _, err := os.Stat(md); errors.Is(err, fs.ErrNotExist) {
			if err := maildir.Create(md, maildir.Private, true); err != nil && !errors.Is(err, fs.ErrExist) {
				fmt.Fprintf(e.Stderr, "%s: %s\n", name, fsutil.Strerror(err))
				return dqExitFail
			}
		}
	}
	host := maildir.HostName()
	_, err := maildir.DeliverTo(md, e.Stdin, &maildir.DeliverOptions{QuotaOverride: override, Host: host, NoSync: e.NoSync})
	if errors.Is(err, quota.ErrOverQuota) {
		fmt.Fprintln(e.Stdout, "Mail quota exceeded.")
		return dqExitFail
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: %s\n", name, fsutil.Strerror(err))
		return dqExitFail
	}
	if warnPercent >= 0 {
		if warnFile == "" {
			warnFile = filepath.Join(e.ConfigDir(), "quotawarnmsg")
		}
		// The delivery succeeded: a warning that cannot be given changes nothing to it.
		maildir.DeliverQuotaWarning(md, warnPercent, warnFile, host, time.Now()) //nolint:errcheck
	}
	return 0
}
