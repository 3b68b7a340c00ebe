// Package xdp_test runs the real palisade-agent and palisadectl in a
// network-namespace lab and checks that denylisted sources are dropped at
// the NIC, across agent restarts, until their TTL ends.
package xdp_test

import (
	"bufio"
	"context"
	"errors"
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

// agentProc is a running palisade-agent inside the host namespace.
type agentProc struct {
	cmd *exec.Cmd
	log *os.File
}

type env struct {
	t        *testing.T
	host     *lab.NS
	attacker *lab.NS
	client   *lab.NS
	cfg      string
	socket   string
	pinPath  string
	metrics  string
	ctlBin   string
	agentBin string
}

func setup(t *testing.T) *env {
	l := lab.New(t)
	e := &env{t: t}
	e.host = l.MustNS(t, "host")
	e.attacker = l.MustNS(t, "att")
	e.client = l.MustNS(t, "cli")
	ifAtt, _ := l.MustLink(t, e.host, e.attacker)
	ifCli, _ := l.MustLink(t, e.host, e.client)

	dir := t.TempDir()
	e.socket = filepath.Join(dir, "agent.sock")
	e.pinPath = fmt.Sprintf("/sys/fs/bpf/palisade-e2e-%d", os.Getpid())
	e.metrics = "127.0.0.1:19464" // inside the host namespace
	e.cfg = filepath.Join(dir, "agent.yaml")
	cfg := fmt.Sprintf(`xdp:
  interfaces: [%s, %s]
  mode: native
  pin_path: %s
  samples_per_second: 100
  sweep_interval: 1s
admin:
  socket: %s
metrics:
  listen: %s
log:
  level: debug
`, ifAtt, ifCli, e.pinPath, e.socket, e.metrics)
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ctlBin = lab.Bin(t, "palisadectl")
	e.agentBin = lab.Bin(t, "palisade-agent")
	t.Cleanup(func() {
		out, err := exec.Command(e.agentBin, "--detach", "--config", e.cfg).CombinedOutput()
		if err != nil {
			t.Errorf("detach: %v: %s", err, out)
		}
	})
	return e
}

func (e *env) startAgent() *agentProc {
	e.t.Helper()
	logf, err := os.CreateTemp(e.t.TempDir(), "agent-*.log")
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := e.host.Command(context.Background(), e.agentBin, "--config", e.cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	a := &agentProc{cmd: cmd, log: logf}
	e.t.Cleanup(func() {
		a.kill(syscall.SIGTERM)
		if e.t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			e.t.Logf("agent log:\n%s", b)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := e.ctlRun("deny", "ls"); err == nil {
			return a
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf.Name())
	e.t.Fatalf("agent did not come up:\n%s", b)
	return nil
}

func (a *agentProc) kill(sig syscall.Signal) {
	if a.cmd.Process == nil || a.cmd.ProcessState != nil {
		return
	}
	_ = a.cmd.Process.Signal(sig)
	_ = a.cmd.Wait()
}

func (e *env) ctlRun(args ...string) (string, error) {
	// --socket belongs to the command group: put it after the group name.
	full := append([]string{args[0], "--socket", e.socket}, args[1:]...)
	out, err := exec.Command(e.ctlBin, full...).CombinedOutput()
	return string(out), err
}

func (e *env) ctl(args ...string) string {
	e.t.Helper()
	out, err := e.ctlRun(args...)
	if err != nil {
		e.t.Fatalf("palisadectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// reachTCP reports whether from can open a TCP connection to addr.
func reachTCP(from *lab.NS, addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	c, err := from.Dial(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(700 * time.Millisecond))
	_, err = io.WriteString(c, "ping\n")
	if err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ping\n"
}

// reachICMP reports whether one ping from `from` to addr is answered.
func reachICMP(from *lab.NS, addr string) bool {
	return from.Command(context.Background(), "ping", "-n", "-q", "-c", "1", "-W", "1", addr).Run() == nil
}

// serveEcho runs a line echo server on port 8080 of the host namespace.
func serveEcho(t *testing.T, host *lab.NS) {
	ln, err := host.Listen("tcp", ":8080")
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
				_, _ = io.Copy(c, c)
			}()
		}
	}()
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

func (e *env) scrape(t *testing.T) string {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return e.host.Dial(ctx, network, addr)
	}}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://" + e.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue sums the samples of name whose labels contain every want.
func metricValue(text, name string, want ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
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
		if err == nil {
			sum += v
		}
	}
	return sum
}

func TestDenylistDropsAtTheNIC(t *testing.T) {
	e := setup(t)
	serveEcho(t, e.host)
	hostV4 := net.JoinHostPort(e.host.Addr4.String(), "8080")
	hostV6 := net.JoinHostPort(e.host.Addr6.String(), "8080")
	agent := e.startAgent()

	if !reachTCP(e.attacker, hostV4) || !reachICMP(e.attacker, e.host.Addr4.String()) {
		t.Fatal("attacker can't reach the host before any deny entry: lab broken")
	}

	e.ctl("deny", "add", e.attacker.Addr4.String(), "--reason", "e2e attacker")
	e.ctl("deny", "add", e.attacker.Addr6.String()+"/128")
	if reachTCP(e.attacker, hostV4) || reachICMP(e.attacker, e.host.Addr4.String()) {
		t.Fatal("denylisted attacker still reaches the host over IPv4 (TCP or ICMP)")
	}
	if reachTCP(e.attacker, hostV6) {
		t.Fatal("denylisted attacker still reaches the host over IPv6")
	}
	if !reachTCP(e.client, hostV4) || !reachICMP(e.client, e.host.Addr4.String()) || !reachTCP(e.client, hostV6) {
		t.Fatal("a legit client lost access")
	}
	stats := e.ctl("xdp", "stats")
	if !strings.Contains(stats, "native") || !strings.Contains(stats, "denylist") {
		t.Fatalf("xdp stats lack the native attachment or denylist drops:\n%s", stats)
	}
	m := e.scrape(t)
	if metricValue(m, "palisade_xdp_packets_total", `action="drop"`, `reason="denylist"`) < 1 {
		t.Fatalf("no denylist drops in metrics:\n%s", m)
	}
	if metricValue(m, "palisade_xdp_attached", `mode="native"`) != 2 {
		t.Fatalf("want two native attachments in metrics")
	}

	// Stop the agent hard: the pinned filter keeps dropping.
	agent.kill(syscall.SIGKILL)
	if reachTCP(e.attacker, hostV4) || reachICMP(e.attacker, e.host.Addr4.String()) {
		t.Fatal("attacker got through while the agent was down")
	}
	if !reachTCP(e.client, hostV4) {
		t.Fatal("client lost access while the agent was down")
	}

	// A restarted agent adopts the state: the entries are there, with reasons.
	e.startAgent()
	ls := e.ctl("deny", "ls")
	if !strings.Contains(ls, e.attacker.Addr4.String()+"/32") || !strings.Contains(ls, "e2e attacker") {
		t.Fatalf("restarted agent did not adopt the deny list:\n%s", ls)
	}
	if reachTCP(e.attacker, hostV4) {
		t.Fatal("attacker got through after the restart")
	}

	// Re-adding with a TTL replaces the entry; when it expires traffic returns.
	e.ctl("deny", "add", e.attacker.Addr4.String(), "--ttl", "2s", "--reason", "short")
	if reachTCP(e.attacker, hostV4) {
		t.Fatal("attacker got through before the TTL ended")
	}
	if !eventually(10*time.Second, func() bool { return reachTCP(e.attacker, hostV4) }) {
		t.Fatal("attacker still dropped after the TTL ended")
	}
	// And the sweeper removes it from the list.
	if !eventually(5*time.Second, func() bool { return !strings.Contains(e.ctl("deny", "ls"), e.attacker.Addr4.String()+"/32") }) {
		t.Fatal("expired entry was not swept")
	}

	// Remove the v6 entry by hand: v6 traffic returns too.
	e.ctl("deny", "rm", e.attacker.Addr6.String())
	if !reachTCP(e.attacker, hostV6) {
		t.Fatal("attacker still dropped over IPv6 after deny rm")
	}
}

func TestAdminRejectsBadInput(t *testing.T) {
	e := setup(t)
	e.startAgent()
	for _, args := range [][]string{
		{"deny", "add", "not-an-ip"},
		{"deny", "add", "198.18.0.0/33"},
		{"deny", "add", "198.18.0.1", "--ttl", "soon"},
		{"deny", "add", "198.18.0.1", "--ttl", "-5m"},
		{"allow", "rm", "198.18.200.1"}, // not there
	} {
		out, err := e.ctlRun(args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || out == "" {
			t.Errorf("palisadectl %v: want a clear error, got err=%v out=%q", args, err, out)
		}
	}
	if ls := e.ctl("deny", "ls"); strings.Count(ls, "\n") != 1 {
		t.Fatalf("bad input changed the deny list:\n%s", ls)
	}
}
