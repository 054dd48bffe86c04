package maildir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"courier/internal/store/quota"
)

// ErrOverQuota is returned (wrapped) by a delivery that the maildir's quota refuses.
var ErrOverQuota = quota.ErrOverQuota

// DeliverOptions tune a delivery. The zero value delivers to new/ with quota enforcement.
type DeliverOptions struct {
	// NoQuota skips the quota check and the maildirsize update.
	NoQuota bool
	// QuotaOverride replaces the quota in maildirsize (deliverquota's second argument).
	QuotaOverride string
	// Cur delivers into cur/ with ":2,"+Flags (IMAP APPEND) instead of new/.
	Cur   bool
	Flags string
	// Unique is inserted after the process id ("_warn" gives "time.MusecPpid_warn.host").
	// Empty means Seq decides.
	Unique string
	// Seq, when set, numbers the deliveries of this process: the first gets no suffix, later
	// ones "_1", "_2"… (maildir(5)). Nil means a counter private to the call.
	Seq *atomic.Uint64
	// Size is the message size when known in advance (0: unknown); it is then added to the
	// tmp name as ",S=<size>", as Courier names its quota warnings.
	Size int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Host overrides the host name of the file name.
	Host string
	// NoSync skips the fsyncs (benchmarks comparing with Courier, which does not fsync).
	NoSync bool
	// Date, when set, becomes the file's modification time: the message's internal date
	// (IMAP APPEND with a date, COPY keeping the original's).
	Date time.Time
}

// Delivery describes a delivered message.
type Delivery struct {
	Dir   string       // the folder directory delivered to
	Sub   string       // New or Cur
	Name  string       // the file name in Sub
	Size  int64        // bytes stored
	Quota *quota.State // the quota state seen (nil with NoQuota)
}

// Path returns the full path of the delivered file.
func (d *Delivery) Path() string { return filepath.Join(d.Dir, d.Sub, d.Name) }

// Deliver stores the message read from r in the folder.
func (f *Folder) Deliver(r io.Reader, opt *DeliverOptions) (*Delivery, error) {
	o := DeliverOptions{}
	if opt != nil {
		o = *opt
	}
	if o.Seq == nil {
		o.Seq = &deliverySeq
	}
	if o.Now == nil {
		o.Now = f.m.now
	}
	if o.Host == "" {
		o.Host = f.m.host
	}
	return DeliverTo(f.path, r, &o)
}

