package proxy

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
)

func TestH2CPriorKnowledge(t *testing.T) {
	e := newEnv(t, config.ModeBlock, nil)
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	resp, err := client.Get("http://" + e.addr + "/h2?x=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("proto %s status %d", resp.Proto, resp.StatusCode)
	}
	if s := decodeSeen(t, b); s.URI != "/h2?x=1" || s.XFF != "127.0.0.1" {
		t.Errorf("upstream saw %+v", s)
	}
	resp, err = client.Get("http://" + e.addr + sqli)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("attack over h2c: %d", resp.StatusCode)
	}
}

// Two applications share a TLS listener; SNI picks the certificate, Host
// the application (and its mode), over HTTP/2 and HTTP/1.1.
func TestTLSWithSNI(t *testing.T) {
	dir := t.TempDir()
	pool := x509.NewCertPool()
	files := map[string][2]string{}
	for _, host := range []string{"shop.example", "blog.example"} {
		cert, key := filepath.Join(dir, host+".crt"), filepath.Join(dir, host+".key")
		pool.AddCert(writeCert(t, host, cert, key))
		files[host] = [2]string{cert, key}
	}
	e := newEnv(t, config.ModeBlock, func(c *config.Config) {
		shop := c.Applications[0]
		shop.Hosts = []string{"shop.example"}
		shop.TLS = &config.TLS{Cert: files["shop.example"][0], Key: files["shop.example"][1]}
		blog := shop
		blog.ID, blog.Name, blog.Mode = 2, "blog", config.ModeMonitoring
		blog.Hosts = []string{"blog.example"}
		blog.TLS = &config.TLS{Cert: files["blog.example"][0], Key: files["blog.example"][1]}
		c.Applications = []config.Application{shop, blog}
	})
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			ForceAttemptHTTP2: h2,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, e.addr)
			},
		}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		client := &http.Client{Transport: tr}
		for host, want := range map[string]int{"shop.example": 403, "blog.example": 200} {
			resp, err := client.Get("https://" + host + sqli)
			if err != nil {
				t.Fatalf("%s (h2 %v): %v", host, h2, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.TLS.PeerCertificates[0].Subject.CommonName; got != host {
				t.Errorf("%s: certificate for %s", host, got)
			}
			if (resp.ProtoMajor == 2) != h2 || resp.StatusCode != want {
				t.Errorf("%s (h2 %v): %s %d", host, h2, resp.Proto, resp.StatusCode)
			}
			if want == 200 {
				if s := decodeSeen(t, b); s.XFProto != "https" || s.Host != host {
					t.Errorf("%s: upstream saw proto %q host %q", host, s.XFProto, s.Host)
				}
			}
		}
		tr.CloseIdleConnections()
	}
}

func writeCert(t *testing.T, host, certPath, keyPath string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	return cert
}

// rawUpstream accepts connections and runs serve on each.
func rawUpstream(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestWebSocketHandshakeInspectedThenTunneled(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "websocket" {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
		io.Copy(c, br) // echo frames
	})
	e := newEnv(t, config.ModeBlock, func(c *config.Config) { c.Applications[0].Upstream = up })
	handshake := func(target string) (net.Conn, *bufio.Reader, int) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, br, resp.StatusCode
	}
	c, br, status := handshake("/chat")
	defer c.Close()
	if status != 101 {
		t.Fatalf("handshake: %d", status)
	}
	io.WriteString(c, "\x81\x04ping")
	got := make([]byte, 6)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "\x81\x04ping" {
		t.Fatalf("echo %q: %v", got, err)
	}
	c2, _, status := handshake("/chat?room=" + "%27%20OR%201%3D1--")
	c2.Close()
	if status != 403 {
		t.Fatalf("attack in handshake: %d", status)
	}
}

func TestProxyProtocolV2(t *testing.T) {
	var conns atomic.Int32
	sources := make(chan netip.AddrPort, 4)
	up := rawUpstream(t, func(c net.Conn) {
		conns.Add(1)
		hdr := make([]byte, 16+12)
		if _, err := io.ReadFull(c, hdr); err != nil || string(hdr[:12]) != string(proxyV2Signature) || hdr[13] != 0x11 {
			return
		}
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(hdr[16:20])), binary.BigEndian.Uint16(hdr[24:26]))
		sources <- src
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	e := newEnv(t, config.ModeBlock, func(c *config.Config) {
		c.Applications[0].Upstream = up
		c.Applications[0].ProxyProtocol = "v2"
	})
	for client := range 2 {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		for range 2 {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("client %d: %v", client, err)
			}
			io.Copy(io.Discard, resp.Body)
		}
		src := <-sources
		if src.String() != c.LocalAddr().String() {
			t.Errorf("PROXY header source %s, client is %s", src, c.LocalAddr())
		}
		c.Close()
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d upstream connections for 2 clients of 2 requests each", n)
	}

	// HTTP/2 clients get their own upstream connection with a header too.
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protocols}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + e.addr + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("h2c: %s %d", resp.Proto, resp.StatusCode)
	}
	if src := <-sources; !src.Addr().IsLoopback() || src.Port() == 0 {
		t.Errorf("h2c: PROXY header source %s", src)
	}
}

func TestHostRouting(t *testing.T) {
	e := newEnv(t, config.ModeBlock, func(c *config.Config) {
		shop := c.Applications[0]
		shop.Hosts = []string{"shop.example", "*.shop.example"}
		c.Applications = []config.Application{shop}
	})
	for host, want := range map[string]string{
		"shop.example": "200", "img.shop.example:8080": "200", "other.example": "421",
	} {
		out := e.raw("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/1.1 "+want) {
			t.Errorf("%s: %q", host, out)
		}
	}
}
