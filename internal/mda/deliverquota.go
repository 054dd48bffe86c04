package mda

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

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

// dqWarnInterval is how often the quota warning may be repeated.
const dqWarnInterval = 24 * time.Hour

// Deliverquota runs deliverquota(8): it parses its options as Courier's does: "-c", "-w N" and "-W FILE" are
// recognised only in that exact form; the first other argument is the maildir (even when it
// starts with "-"), the next one an optional quota, and further ones are ignored.
func Deliverquota(e *Invocation) int {
	args := e.Args
	create := false
	warnPercent := 0
	warnFile := ""
	i := 0
	for ; i < len(args); i++ {
		switch {
		case args[i] == "-c":
			create = true
			continue
		case args[i] == "-w" && i+1 < len(args):
			i++
			warnPercent = atoiC(args[i])
			continue
		case args[i] == "-W" && i+1 < len(args):
			i++
			warnFile = args[i]
			continue
		}
		break
	}
	if i >= len(args) {
		fmt.Fprintln(e.Stderr, "Usage: deliverquota [-c] [-w percent] maildir")
		return dqExitUsage
	}
	md := args[i]
	override := ""
	if i+1 < len(args) {
		override = args[i+1]
	}
	if create {
		if _, err := os.Stat(md); errors.Is(err, fs.ErrNotExist) {
			if err := maildir.Create(md, maildir.Private, true); err != nil && !errors.Is(err, fs.ErrExist) {
				fmt.Fprintf(e.Stderr, "%s: %s\n", md, fsutil.Strerror(err))
				return dqExitFail
			}
		}
	}
	host := maildir.HostName()
	_, err := maildir.DeliverTo(md, e.Stdin, &maildir.DeliverOptions{QuotaOverride: override, Host: host})
	if errors.Is(err, quota.ErrOverQuota) {
		fmt.Fprintln(e.Stdout, "Mail quota exceeded.")
		return dqExitFail
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: %s\n", md, fsutil.Strerror(err))
		return dqExitFail
	}
	if warnPercent > 0 {
		if warnFile == "" {
			warnFile = filepath.Join(e.ConfigDir(), "quotawarnmsg")
		}
		deliverQuotaWarning(md, warnPercent, warnFile, host, time.Now())
	}
	return 0
}

// deliverQuotaWarning puts the warning message into the maildir when it is at least percent
// full and no warning was given in the last 24 hours (the quotawarn file's time). The
// message gets Date: and Message-Id: headers, a name with "_warn", and does not count
// toward the quota. Failures are silent: the delivery itself succeeded.
func deliverQuotaWarning(md string, percent int, warnFile, host string, now time.Time) {
	st, err := quota.Check(md, quota.Usage{}, nil)
	if err != nil || st.Spec.IsZero() || st.Spec.Percent(st.Usage) < percent {
		return
	}
	text, err := os.ReadFile(warnFile)
	if err != nil {
		return
	}
	stamp := filepath.Join(st.Root, "quotawarn")
	if fi, err := os.Stat(stamp); err == nil && now.Sub(fi.ModTime()) < dqWarnInterval {
		return
	}
	if err := os.WriteFile(stamp, []byte{0}, 0o644); err != nil {
		return
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "Date: %s\n", now.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	fmt.Fprintf(&msg, "Message-Id: <%d.overquota@%s>\n", now.Unix(), host)
	msg.Write(text)
	size := int64(msg.Len())
	// Courier checks the quota for the warning too (which may recalculate maildirsize), then
	// delivers it regardless and without counting it.
	quota.Check(md, quota.Usage{Bytes: size, Count: 1}, nil)                                                     //nolint:errcheck
	maildir.DeliverTo(md, &msg, &maildir.DeliverOptions{NoQuota: true, Unique: "_warn", Size: size, Host: host}) //nolint:errcheck
}

// atoiC converts like C's atoi: leading digits (after an optional sign), 0 when none.
func atoiC(s string) int {
	j := 0
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[:j])
	return n
}
