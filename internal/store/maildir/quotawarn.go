package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"courier/internal/store/quota"
)

// QuotaWarnInterval is how often a quota warning may be repeated (the age of the quotawarn
// stamp file).
const QuotaWarnInterval = 24 * time.Hour

// QuotaWarnStamp is the file in the top maildir whose time records the last warning.
const QuotaWarnStamp = "quotawarn"

// DeliverQuotaWarning is what deliverquota's and maildrop's -w N -W FILE do after a
// delivery to dir: when the quota of dir's top maildir is at least percent full and no
// warning was given in the last QuotaWarnInterval, it puts the text of warnFile, after
// "Date:" and "Message-Id:" headers, into the top maildir (where Courier puts it, even for a
// delivery to a folder). A negative percent disables the warning; 0, as in Courier, warns
// whenever the maildir has a quota. The warning is named with "_warn", counts toward the
// quota only when it fits, and touches the stamp. It reports whether a warning was
// delivered; an error is for logging only, since the delivery it follows has succeeded.
func DeliverQuotaWarning(dir string, percent int, warnFile, host string, now time.Time) (bool, error) {
	if percent < 0 {
		return false, nil
	}
	st, err := quota.Check(dir, quota.Usage{}, nil)
	if err != nil {
		return false, fmt.Errorf("quota warning: %w", err)
	}
	if st.Spec.IsZero() || st.Spec.Percent(st.Usage) < percent {
		return false, nil
	}
	text, err := os.ReadFile(warnFile)
	if err != nil {
		return false, fmt.Errorf("quota warning: %w", err)
	}
	stamp := filepath.Join(st.Root, QuotaWarnStamp)
	if fi, err := os.Stat(stamp); err == nil && now.Sub(fi.ModTime()) < QuotaWarnInterval {
		return false, nil
	}
	// The stamp is written first: a warning that then fails to arrive is not retried for a
	// day, rather than risking a warning with every message.
	if err := os.WriteFile(stamp, []byte{0}, 0o644); err != nil {
		return false, fmt.Errorf("quota warning: %w", err)
	}
	if err := os.Chtimes(stamp, now, now); err != nil {
		return false, fmt.Errorf("quota warning: %w", err)
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "Date: %s\n", now.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	fmt.Fprintf(&msg, "Message-Id: <%d.overquota@%s>\n", now.Unix(), host)
	msg.Write(text)
	// Courier counts the warning when it fits in the quota (the check may recalculate
	// maildirsize) and otherwise delivers it all the same, uncounted.
	data := msg.Bytes()
	opt := &DeliverOptions{Unique: "_warn", Size: int64(len(data)), Host: host, Now: func() time.Time { return now }}
	_, err = DeliverTo(st.Root, bytes.NewReader(data), opt)
	if errors.Is(err, ErrOverQuota) {
		opt.NoQuota = true
		_, err = DeliverTo(st.Root, bytes.NewReader(data), opt)
	}
	if err != nil {
		return false, fmt.Errorf("quota warning: %w", err)
	}
	return true, nil
}
