// Package dkim signs outgoing mail with DKIM (RFC 6376, RFC 8463) using keys kept in the
// configuration directory, and makes those keys (courier dkim keygen, quickstart).
//
// # Layout
//
// The control file DIR/dkimkeys (Courier's control-file conventions: "#" comments, blank
// lines ignored, and it may be a directory whose plain files are read in name order) names
// the signing keys, one per line:
//
//	DOMAIN SELECTOR [KEYFILE]
//
// KEYFILE is a PEM private key (PKCS#8 "PRIVATE KEY" with an RSA or Ed25519 key, or PKCS#1
// "RSA PRIVATE KEY" as opendkim-genkey writes), relative to DIR/dkim/ unless absolute;
// without it the key is DIR/dkim/DOMAIN.SELECTOR.key. The public half goes into DNS as a
// TXT record at SELECTOR._domainkey.DOMAIN; DIR/dkim/DOMAIN.SELECTOR.dns holds that record
// as keygen printed it (nothing reads it back: `courier dkim dns` recomputes it from the
// keys). Several lines for one domain sign with each key (an RSA and an Ed25519 signature,
// as RFC 8463 section 5 suggests, or an old and a new key during a rotation). Domains are
// compared in lower-case A-label form.
//
// # What is signed
//
// A message is signed for the domain of its From: header field when a key for that domain
// or one of its parent domains exists (d= is then that parent, which DMARC's relaxed
// alignment accepts); otherwise for the domain of the envelope sender, by the same rule;
// otherwise not at all. Which messages are signed is the caller's decision (package app
// signs mail from authenticated and local senders). Signatures use relaxed/relaxed
// canonicalisation and SHA-256, and cover the usual originator, recipient, subject,
// threading, MIME and list fields that are present, with From: signed once more than it
// occurs (RFC 6376 section 8.15), so that a From: added later breaks the signature.
//
// The Keyring re-reads dkimkeys and the keys when they change (checked at most once a
// second), so a key made with courier dkim keygen applies without a restart. A key that
// cannot be read is an error for the messages it should sign, not a silent omission.
package dkim

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/idna"

	"courier/internal/config/courierfmt"
	"courier/internal/fsutil"
)

// ControlFile is the name of the control file naming the keys, in the configuration
// directory; KeyDir is the directory of the key files.
const (
	ControlFile = "dkimkeys"
	KeyDir      = "dkim"
)

// Key is one signing key.
type Key struct {
	Domain   string // lower-case A-label
	Selector string
	File     string // the key file
	Signer   crypto.Signer
}

// Keyring holds the signing keys of a configuration directory. Safe for concurrent use.
type Keyring struct {
	dir string
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	checked time.Time
	stamps  map[string]time.Time
	keys    map[string][]Key // by domain
	broken  map[string]error // domains whose key could not be loaded
}

// NewKeyring returns the keyring of configuration directory dir; log receives warnings
// about lines that cannot be used (nil discards them).
func NewKeyring(dir string, log *slog.Logger) *Keyring {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keyring{dir: dir, log: log, now: time.Now}
}

// stampsOf returns the modification times of the control file (or its directory's files)
// and of the key directory's files.
func (k *Keyring) stampsOf() map[string]time.Time {
	out := map[string]time.Time{}
	for _, p := range []string{filepath.Join(k.dir, ControlFile), filepath.Join(k.dir, KeyDir)} {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		out[p] = st.ModTime()
		if st.IsDir() {
			ents, _ := os.ReadDir(p)
			for _, e := range ents {
				if info, err := e.Info(); err == nil {
					out[filepath.Join(p, e.Name())] = info.ModTime()
				}
			}
		}
	}
	return out
}

func sameStamps(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for n, t := range a {
		if u, ok := b[n]; !ok || !u.Equal(t) {
			return false
		}
	}
	return true
}

