// Command demo brings Palisade up on one machine, for `sudo make demo`: the
// cloud on its embedded database, and a network-namespace lab where an
// agent protects a sample application from an attacker while a legit
// client keeps working. It runs a short scripted attack, prints what
// happened and where to look, and cleans everything up on Ctrl-C (or at
// once with -once).
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

	"github.com/palisadewaf/palisade/tools/lab"
)

func main() {
	bin := flag.String("bin", "bin", "directory with palisade-agent, palisade-cloud and palisadectl")
	state := flag.String("state", ".demo", "directory for the demo's state (cloud database, agent config, logs)")
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

type demo struct {
	bin, state string
	lab        *lab.Lab
	host       *lab.NS
	client     *lab.NS
	attacker   *lab.NS
	procs      []*exec.Cmd
	pinPath    string
	socket     string
}

func run(ctx context.Context, bin, state string, once bool) error {
	bin, _ = filepath.Abs(bin)
	state, _ = filepath.Abs(state)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	pidFile := filepath.Join(state, "demo.pid")
	if err := os.WriteFile(pidFile, []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	d := &demo{bin: bin, state: state, lab: lab.NewDetached("pdemo"),
		pinPath: "/sys/fs/bpf/palisade-demo", socket: filepath.Join(state, "agent.sock")}
	defer d.cleanup()

	step("building the lab: namespaces pdemo-host, pdemo-cli, pdemo-att (198.18.0.0/15)")
	var err error
	if d.host, err = d.lab.AddNS("host"); err != nil {
		return err
	}
	if d.client, err = d.lab.AddNS("cli"); err != nil {
		return err
	}
	if d.attacker, err = d.lab.AddNS("att"); err != nil {
		return err
	}
	ifCli, _, err := d.lab.Link(d.host, d.client)
	if err != nil {
		return err
	}
	ifAtt, _, err := d.lab.Link(d.host, d.attacker)
	if err != nil {
		return err
	}

	step("starting the cloud on its embedded SQLite database: http://127.0.0.1:7070")
	password := randomHex(12)
	cloud := exec.CommandContext(ctx, filepath.Join(bin, "palisade-cloud"), "serve",
		"--listen", "127.0.0.1:7070", "--data-dir", filepath.Join(state, "cloud"))
	cloud.Env = append(os.Environ(), "PALISADE_ADMIN_PASSWORD="+password)
	if err := d.start(cloud, "cloud.log"); err != nil {
		return err
	}
	if err := waitHTTP(ctx, http.DefaultClient, "http://127.0.0.1:7070/readyz"); err != nil {
		return fmt.Errorf("cloud: %w (see %s)", err, filepath.Join(state, "cloud.log"))
	}

	step("starting the sample application on port 80 of the host namespace")
	app, err := d.host.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	go http.Serve(app, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the sample app, %s\n", r.RemoteAddr)
	}))

	step("starting palisade-agent with XDP on " + ifCli + " and " + ifAtt)
	cfg := filepath.Join(state, "agent.yaml")
	err = os.WriteFile(cfg, []byte(fmt.Sprintf(`# palisade-agent configuration written by the demo
xdp:
  interfaces: [%s, %s]
  mode: auto
  pin_path: %s
  samples_per_second: 20
admin:
  socket: %s
metrics:
  listen: 127.0.0.1:9464
`, ifCli, ifAtt, d.pinPath, d.socket)), 0o600)
	if err != nil {
		return err
	}
	agent := d.host.Command(ctx, filepath.Join(bin, "palisade-agent"), "--config", cfg)
	if err := d.start(agent, "agent.log"); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { _, err := d.ctl("deny", "ls"); return err == nil }); err != nil {
		return fmt.Errorf("agent did not come up (see %s)", filepath.Join(state, "agent.log"))
	}

	appURL := "http://" + net.JoinHostPort(d.host.Addr4.String(), "80") + "/"
	step("scripted attack")
	fmt.Printf("   client   %s -> app: %s\n", d.client.Addr4, get(ctx, d.client, appURL))
	fmt.Printf("   attacker %s -> app: %s\n", d.attacker.Addr4, get(ctx, d.attacker, appURL+"?id=1'+OR+'1'='1"))
	fmt.Printf("   operator: palisadectl deny add %s --ttl 10m --reason 'demo attacker'\n", d.attacker.Addr4)
	if out, err := d.ctl("deny", "add", d.attacker.Addr4.String(), "--ttl", "10m", "--reason", "demo attacker"); err != nil {
		return fmt.Errorf("deny add: %v: %s", err, out)
	}
	for range 3 {
		fmt.Printf("   attacker %s -> app: %s\n", d.attacker.Addr4, get(ctx, d.attacker, appURL+"?q=<script>alert(1)</script>"))
	}
	fmt.Printf("   client   %s -> app: %s\n", d.client.Addr4, get(ctx, d.client, appURL))

	step("summary")
	stats, _ := d.ctl("xdp", "stats")
	fmt.Println(indent(stats))
	fmt.Printf(`
Where to look next:
  sudo %[1]s/palisadectl --help                    # IP lists, XDP stats (use --socket %[2]s)
  sudo %[1]s/palisadectl deny ls --socket %[2]s
  sudo ip netns exec pdemo-host curl -s 127.0.0.1:9464/metrics | grep palisade_
  curl -s http://127.0.0.1:7070/api/v1/openapi.json | head     # the cloud's API
  cloud console login: admin@palisade.local / %[3]s
  logs: %[4]s/agent.log, %[4]s/cloud.log
`, bin, d.socket, password, state)
	if once {
		return nil
	}
	fmt.Println("\nRunning; press Ctrl-C to stop and clean up (make demo-down does the same from another shell).")
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

func (d *demo) ctl(args ...string) (string, error) {
	full := append([]string{args[0], "--socket", d.socket}, args[1:]...)
	out, err := exec.Command(filepath.Join(d.bin, "palisadectl"), full...).CombinedOutput()
	return string(out), err
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
	if out, err := exec.Command(filepath.Join(d.bin, "palisade-agent"), "--detach", "--config", filepath.Join(d.state, "agent.yaml")).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "detach: %v: %s", err, out)
	}
	d.lab.Close()
}

// get fetches url from inside ns and describes the outcome in a few words.
func get(ctx context.Context, ns *lab.NS, url string) string {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return ns.Dial(ctx, network, addr)
	}}
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "no answer (dropped)"
		}
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return fmt.Sprintf("%s %q", resp.Status, strings.TrimSpace(string(b)))
}

func waitHTTP(ctx context.Context, c *http.Client, url string) error {
	return waitFor(ctx, func() bool {
		resp, err := c.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func waitFor(ctx context.Context, ok func() bool) error {
	deadline := time.Now().Add(20 * time.Second)
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
