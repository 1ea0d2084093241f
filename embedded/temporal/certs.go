package temporal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"

	"go.temporal.io/server/common/config"
)

// internodeName is the name the services' certificate is issued to and checked for.
const internodeName = "internode.fedkeeper.local"

// internodeTLS returns mutual-TLS settings for the services' traffic among themselves
// (history, matching, the internal frontend the system workers use). The API key guards
// only the public frontend; without this, any local user could call the history service
// directly. The CA and certificate live in memory for the life of the process: all
// services run inside it, so nothing else ever needs them.
func internodeTLS() (config.GroupTLS, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return config.GroupTLS{}, fmt.Errorf("temporal: internode CA key: %w", err)
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "FedKeeper embedded Temporal CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return config.GroupTLS{}, fmt.Errorf("temporal: internode CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return config.GroupTLS{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return config.GroupTLS{}, fmt.Errorf("temporal: internode key: %w", err)
	}
	leafTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: internodeName},
		DNSNames:     []string{internodeName},
		IPAddresses:  []net.IP{net.ParseIP(localIP)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// The same certificate serves each service and identifies it as a client.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, ca, &key.PublicKey, caKey)
	if err != nil {
		return config.GroupTLS{}, fmt.Errorf("temporal: internode certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return config.GroupTLS{}, err
	}
	encode := func(kind string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
	}
	caData := encode("CERTIFICATE", caDER)
	return config.GroupTLS{
		Server: config.ServerTLS{
			CertData:          encode("CERTIFICATE", leafDER),
			KeyData:           encode("PRIVATE KEY", keyDER),
			ClientCAData:      []string{caData},
			RequireClientAuth: true,
		},
		Client: config.ClientTLS{ServerName: internodeName, RootCAData: []string{caData}},
	}, nil
}

// frontendTLS turns Options.FrontendTLS into the server's settings (none for nil).
func frontendTLS(t *FrontendTLS) config.GroupTLS {
	if t == nil {
		return config.GroupTLS{}
	}
	b64 := base64.StdEncoding.EncodeToString
	server := config.ServerTLS{CertData: b64(t.CertPEM), KeyData: b64(t.KeyPEM)}
	if len(t.ClientCAPEM) > 0 {
		server.ClientCAData, server.RequireClientAuth = []string{b64(t.ClientCAPEM)}, true
	}
	return config.GroupTLS{Server: server}
}
