package ops_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/tools/lab"
)

// agentLab is a lab with a host namespace (where the agent, and in the
// Prometheus test everything else, runs) and a peer namespace linked to it,
// whose traffic crosses the agent's XDP filter.
type agentLab struct {
	host, peer *lab.NS
	hostIf     string // the host's end of the veth, where XDP attaches
	hostIf2    string // a link to a third namespace, for configuration changes
	dir        string
}

func newAgentLab(t *testing.T) *agentLab {
	t.Helper()
	l := lab.New(t)
	a := &agentLab{host: l.MustNS(t, "host"), peer: l.MustNS(t, "peer"), dir: t.TempDir()}
	a.hostIf, _ = l.MustLink(t, a.host, a.peer)
	a.hostIf2, _ = l.MustLink(t, a.host, l.MustNS(t, "peer2"))
	return a
}

// agent is a palisade-agent started by startAgent.
type agent struct {
	t       *testing.T
	cmd     *exec.Cmd
	cfg     string
	socket  string
	metrics string // host:port inside the host namespace
	logPath string
	host    *lab.NS
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// agentConfig is the agent configuration the tests use: XDP in native mode
// on the host's veth, everything else in the test's directory.
func (a *agentLab) agentConfig(t *testing.T, metricsPort int) (cfg, socket, pin string) {
	t.Helper()
	cfg, socket, pin = a.writeAgentConfig(t, metricsPort, a.hostIf)
	agentBin := lab.Bin(t, "palisade-agent")
	t.Cleanup(func() {
		if out, err := exec.Command(agentBin, "--detach", "--config", cfg).CombinedOutput(); err != nil {
			t.Errorf("detach: %v: %s", err, out)
		}
	})
	return cfg, socket, pin
}

// writeAgentConfig (re)writes the configuration with XDP on ifaces and
// two applications in block mode in front of the app of serveApp:
// "sample", transparent on port 80 (steered into the agent), and
// "sample-rp", the agent's reverse proxy on port 81 (a port below 1024,
// for CAP_NET_BIND_SERVICE).
func (a *agentLab) writeAgentConfig(t *testing.T, metricsPort int, ifaces ...string) (cfg, socket, pin string) {
	t.Helper()
	socket = filepath.Join(a.dir, "agent.sock")
	pin = fmt.Sprintf("/sys/fs/bpf/palisade-ops-%d-%s", os.Getpid(), a.hostIf)
	cfg = filepath.Join(a.dir, "agent.yaml")
	text := fmt.Sprintf(`xdp:
  interfaces: [%s]
  mode: native
  pin_path: %s
admin:
  socket: %s
metrics:
  listen: 127.0.0.1:%d
log:
  level: debug
applications:
  - id: 1
    name: sample
    mode: block
    intercept: {ports: [80]}
    upstream: http://127.0.0.1:80
  - id: 2
    name: sample-rp
    mode: block
    listen: %s
    upstream: http://127.0.0.1:80
`, strings.Join(ifaces, ", "), pin, socket, metricsPort, net.JoinHostPort(a.host.Addr4.String(), "81"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, socket, pin
}

// serveApp runs the protected application: an HTTP server on port 80 of
// the host namespace answering "ok".
func (a *agentLab) serveApp(t *testing.T) {
	t.Helper()
	ln, err := a.host.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
}

// get sends one GET from the peer namespace and returns the status code.
func (a *agentLab) get(t *testing.T, hostPort, pathQuery string) int {
	t.Helper()
	resp, err := hostClient(a.peer).Get("http://" + hostPort + pathQuery)
	if err != nil {
		t.Fatalf("GET %s%s: %v", hostPort, pathQuery, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// startAgent runs palisade-agent in the host namespace, prefixed by wrap
// (e.g. setpriv and its arguments), and returns once it serves metrics. If
// the agent exits first, startAgent returns its error and log instead.
func (a *agentLab) startAgent(t *testing.T, cfg, socket string, metricsPort int, wrap ...string) (*agent, error) {
	t.Helper()
	logf, err := os.CreateTemp(a.dir, "agent-*.log")
	if err != nil {
		t.Fatal(err)
	}
	args := append(wrap, lab.Bin(t, "palisade-agent"), "--config", cfg)
	cmd := a.host.Command(context.Background(), args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ag := &agent{t: t, cmd: cmd, cfg: cfg, socket: socket, host: a.host, done: make(chan struct{}),
		metrics: net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort)), logPath: logf.Name()}
	go func() { ag.waitErr = cmd.Wait(); close(ag.done) }()
	t.Cleanup(func() {
		ag.stop()
		if t.Failed() {
			t.Logf("agent log:\n%s", readFile(t, logf.Name()))
		}
	})
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-ag.done:
			return nil, fmt.Errorf("agent exited: %v\n%s", ag.waitErr, readFile(t, logf.Name()))
		case <-deadline:
			t.Fatalf("agent did not serve metrics within 20s:\n%s", readFile(t, logf.Name()))
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := ag.scrapeErr(); err == nil {
			return ag, nil
		}
	}
}

// stop ends the agent with SIGTERM, as systemctl stop does, and waits.
func (ag *agent) stop() {
	select {
	case <-ag.done:
		return
	default:
	}
	_ = ag.cmd.Process.Signal(syscall.SIGTERM)
	<-ag.done
}

// hostClient is an HTTP client whose connections start in ns.
func hostClient(ns *lab.NS) *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return ns.Dial(ctx, network, addr)
	}}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func (ag *agent) scrapeErr() (string, error) {
	resp, err := hostClient(ag.host).Get("http://" + ag.metrics + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return string(b), err
}

func (ag *agent) scrape() string {
	ag.t.Helper()
	s, err := ag.scrapeErr()
	if err != nil {
		ag.t.Fatalf("scrape agent: %v", err)
	}
	return s
}

// ctl runs palisadectl against the agent's admin socket.
func (ag *agent) ctl(args ...string) string {
	ag.t.Helper()
	full := append([]string{args[0], "--socket", ag.socket}, args[1:]...)
	return run(ag.t, lab.Bin(ag.t, "palisadectl"), full...)
}

// sample returns the value of the one sample of name whose labels include
// every label in want (`k="v"`), and whether there is one.
func sample(text, name string, want ...string) (float64, bool) {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		return v, err == nil
	}
	return 0, false
}

// freePort returns a TCP port free on 127.0.0.1 of ns at the time of the call.
func freePort(t *testing.T, ns *lab.NS) int {
	t.Helper()
	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// pings sends n pings from ns to addr, one at a time, and returns how many
// were answered.
func pings(ns *lab.NS, addr string, n int) int {
	answered := 0
	for range n {
		if ns.Command(context.Background(), "ping", "-n", "-q", "-c", "1", "-W", "1", addr).Run() == nil {
			answered++
		}
	}
	return answered
}

// eventually polls cond for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cond()
}
