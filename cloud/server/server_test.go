package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
)

// start runs the server in the background and returns its base URL and a
// function that stops it and returns Run's error.
func start(t *testing.T, o Options, scheme string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	o.Listen = "127.0.0.1:0"
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.Listening = func(a net.Addr) { addr <- a }
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	select {
	case a := <-addr:
		return scheme + "://" + a.String(), func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	return "", nil
}

func TestRunBootstrapsAndStops(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	url, stop := start(t, Options{DataDir: dir, Out: &out, AdminEmail: "root@acme.test"}, "http")
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(url + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("first admin's password not printed: %q", out.String())
	}
	body, _ := json.Marshal(apitypes.LoginRequest{Email: "root@acme.test", Password: m[1]})
	resp, err := http.Post(url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login with the printed password: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, DatabaseFile)); err != nil {
		t.Fatal(err)
	}

	// A second start finds the admin and prints nothing.
	out.Reset()
	_, stop = start(t, Options{DataDir: dir, Out: &out}, "http")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("second start printed %q", out.String())
	}
}

func TestRunTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	url, stop := start(t, Options{DataDir: dir, TLSCert: cert, TLSKey: key, AdminPassword: "env-given-password"}, "https")
	defer stop()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz over TLS: %v %v", resp, err)
	}
	resp.Body.Close()
	// Plain HTTP to the TLS port gets no API.
	resp, err = http.Get(strings.Replace(url, "https", "http", 1) + "/healthz")
	if err == nil {
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS port")
		}
		resp.Body.Close()
	}
	body, _ := json.Marshal(apitypes.LoginRequest{Email: "admin@palisade.local", Password: "env-given-password"})
	resp, err = c.Post(url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login with the password from the environment: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestBootstrapRefusesWeakPassword(t *testing.T) {
	err := Run(context.Background(), Options{DataDir: t.TempDir(), AdminPassword: "short", Listen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "admin password") {
		t.Fatalf("weak admin password: %v", err)
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "palisade-cloud test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}
