// Package quickstart lays out the embedded default installation: a complete, commented
// Courier-style configuration, a self-signed certificate, one domain with a demo account and
// its Maildir, all under one directory. It writes files only; internal/app runs them.
//
// A directory that already holds etc/ is reused as it is, so a person (or a test) may edit
// the configuration between runs.
package quickstart

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"courier/internal/auth/pwhash"
	"courier/internal/auth/userdb"
	"courier/internal/dkim"
	"courier/internal/netx"
	"courier/internal/store/maildir"
	"courier/internal/submit"
)

// Options are the quickstart flags.
type Options struct {
	Dir      string // default ./courier-data
	PortBase int    // every service listens on PortBase + its standard port
	Listen   string // address to listen on; default 127.0.0.1
	Domain   string // default example.test
	Password string // demo's password; generated when empty
	// Ephemeral makes every port 0 (the kernel picks); tests use it.
	Ephemeral bool
}

// Result says what Setup did.
type Result struct {
	Dir       string // absolute
	ConfigDir string
	Created   bool   // false when an existing directory was reused
	Password  string // the demo password, when known
	Account   string
	DKIM      string // the DNS record of a DKIM key (zone-file line), when there is one
}

// Standard ports per service; each listens on PortBase + this.
var Ports = map[string]int{
	"smtp": 25, "smtps": 465, "submission": 587, "pop3": 110, "pop3s": 995,
	"imap": 143, "imaps": 993, "http": 80, "https": 443,
}

// Folders every new account gets.
var Folders = []string{"Drafts", "Sent", "Trash", "Junk", "Archive"}

