package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"courier/internal/store/quota"
)

// InfoSep starts the info part of a message name in cur/ (maildir(5) "experimental semantics
// 2": flags follow).
const InfoSep = ":2,"

// The flag letters Courier-IMAP maps to system flags.
const (
	FlagDraft    = 'D' // \Draft
	FlagFlagged  = 'F' // \Flagged
	FlagReplied  = 'R' // \Answered
	FlagSeen     = 'S' // \Seen
	FlagTrashed  = 'T' // \Deleted
	FlagPassed   = 'P' // qmail's "passed"; kept, never set by Courier
	trashDirName = ".Trash"
)

// Message is one message file of a folder.
type Message struct {
	Sub  string // New or Cur
	Name string // the file name
}

// ParseName splits a message file name into its base (the unique part, up to the first ':'),
// its flags (after ":2,") and whether it has an info part at all.
func ParseName(name string) (base, flags string, hasInfo bool) {
	base, info, found := strings.Cut(name, ":")
	if !found {
		return base, "", false
	}
	if f, ok := strings.CutPrefix(info, "2,"); ok {
		return base, f, true
	}
	return base, "", true
}

// Base returns the message's unique name without the info part (the key of courierimapuiddb).
func (m Message) Base() string { b, _, _ := ParseName(m.Name); return b }

// Flags returns the message's flag letters ("" in new/).
func (m Message) Flags() string { _, f, _ := ParseName(m.Name); return f }

// Has reports whether the message carries flag letter c.
func (m Message) Has(c byte) bool { return strings.IndexByte(m.Flags(), c) >= 0 }

// Size returns the size declared by ",S=" in the name, or -1 when there is none.
func (m Message) Size() int64 {
	s, _ := quota.MessageSize(m.Base())
	return s
}

// NormalizeFlags returns the flag letters sorted (ASCII order, as Courier writes them) with
// duplicates removed. Letters of any kind are kept; non-printable bytes and ',' and ':' and
// '/' are dropped since they cannot appear in the info part.
func NormalizeFlags(flags string) string {
	var seen [256]bool
	for i := 0; i < len(flags); i++ {
		c := flags[i]
		if c <= ' ' || c >= 0x7f || c == ',' || c == ':' || c == '/' {
			continue
		}
		seen[c] = true
	}
	var b strings.Builder
	for c := 0; c < 256; c++ {
		if seen[c] {
			b.WriteByte(byte(c))
		}
	}
	return b.String()
}

// Folder is INBOX or one folder of a maildir.
type Folder struct {
	m    *Maildir
	dir  string // "" for INBOX, ".A.B" for a folder
	path string
}

// Inbox returns the maildir's INBOX (its top directory).
func (m *Maildir) Inbox() *Folder { return &Folder{m: m, path: m.path} }

// Dir returns the folder's directory name ("" for INBOX).
func (f *Folder) Dir() string { return f.dir }

// Path returns the folder's directory.
func (f *Folder) Path() string { return f.path }

// IsTrash reports whether this is the Trash folder, whose mail does not count to the quota.
func (f *Folder) IsTrash() bool { return f.dir == trashDirName }

// List returns the messages in new/ and cur/, sorted by name within each (new/ first). Names
// starting with "." are skipped, as every maildir reader does.
func (f *Folder) List() ([]Message, error) {
	return f.list(true)
}

// list is List, sorted or in directory order.
func (f *Folder) list(sorted bool) ([]Message, error) {
	var names [2][]string
	for i, sub := range []string{New, Cur} {
		n, err := listNames(filepath.Join(f.path, sub))
		if err != nil {
			return nil, err
		}
		if sorted {
			slices.Sort(n)
		}
		names[i] = n
	}
	out := make([]Message, 0, len(names[0])+len(names[1]))
	for i, sub := range []string{New, Cur} {
		for _, n := range names[i] {
			out = append(out, Message{Sub: sub, Name: n})
		}
	}
	return out, nil
}

// readNames returns the visible names of dir, sorted.
func readNames(dir string) ([]string, error) {
	names, err := listNames(dir)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// AcceptNew moves every message of new/ to cur/ with an empty ":2," info (what an IMAP or POP3
// server does on opening a folder) and returns them as they now are. Messages that another
// process moved first are skipped.
func (f *Folder) AcceptNew() ([]Message, error) {
	names, err := readNames(filepath.Join(f.path, New))
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, n := range names {
		base, flags, _ := ParseName(n)
		to := base + InfoSep + NormalizeFlags(flags)
		err := os.Rename(filepath.Join(f.path, New, n), filepath.Join(f.path, Cur, to))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("maildir: accept %s: %w", n, err)
		}
		out = append(out, Message{Sub: Cur, Name: to})
	}
	return out, nil
}

// Find locates the message with the given base name in new/ or cur/ (its flags may have
// changed since it was listed). The error wraps fs.ErrNotExist when it is gone.
func (f *Folder) Find(base string) (Message, error) {
	if _, err := os.Lstat(filepath.Join(f.path, New, base)); err == nil {
		return Message{Sub: New, Name: base}, nil
	}
	names, err := listNames(filepath.Join(f.path, Cur))
	if err != nil {
		return Message{}, err
	}
	for _, n := range names {
		if b, _, _ := ParseName(n); b == base {
			return Message{Sub: Cur, Name: n}, nil
		}
	}
	return Message{}, fmt.Errorf("maildir: message %s: %w", base, fs.ErrNotExist)
}