// refresh reloads the keys when their files changed. k.mu is held.
func (k *Keyring) refresh() {
	now := k.now()
	if k.keys != nil && now.Sub(k.checked) < time.Second {
		return
	}
	k.checked = now
	st := k.stampsOf()
	if k.keys != nil && sameStamps(st, k.stamps) {
		return
	}
	k.stamps = st
	k.keys, k.broken = map[string][]Key{}, map[string]error{}
	lines, warns, err := courierfmt.ReadControl(filepath.Join(k.dir, ControlFile))
	for _, w := range warns {
		k.log.Warn("dkim: control file", "warning", w.String())
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			k.log.Error("dkim: cannot read the key list", "err", err)
		}
		return
	}
	for _, l := range lines {
		f := strings.Fields(l.Text)
		if len(f) < 2 || len(f) > 3 {
			k.log.Warn("dkim: line ignored (want \"DOMAIN SELECTOR [KEYFILE]\")", "at", l.Pos())
			continue
		}
		domain, err := normalise(f[0])
		if err != nil {
			k.log.Warn("dkim: line ignored", "at", l.Pos(), "err", err)
			continue
		}
		file := filepath.Join(k.dir, KeyDir, domain+"."+f[1]+".key")
		if len(f) == 3 {
			file = f[2]
			if !filepath.IsAbs(file) {
				file = filepath.Join(k.dir, KeyDir, file)
			}
		}
		signer, err := LoadKey(file)
		if err != nil {
			err = fmt.Errorf("%s: %w", l.Pos(), err)
			k.log.Error("dkim: key unusable", "domain", domain, "selector", f[1], "err", err)
			k.broken[domain] = err
			continue
		}
		k.keys[domain] = append(k.keys[domain], Key{Domain: domain, Selector: f[1], File: file, Signer: signer})
	}
}

// Keys returns every usable key.
func (k *Keyring) Keys() []Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	var out []Key
	for _, ks := range k.keys {
		out = append(out, ks...)
	}
	return out
}

// For returns the keys that sign for domain: those of the domain itself, else those of its
// nearest parent domain that has keys. An error says the key of that domain exists but
// cannot be used.
func (k *Keyring) For(domain string) ([]Key, error) {
	d, err := normalise(domain)
	if err != nil || d == "" {
		return nil, nil //nolint:nilerr // a domain that cannot be a DNS name has no key
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	for {
		if err := k.broken[d]; err != nil {
			return nil, err
		}
		if ks := k.keys[d]; len(ks) > 0 {
			return ks, nil
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return nil, nil
		}
		d = d[i+1:]
	}
}

// normalise returns a domain in lower-case A-label form, without a trailing dot.
func normalise(domain string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if d == "" {
		return "", nil
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("dkim: bad domain %q: %w", domain, err)
	}
	return strings.ToLower(a), nil
}

// LoadKey reads a PEM private key (PKCS#8 RSA or Ed25519, or PKCS#1 RSA).
func LoadKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dkim key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("dkim key %s: no PEM block", path)
	}
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("dkim key %s: %w", path, err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("dkim key %s: %w", path, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("dkim key %s: %T keys cannot sign DKIM (want RSA or Ed25519)", path, k)
		}
	default:
		return nil, fmt.Errorf("dkim key %s: PEM block %q is not a private key", path, blk.Type)
	}
}

// signedFields are the header fields signed when present (RFC 6376 section 5.4.1).
var signedFields = []string{"From", "Sender", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-ID", "Content-Description", "Content-Disposition", "Resent-Date", "Resent-From",
	"Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID", "List-Id", "List-Help",
	"List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe", "List-Post", "List-Owner",
	"List-Archive", "Autocrypt", "Openpgp"}

// Sign reads a message (lines ending in LF or CRLF, as it will be sent: LF becomes CRLF)
// and returns the DKIM-Signature header fields to put before it, each ending in CRLF, or
// "" when no key signs for its From: domain nor for envelopeDomain (the envelope sender's
// domain; may be empty).
func (k *Keyring) Sign(r io.Reader, envelopeDomain string) (string, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	head, fields, err := readHeader(br)
	if err != nil {
		return "", fmt.Errorf("dkim: reading the header: %w", err)
	}
	from := fromDomain(fields)
	keys, err := k.For(from)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 && envelopeDomain != "" {
		if keys, err = k.For(envelopeDomain); err != nil {
			return "", err
		}
	}
	if len(keys) == 0 {
		return "", nil
	}
	count := map[string]int{}
	for _, f := range fields {
		count[strings.ToLower(f.name)]++
	}
	var names []string
	for _, n := range signedFields {
		for range count[strings.ToLower(n)] {
			names = append(names, n)
		}
	}
	names = append(names, "From") // over-signed: one more than there are
	signers := make([]*msgdkim.Signer, 0, len(keys))
	ws := make([]io.Writer, 0, len(keys))
	defer func() {
		for _, s := range signers {
			s.Close()
		}
	}()
	for _, key := range keys {
		s, err := msgdkim.NewSigner(&msgdkim.SignOptions{Domain: key.Domain, Selector: key.Selector, Signer: key.Signer,
			HeaderCanonicalization: msgdkim.CanonicalizationRelaxed, BodyCanonicalization: msgdkim.CanonicalizationRelaxed,
			HeaderKeys: names})
		if err != nil {
			return "", fmt.Errorf("dkim: %s selector %s: %w", key.Domain, key.Selector, err)
		}
		signers = append(signers, s)
		ws = append(ws, s)
	}
	cw := &crlfWriter{w: io.MultiWriter(ws...)}
	if _, err := cw.Write(head); err != nil {
		return "", fmt.Errorf("dkim: signing: %w", err)
	}
	if _, err := io.Copy(cw, br); err != nil {
		return "", fmt.Errorf("dkim: signing: %w", err)
	}
	var out strings.Builder
	for i, s := range signers {
		if err := s.Close(); err != nil {
			return "", fmt.Errorf("dkim: %s selector %s: %w", keys[i].Domain, keys[i].Selector, err)
		}
		out.WriteString(s.Signature())
	}
	signers = nil
	return out.String(), nil
}

