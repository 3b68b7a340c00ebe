package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The example of issue 4, verbatim.
const exampleApps = `
applications:
  - id: 1
    name: shop
    mode: block
    listen: 127.0.0.1:8080          # reverse-proxy mode
    upstream: http://127.0.0.1:9000
  - id: 2
    name: blog
    mode: monitoring
    intercept: {ports: [80]}        # transparent mode, app keeps :80
    upstream: http://127.0.0.1:80
`

func TestApplicationsExample(t *testing.T) {
	cfg, err := Parse([]byte(exampleApps))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Applications) != 2 {
		t.Fatalf("got %d applications", len(cfg.Applications))
	}
	shop, blog := cfg.Applications[0], cfg.Applications[1]
	if shop.EffectiveMode() != ModeBlock || shop.Listen != "127.0.0.1:8080" || shop.Intercept != nil {
		t.Errorf("shop = %+v", shop)
	}
	if blog.EffectiveMode() != ModeMonitoring || blog.Intercept == nil || len(blog.Intercept.Ports) != 1 || blog.Intercept.Ports[0] != 80 {
		t.Errorf("blog = %+v", blog)
	}
	if got := blog.ListenerKeys(); len(got) != 1 || got[0] != "intercept :80" {
		t.Errorf("blog listener keys = %q", got)
	}
	u, err := blog.UpstreamURL()
	if err != nil || u.Host != "127.0.0.1:80" {
		t.Errorf("blog upstream = %v, %v", u, err)
	}
	if cfg.Proxy.Steering != SteeringAuto || cfg.Proxy.Inspection.MaxBodyBytes != 1<<20 {
		t.Errorf("proxy defaults not applied: %+v", cfg.Proxy)
	}
}

func TestApplicationsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"bad mode", `
applications:
  - {id: 1, name: a, mode: blocking, listen: ":8080", upstream: "http://127.0.0.1:9000"}`, `mode: "blocking" is not one of`},
		{"duplicate id", `
applications:
  - {id: 1, name: a, listen: ":8080", upstream: "http://127.0.0.1:9000"}
  - {id: 1, name: b, listen: ":8081", upstream: "http://127.0.0.1:9000"}`, "id: 1 is also used by applications[0]"},
		{"duplicate name", `
applications:
  - {id: 1, name: a, listen: ":8080", upstream: "http://127.0.0.1:9000"}
  - {id: 2, name: a, listen: ":8081", upstream: "http://127.0.0.1:9000"}`, "name: also used by applications[0]"},
		{"bad name", `
applications:
  - {id: 1, name: "Shop Front", listen: ":8080", upstream: "http://127.0.0.1:9000"}`, `name: "Shop Front" must be`},
		{"listen and intercept", `
applications:
  - {id: 1, name: a, listen: ":8080", intercept: {ports: [80]}, upstream: "http://127.0.0.1:9000"}`, "listen and intercept are exclusive"},
		{"neither", `
applications:
  - {id: 1, name: a, upstream: "http://127.0.0.1:9000"}`, "one of listen"},
		{"no upstream in reverse-proxy mode", `
applications:
  - {id: 1, name: a, listen: ":8080"}`, "upstream: required in reverse-proxy mode"},
		{"upstream with path", `
applications:
  - {id: 1, name: a, listen: ":8080", upstream: "http://127.0.0.1:9000/app"}`, "only scheme://host[:port]"},
		{"upstream scheme", `
applications:
  - {id: 1, name: a, listen: ":8080", upstream: "ftp://127.0.0.1"}`, `scheme "ftp"`},
		{"bad listen port", `
applications:
  - {id: 1, name: a, listen: ":80800", upstream: "http://127.0.0.1:9000"}`, "is not in 1-65535"},
		{"empty ports", `
applications:
  - {id: 1, name: a, intercept: {ports: []}}`, "intercept.ports: empty"},
		{"two defaults on one port", `
applications:
  - {id: 1, name: a, intercept: {ports: [80]}}
  - {id: 2, name: b, intercept: {ports: [80, 8000]}}`, "another application on it has no hosts"},
		{"same host twice", `
applications:
  - {id: 1, name: a, intercept: {ports: [80]}, hosts: [shop.example]}
  - {id: 2, name: b, intercept: {ports: [80]}, hosts: [shop.example]}`, `"shop.example" is also served by a`},
		{"bad host", `
applications:
  - {id: 1, name: a, intercept: {ports: [80]}, hosts: ["Shop.Example:80"]}`, "is not a lower-case host name"},
		{"intercepted listen port", `
applications:
  - {id: 1, name: a, listen: "127.0.0.1:8080", upstream: "http://127.0.0.1:9000"}
  - {id: 2, name: b, intercept: {ports: [8080]}}`, "8080 is also a listen port"},
		{"proxy protocol v1", `
applications:
  - {id: 1, name: a, listen: ":8080", upstream: "http://127.0.0.1:9000", proxy_protocol: v1}`, `proxy_protocol: "v1" is not v2`},
		{"oversize", `
applications:
  - {id: 1, name: a, listen: ":8080", upstream: "http://127.0.0.1:9000", inspection: {oversize: drop}}`, `oversize: "drop" is not pass or block`},
		{"steering", `
proxy: {steering: iptables}`, `proxy.steering: "iptables"`},
		{"trusted proxy", `
proxy: {trusted_proxies: ["10.0.0.0/33"]}`, "proxy.trusted_proxies[0]"},
		{"gray list", `
proxy: {gray_list: ["not-an-ip"]}`, "proxy.gray_list[0]"},
		{"timeout", `
proxy: {read_header_timeout: 1ms}`, "proxy.read_header_timeout: 1ms is below 100ms"},
		{"reporting without credential", `
proxy: {reporting: {ingest_url: "https://cloud.example/api/v1/ingest"}}`, "proxy.reporting.credential_file: required"},
		{"reporting url", `
proxy: {reporting: {ingest_url: "cloud.example", credential_file: /etc/palisade/credential}}`, `proxy.reporting.ingest_url: "cloud.example"`},
		{"unknown field", `
applications:
  - {id: 1, name: a, listen: ":8080", upstream: "http://127.0.0.1:9000", mdoe: block}`, "field mdoe not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestApplicationsHostsShareAPort(t *testing.T) {
	cfg, err := Parse([]byte(`
applications:
  - {id: 1, name: shop, mode: block, intercept: {ports: [80]}, hosts: [shop.example, "*.shop.example"]}
  - {id: 2, name: rest, intercept: {ports: [80]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Applications[1].Upstream != "" {
		t.Fatal("transparent application without upstream must stay empty (original destination)")
	}
}

func TestEffectiveInspection(t *testing.T) {
	p := DefaultProxy()
	a := Application{Inspection: &Inspection{Oversize: OversizeBlock}}
	got := a.EffectiveInspection(&p)
	if got.MaxBodyBytes != p.Inspection.MaxBodyBytes || got.Oversize != OversizeBlock {
		t.Fatalf("got %+v", got)
	}
}

func TestLoadResolvesTLSFiles(t *testing.T) {
	dir := t.TempDir()
	writeTestCert(t, filepath.Join(dir, "shop.crt"), filepath.Join(dir, "shop.key"))
	path := filepath.Join(dir, "agent.yaml")
	doc := `
applications:
  - {id: 1, name: shop, listen: "127.0.0.1:8443", upstream: "http://127.0.0.1:9000", tls: {cert: shop.crt, key: shop.key}}
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Applications[0].TLS.Cert; got != filepath.Join(dir, "shop.crt") {
		t.Fatalf("cert path = %q", got)
	}

	if err := os.WriteFile(filepath.Join(dir, "shop.key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "applications[0] (shop): tls") {
		t.Fatalf("broken key: error = %v", err)
	}
}

func writeTestCert(t *testing.T, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "shop.example"},
		DNSNames:     []string{"shop.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadChecksBlockPage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	os.WriteFile(path, []byte("proxy: {block_page: {html: page.html}}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "page.html"), []byte("<p>blocked {{.RequestID}</p>"), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "proxy.block_page") {
		t.Fatalf("broken template: error = %v", err)
	}
	os.WriteFile(filepath.Join(dir, "page.html"), []byte("<p>blocked {{.RequestID}}</p>"), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Proxy.BlockPage.HTML != filepath.Join(dir, "page.html") {
		t.Fatalf("path not resolved: %q", cfg.Proxy.BlockPage.HTML)
	}
}
