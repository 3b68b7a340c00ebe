package sync

import (
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/proxy"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
	"github.com/palisadewaf/palisade/tools/lab"
)

const testNode = "node-a"

// node is one simulated node: the real detection engine, XDP filter (pins
// in a bpffs directory of its own) and gray list, and a syncer over them.
type node struct {
	t        *testing.T
	engine   *detect.Engine
	filter   *xdp.Filter
	gray     *proxy.GrayList
	reg      *prometheus.Registry
	syncer   *Syncer
	stateDir string
	keyring  *apiv1.Keyring
}

func openTestFilter(t testing.TB) *xdp.Filter {
	t.Helper()
	lab.RequireRoot(t)
	dir := filepath.Join("/sys/fs/bpf", fmt.Sprintf("palisade-sync-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	t.Cleanup(func() {
		if err := xdp.Remove(dir); err != nil {
			t.Errorf("remove pins: %v", err)
		}
	})
	f, err := xdp.Open(dir, nil)
	if err != nil {
		t.Fatalf("open filter: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func newNode(t *testing.T, kr *apiv1.Keyring, filter *xdp.Filter, stateDir string) *node {
	t.Helper()
	n := &node{t: t, engine: detect.New(detect.Options{}), filter: filter, gray: proxy.NewGrayList(),
		reg: prometheus.NewRegistry(), stateDir: stateDir, keyring: kr}
	s, err := New(Config{Keyring: kr, TenantID: 1, NodeID: testNode, StateDir: stateDir,
		Engine: n.engine, Filter: filter, GrayList: n.gray, Registerer: n.reg})
	if err != nil {
		t.Fatal(err)
	}
	n.syncer = s
	return n
}

// cloud signs rulesets the way the cloud does.
type cloud struct {
	t      *testing.T
	key    ed25519.PrivateKey
	signer *apiv1.Signer
}

func newCloud(t *testing.T) *cloud {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := apiv1.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return &cloud{t: t, key: key, signer: s}
}

func (c *cloud) keyring() *apiv1.Keyring {
	kr, err := apiv1.NewKeyring(c.signer.PublicKey())
	if err != nil {
		c.t.Fatal(err)
	}
	return kr
}

// signRaw signs payload as it is, as a cloud with a bug could.
func (c *cloud) signRaw(payload string) *apiv1.SignedRuleset {
	return &apiv1.SignedRuleset{Payload: []byte(payload), Signature: ed25519.Sign(c.key, []byte(payload)), KeyID: c.signer.KeyID()}
}

func (c *cloud) sign(rs *apiv1.Ruleset) *apiv1.SignedRuleset {
	c.t.Helper()
	sr, err := c.signer.Sign(rs)
	if err != nil {
		c.t.Fatal(err)
	}
	return sr
}

// ruleset builds ruleset v: every rule kind, and IP entries global and
// scoped to application 7.
func ruleset(v int64) *apiv1.Ruleset {
	created := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	return &apiv1.Ruleset{
		Version: apiv1.Version, RulesetVersion: v, TenantID: 1, NodeID: testNode, Issued: time.Now().Add(-time.Minute),
		Rules: []apiv1.Rule{
			{ID: 1, Kind: apiv1.KindSensitive, AppID: 7, Sensitive: &apiv1.SensitiveRule{Point: point.MustParsePattern("body|json.user.password")}},
			{ID: 2, Kind: apiv1.KindVirtualPatch, AppID: 7, VirtualPatch: &apiv1.VirtualPatchRule{Method: "POST", Path: "^/admin/upload"}},
			{ID: 3, Kind: apiv1.KindDetector, Detector: &apiv1.DetectorRule{AttackType: "log4shell", Regex: `\$\{jndi:`,
				Points: []point.Pattern{point.MustParsePattern("query.*")}}},
			{ID: 4, Kind: apiv1.KindDisableAttack, AppID: 7, DisableAttack: &apiv1.DisableAttackRule{AttackType: "xss", Point: point.MustParsePattern("query.html")}},
			{ID: 5, Kind: apiv1.KindFiltrationMode, AppID: 7, FiltrationMode: &apiv1.FiltrationModeRule{Mode: apiv1.ModeBlock}},
			{ID: 6, Kind: apiv1.KindFiltrationMode, AppID: 7, FiltrationMode: &apiv1.FiltrationModeRule{Mode: apiv1.ModeMonitoring, PathPrefix: "/api/beta/"}},
			{ID: 7, Kind: apiv1.KindRateLimit, AppID: 7, RateLimit: &apiv1.RateLimitRule{PathPrefix: "/login", Requests: 10, PeriodSeconds: 60}},
		},
		IPList: []apiv1.IPEntry{
			{ID: 100, List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.18.66.6/32"), Expires: time.Now().Add(time.Hour),
				Reason: "3 attacks in 1h", Origin: apiv1.OriginTrigger, TriggerID: 1, Created: created},
			{ID: 101, List: apiv1.ListAllow, Prefix: netip.MustParsePrefix("198.18.10.0/24"), Reason: "office", Origin: apiv1.OriginManual, Created: created},
			{ID: 102, List: apiv1.ListGray, Prefix: netip.MustParsePrefix("fd00:66::/48"), Reason: "scanner", Origin: apiv1.OriginManual, Created: created},
			{ID: 103, List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.19.0.0/16"), AppIDs: []int64{7}, Origin: apiv1.OriginImport, Created: created},
			{ID: 104, List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.18.99.9/32"), Expires: time.Now().Add(-time.Second),
				Reason: "expired", Origin: apiv1.OriginManual, Created: created},
		},
	}
}

func (n *node) prefixes(l xdp.List) map[string]xdp.Entry {
	n.t.Helper()
	entries, err := n.filter.Entries(l)
	if err != nil {
		n.t.Fatal(err)
	}
	out := map[string]xdp.Entry{}
	for _, e := range entries {
		out[e.Prefix.String()] = e
	}
	return out
}

// value reads the one sample of a gauge or counter.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("metric %v is neither a counter nor a gauge", c.Desc())
	return 0
}

func (n *node) syncs(result string) float64 {
	return value(n.t, n.syncer.m.syncs.WithLabelValues(result))
}

func inspectQuery(e *detect.Engine, app int64, query string) *detect.Result {
	return e.Inspect(&detect.Request{AppID: app, Method: "GET", Host: "app.test", Path: "/search", RawQuery: query})
}

func hasType(r *detect.Result, typ string) bool {
	for _, d := range r.Detections {
		if d.Type == typ {
			return true
		}
	}
	return false
}

func TestApplySignedEnforcesEverywhere(t *testing.T) {
	c := newCloud(t)
	n := newNode(t, c.keyring(), openTestFilter(t), t.TempDir())
	if err := n.filter.Add(xdp.Deny, xdp.Entry{Prefix: netip.MustParsePrefix("198.18.5.5/32"), Reason: "by hand", Source: xdp.SourceManual}); err != nil {
		t.Fatal(err)
	}
	if err := n.syncer.ApplySigned(c.sign(ruleset(1))); err != nil {
		t.Fatal(err)
	}

	// Detector rules.
	if v := n.engine.Rules().Version(); v != 1 {
		t.Errorf("engine rules version %d, want 1", v)
	}
	if !n.engine.Rules().Sensitive(7, point.MustParse("body|json.user.password")) {
		t.Error("sensitive point of app 7 not in force")
	}
	if !hasType(inspectQuery(n.engine, 3, "q=%24%7Bjndi%3Aldap%3A%2F%2F198.18.0.1%2Fa%7D"), "log4shell") {
		t.Error("custom detector did not fire")
	}

	// XDP: global deny and allow, source cloud, manual entry kept; the
	// app-scoped and expired entries stay out.
	deny := n.prefixes(xdp.Deny)
	if e, ok := deny["198.18.66.6/32"]; !ok || e.Source != xdp.SourceCloud || e.Reason != "3 attacks in 1h" || e.Expires.IsZero() {
		t.Errorf("cloud deny entry: %+v (present %v)", e, ok)
	}
	if _, ok := deny["198.18.5.5/32"]; !ok {
		t.Error("manual deny entry lost")
	}
	for _, p := range []string{"198.19.0.0/16", "198.18.99.9/32"} {
		if _, ok := deny[p]; ok {
			t.Errorf("%s is in the XDP deny list", p)
		}
	}
	if _, ok := n.prefixes(xdp.Allow)["198.18.10.0/24"]; !ok {
		t.Error("cloud allow entry missing")
	}

	// L7: global gray list, app-scoped lists, modes and rate limits.
	if !n.gray.Contains(netip.MustParseAddr("fd00:66::1")) {
		t.Error("gray entry not in the proxy's gray list")
	}
	p := n.syncer.Policy()
	if got := p.Source(7, netip.MustParseAddr("198.19.3.4"), time.Now()); got != Deny {
		t.Errorf("app 7 source = %q, want deny", got)
	}
	if got := p.Source(8, netip.MustParseAddr("198.19.3.4"), time.Now()); got != Unlisted {
		t.Errorf("app 8 source = %q, want unlisted (entry is scoped to app 7)", got)
	}
	if m, _ := p.Mode(7, "/api/beta/users"); m != apiv1.ModeMonitoring {
		t.Errorf("mode under /api/beta/ = %q", m)
	}
	if m, _ := p.Mode(7, "/"); m != apiv1.ModeBlock {
		t.Errorf("mode of app 7 = %q", m)
	}
	if _, ok := p.Mode(8, "/"); ok {
		t.Error("app 8 got a mode from app 7's rules")
	}
	if rl, ok := p.RateLimit(7, "/login/form"); !ok || rl.Requests != 10 || rl.Period != time.Minute || rl.Burst != 10 {
		t.Errorf("rate limit = %+v, %v", rl, ok)
	}

	if n.syncs(ResultApplied) != 1 || value(t, n.syncer.m.version) != 1 {
		t.Errorf("metrics: applied %v, version %v", n.syncs(ResultApplied), value(t, n.syncer.m.version))
	}
	if age := value(t, n.syncer.m.age); age < 59 {
		t.Errorf("ruleset age %v s, issued a minute ago", age)
	}

	// Version 2 drops the cloud deny entry and the gray entry: gone from
	// the maps and lists, the manual one still there.
	rs := ruleset(2)
	rs.IPList = rs.IPList[1:2]
	if err := n.syncer.ApplySigned(c.sign(rs)); err != nil {
		t.Fatal(err)
	}
	deny = n.prefixes(xdp.Deny)
	if _, ok := deny["198.18.66.6/32"]; ok {
		t.Error("dropped cloud entry still in the deny list")
	}
	if _, ok := deny["198.18.5.5/32"]; !ok {
		t.Error("manual deny entry lost on the second ruleset")
	}
	if n.gray.Contains(netip.MustParseAddr("fd00:66::1")) {
		t.Error("dropped gray entry still enforced")
	}
}

// TestRefusedRulesetKeepsTheOld sends what a lying or broken cloud could:
// each is refused, and the ruleset in force, its XDP entries and the file
// on disk stay as they were.
func TestRefusedRulesetKeepsTheOld(t *testing.T) {
	c := newCloud(t)
	n := newNode(t, c.keyring(), openTestFilter(t), t.TempDir())
	if err := n.syncer.ApplySigned(c.sign(ruleset(5))); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(filepath.Join(n.stateDir, lastGoodFile))
	if err != nil {
		t.Fatal(err)
	}

	tampered := c.sign(ruleset(6))
	tampered.Payload = []byte(strings.Replace(string(tampered.Payload), `"list":"deny"`, `"list":"gray"`, 1))
	forger := newCloud(t)
	otherNode := ruleset(6)
	otherNode.NodeID = "node-b"
	cases := []struct {
		name   string
		sr     *apiv1.SignedRuleset
		result string
	}{
		{"tampered payload", tampered, ResultSignatureFailure},
		{"unsigned", &apiv1.SignedRuleset{Payload: c.sign(ruleset(6)).Payload, KeyID: c.signer.KeyID()}, ResultSignatureFailure},
		{"signed by another key", forger.sign(ruleset(6)), ResultSignatureFailure},
		{"older version", c.sign(ruleset(4)), ResultStale},
		{"for another node", c.sign(otherNode), ResultInvalid},
		{"well signed, invalid content", c.signRaw(`{"version":1,"ruleset_version":6,"tenant_id":1,"node_id":"node-a",` +
			`"issued":"2026-11-22T12:00:00Z","rules":[{"id":1,"kind":"detector","detector":{"attack_type":"x","regex":"("}}],"ip_list":[]}`), ResultInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := n.syncs(tc.result)
			if err := n.syncer.ApplySigned(tc.sr); err == nil {
				t.Fatal("refused ruleset applied")
			}
			if got := n.syncs(tc.result); got != before+1 {
				t.Errorf("palisade_ruleset_sync_total{result=%q} went %v -> %v", tc.result, before, got)
			}
			if v := n.syncer.Version(); v != 5 {
				t.Errorf("version in force %d, want 5", v)
			}
			if v := n.engine.Rules().Version(); v != 5 {
				t.Errorf("engine version %d, want 5", v)
			}
			if _, ok := n.prefixes(xdp.Deny)["198.18.66.6/32"]; !ok {
				t.Error("deny entry of the ruleset in force lost")
			}
			now, err := os.ReadFile(filepath.Join(n.stateDir, lastGoodFile))
			if err != nil || string(now) != string(saved) {
				t.Errorf("last known good file changed (%v)", err)
			}
		})
	}
	if got := value(t, n.syncer.m.signatureFailures); got != 3 {
		t.Errorf("signature failures %v, want 3", got)
	}
	if err := n.syncer.ApplySigned(c.sign(ruleset(5))); err != nil || n.syncs(ResultUnchanged) != 1 {
		t.Errorf("same version again: %v, unchanged %v", err, n.syncs(ResultUnchanged))
	}
}
