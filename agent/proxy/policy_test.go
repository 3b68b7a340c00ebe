package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/agent/report"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// rulesPolicy is a Policy made of literal rules for application app,
// matched the way rule sync compiles them: the longest path prefix wins.
// Rule sync (agent/sync) builds on the proxy, so the proxy's tests cannot
// use its Policy; the daemon's tests cover the adapter.
type rulesPolicy struct {
	app    int64
	modes  map[string]string // path prefix -> mode
	limits []RateLimit
	lists  map[netip.Addr]string
}

func (r *rulesPolicy) Mode(app int64, path string) (string, bool) {
	best, mode := -1, ""
	for prefix, m := range r.modes {
		if app == r.app && strings.HasPrefix(path, prefix) && len(prefix) > best {
			best, mode = len(prefix), m
		}
	}
	return mode, best >= 0
}

func (r *rulesPolicy) Source(app int64, a netip.Addr, _ time.Time) string {
	if app != r.app {
		return SourceUnlisted
	}
	return r.lists[a]
}

func (r *rulesPolicy) RateLimit(app int64, path string) (RateLimit, bool) {
	var best *RateLimit
	for i, rl := range r.limits {
		if app == r.app && strings.HasPrefix(path, rl.PathPrefix) && (best == nil || len(rl.PathPrefix) > len(best.PathPrefix)) {
			best = &r.limits[i]
		}
	}
	if best == nil {
		return RateLimit{}, false
	}
	return *best, true
}

// testClock is a clock that moves only when told.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

var loopback = netip.MustParseAddr("127.0.0.1")

// counterReaches returns the value of a series once it is want, or what it
// is after a second: requests are recorded just after their response.
func (e *env) counterReaches(name string, labels map[string]string, want float64) float64 {
	e.t.Helper()
	var v float64
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if v = e.gather(name, labels); v == want {
			break
		}
	}
	return v
}

// A filtration mode rule overrides the application's mode for the paths
// under its prefix, the longest prefix first, however the path is spelt.
func TestPolicyModeByPathPrefix(t *testing.T) {
	pol := &rulesPolicy{app: 7, modes: map[string]string{
		"/admin":        config.ModeBlock,
		"/admin/public": config.ModeOff,
	}}
	e := newEnv(t, config.ModeMonitoring, func(c *config.Config) { c.Applications[0].ID = 7 },
		func(o *Options) { o.Policy = pol })
	const attack = "?id=1%27%20OR%20%271%27%3D%271"
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/shop" + attack, 200},                   // configured mode: monitoring
		{"/admin/users" + attack, 403},            // block by the rule
		{"/%61dmin/users" + attack, 403},          // percent-encoded
		{"//admin/users" + attack, 403},           // repeated slash
		{"/x/../admin/users" + attack, 403},       // dot segment
		{"/admin/public/logo" + attack, 200},      // off: the longer prefix
		{"/administrators/list" + attack, 403},    // a prefix, not a segment
		{"/Admin/users" + attack, 200},            // prefixes are case-sensitive
		{"/shop/../admin/public/x" + attack, 200}, // cleaned into the off prefix
	} {
		resp, b := e.get(tc.path, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.path, resp.StatusCode, tc.status, b)
		}
	}
	if got := e.counterReaches("palisade_requests_total", map[string]string{"decision": DecisionUninspected}, 2); got != 2 {
		t.Errorf("uninspected requests = %v, want 2 (mode off by prefix)", got)
	}
	if got := e.counterReaches("palisade_attacks_total", map[string]string{"type": "sqli", "decision": "monitored"}, 2); got != 2 {
		t.Errorf("monitored sqli = %v, want 2", got)
	}
}

