package sasl

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
	"courier/internal/auth/userdb"
)

// chain compiles a userdb with SCRAM keys and CRAM contexts for "alice".
func chain(t *testing.T) *auth.Chain {
	t.Helper()
	h, _ := pwhash.Hash(pwhash.MD5CryptScheme, "secret")
	hm, _ := pwhash.HMACContext(pwhash.HMACMD5, "secret")
	hs, _ := pwhash.HMACContext(pwhash.HMACSHA256, "secret")
	sc, _ := pwhash.SCRAMSHA256("secret")
	src := filepath.Join(t.TempDir(), "userdb")
	text := fmt.Sprintf("alice\tuid=1|gid=1|home=/a|systempw=%s|hmac-md5pw=%s|hmac-sha256pw=%s|scram-sha-256pw=%s\n"+
		"nopop\tuid=2|gid=2|home=/b|systempw=%s|options=disablepop3=1\n", h, hm, hs, sc, h)
	os.WriteFile(src, []byte(text), 0o600)
	if _, err := userdb.Make(src); err != nil {
		t.Fatal(err)
	}
	return auth.NewChain(nil, userdb.New(src))
}

func TestMechanismsOffered(t *testing.T) {
	c := chain(t)
	got := fmt.Sprint(New(Config{Auth: c, Service: "imap"}).Mechanisms())
	if got != "[SCRAM-SHA-256 CRAM-SHA256 CRAM-MD5]" {
		t.Errorf("without TLS: %s", got)
	}
	got = fmt.Sprint(New(Config{Auth: c, Service: "imap", AllowPlaintext: true, ExternalIdentity: "alice"}).Mechanisms())
	if got != "[SCRAM-SHA-256 CRAM-SHA256 CRAM-MD5 PLAIN LOGIN EXTERNAL]" {
		t.Errorf("plaintext allowed: %s", got)
	}
	if _, _, err := New(Config{Auth: c, Service: "imap"}).Start(context.Background(), "PLAIN", []byte("\x00alice\x00secret")); !errors.Is(err, ErrUnknownMechanism) {
		t.Errorf("PLAIN without TLS: %v", err)
	}
	if _, _, err := New(Config{Auth: c, Service: "imap"}).Start(context.Background(), "CRAM-SHA1", nil); !errors.Is(err, ErrUnknownMechanism) {
		t.Errorf("CRAM-SHA1 without secrets: %v", err)
	}
}

func TestPlainLoginCRAMExternal(t *testing.T) {
	c := chain(t)
	ctx := context.Background()
	cfg := Config{Auth: c, Service: "imap", AllowPlaintext: true, ExternalIdentity: "alice"}

	s := New(cfg)
	if _, done, err := s.Start(ctx, "plain", []byte("\x00alice\x00secret")); err != nil || !done || s.Account().Address != "alice" {
		t.Errorf("PLAIN: %v %v", done, err)
	}
	s = New(cfg)
	if ch, done, err := s.Start(ctx, "PLAIN", nil); err != nil || done || len(ch) != 0 {
		t.Fatalf("PLAIN no IR: %q %v %v", ch, done, err)
	}
	if _, _, err := s.Next(ctx, []byte("alice\x00alice\x00wrong")); !errors.Is(err, ErrAuthFailed) || !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("PLAIN wrong: %v", err)
	}
	if _, _, err := New(cfg).Start(ctx, "PLAIN", []byte("bob\x00alice\x00secret")); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("PLAIN other authzid: %v", err)
	}
	if _, _, err := New(cfg).Start(ctx, "PLAIN", []byte("garbage")); !errors.Is(err, ErrMalformed) {
		t.Errorf("PLAIN garbage: %v", err)
	}

	s = New(cfg)
	ch, _, _ := s.Start(ctx, "LOGIN", nil)
	if string(ch) != "Username:" {
		t.Errorf("LOGIN challenge %q", ch)
	}
	ch, _, _ = s.Next(ctx, []byte("alice"))
	if _, done, err := s.Next(ctx, []byte("secret")); string(ch) != "Password:" || !done || err != nil {
		t.Errorf("LOGIN: %q %v %v", ch, done, err)
	}

	for _, m := range []struct {
		name string
		h    pwhash.HMACHash
	}{{CRAMMD5, pwhash.HMACMD5}, {CRAMSHA256, pwhash.HMACSHA256}} {
		s = New(cfg)
		ch, done, err := s.Start(ctx, m.name, nil)
		if err != nil || done || len(ch) < 10 {
			t.Fatalf("%s start: %q %v", m.name, ch, err)
		}
		d, _ := pwhash.CRAMDigest(m.h, "secret", ch)
		if _, done, err := s.Next(ctx, fmt.Appendf(nil, "alice %x", d)); !done || err != nil {
			t.Errorf("%s: %v %v", m.name, done, err)
		}
		s = New(cfg)
		s.Start(ctx, m.name, nil)
		if _, _, err := s.Next(ctx, []byte("alice 00")); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s wrong: %v", m.name, err)
		}
	}

	s = New(cfg)
	if _, done, err := s.Start(ctx, "EXTERNAL", []byte{}); !done || err != nil {
		t.Errorf("EXTERNAL: %v %v", done, err)
	}
	if _, _, err := New(cfg).Start(ctx, "EXTERNAL", []byte("nopop")); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("EXTERNAL other id: %v", err)
	}
	// disablepop3 refuses POP3 even with the right password.
	pcfg := cfg
	pcfg.Service = "pop3"
	if _, _, err := New(pcfg).Start(ctx, "PLAIN", []byte("\x00nopop\x00secret")); !errors.Is(err, auth.ErrDisabled) {
		t.Errorf("disablepop3: %v", err)
	}
}