// field is one header field: its name and its unfolded value.
type field struct{ name, value string }

// readHeader reads the header section up to and including the empty line that ends it (or
// to the end of the message) and returns it with its fields.
func readHeader(br *bufio.Reader) ([]byte, []field, error) {
	var head bytes.Buffer
	var fields []field
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// a very long line: keep it whole
			rest, err2 := br.ReadBytes('\n')
			line = append(append([]byte(nil), line...), rest...)
			err = err2
		}
		head.Write(line)
		t := bytes.TrimRight(line, "\r\n")
		switch {
		case len(t) == 0 && len(line) > 0:
			return head.Bytes(), fields, nil
		case len(t) > 0 && (t[0] == ' ' || t[0] == '\t') && len(fields) > 0:
			fields[len(fields)-1].value += " " + strings.TrimSpace(string(t))
		case len(t) > 0:
			name, value, ok := strings.Cut(string(t), ":")
			if ok {
				fields = append(fields, field{name: strings.TrimSpace(name), value: strings.TrimSpace(value)})
			}
		}
		if err == io.EOF {
			return head.Bytes(), fields, nil
		}
		if err != nil {
			return nil, nil, err
		}
	}
}

// fromDomain returns the domain of the (first) address of the From: field, or "".
func fromDomain(fields []field) string {
	for _, f := range fields {
		if !strings.EqualFold(f.name, "From") {
			continue
		}
		if list, err := mail.ParseAddressList(f.value); err == nil && len(list) > 0 {
			return domainOf(list[0].Address)
		}
		// unparsable (an unknown charset in a display name, say): take what follows the
		// last "@" of the first address
		v := f.value
		if i := strings.IndexByte(v, '<'); i >= 0 {
			v = v[i+1:]
		}
		if i := strings.IndexAny(v, ">,"); i >= 0 {
			v = v[:i]
		}
		return domainOf(strings.TrimSpace(v))
	}
	return ""
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(addr[i+1:]))
}

