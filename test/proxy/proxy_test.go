// Package proxy_test runs the real palisade-agent in a network-namespace
// lab in front of an unmodified application listening on port 80 of the
// host namespace, and checks transparent interception, the filtration
// modes, request hardening, slow clients, and fail-open across kill -9 and
// restart, with sk_lookup steering and with the TPROXY fallback.
package proxy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/tools/lab"
)

// attack is a request target every detector agrees is SQL injection.
const attack = "/products?id=1%27%20OR%20%271%27%3D%271"

// seen is what the application reports about a request.
type seen struct {
	Peer, XFF, XRealIP, Path string
}

type env struct {
	t                        *testing.T
	host, client, attacker   *lab.NS
	dir, cfgPath, socket     string
	pinPath, metrics, binary string
	hits                     atomic.Int64 // requests the application served
	agent                    *exec.Cmd
	agentLog                 string
	ingest                   *ingest
	// upstream is the application's upstream setting; empty sends
	// requests to the address the client connected to.
	upstream string
}

// ingest stands in for the cloud's ingest endpoint (POST /api/v1/ingest,
// gzip JSON ReportBatch, bearer credential) and keeps the events.
type ingest struct {
	addr   string
	mu     sync.Mutex
	events []apiv1.Event
}

func (in *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer pcn_e2e-credential" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var batch apiv1.ReportBatch
	if err := json.NewDecoder(zr).Decode(&batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	in.mu.Lock()
	in.events = append(in.events, batch.Events...)
	in.mu.Unlock()
	json.NewEncoder(w).Encode(apiv1.IngestResult{Accepted: len(batch.Events)})
}

// event waits for an event of the attack from source with decision.
func (in *ingest) event(t *testing.T, source string, decision apiv1.Decision) apiv1.Event {
	t.Helper()
	var found *apiv1.Event
	ok := eventually(15*time.Second, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		for i, ev := range in.events {
			if ev.SourceIP == source && ev.Decision == decision && ev.AttackType == "sqli" {
				found = &in.events[i]
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no %s sqli event from %s reached the ingest endpoint", decision, source)
	}
	return *found
}

func setup(t *testing.T) *env {
	l := lab.New(t)
	e := &env{t: t, dir: t.TempDir(), upstream: "http://127.0.0.1:80"}
	e.host = l.MustNS(t, "host")
	e.client = l.MustNS(t, "cli")
	e.attacker = l.MustNS(t, "att")
	l.MustLink(t, e.host, e.client)
	l.MustLink(t, e.host, e.attacker)
	e.cfgPath = filepath.Join(e.dir, "agent.yaml")
	e.socket = filepath.Join(e.dir, "agent.sock")
	e.pinPath = fmt.Sprintf("/sys/fs/bpf/palisade-e2e-proxy-%d", os.Getpid())
	e.metrics = "127.0.0.1:19465"
	e.binary = lab.Bin(t, "palisade-agent")
	t.Cleanup(func() {
		e.stopAgent(syscall.SIGTERM)
		if out, err := exec.Command(e.binary, "--detach", "--config", e.cfgPath).CombinedOutput(); err != nil {
			t.Errorf("detach: %v: %s", err, out)
		}
	})
	e.serveApp()
	e.serveIngest()
	return e
}

func (e *env) serveIngest() {
	ln, err := e.host.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.ingest = &ingest{addr: ln.Addr().String()}
	srv := &http.Server{Handler: e.ingest}
	go srv.Serve(ln)
	e.t.Cleanup(func() { srv.Close() })
	if err := os.WriteFile(filepath.Join(e.dir, "credential"), []byte("pcn_e2e-credential\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// serveApp runs the application: a plain HTTP server on port 80 (all
// addresses, v4 and v6) of the host namespace that knows nothing of the
// agent and answers with what it saw.
func (e *env) serveApp() {
	ln, err := e.host.Listen("tcp", ":80")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		io.Copy(io.Discard, r.Body)
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		json.NewEncoder(w).Encode(seen{Peer: host, XFF: r.Header.Get("X-Forwarded-For"), XRealIP: r.Header.Get("X-Real-IP"), Path: r.URL.Path})
	})}
	go srv.Serve(ln)
	e.t.Cleanup(func() { srv.Close() })
}

// writeConfig writes the agent's configuration: one application, "blog",
// intercepted on port 80.
func (e *env) writeConfig(mode, steering string) {
	e.t.Helper()
	cfg := fmt.Sprintf(`xdp:
  pin_path: %s
admin:
  socket: %s
metrics:
  listen: %s
log:
  level: debug
proxy:
  steering: %s
  read_header_timeout: 2s
  reporting:
    dir: %s
    ingest_url: http://%s/api/v1/ingest
    credential_file: credential
applications:
  - id: 2
    name: blog
    mode: %s
    intercept: {ports: [80]}
    upstream: "%s"
`, e.pinPath, e.socket, e.metrics, steering, filepath.Join(e.dir, "report"), e.ingest.addr, mode, e.upstream)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) startAgent() {
	e.t.Helper()
	logf, err := os.CreateTemp(e.dir, "agent-*.log")
	if err != nil {
		e.t.Fatal(err)
	}
	e.agentLog = logf.Name()
	e.agent = e.host.Command(context.Background(), e.binary, "--config", e.cfgPath)
	e.agent.Stdout, e.agent.Stderr = logf, logf
	if err := e.agent.Start(); err != nil {
		e.t.Fatal(err)
	}
	logf.Close()
	// The admin socket opens once the proxy's listeners are steered.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := e.admin("GET", "/v1/lists/gray", ""); err == nil {
			return
		}
	}
	e.t.Fatalf("agent did not come up:\n%s", e.log())
}

func (e *env) stopAgent(sig syscall.Signal) {
	if e.agent == nil || e.agent.Process == nil {
		return
	}
	e.agent.Process.Signal(sig)
	e.agent.Wait()
	if e.t.Failed() {
		e.t.Logf("agent log:\n%s", e.log())
	}
	e.agent = nil
}

func (e *env) log() string {
	b, _ := os.ReadFile(e.agentLog)
	return string(b)
}

// admin calls the agent's admin API.
func (e *env) admin(method, path, body string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", e.socket)
		}}}
	req, _ := http.NewRequest(method, "http://agent"+path, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return string(b), fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	return string(b), nil
}