// scramRun drives a SCRAM exchange with the xdg-go client.
func scramRun(t *testing.T, s *Server, mech string, conv *scram.ClientConversation) error {
	ctx := context.Background()
	first, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	ch, done, err := s.Start(ctx, mech, []byte(first))
	if err != nil {
		return err
	}
	for !done {
		resp, cerr := conv.Step(string(ch))
		if cerr != nil {
			return cerr
		}
		ch, done, err = s.Next(ctx, []byte(resp))
		if err != nil {
			return err
		}
	}
	return nil
}

func TestSCRAM(t *testing.T) {
	c := chain(t)
	for _, pw := range []string{"secret", "wrong"} {
		cl, _ := scram.SHA256.NewClient("alice", pw, "")
		err := scramRun(t, New(Config{Auth: c, Service: "imap"}), SCRAMSHA256, cl.NewConversation())
		if (pw == "secret") != (err == nil) {
			t.Errorf("SCRAM %s: %v", pw, err)
		}
	}
	cl, _ := scram.SHA256.NewClient("nobody", "secret", "")
	if err := scramRun(t, New(Config{Auth: c, Service: "imap"}), SCRAMSHA256, cl.NewConversation()); err == nil {
		t.Error("SCRAM unknown user succeeded")
	}
}

// tlsPair returns the server-side state of a real TLS connection of the
// given version, and the client's.
func tlsPair(t *testing.T, version uint16) (*tls.ConnectionState, *tls.ConnectionState) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"t"}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a, b := net.Pipe()
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
	cli := tls.Client(b, &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ss, cs := srv.ConnectionState(), cli.ConnectionState()
	return &ss, &cs
}

func TestSCRAMPlusChannelBinding(t *testing.T) {
	c := chain(t)
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		ss, cs := tlsPair(t, v)
		s := New(Config{Auth: c, Service: "imap", TLS: ss})
		if m := s.Mechanisms(); m[0] != SCRAMSHA256Pls {
			t.Fatalf("TLS %x: mechanisms %v", v, m)
		}
		var cb scram.ChannelBinding
		if v == tls.VersionTLS13 {
			cb, _ = scram.NewTLSExporterBinding(cs)
		} else {
			cb = scram.NewTLSUniqueBinding(cs.TLSUnique)
		}
		cl, _ := scram.SHA256.NewClient("alice", "secret", "")
		if err := scramRun(t, s, SCRAMSHA256Pls, cl.NewConversationWithChannelBinding(cb)); err != nil {
			t.Errorf("TLS %x SCRAM-PLUS: %v", v, err)
		}
		// A binding from another connection (a man in the middle) fails.
		_, other := tlsPair(t, v)
		if v == tls.VersionTLS13 {
			cb, _ = scram.NewTLSExporterBinding(other)
		} else {
			cb = scram.NewTLSUniqueBinding(other.TLSUnique)
		}
		cl, _ = scram.SHA256.NewClient("alice", "secret", "")
		if err := scramRun(t, New(Config{Auth: c, Service: "imap", TLS: ss}), SCRAMSHA256Pls, cl.NewConversationWithChannelBinding(cb)); err == nil {
			t.Errorf("TLS %x: foreign channel binding accepted", v)
		}
	}
}