// DeliverTo stores the message read from r in the maildir or folder directory dir, following
// maildir(5): write in tmp/, fsync, check the quota, link into new/ (or cur/), remove the tmp
// name, fsync the directory, append to maildirsize. Over quota the tmp file is removed and
// the error wraps ErrOverQuota.
func DeliverTo(dir string, r io.Reader, opt *DeliverOptions) (*Delivery, error) {
	o := DeliverOptions{}
	if opt != nil {
		o = *opt
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	host := o.Host
	if host == "" {
		host = HostName()
	}
	unique := o.Unique
	if unique == "" && o.Seq != nil {
		if n := o.Seq.Add(1) - 1; n > 0 {
			unique = fmt.Sprintf("_%d", n)
		}
	}
	sizeSuffix := ""
	if o.Size > 0 {
		sizeSuffix = fmt.Sprintf(",S=%d", o.Size)
	}
	pid := os.Getpid()
	var (
		t       time.Time
		tmpPath string
		file    *os.File
	)
	for attempt := 0; ; attempt++ {
		t = now()
		u := unique
		if attempt > 0 {
			u = fmt.Sprintf("%s_r%d", unique, attempt)
		}
		name := fmt.Sprintf("%d.M%dP%d%s.%s%s", t.Unix(), t.Nanosecond()/1000, pid, u, host, sizeSuffix)
		tmpPath = filepath.Join(dir, Tmp, name)
		var err error
		file, err = os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			unique = u
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt >= 20 {
			return nil, fmt.Errorf("maildir: deliver to %s: %w", dir, err)
		}
	}
	fail := func(err error) (*Delivery, error) {
		file.Close()
		os.Remove(tmpPath)
		return nil, err
	}
	size, err := io.Copy(file, r)
	if err != nil {
		return fail(fmt.Errorf("maildir: write %s: %w", tmpPath, err))
	}
	if !o.Date.IsZero() {
		if err := os.Chtimes(tmpPath, o.Date, o.Date); err != nil {
			return fail(fmt.Errorf("maildir: set date of %s: %w", tmpPath, err))
		}
	}
	if !o.NoSync {
		if err := file.Sync(); err != nil {
			return fail(fmt.Errorf("maildir: fsync %s: %w", tmpPath, err))
		}
	}
	st, err := file.Stat()
	if err != nil {
		return fail(fmt.Errorf("maildir: stat %s: %w", tmpPath, err))
	}
	var dev, ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		dev, ino = uint64(sys.Dev), sys.Ino
	}
	if err := file.Close(); err != nil {
		os.Remove(tmpPath)
		return nil, fmt.Errorf("maildir: close %s: %w", tmpPath, err)
	}
	d := &Delivery{Dir: dir, Sub: New, Size: size}
	// Mail in Trash does not count: Courier neither checks nor records it.
	if !o.NoQuota && !isTrashDir(dir) {
		qs, err := quota.Check(dir, quota.Usage{Bytes: size, Count: 1}, &quota.Options{Override: o.QuotaOverride, Now: now, Host: host})
		d.Quota = qs
		if err != nil {
			os.Remove(tmpPath)
			return nil, fmt.Errorf("maildir: deliver to %s: %w", dir, err)
		}
	}
	d.Name = fmt.Sprintf("%d.M%dP%dV%016XI%016X%s.%s,S=%d", t.Unix(), t.Nanosecond()/1000, pid, dev, ino, unique, host, size)
	if o.Cur {
		d.Sub = Cur
		d.Name += InfoSep + NormalizeFlags(o.Flags)
	}
	var delta quota.Usage
	// A message stored already flagged deleted (T) is not counted, as Courier counts
	// none: its later removal subtracts nothing (quota.counts skips T-flagged files).
	if d.Quota != nil && !d.Quota.Spec.IsZero() && !(o.Cur && strings.ContainsRune(o.Flags, 'T')) {
		delta = quota.Usage{Bytes: size, Count: 1}
	}
	var linked bool
	err = quota.Change(dir, delta, func() error {
		if err := moveNoReplace(tmpPath, d.Path()); err != nil {
			os.Remove(tmpPath)
			return fmt.Errorf("maildir: deliver to %s: %w", dir, err)
		}
		linked = true
		if !o.NoSync {
			return syncDir(filepath.Join(dir, d.Sub))
		}
		return nil
	})
	if err != nil && !linked {
		return nil, err
	}
	if err != nil && !errors.Is(err, quota.ErrRecord) {
		// The directory fsync failed: the message may not be durable, so it is not delivered.
		return nil, err
	}
	// A delta that could not be recorded is corrected by the next recalculation; the
	// message itself is safely stored.
	return d, nil
}

// moveNoReplace moves a file without ever replacing an existing one: link then unlink, as
// maildir(5) asks; a filesystem without hard links gets a rename after an existence check.
func moveNoReplace(from, to string) error {
	err := os.Link(from, to)
	if err == nil {
		if err := os.Remove(from); err != nil {
			return fmt.Errorf("remove %s: %w", from, err)
		}
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, serr := os.Lstat(to); serr == nil {
		return fmt.Errorf("%s: %w", to, fs.ErrExist)
	}
	return os.Rename(from, to)
}

// isTrashDir reports whether dir is the Trash folder of a maildir.
func isTrashDir(dir string) bool {
	if filepath.Base(filepath.Clean(dir)) != trashDirName {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, FolderMarker))
	return err == nil
}
