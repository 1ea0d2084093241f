// Package tlstest makes the certificates tests need to exercise TLS and mutual TLS: a
// CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files and
// bytes. Test code only; the keys are throwaway.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a CA and two certificates it issued.
type PKI struct {
	// CAFile, CertFile and KeyFile are the CA certificate and the client's certificate
	// and key, as a FedKeeper config names them.
	CAFile, CertFile, KeyFile string
	// CAPEM, ServerCertPEM and ServerKeyPEM are for the server side.
	CAPEM, ServerCertPEM, ServerKeyPEM []byte
	// Pool trusts the CA; Server is the server's certificate.
	Pool   *x509.CertPool
	Server tls.Certificate
}

// New issues the certificates and writes the client's files into dir.
func New(t testing.TB, dir string) PKI {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, usage x509.ExtKeyUsage, ip net.IP) ([]byte, []byte) {
		key := newKey(t)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "fedkeeper test"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		if ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	}
	p := PKI{Pool: x509.NewCertPool(), CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	p.Pool.AddCert(ca)
	p.ServerCertPEM, p.ServerKeyPEM = issue(2, x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	if p.Server, err = tls.X509KeyPair(p.ServerCertPEM, p.ServerKeyPEM); err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.CAFile, p.CertFile, p.KeyFile = write("ca.pem", p.CAPEM), write("client.pem", clientCert), write("client-key.pem", clientKey)
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
