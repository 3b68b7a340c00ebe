package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/tools/lab"
)

// daemon is a process started by startDaemon in a lab namespace.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startDaemon runs a long-lived program in ns with its output in a file of
// dir, stopped with SIGTERM when the test ends (its log shown on failure).
func startDaemon(t *testing.T, ns *lab.NS, dir, name string, args ...string) *daemon {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := ns.Command(context.Background(), name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{}), log: logf.Name()}
	go func() { _ = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-d.done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-d.done
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(name), readFile(t, d.log))
		}
	})
	return d
}

// waitHTTP polls url from ns until it answers 200.
func waitHTTP(t *testing.T, ns *lab.NS, d *daemon, u string) {
	t.Helper()
	c := hostClient(ns)
	if !eventually(30*time.Second, func() bool {
		select {
		case <-d.done:
			t.Fatalf("%s exited:\n%s", u, readFile(t, d.log))
		default:
		}
		resp, err := c.Get(u)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatalf("%s did not answer within 30s", u)
	}
}

// TestPrometheusScrapesAgentAndCloud starts a real Prometheus (Debian's
// package) with tools/prometheus/palisade.rules.yml, scraping a running
// agent and cloud, sends known traffic, and reads the series back through
// Prometheus' HTTP API: XDP pass and drop counters equal to the packets
// sent, request and attack counters equal to the requests sent, the
// cloud's login counter equal to the logins tried, both targets up, and
// the recording rules computed from real scrapes.
func TestPrometheusScrapesAgentAndCloud(t *testing.T) {
	prometheus := requireTool(t, "prometheus")
	requireTool(t, "nsenter")
	requireTool(t, "ping")
	a := newAgentLab(t)
	agentPort, cloudPort, promPort := freePort(t, a.host), freePort(t, a.host), freePort(t, a.host)
	cfg, socket, _ := a.agentConfig(t, agentPort)
	a.serveApp(t)
	ag, err := a.startAgent(t, cfg, socket, agentPort)
	if err != nil {
		t.Fatal(err)
	}

	cloudURL := fmt.Sprintf("http://127.0.0.1:%d", cloudPort)
	cloud := startDaemon(t, a.host, a.dir, lab.Bin(t, "palisade-cloud"), "serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", cloudPort), "--data-dir", filepath.Join(a.dir, "cloud"))
	waitHTTP(t, a.host, cloud, cloudURL+"/healthz")

	promDir := filepath.Join(a.dir, "prometheus")
	if err := os.MkdirAll(promDir, 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, path(t, rulesFile), filepath.Join(promDir, "palisade.rules.yml"))
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [palisade.rules.yml]
scrape_configs:
  - job_name: palisade-agent
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: palisade-cloud
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, agentPort, cloudPort)
	if err := os.WriteFile(filepath.Join(promDir, "prometheus.yml"), []byte(promCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	promURL := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	prom := startDaemon(t, a.host, a.dir, prometheus,
		"--config.file="+filepath.Join(promDir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(promDir, "data"),
		"--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", promPort))
	waitHTTP(t, a.host, prom, promURL+"/-/ready")
	q := &promQuery{t: t, c: hostClient(a.host), url: promURL}
	// Traffic starts once both targets have been scraped, so that the
	// counters' increase is seen (and rated) by Prometheus.
	q.waitValue(`up{job="palisade-agent"}`, 1)
	q.waitValue(`up{job="palisade-cloud"}`, 1)

	// Traffic: requests to the protected application, clean and attacks
	// (blocked: the application is in block mode); pings pass; then the
	// source is denylisted and pings drop.
	hostAddr, peerAddr := a.host.Addr4.String(), a.peer.Addr4.String()
	const clean, attacks = 5, 2
	for range clean {
		if code := a.get(t, net.JoinHostPort(hostAddr, "80"), "/"); code != http.StatusOK {
			t.Fatalf("clean request: status %d", code)
		}
	}
	for range attacks {
		if code := a.get(t, net.JoinHostPort(hostAddr, "80"), sqlInjection); code != http.StatusForbidden {
			t.Fatalf("attack in block mode: status %d", code)
		}
	}
	const passed, dropped = 4, 6
	if n := pings(a.peer, hostAddr, passed); n != passed {
		t.Fatalf("%d of %d pings answered before any deny entry: lab broken", n, passed)
	}
	ag.ctl("deny", "add", peerAddr, "--reason", "ops prometheus test")
	if n := pings(a.peer, hostAddr, dropped); n != 0 {
		t.Fatalf("%d of %d pings from a denylisted source answered", n, dropped)
	}
	// Cloud: failed logins.
	const logins = 3
	for range logins {
		body, _ := json.Marshal(map[string]string{"email": "nobody@palisade.local", "password": "wrong"})
		resp, err := hostClient(a.host).Post(cloudURL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("a wrong password logged in")
		}
	}

	iface := `iface="` + a.hostIf + `"`
	q.waitValue(`palisade_xdp_attached{job="palisade-agent", `+iface+`, mode="native"}`, 1)
	q.waitValue(`sum(palisade_xdp_packets_total{job="palisade-agent", `+iface+`, action="drop", reason="denylist"})`, dropped)
	q.waitValue(`palisade_xdp_list_entries{job="palisade-agent", list="deny"}`, 1)
	q.waitValue(`palisade_requests_total{job="palisade-agent", app="sample", decision="clean"}`, clean)
	q.waitValue(`palisade_requests_total{job="palisade-agent", app="sample", decision="blocked"}`, attacks)
	q.waitValue(`palisade_attacks_total{job="palisade-agent", app="sample", type="sqli", decision="blocked"}`, attacks)
	q.waitValue(`sum(palisade_cloud_logins_total{job="palisade-cloud", result=~"failed|rate_limited"})`, logins)
	// Echo requests and other IPv4 packets from the peer before the deny
	// entry passed: at least the pings.
	q.waitAtLeast(`sum(palisade_xdp_packets_total{job="palisade-agent", `+iface+`, action="pass"})`, passed)
	// The recording rules evaluate over these series.
	q.waitAtLeast(`instance:palisade_xdp_dropped_packets:rate5m{job="palisade-agent"}`, 0.001)
	q.waitAtLeast(`reason:palisade_xdp_dropped_packets:rate5m{reason="denylist"}`, 0.001)
	q.waitAtLeast(`instance_app_decision:palisade_requests:rate5m{app="sample", decision="blocked"}`, 0.001)
}

// promQuery reads instant vectors from Prometheus' HTTP API.
type promQuery struct {
	t   *testing.T
	c   *http.Client
	url string
}

// value evaluates expr and returns its single sample's value.
func (q *promQuery) value(expr string) (float64, error) {
	resp, err := q.c.Get(q.url + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", expr, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %d series, want 1", expr, len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

func (q *promQuery) wait(expr string, ok func(float64) bool, want string) {
	q.t.Helper()
	var last float64
	var err error
	if !eventually(30*time.Second, func() bool {
		last, err = q.value(expr)
		return err == nil && ok(last)
	}) {
		q.t.Errorf("Prometheus: %s = %v (%v), want %s", expr, last, err, want)
	}
}

func (q *promQuery) waitValue(expr string, want float64) {
	q.t.Helper()
	q.wait(expr, func(v float64) bool { return v == want }, strconv.FormatFloat(want, 'g', -1, 64))
}

func (q *promQuery) waitAtLeast(expr string, min float64) {
	q.t.Helper()
	q.wait(expr, func(v float64) bool { return v >= min }, ">= "+strconv.FormatFloat(min, 'g', -1, 64))
}