// crlfWriter turns each LF not preceded by CR into CRLF, as the SMTP client does when it
// sends the message, so that the signer hashes the bytes the peer receives.
type crlfWriter struct {
	w      io.Writer
	prevCR bool
	buf    []byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		if b == '\n' && !c.prevCR {
			c.buf = append(c.buf, '\r')
		}
		c.buf = append(c.buf, b)
		c.prevCR = b == '\r'
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Record is the DNS TXT record that publishes a key.
type Record struct {
	Name  string // SELECTOR._domainkey.DOMAIN (no trailing dot)
	Value string // v=DKIM1; k=…; p=…
}

// Zone returns the record in zone-file syntax on one line, its value cut into strings of
// at most 255 octets (RFC 1035 section 3.3.14), as DNS servers need for RSA keys.
func (r Record) Zone() string {
	var parts []string
	for v := r.Value; v != ""; {
		n := min(len(v), 255)
		parts = append(parts, `"`+v[:n]+`"`)
		v = v[n:]
	}
	return r.Name + ". 3600 IN TXT " + strings.Join(parts, " ")
}

// RecordOf returns the TXT record of a key (RFC 6376 section 3.6.1; RFC 8463 section 4.2
// for Ed25519, whose p= is the raw 32-octet public key).
func RecordOf(k Key) (Record, error) {
	name := k.Selector + "._domainkey." + k.Domain
	switch pub := k.Signer.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return Record{}, fmt.Errorf("dkim: %w", err)
		}
		return Record{Name: name, Value: "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)}, nil
	case ed25519.PublicKey:
		return Record{Name: name, Value: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	default:
		return Record{}, fmt.Errorf("dkim: %T keys cannot sign DKIM", pub)
	}
}

// validSelector reports whether s can be a selector: DNS labels of letters, digits and
// hyphens, separated by dots (RFC 6376 section 3.1).
func validSelector(s string) bool {
	if s == "" || len(s) > 63*4 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Generate makes a key for domain with selector ("rsa", 2048 bits, or "ed25519"), writes
// it to DIR/dkim/DOMAIN.SELECTOR.key (mode 0600) with its record in DOMAIN.SELECTOR.dns,
// adds "DOMAIN SELECTOR" to DIR/dkimkeys, and returns the record to publish. An existing key
// file is never overwritten.
func Generate(configDir, domain, selector, typ string) (Record, error) {
	d, err := normalise(domain)
	if err != nil {
		return Record{}, err
	}
	if d == "" || !strings.Contains(d, ".") && d != "localhost" {
		return Record{}, fmt.Errorf("dkim: %q is not a mail domain", domain)
	}
	if !validSelector(selector) {
		return Record{}, fmt.Errorf("dkim: bad selector %q (letters, digits, hyphens and dots)", selector)
	}
	var key crypto.Signer
	switch strings.ToLower(typ) {
	case "", "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return Record{}, fmt.Errorf("dkim: unknown key type %q (want rsa or ed25519)", typ)
	}
	if err != nil {
		return Record{}, fmt.Errorf("dkim: generating the key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Record{}, fmt.Errorf("dkim: %w", err)
	}
	kdir := filepath.Join(configDir, KeyDir)
	if err := os.MkdirAll(kdir, 0o750); err != nil {
		return Record{}, fmt.Errorf("dkim: %w", err)
	}
	file := filepath.Join(kdir, d+"."+selector+".key")
	if _, err := os.Lstat(file); err == nil {
		return Record{}, fmt.Errorf("dkim: %s exists; choose another selector (-selector) or remove it", file)
	}
	rec, err := RecordOf(Key{Domain: d, Selector: selector, Signer: key})
	if err != nil {
		return Record{}, err
	}
	if err := writeAtomic(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return Record{}, err
	}
	if err := writeAtomic(strings.TrimSuffix(file, ".key")+".dns", []byte(rec.Zone()+"\n"), 0o644); err != nil {
		return Record{}, err
	}
	if err := addControlLine(configDir, d, selector); err != nil {
		return Record{}, err
	}
	return rec, nil
}

const controlHeader = `# DKIM signing keys: one "DOMAIN SELECTOR [KEYFILE]" per line. KEYFILE is relative to
# the dkim/ directory beside this file, DOMAIN.SELECTOR.key when omitted. Outgoing mail from
# authenticated and local senders is signed for its From: domain (or a parent domain), else
# for the envelope sender's domain. Publish each key's TXT record (courier dkim dns):
# until it is in DNS, receivers cannot verify the signature. Made by courier dkim keygen.
`

// addControlLine adds "domain selector" to the control file unless a line names them
// already. When the control file is a directory, the line goes into a file of its own.
func addControlLine(configDir, domain, selector string) error {
	path := filepath.Join(configDir, ControlFile)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return writeAtomic(filepath.Join(path, domain+"."+selector), []byte(domain+" "+selector+"\n"), 0o644)
	}
	lines, _, err := courierfmt.ReadControl(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dkim: %w", err)
	}
	for _, l := range lines {
		if f := strings.Fields(l.Text); len(f) >= 2 && strings.EqualFold(f[0], domain) && f[1] == selector {
			return nil
		}
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dkim: %w", err)
	}
	if len(old) == 0 {
		old = []byte(controlHeader)
	} else if old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	return writeAtomic(path, append(old, domain+" "+selector+"\n"...), 0o644)
}

// writeAtomic writes a file through a temporary one: fsync, rename, fsync the directory.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := fsutil.WriteFileAtomic(path, data, mode); err != nil {
		return fmt.Errorf("dkim: %w", err)
	}
	return nil
}
