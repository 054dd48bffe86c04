package app_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"courier/internal/dkim"
)

// sevenBitPeer is an SMTP server on 127.0.0.1 (a net.Listener and a few lines of protocol)
// whose EHLO reply lacks 8BITMIME, as old servers' do; it passes each message it receives,
// dot-stuffing undone and CRLF kept, to got.
func sevenBitPeer(t *testing.T) (port string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				r := bufio.NewReader(c)
				say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
				say("220 old.test ESMTP")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"):
						say("250-old.test\r\n250-PIPELINING\r\n250 SIZE 10000000")
					case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), cmd == "RSET":
						if strings.Contains(cmd, "BODY=8BITMIME") {
							say("555 BODY=8BITMIME was not offered")
							continue
						}
						say("250 ok")
					case cmd == "DATA":
						say("354 go on")
						var b strings.Builder
						for {
							l, err := r.ReadString('\n')
							if err != nil {
								return
							}
							if l == ".\r\n" {
								break
							}
							b.WriteString(strings.TrimPrefix(l, "."))
						}
						ch <- b.String()
						say("250 queued")
					case cmd == "QUIT":
						say("221 bye")
						return
					default:
						say("502 unknown")
					}
				}
			}(c)
		}
	}()
	return itoaPort(ln), ch
}

func itoaPort(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// TestOutboundDowngradeDKIM: an 8-bit message submitted to a quickstart installation for a
// domain whose server does not offer 8BITMIME arrives 7-bit (the 8-bit text
// quoted-printable) with a DKIM-Signature that verifies against the installation's key:
// the transport signs the form it sends, not the stored one.
func TestOutboundDowngradeDKIM(t *testing.T) {
	port, got := sevenBitPeer(t)
	src := startDomain(t, "example.test", func(t testing.TB, dir string) {
		prependTo(t, filepath.Join(dir, "esmtproutes"), "example.net: 127.0.0.1,"+port+"\n")
	})
	var records []string
	for _, k := range dkim.NewKeyring(src.ConfigDir, nil).Keys() {
		rec, err := dkim.RecordOf(k)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, rec.Zone())
	}
	dnsAddr := txtServer(t, records...)

	submit(t, src, []string{"someone@example.net"},
		"From: Demo <demo@example.test>\nTo: someone@example.net\nSubject: downgraded\nMIME-Version: 1.0\n"+
			"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße aus Köln.\nZweite Zeile.  \n")
	var msg string
	select {
	case msg = <-got:
	case <-time.After(15 * time.Second):
		t.Fatal("nothing arrived at the 7-bit peer")
	}
	for i := 0; i < len(msg); i++ {
		if msg[i] >= 0x80 {
			t.Fatalf("8-bit octet at %d:\n%s", i, msg)
		}
	}
	if !strings.Contains(msg, "Content-Transfer-Encoding: quoted-printable\r\n") || !strings.Contains(msg, "Gr=C3=BC=C3=9Fe aus K=C3=B6ln.") {
		t.Fatalf("not converted:\n%s", msg)
	}
	vs, err := msgdkim.VerifyWithOptions(strings.NewReader(msg), &msgdkim.VerifyOptions{LookupTXT: lookupTXT(dnsAddr)})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.test" {
		t.Fatalf("verification: %+v", vs)
	}
}

// TestOutboundRequireTLSBounce: a message submitted over TLS with REQUIRETLS (RFC 8689)
// for a domain whose server offers no STARTTLS is never sent in clear: it comes back to
// the sender as a notification with Status 5.7.10, and the server got nothing.
func TestOutboundRequireTLSBounce(t *testing.T) {
	port, got := sevenBitPeer(t)
	src := startDomain(t, "example.test", func(t testing.TB, dir string) {
		prependTo(t, filepath.Join(dir, "esmtproutes"), "example.net: 127.0.0.1,"+port+"\n")
	})
	c, err := smtp.DialStartTLS(src.MustAddr(t, "submission"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", src.Account, src.Password)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(src.Account, &smtp.MailOptions{RequireTLS: true}); err != nil {
		t.Fatalf("MAIL FROM with REQUIRETLS: %v", err)
	}
	if err := c.Rcpt("someone@example.net", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("From: demo@example.test\r\nSubject: for TLS only\r\n\r\nsecret\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()
	bounce := maildirNew(t, src, "example.test", 1)
	if len(bounce) != 1 || !strings.Contains(bounce[0], "Status: 5.7.10") || !strings.Contains(bounce[0], "REQUIRETLS") {
		t.Fatalf("notification:\n%s", bounce)
	}
	select {
	case m := <-got:
		t.Fatalf("sent in clear:\n%s", m)
	default:
	}
}