// Setup creates the directory on the first run and returns what a caller needs to run it.
func Setup(o Options) (*Result, error) {
	if o.Dir == "" {
		o.Dir = "courier-data"
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1"
	}
	if o.Domain == "" {
		o.Domain = "example.test"
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("quickstart dir: %w", err)
	}
	r := &Result{Dir: dir, ConfigDir: filepath.Join(dir, "etc"), Account: "demo@" + o.Domain}
	if _, err := os.Stat(filepath.Join(r.ConfigDir, "imapd")); err == nil {
		r.Password = readPassword(filepath.Join(dir, "QUICKSTART.txt"))
		if ks := dkim.NewKeyring(r.ConfigDir, nil).Keys(); len(ks) > 0 {
			if rec, err := dkim.RecordOf(ks[0]); err == nil {
				r.DKIM = rec.Zone()
			}
		}
		return r, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	if o.Password == "" {
		o.Password = generatePassword()
	}
	r.Password, r.Created = o.Password, true
	for _, d := range []string{"etc", "mail", "spool", "run", "tls", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("quickstart: %w", err)
		}
	}
	// sendmail's drop directory, private to whoever runs the quickstart (a real
	// installation's new/ is 1733, open to every local user; see package submit).
	if err := submit.MakeDirs(filepath.Join(dir, "spool", "pickup"), false); err != nil {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	pem, err := netx.SelfSigned([]string{o.Domain, "mail." + o.Domain, "localhost", o.Listen}, 3*365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("quickstart certificate: %w", err)
	}
	certFile := filepath.Join(dir, "tls", "server.pem")
	if err := writeFile(certFile, pem, 0o600); err != nil {
		return nil, err
	}
	maildir := filepath.Join(dir, "mail", o.Domain, "demo", "Maildir")
	if err := makeMaildir(maildir, Folders); err != nil {
		return nil, fmt.Errorf("quickstart maildir: %w", err)
	}
	fields, err := accountSecrets(o.Password)
	if err != nil {
		return nil, fmt.Errorf("quickstart account: %w", err)
	}
	port := func(svc string) string {
		if o.Ephemeral {
			return "0"
		}
		return strconv.Itoa(o.PortBase + Ports[svc])
	}
	data := map[string]any{
		"Dir": dir, "Domain": o.Domain, "Listen": o.Listen, "Cert": certFile,
		"Port": port, "Run": filepath.Join(dir, "run"), "Maildir": maildir,
		"Home": filepath.Dir(maildir),
		"UID":  os.Getuid(), "GID": os.Getgid(),
		"Entry": userdbEntry("demo@"+o.Domain, os.Getuid(), os.Getgid(), filepath.Dir(maildir), maildir, fields),
	}
	for name, text := range files {
		var b bytes.Buffer
		if err := template.Must(template.New(name).Parse(text)).Execute(&b, data); err != nil {
			return nil, fmt.Errorf("quickstart %s: %w", name, err)
		}
		mode := os.FileMode(0o644)
		if name == "userdb" || name == "authdaemonrc" {
			mode = 0o600
		}
		p := filepath.Join(r.ConfigDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("quickstart: %w", err)
		}
		if err := writeFile(p, b.Bytes(), mode); err != nil {
			return nil, err
		}
	}
	// The userdb text is Courier's; the servers read the compiled index, as after makeuserdb.
	if _, err := userdb.Make(filepath.Join(r.ConfigDir, "userdb")); err != nil {
		return nil, fmt.Errorf("quickstart makeuserdb: %w", err)
	}
	rec, err := dkim.Generate(r.ConfigDir, o.Domain, "default", "rsa")
	if err != nil {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	r.DKIM = rec.Zone()
	return r, nil
}

// accountSecrets stores the password every way a login mechanism needs it: a SHA-512 crypt
// hash for PLAIN/LOGIN, HMAC contexts for CRAM-MD5/SHA1/SHA256, and SCRAM-SHA-256 keys.
func accountSecrets(password string) (map[string]string, error) {
	out := map[string]string{}
	h, err := pwhash.Hash(pwhash.SHA512CryptScheme, password)
	if err != nil {
		return nil, err
	}
	out["systempw"] = h
	for field, alg := range map[string]pwhash.HMACHash{"hmac-md5pw": pwhash.HMACMD5, "hmac-sha1pw": pwhash.HMACSHA1, "hmac-sha256pw": pwhash.HMACSHA256} {
		c, err := pwhash.HMACContext(alg, password)
		if err != nil {
			return nil, err
		}
		out[field] = c
	}
	sc, err := pwhash.SCRAMSHA256(password)
	if err != nil {
		return nil, err
	}
	out["scram-sha-256pw"] = sc
	return out, nil
}

// makeMaildir creates a Maildir with folders, subscribed, as a new Courier account set up
// with maildirmake -f looks to an IMAP client.
func makeMaildir(path string, folders []string) error {
	if err := maildir.Create(path, maildir.Private, true); err != nil {
		return err
	}
	m, err := maildir.Open(path, nil)
	if err != nil {
		return err
	}
	for _, f := range folders {
		if _, err := m.CreateFolder("INBOX."+f, maildir.Private); err != nil {
			return fmt.Errorf("folder %s: %w", f, err)
		}
		if err := m.Subscribe("INBOX." + f); err != nil {
			return fmt.Errorf("subscribe %s: %w", f, err)
		}
	}
	return nil
}

// userdbEntry formats one line of Courier's userdb text file: the address, a tab, then
// field=value pairs joined by '|'.
func userdbEntry(addr string, uid, gid int, home, maildir string, extra map[string]string) string {
	parts := []string{"uid=" + strconv.Itoa(uid), "gid=" + strconv.Itoa(gid), "home=" + home, "mail=" + maildir}
	for _, k := range []string{"systempw", "imappw", "pop3pw", "hmac-md5pw", "hmac-sha1pw", "hmac-sha256pw", "scram-sha-256pw", "options"} {
		if v, ok := extra[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return addr + "\t" + strings.Join(parts, "|")
}

func writeFile(p string, data []byte, mode os.FileMode) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func generatePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b strings.Builder
	for i := 0; i < 16; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String()
}

func readPassword(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Password:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Service describes one listener for QUICKSTART.txt.
type Service struct {
	Name, Addr string
	Available  bool
}

// WriteGuide writes DIR/QUICKSTART.txt: how to point a mail client at this installation,
// with every configured service and whether this build serves it. It returns the text.
func WriteGuide(r *Result, services []Service) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Courier quickstart in %s\n\n", r.Dir)
	fmt.Fprintf(&b, "Account:  %s\nPassword: %s\n\n", r.Account, r.Password)
	fmt.Fprintf(&b, "Configuration: %s (Courier's file names; edit, then send SIGHUP or restart)\n", r.ConfigDir)
	fmt.Fprintf(&b, "Mail:          %s\n", filepath.Join(r.Dir, "mail"))
	fmt.Fprintf(&b, "Sendmail:      COURIER_CONFIG=%s courier sendmail -t < message\n", r.ConfigDir)
	fmt.Fprintf(&b, "               (dropped into %s, which the running server empties into\n", filepath.Join(r.Dir, "spool", "pickup", "new"))
	fmt.Fprintf(&b, "               the queue; 'courier mailq' lists the queue)\n\n")
	fmt.Fprintf(&b, "Services:\n")
	var missing []string
	for _, s := range services {
		if s.Available {
			fmt.Fprintf(&b, "  %-11s %s\n", s.Name, s.Addr)
		} else {
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(&b, "\nConfigured but not in this build yet (no listener is opened for them):\n  %s\n", strings.Join(missing, ", "))
	}
	addr := func(name string) string {
		for _, s := range services {
			if s.Name == name && s.Available {
				return s.Addr
			}
		}
		return ""
	}
	b.WriteString("\nMail clients (the certificate is self-signed: accept it once):\n")
	if a := addr("imaps"); a != "" {
		fmt.Fprintf(&b, "  Thunderbird: IMAP %s, SSL/TLS, normal password, user %s\n", a, r.Account)
		fmt.Fprintf(&b, "  mutt:        mutt -f imaps://%s@%s/\n", strings.Replace(r.Account, "@", "%40", 1), a)
	} else if a := addr("imap"); a != "" {
		fmt.Fprintf(&b, "  Thunderbird: IMAP %s, STARTTLS, normal password, user %s\n", a, r.Account)
	} else {
		b.WriteString("  IMAP is not in this build yet; nothing to point a mail client at so far.\n")
	}
	if a := addr("submission"); a != "" {
		fmt.Fprintf(&b, "  Outgoing:    SMTP %s, STARTTLS, normal password, user %s\n", a, r.Account)
	}
	if a := addr("http"); a != "" {
		fmt.Fprintf(&b, "  Web:         http://%s/  (metrics at /metrics, loopback only)\n", a)
	}
	if r.DKIM != "" {
		fmt.Fprintf(&b, "\nOutgoing mail is DKIM-signed; publish this record ('courier dkim dns -c %s' shows it again):\n  %s\n", r.ConfigDir, r.DKIM)
	}
	text := b.String()
	if err := writeFile(filepath.Join(r.Dir, "QUICKSTART.txt"), []byte(text), 0o600); err != nil {
		return "", err
	}
	return text, nil
}