func (e *env) reload() {
	e.t.Helper()
	if out, err := e.admin("POST", "/v1/reload", ""); err != nil {
		e.t.Fatalf("reload: %v %s", err, out)
	}
}

// get sends one request from ns to the host's port 80 on a fresh
// connection and returns the status and what the application saw.
func (e *env) get(ns *lab.NS, hostAddr, target string) (int, seen) {
	e.t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ns.Dial(ctx, network, addr)
		}}}
	resp, err := c.Get("http://" + net.JoinHostPort(hostAddr, "80") + target)
	if err != nil {
		e.t.Fatalf("GET %s from %s: %v", target, ns.Name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var s seen
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &s); err != nil {
			e.t.Fatalf("application answer %q: %v", b, err)
		}
	}
	return resp.StatusCode, s
}

// raw sends bytes from ns to the host's port 80 and returns the answer.
func (e *env) raw(ns *lab.NS, data string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ns.Dial(ctx, "tcp", net.JoinHostPort(e.host.Addr4.String(), "80"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, data)
	b, _ := io.ReadAll(c)
	return string(b)
}

func (e *env) scrape() string {
	e.t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return e.host.Dial(ctx, network, addr)
		}}}
	resp, err := c.Get("http://" + e.metrics + "/metrics")
	if err != nil {
		e.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric sums the samples of name whose labels contain every want.
func metric(text, name string, want ...string) float64 {
	var sum float64
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if f := strings.Fields(line); ok && len(f) > 1 {
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

func eventually(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestTransparentProxySKLookup(t *testing.T) { testTransparentProxy(t, "sk_lookup") }

func TestTransparentProxyTPROXY(t *testing.T) { testTransparentProxy(t, "tproxy") }

func testTransparentProxy(t *testing.T, steering string) {
	e := setup(t)
	host4, host6 := e.host.Addr4.String(), e.host.Addr6.String()
	cli4 := e.client.Addr4.String()

	e.writeConfig("block", steering)
	e.startAgent()
	if m := e.scrape(); metric(m, "palisade_steering_mode", `mode="`+steering+`"`) != 1 {
		t.Fatalf("steering mode is not %s:\n%s", steering, m)
	}

	t.Run("benign requests reach the app with the client's address", func(t *testing.T) {
		status, s := e.get(e.client, host4, "/hello")
		if status != 200 || s.Path != "/hello" {
			t.Fatalf("status %d, app saw %+v", status, s)
		}
		if s.XRealIP != cli4 || s.XFF != cli4 {
			t.Fatalf("app sees client as X-Real-IP %q, X-Forwarded-For %q; want %s", s.XRealIP, s.XFF, cli4)
		}
		if s.Peer != "127.0.0.1" {
			t.Fatalf("app's TCP peer is %s: the request did not go through the agent", s.Peer)
		}
		status, s = e.get(e.client, host6, "/v6")
		if status != 200 || s.XRealIP != e.client.Addr6.String() {
			t.Fatalf("IPv6: status %d, app saw %+v", status, s)
		}
	})

	t.Run("block mode blocks attacks and reports them", func(t *testing.T) {
		before := e.hits.Load()
		if status, _ := e.get(e.client, host4, attack); status != 403 {
			t.Fatalf("attack: status %d", status)
		}
		if e.hits.Load() != before {
			t.Fatal("a blocked attack reached the application")
		}
		if ev := e.ingest.event(t, cli4, apiv1.DecisionBlocked); ev.Status != 403 || ev.AppID != 2 {
			t.Fatalf("event %+v", ev)
		}
	})

	t.Run("monitoring mode passes attacks, counts and reports them", func(t *testing.T) {
		e.writeConfig("monitoring", steering)
		e.reload()
		if status, s := e.get(e.client, host4, attack); status != 200 || s.Path != "/products" {
			t.Fatalf("attack in monitoring: status %d", status)
		}
		if ev := e.ingest.event(t, cli4, apiv1.DecisionMonitored); ev.Status != 200 {
			t.Fatalf("event %+v", ev)
		}
		m := e.scrape()
		if metric(m, "palisade_attacks_total", `app="blog"`, `type="sqli"`, `decision="monitored"`) < 1 ||
			metric(m, "palisade_attacks_total", `app="blog"`, `type="sqli"`, `decision="blocked"`) < 1 {
			t.Fatalf("attacks not counted as blocked and monitored:\n%s", m)
		}
	})

	t.Run("safe_blocking blocks only graylisted sources", func(t *testing.T) {
		e.writeConfig("safe_blocking", steering)
		e.reload()
		if _, err := e.admin("POST", "/v1/lists/gray", `{"prefix":"`+e.attacker.Addr4.String()+`","reason":"e2e"}`); err != nil {
			t.Fatal(err)
		}
		if status, _ := e.get(e.client, host4, attack); status != 200 {
			t.Fatalf("attack from a source not graylisted: status %d", status)
		}
		if status, _ := e.get(e.attacker, host4, attack); status != 403 {
			t.Fatalf("attack from a graylisted source: status %d", status)
		}
		if status, _ := e.get(e.attacker, host4, "/benign"); status != 200 {
			t.Fatalf("benign request from a graylisted source: status %d", status)
		}
	})

	t.Run("smuggling and malformed requests are refused", func(t *testing.T) {
		before := e.hits.Load()
		for _, req := range []string{
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd",
			"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n",
			"GET / HTTP/1.1\nHost: a\n\n",
			"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
		} {
			if out := e.raw(e.client, req); !strings.HasPrefix(out, "HTTP/1.1 400 ") {
				t.Errorf("%q: answered %q", req, out)
			}
		}
		if e.hits.Load() != before {
			t.Fatal("a malformed request reached the application")
		}
	})

	t.Run("a slowloris client does not starve legit clients", func(t *testing.T) {
		// 200 connections trickle a header line every 500ms and never end
		// their heads; the agent cuts each at read_header_timeout (2s).
		var wg sync.WaitGroup
		var held, cut atomic.Int64
		for range 200 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				c, err := e.attacker.Dial(ctx, "tcp", net.JoinHostPort(host4, "80"))
				if err != nil {
					return
				}
				defer c.Close()
				held.Add(1)
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n")
				for range 30 { // 15s at most
					time.Sleep(500 * time.Millisecond)
					if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
						cut.Add(1)
						return
					}
				}
			})
		}
		// Meanwhile, legit clients are served.
		for i := range 20 {
			if status, _ := e.get(e.client, host4, fmt.Sprintf("/legit/%d", i)); status != 200 {
				t.Fatalf("legit request %d during slowloris: status %d", i, status)
			}
			time.Sleep(50 * time.Millisecond)
		}
		wg.Wait()
		if held.Load() < 100 {
			t.Fatalf("only %d slow connections opened: the test did not load the agent", held.Load())
		}
		if cut.Load() != held.Load() {
			t.Fatalf("%d of %d slow connections outlived read_header_timeout", held.Load()-cut.Load(), held.Load())
		}
		if m := e.scrape(); metric(m, "palisade_proxy_malformed_requests_total", `reason="read_header_timeout"`) < float64(held.Load()) {
			t.Fatal("slow connections were not counted as header timeouts")
		}
	})

	t.Run("kill -9 fails open, restart protects again", func(t *testing.T) {
		e.writeConfig("block", steering)
		e.stopAgent(syscall.SIGKILL)
		status, s := e.get(e.client, host4, attack)
		if status != 200 || s.Peer != cli4 || s.XFF != "" {
			t.Fatalf("with the agent dead: status %d, app saw %+v (want the client directly)", status, s)
		}
		e.startAgent()
		if status, _ := e.get(e.client, host4, attack); status != 403 {
			t.Fatalf("after restart: attack status %d", status)
		}
		if status, s := e.get(e.client, host4, "/again"); status != 200 || s.XRealIP != cli4 {
			t.Fatalf("after restart: benign status %d, app saw %+v", status, s)
		}
	})

	t.Run("allowlisted sources are never blocked", func(t *testing.T) {
		ctl := lab.Bin(t, "palisadectl")
		out, err := exec.Command(ctl, "allow", "--socket", e.socket, "add", cli4).CombinedOutput()
		if err != nil {
			t.Fatalf("palisadectl allow add: %v: %s", err, out)
		}
		// The proxy copies the allowlist every 2s.
		if !eventually(10*time.Second, func() bool { s, _ := e.get(e.client, host4, attack); return s == 200 }) {
			t.Fatal("attack from an allowlisted source still blocked")
		}
		if status, _ := e.get(e.attacker, host4, attack); status != 403 {
			t.Fatalf("attack from another source: status %d", status)
		}
	})
}

// Without an upstream setting, requests go to the address the client
// connected to (through the steering bypass), bodies whole.
func TestOriginalDestination(t *testing.T) {
	e := setup(t)
	e.upstream = ""
	e.writeConfig("block", "auto")
	e.startAgent()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return e.client.Dial(ctx, network, addr)
		}}}
	body := bytes.Repeat([]byte(`{"sku":"A-1","qty":2},`), 100)
	resp, err := c.Post("http://"+net.JoinHostPort(e.host.Addr4.String(), "80")+"/orders", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp, err = c.Post("http://"+net.JoinHostPort(e.host.Addr4.String(), "80")+"/orders", "application/json",
		strings.NewReader(`{"note":"<script>alert(document.cookie)</script>"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("attack in a JSON body: status %d", resp.StatusCode)
	}
	status, s := e.get(e.client, e.host.Addr6.String(), "/v6")
	if status != 200 || s.XRealIP != e.client.Addr6.String() || s.Peer != e.host.Addr6.String() {
		t.Fatalf("IPv6 to the original destination: status %d, app saw %+v", status, s)
	}
}