// Application-scoped lists: deny is refused in every mode but off, allow
// is never blocked, gray blocks attacks in safe_blocking mode like the
// proxy's own gray list.
func TestPolicyScopedLists(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode      string
		list      string
		global    bool // on the node's allowlist too
		path      string
		status    int
		attack    string // type counted in palisade_attacks_total
		decision  string
		reachesUp bool
	}{
		{"deny clean request", config.ModeMonitoring, SourceDeny, false, "/", 403, AttackIPDeny, "blocked", false},
		{"deny in block mode", config.ModeBlock, SourceDeny, false, "/", 403, AttackIPDeny, "blocked", false},
		{"deny in mode off", config.ModeOff, SourceDeny, false, "/", 200, "", "", true},
		{"deny, node allowlist", config.ModeBlock, SourceDeny, true, "/", 200, "", "", true},
		{"allow with an attack", config.ModeBlock, SourceAllow, false, sqli, 200, "sqli", "passed", true},
		{"gray in safe_blocking", config.ModeSafeBlocking, SourceGray, false, sqli, 403, "sqli", "blocked", false},
		{"gray, clean request", config.ModeSafeBlocking, SourceGray, false, "/", 200, "", "", true},
		{"unlisted in safe_blocking", config.ModeSafeBlocking, SourceUnlisted, false, sqli, 200, "sqli", "passed", true},
		{"gray in monitoring", config.ModeMonitoring, SourceGray, false, sqli, 200, "sqli", "monitored", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := &rulesPolicy{app: 1, lists: map[netip.Addr]string{loopback: tc.list}}
			e := newEnv(t, tc.mode, nil, func(o *Options) {
				o.Policy = pol
				if tc.global {
					o.Allowlisted = func(a netip.Addr) bool { return a == loopback }
				}
			})
			resp, b := e.get(tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if got := e.hits.Load() == 1; got != tc.reachesUp {
				t.Errorf("reached the application: %v, want %v", got, tc.reachesUp)
			}
			if tc.status == 403 && !strings.Contains(string(b), resp.Header.Get("X-Request-Id")) {
				t.Errorf("block page %q lacks the request id", b)
			}
			if tc.attack != "" {
				if got := e.counterReaches("palisade_attacks_total", map[string]string{"type": tc.attack, "decision": tc.decision}, 1); got != 1 {
					t.Errorf("attacks_total{type=%s,decision=%s} = %v", tc.attack, tc.decision, got)
				}
			}
		})
	}
	// Lists of another application do not apply.
	pol := &rulesPolicy{app: 2, lists: map[netip.Addr]string{loopback: SourceDeny}}
	e := newEnv(t, config.ModeBlock, nil, func(o *Options) { o.Policy = pol })
	if resp, _ := e.get("/", nil); resp.StatusCode != 200 {
		t.Errorf("denied by another application's list: %d", resp.StatusCode)
	}
}

// A rate limit admits Burst requests, refuses the next with 429 and a
// Retry-After, and admits again as the bucket refills, on the test clock.
func TestPolicyRateLimit(t *testing.T) {
	clk := newTestClock()
	pol := &rulesPolicy{app: 1, limits: []RateLimit{{RuleID: 42, PathPrefix: "/api/", Requests: 2, Period: 10 * time.Second, Burst: 2}}}
	e := newEnv(t, config.ModeBlock, nil, func(o *Options) { o.Policy, o.now = pol, clk.now })
	status := func(path string) (int, string) {
		t.Helper()
		resp, _ := e.get(path, nil)
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i := range 2 {
		if s, _ := status("/api/items"); s != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, s)
		}
	}
	if s, retry := status("/api/items"); s != 429 || retry != "5" {
		t.Fatalf("over the limit: %d, Retry-After %q; want 429, 5", s, retry)
	}
	if s, _ := status("/shop"); s != 200 {
		t.Errorf("path outside the prefix: %d", s)
	}
	if s, _ := status("//api/../api/items"); s != 429 {
		t.Errorf("same path spelt otherwise: %d", s)
	}
	clk.advance(4 * time.Second) // 0.8 of a token back
	if s, retry := status("/api/items"); s != 429 || retry != "1" {
		t.Errorf("before a token is back: %d, Retry-After %q", s, retry)
	}
	clk.advance(time.Second)
	if s, _ := status("/api/items"); s != 200 {
		t.Errorf("after a token is back: %d", s)
	}
	if s, _ := status("/api/items"); s != 429 {
		t.Errorf("the token is spent again: %d", s)
	}
	clk.advance(time.Hour) // refills up to the burst, no further
	for i := range 3 {
		want := 200
		if i == 2 {
			want = 429
		}
		if s, _ := status("/api/items"); s != want {
			t.Errorf("after an hour, request %d: %d, want %d", i+1, s, want)
		}
	}
	if got := e.gather("palisade_proxy_rate_limited_total", map[string]string{"app": "shop"}); got != 5 {
		t.Errorf("rate_limited_total = %v, want 5", got)
	}
	if got := e.counterReaches("palisade_attacks_total", map[string]string{"type": AttackRateLimit, "decision": "blocked"}, 5); got != 5 {
		t.Errorf("attacks_total{type=rate_limit} = %v, want 5", got)
	}
	if got := e.hits.Load(); got != 6 {
		t.Errorf("application got %d requests, want 6", got)
	}
}

// Monitoring mode never blocks: over the limit, the request goes on and
// is counted; allowlisted sources are not limited at all.
func TestPolicyRateLimitMonitoringAndAllowlisted(t *testing.T) {
	limit := []RateLimit{{RuleID: 1, PathPrefix: "/", Requests: 1, Period: time.Minute}}
	t.Run("monitoring", func(t *testing.T) {
		clk := newTestClock()
		e := newEnv(t, config.ModeMonitoring, nil, func(o *Options) { o.Policy, o.now = &rulesPolicy{app: 1, limits: limit}, clk.now })
		for range 3 {
			if resp, _ := e.get("/", nil); resp.StatusCode != 200 {
				t.Fatalf("monitoring mode answered %d", resp.StatusCode)
			}
		}
		if got := e.gather("palisade_proxy_rate_limited_total", nil); got != 2 {
			t.Errorf("rate_limited_total = %v, want 2", got)
		}
		if got := e.counterReaches("palisade_attacks_total", map[string]string{"type": AttackRateLimit, "decision": "monitored"}, 2); got != 2 {
			t.Errorf("attacks_total{type=rate_limit,decision=monitored} = %v, want 2", got)
		}
	})
	t.Run("allowlisted", func(t *testing.T) {
		clk := newTestClock()
		pol := &rulesPolicy{app: 1, limits: limit, lists: map[netip.Addr]string{loopback: SourceAllow}}
		e := newEnv(t, config.ModeBlock, nil, func(o *Options) { o.Policy, o.now = pol, clk.now })
		for range 3 {
			if resp, _ := e.get("/", nil); resp.StatusCode != 200 {
				t.Fatalf("allowlisted source answered %d", resp.StatusCode)
			}
		}
		if got := e.gather("palisade_proxy_rate_limited_total", nil); got != 0 {
			t.Errorf("rate_limited_total = %v, want 0", got)
		}
	})
}