// SetFlags gives the message exactly the flag letters flags (sorted, letters we do not know
// kept as given) by renaming it into cur/. Setting or clearing T adjusts maildirsize as
// Courier does: a message marked deleted no longer counts.
func (f *Folder) SetFlags(msg Message, flags string) (Message, error) {
	flags = NormalizeFlags(flags)
	to := Message{Sub: Cur, Name: msg.Base() + InfoSep + flags}
	if to == msg {
		return msg, nil
	}
	wasT, isT := msg.Has(FlagTrashed), strings.IndexByte(flags, FlagTrashed) >= 0
	var d quota.Usage
	if wasT != isT && !f.IsTrash() {
		d = f.usage(msg)
		if isT {
			d = quota.Usage{Bytes: -d.Bytes, Count: -d.Count}
		}
	}
	err := quota.Change(f.path, d, func() error {
		if err := os.Rename(filepath.Join(f.path, msg.Sub, msg.Name), filepath.Join(f.path, to.Sub, to.Name)); err != nil {
			return fmt.Errorf("maildir: set flags of %s: %w", msg.Name, err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, quota.ErrRecord) {
		return msg, err
	}
	return to, nil
}

// ChangeFlags adds the letters of add and removes those of remove, keeping the others.
func (f *Folder) ChangeFlags(msg Message, add, remove string) (Message, error) {
	var b strings.Builder
	for _, c := range []byte(msg.Flags() + add) {
		if strings.IndexByte(remove, c) < 0 {
			b.WriteByte(c)
		}
	}
	return f.SetFlags(msg, b.String())
}

// usage returns what a message counts for the quota.
func (f *Folder) usage(msg Message) quota.Usage {
	size := msg.Size()
	if size < 0 {
		if st, err := os.Stat(filepath.Join(f.path, msg.Sub, msg.Name)); err == nil {
			size = st.Size()
		} else {
			size = 0
		}
	}
	return quota.Usage{Bytes: size, Count: 1}
}

// counts reports whether a message in this folder counts to the quota.
func (f *Folder) counts(msg Message) bool { return !f.IsTrash() && !msg.Has(FlagTrashed) }

// Remove deletes a message file (expunge) and records the removal in maildirsize.
func (f *Folder) Remove(msg Message) error {
	var d quota.Usage
	if f.counts(msg) {
		u := f.usage(msg)
		d = quota.Usage{Bytes: -u.Bytes, Count: -1}
	}
	err := quota.Change(f.path, d, func() error {
		if err := os.Remove(filepath.Join(f.path, msg.Sub, msg.Name)); err != nil {
			return fmt.Errorf("maildir: remove %s: %w", msg.Name, err)
		}
		return nil
	})
	if errors.Is(err, quota.ErrRecord) {
		return nil
	}
	return err
}

// MoveTo moves a message into the cur/ of another folder of the same maildir, keeping its
// name and flags. Moving out of Trash (into a folder that counts) is refused over quota;
// moving into Trash records the removal (README.maildirquota.html).
func (f *Folder) MoveTo(msg Message, dst *Folder) (Message, error) {
	u := f.usage(msg)
	before, after := f.counts(msg), dst.counts(msg)
	if after && !before {
		if _, err := quota.Check(dst.path, u, nil); err != nil {
			return msg, fmt.Errorf("maildir: move %s: %w", msg.Name, err)
		}
	}
	base, flags, _ := ParseName(msg.Name)
	to := Message{Sub: Cur, Name: base + InfoSep + NormalizeFlags(flags)}
	// Both folders belong to one maildir, so one maildirsize takes the delta.
	var d quota.Usage
	switch {
	case before && !after:
		d = quota.Usage{Bytes: -u.Bytes, Count: -1}
	case after && !before:
		d = u
	}
	err := quota.Change(dst.path, d, func() error {
		if err := moveNoReplace(filepath.Join(f.path, msg.Sub, msg.Name), filepath.Join(dst.path, Cur, to.Name)); err != nil {
			return fmt.Errorf("maildir: move %s: %w", msg.Name, err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, quota.ErrRecord) {
		return msg, err
	}
	return to, nil
}

// Open opens a message file for reading.
func (f *Folder) Open(msg Message) (*os.File, error) {
	fh, err := os.Open(filepath.Join(f.path, msg.Sub, msg.Name))
	if err != nil {
		return nil, fmt.Errorf("maildir: open message: %w", err)
	}
	return fh, nil
}

// CopyTo copies a message into another folder under a new unique name with the given flags,
// enforcing the quota of the destination.
func (f *Folder) CopyTo(msg Message, dst *Folder, flags string) (*Delivery, error) {
	fh, err := f.Open(msg)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return dst.Deliver(fh, &DeliverOptions{Cur: true, Flags: flags, NoQuota: dst.IsTrash()})
}
