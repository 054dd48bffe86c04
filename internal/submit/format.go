package submit

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	magic     = "COURIER-PICKUP "
	version   = "1"
	headerLen = len(magic) + len(version) + 1 + 8 + 1 + 16 + 1 // 43
	// NewDir and BadDir are the subdirectories of a pickup directory.
	NewDir = "new"
	BadDir = "bad"
)

// ErrMalformed wraps every reason Parse refuses a file for.
var ErrMalformed = errors.New("malformed pickup file")

func fileHeader(envLen, contentLen int64) []byte {
	h := fmt.Appendf(nil, "%s%s %08x %016x\n", magic, version, envLen, contentLen)
	if len(h) != headerLen {
		panic("submit: header length")
	}
	return h
}

func encodeEnvelope(env *Envelope) ([]byte, error) {
	if err := env.Validate(); err != nil {
		return nil, fmt.Errorf("submit: envelope: %w", err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("submit: envelope: %w", err)
	}
	if len(b)+1 > maxEnvelope {
		return nil, errors.New("submit: envelope too large")
	}
	return append(b, '\n'), nil
}

// Encode returns a whole pickup file (tests and tools; sendmail streams with Drop).
func Encode(env *Envelope, content []byte) ([]byte, error) {
	eb, err := encodeEnvelope(env)
	if err != nil {
		return nil, err
	}
	out := fileHeader(int64(len(eb)), int64(len(content)))
	out = append(out, eb...)
	return append(out, content...), nil
}

// Parse reads the header and envelope of a pickup file of size octets and says where the
// content lies. Anything but a well-formed version 1 file of exactly the announced length
// is refused with an error wrapping ErrMalformed.
func Parse(r io.ReaderAt, size int64) (env *Envelope, contentOff, contentLen int64, err error) {
	bad := func(format string, a ...any) (*Envelope, int64, int64, error) {
		return nil, 0, 0, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if size < int64(headerLen) {
		return bad("%d octets: shorter than the header", size)
	}
	h := make([]byte, headerLen)
	if _, err := r.ReadAt(h, 0); err != nil {
		return nil, 0, 0, fmt.Errorf("submit: reading the header: %w", err)
	}
	if !bytes.HasPrefix(h, []byte(magic)) {
		return bad("not a pickup file")
	}
	rest := string(h[len(magic):])
	if !strings.HasPrefix(rest, version+" ") {
		v, _, _ := strings.Cut(rest, " ")
		return bad("version %q is not %s", v, version)
	}
	rest = rest[len(version)+1:]
	if rest[8] != ' ' || rest[len(rest)-1] != '\n' {
		return bad("bad header")
	}
	envLen, ok1 := hexField(rest[:8])
	cLen, ok2 := hexField(rest[9:25])
	if !ok1 || !ok2 {
		return bad("bad header")
	}
	if envLen < 3 || envLen > maxEnvelope {
		return bad("envelope length %d", envLen)
	}
	if int64(headerLen)+envLen+cLen != size || cLen < 0 {
		return bad("announces %d octets, holds %d", int64(headerLen)+envLen+cLen, size)
	}
	eb := make([]byte, envLen)
	if _, err := r.ReadAt(eb, int64(headerLen)); err != nil {
		return nil, 0, 0, fmt.Errorf("submit: reading the envelope: %w", err)
	}
	if eb[len(eb)-1] != '\n' {
		return bad("envelope does not end in a newline")
	}
	env = &Envelope{}
	dec := json.NewDecoder(bytes.NewReader(eb[:len(eb)-1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(env); err != nil {
		return bad("envelope: %v", err)
	}
	if dec.InputOffset() != int64(len(eb)-1) {
		return bad("envelope: data after the JSON object")
	}
	if err := env.Validate(); err != nil {
		return bad("envelope: %v", err)
	}
	return env, int64(headerLen) + envLen, cLen, nil
}

// hexField parses a fixed-width lower-case hex number.
func hexField(s string) (int64, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 16, 64)
	return n, err == nil && n >= 0
}

// NewName returns a pickup file name unique for ever: the time in nanoseconds, the
// process id and 64 random bits, letters, digits and dots only. Uniqueness matters: the
// queue remembers names to recognise a file it already holds.
func NewName() string {
	var rb [8]byte
	if _, err := rand.Read(rb[:]); err != nil {
		panic("submit: no randomness: " + err.Error())
	}
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "." + strconv.Itoa(os.Getpid()) + "." + hex.EncodeToString(rb[:])
}

// Drop writes one pickup file: NewDrop, Write the content, Commit.
type Drop struct {
	dir   string // PICKUP/new
	name  string
	tmp   string
	f     *os.File
	envN  int64
	n     int64
	done  bool
	err   error
	limit int64
}

// ErrTooBig is returned by Drop.Write past the size limit.
var ErrTooBig = errors.New("submit: message too big")

// NewDrop starts a pickup file in the pickup directory dir for env; limit bounds the
// content (0: none).
func NewDrop(dir string, env *Envelope, limit int64) (*Drop, error) {
	eb, err := encodeEnvelope(env)
	if err != nil {
		return nil, err
	}
	nd := filepath.Join(dir, NewDir)
	d := &Drop{dir: nd, name: NewName(), envN: int64(len(eb)), limit: limit}
	d.tmp = filepath.Join(nd, "."+d.name+".tmp")
	// 0600: only the owner and the server (root) read it; the directory is not listable.
	f, err := os.OpenFile(d.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	d.f = f
	if _, err := f.Write(append(fileHeader(0, 0), eb...)); err != nil {
		d.Abort()
		return nil, fmt.Errorf("submit: write %s: %w", d.tmp, err)
	}
	return d, nil
}

// Name returns the file's name in PICKUP/new (once committed).
func (d *Drop) Name() string { return d.name }

// Size returns the content written so far.
func (d *Drop) Size() int64 { return d.n }

// Write appends content.
func (d *Drop) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.limit > 0 && d.n+int64(len(p)) > d.limit {
		d.err = ErrTooBig
		return 0, d.err
	}
	n, err := d.f.Write(p)
	d.n += int64(n)
	if err != nil {
		d.err = fmt.Errorf("submit: write %s: %w", d.tmp, err)
	}
	return n, d.err
}

// Commit finishes the file and makes it durable under its final name; only after it
// returns nil may the message be called accepted.
func (d *Drop) Commit() error {
	if d.done {
		return errors.New("submit: drop already finished")
	}
	if d.err != nil {
		d.Abort()
		return d.err
	}
	fail := func(err error) error { d.Abort(); return err }
	if _, err := d.f.WriteAt(fileHeader(d.envN, d.n), 0); err != nil {
		return fail(fmt.Errorf("submit: write %s: %w", d.tmp, err))
	}
	if err := d.f.Sync(); err != nil {
		return fail(fmt.Errorf("submit: fsync %s: %w", d.tmp, err))
	}
	final := filepath.Join(d.dir, d.name)
	if err := os.Rename(d.tmp, final); err != nil {
		return fail(fmt.Errorf("submit: rename into %s: %w", d.dir, err))
	}
	d.done = true
	defer d.f.Close()
	if err := syncDirOf(d.dir, d.f); err != nil {
		// The file is complete under its name, but not known durable: say so rather than
		// acknowledge. The server may still deliver it; a retry by the caller may then
		// send it twice, the lesser evil against losing it.
		return err
	}
	return nil
}

// Abort removes the unfinished file.
func (d *Drop) Abort() {
	if d.done {
		return
	}
	d.done = true
	d.f.Close()
	os.Remove(d.tmp)
}

// syncDirOf makes the directory entries of dir durable. A user may not open a 1733
// directory (no read permission), so then it falls back to syncfs(2) on the file's
// filesystem, which covers the directory too: the one durable-rename call open to a
// user for a directory it cannot read.
func syncDirOf(dir string, f *os.File) error {
	dd, err := os.Open(dir)
	if err == nil {
		defer dd.Close()
		if err := dd.Sync(); err != nil {
			return fmt.Errorf("submit: fsync %s: %w", dir, err)
		}
		return nil
	}
	if !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("submit: fsync %s: %w", dir, err)
	}
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("submit: syncfs for %s: %w", dir, err)
	}
	return nil
}

// syncDir fsyncs a directory the server owns.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("submit: fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("submit: fsync %s: %w", dir, err)
	}
	return nil
}

// Send writes msg as one pickup file in the pickup directory dir for env (Time set to now
// when zero) and returns once it is durable; limit bounds the content (0: none).
func Send(dir string, env *Envelope, msg io.Reader, limit int64) error {
	if env.Time.IsZero() {
		env.Time = time.Now()
	}
	d, err := NewDrop(dir, env, limit)
	if err != nil {
		return err
	}
	if _, err := io.Copy(d, msg); err != nil {
		d.Abort()
		return fmt.Errorf("submit: %w", err)
	}
	return d.Commit()
}
