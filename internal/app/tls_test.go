package app_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	"courier/internal/testutil"
)

func TestHTTPSImplicitTLSFloorIsTLS12(t *testing.T) {
	t.Parallel()
	srv := testutil.Start(t, testutil.Options{})
	addr := srv.MustAddr(t, "https")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Courier mail server") {
		t.Fatalf("https status page: %s %q", resp.Status, body)
	}
	if resp.TLS != nil && resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("negotiated TLS version %x", resp.TLS.Version)
	}
	// A client that offers at most TLS 1.1 is refused.
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

func TestMetricsOnlyForLoopbackAndListed(t *testing.T) {
	t.Parallel()
	srv := testutil.Start(t, testutil.Options{})
	resp, err := http.Get("http://" + srv.MustAddr(t, "http") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "courier_listeners") {
		t.Fatalf("loopback /metrics: %s", resp.Status)
	}
}
