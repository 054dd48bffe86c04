package app

// The pickup directory: where sendmail leaves messages for the server, which alone owns the
// queue. See package submit for the format and the invariants; this file only finds the
// directory and wires the Ingester to the SMTP core's resolver and queue.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"courier/internal/config/courierfmt"
	"courier/internal/submit"
)

// QueueDir returns the directory of the mail queue for the configuration in configDir
// (QUEUEDIR in courierd, else the installation's default; see queueDir). mailq reads it.
func QueueDir(configDir string) (string, error) { return queueDir(configDir) }

// PickupDir returns the pickup directory: the PICKUPDIR setting of the courierd file (ours:
// "PICKUPDIR=/var/spool/courier/pickup"), else the sibling "pickup" of the queue directory
// (DIR/spool/pickup in a quickstart installation, /var/spool/courier/pickup otherwise).
// sendmail and the server both call it, so they always agree.
func PickupDir(configDir string) (string, error) {
	f, err := courierfmt.LoadEnv(filepath.Join(configDir, "courierd"), nil)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if f != nil {
		if v, ok := f.Lookup("PICKUPDIR"); ok && strings.TrimSpace(v.Value) != "" {
			return strings.TrimSpace(v.Value), nil
		}
	}
	q, err := queueDir(configDir)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(filepath.Clean(q)), "pickup"), nil
}

// SizeLimit returns the sizelimit control file's value (Courier's default 10485760; 0:
// no limit), the limit of mail submitted locally.
func SizeLimit(configDir string) int64 {
	if v, err := courierfmt.ReadFirstLine(filepath.Join(configDir, "sizelimit")); err == nil {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	return 10485760
}

// startPickup starts ingesting the pickup directory into the core's queue. A failure is
// logged and leaves SMTP running: the files wait in the directory for the next start.
func (a *App) startPickup(c *smtpCore) {
	dir, err := PickupDir(a.cfg.Dir)
	if err != nil {
		a.log.Error("pickup: cannot start", "err", err)
		return
	}
	g, err := submit.NewIngester(submit.IngestOptions{
		Dir:       dir,
		Router:    c.resolver,
		Spool:     c.queue,
		Recovered: c.queue.Recovered(),
		Log:       a.log.With("service", "pickup"),
		// Read before each file, without a.mu: Shutdown holds it while it waits for
		// the Ingester to stop. The configuration directory never changes.
		Settings: func() submit.Settings {
			dir := a.opts.ConfigDir
			st := submit.Settings{MaxSize: SizeLimit(dir)}
			if me, err := courierfmt.ReadFirstLine(filepath.Join(dir, "me")); err == nil && me != "" {
				st.Hostname = me
			} else {
				st.Hostname, _ = os.Hostname()
			}
			return st
		},
	})
	if err != nil {
		a.log.Error("pickup: cannot start", "dir", dir, "err", err)
		return
	}
	g.Start()
	c.pickup = g
}
