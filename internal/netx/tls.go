package netx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles names the PEM files as Courier's configuration does.
type TLSFiles struct {
	CertFile    string // TLS_CERTFILE: certificate chain, and the key too unless KeyFile is set
	KeyFile     string // TLS_PRIVATE_KEYFILE: the private key, when kept apart
	TrustCerts  string // TLS_TRUSTCERTS: CAs for verifying client certificates
	VerifyPeer  string // TLS_VERIFYPEER: NONE (default), PEER (ask), REQUIREPEER (demand)
	MinVersionS string // TLS_PROTOCOL-ish floor; empty means TLS 1.2
}

// LoadTLS reads the files and builds a server config with TLS 1.2 as the floor.
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	if f.CertFile == "" {
		return nil, errors.New("TLS_CERTFILE is not set")
	}
	certPEM, err := os.ReadFile(f.CertFile)
	if err != nil {
		return nil, fmt.Errorf("TLS_CERTFILE: %w", err)
	}
	keyPEM := certPEM
	if f.KeyFile != "" {
		if keyPEM, err = os.ReadFile(f.KeyFile); err != nil {
			return nil, fmt.Errorf("TLS_PRIVATE_KEYFILE: %w", err)
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS_CERTFILE %s: %w", f.CertFile, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	switch f.MinVersionS {
	case "", "TLSv1.2", "TLSv1.2+", "TLS1_2", "TLS1_2+":
	case "TLSv1.3", "TLSv1.3+", "TLS1_3", "TLS1_3+":
		cfg.MinVersion = tls.VersionTLS13
	}
	switch f.VerifyPeer {
	case "", "NONE":
	case "PEER", "REQUIREPEER":
		if f.TrustCerts == "" {
			return nil, fmt.Errorf("TLS_VERIFYPEER=%s needs TLS_TRUSTCERTS", f.VerifyPeer)
		}
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(f.TrustCerts)
		if err != nil {
			return nil, fmt.Errorf("TLS_TRUSTCERTS: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS_TRUSTCERTS %s: no certificates found", f.TrustCerts)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if f.VerifyPeer == "REQUIREPEER" {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	default:
		return nil, fmt.Errorf("TLS_VERIFYPEER: unknown value %q (NONE, PEER or REQUIREPEER)", f.VerifyPeer)
	}
	return cfg, nil
}