// Over HTTP/2 the refusal is the same: 429 with Retry-After.
func TestPolicyRateLimitH2(t *testing.T) {
	clk := newTestClock()
	pol := &rulesPolicy{app: 1, limits: []RateLimit{{RuleID: 1, PathPrefix: "/", Requests: 1, Period: time.Minute}}}
	e := newEnv(t, config.ModeBlock, nil, func(o *Options) { o.Policy, o.now = pol, clk.now })
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	var got []string
	for range 2 {
		resp, err := client.Get("http://" + e.addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("proto %s", resp.Proto)
		}
		got = append(got, resp.Status+" retry="+resp.Header.Get("Retry-After"))
	}
	if want := []string{"200 OK retry=", "429 Too Many Requests retry=60"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("answers %q, want %q", got, want)
	}
}

// Refusals reach the cloud as events of type ip_deny or rate_limit, with
// the path but not the query, at most one per source and rule a minute.
func TestPolicyRefusalsReported(t *testing.T) {
	in := &ingest{}
	srv := httptest.NewServer(in)
	defer srv.Close()
	masker, err := mask.New(mask.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.New(report.Config{
		Dir: t.TempDir(), IngestURL: srv.URL + "/api/v1/ingest", Credential: "pcn_test",
		Masker: masker, BatchDelay: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rep.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; rep.Close() }()

	clk := newTestClock()
	pol := &rulesPolicy{app: 1, limits: []RateLimit{{RuleID: 42, PathPrefix: "/api/", Requests: 1, Period: time.Hour}}}
	e := newEnv(t, config.ModeBlock, nil, func(o *Options) { o.Policy, o.now, o.Reporter = pol, clk.now, rep })

	e.get("/api/a", nil) // within the limit
	var ids []string
	for _, step := range []time.Duration{0, 10 * time.Second, eventInterval} {
		clk.advance(step)
		resp, _ := e.get("/api/a?token=s3cr3t-query-value", nil)
		if resp.StatusCode != 429 {
			t.Fatalf("status %d, want 429", resp.StatusCode)
		}
		ids = append(ids, resp.Header.Get("X-Request-Id"))
	}
	// Events arrive in order: once the third refusal's is in, the second's
	// would have been too.
	evs := in.wait(t, 2)
	if len(evs) != 2 || evs[0].RequestID != ids[0] || evs[1].RequestID != ids[2] {
		got := []string{}
		for _, ev := range evs {
			got = append(got, ev.RequestID)
		}
		t.Fatalf("events for requests %q, want the first and third of %q", got, ids)
	}
	ev := evs[0]
	if ev.AttackType != AttackRateLimit || ev.Decision != apiv1.DecisionBlocked || ev.Status != 429 ||
		ev.Path != "/api/a" || len(ev.RuleIDs) != 1 || ev.RuleIDs[0] != 42 || ev.SourceIP != "127.0.0.1" {
		t.Errorf("event %+v", ev)
	}
	in.mu.Lock()
	raw := in.raw.String()
	in.mu.Unlock()
	if strings.Contains(raw, "s3cr3t-query-value") {
		t.Errorf("the query left the node: %s", raw)
	}
	if got := e.gather("palisade_proxy_rate_limited_total", nil); got != 3 {
		t.Errorf("rate_limited_total = %v, want 3 (every refusal counted)", got)
	}
}

func TestPolicyPath(t *testing.T) {
	for raw, want := range map[string]string{
		"/":                  "/",
		"/api/items":         "/api/items",
		"/api/items/":        "/api/items/",
		"/%61pi/x":           "/api/x",
		"/api%2Fx":           "/api/x",
		"//api///x":          "/api/x",
		"/a/./b/../api/x/":   "/a/api/x/",
		"/../../api":         "/api",
		"/bad%zzescape":      "/bad%zzescape",
		"*":                  "*",
		"/.well-known/x":     "/.well-known/x",
		"/%2e%2e/%2e%2e/api": "/api",
	} {
		if got := policyPath(raw); got != want {
			t.Errorf("policyPath(%q) = %q, want %q", raw, got, want)
		}
	}
}
