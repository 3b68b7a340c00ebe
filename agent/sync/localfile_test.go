package sync

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

func TestParseLocalFile(t *testing.T) {
	mod := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	rs, err := ParseLocalFile(strings.NewReader(`
rules:
  - id: 5
    kind: filtration_mode
    app_id: 3
    filtration_mode: {mode: block, path_prefix: /admin}
ip_list:
  - {list: gray, prefix: "::ffff:198.18.7.7", expires: 2026-12-01T00:00:00Z}
  - {id: 2, list: deny, prefix: 198.18.0.0/15, app_ids: [3], origin: import}
`), mod)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Version != apiv1.Version || rs.RulesetVersion != 1 || !rs.Issued.Equal(mod) {
		t.Errorf("defaults: version %d, ruleset_version %d, issued %v", rs.Version, rs.RulesetVersion, rs.Issued)
	}
	gray := rs.IPList[0]
	if gray.Prefix != netip.MustParsePrefix("198.18.7.7/32") || gray.Origin != apiv1.OriginManual ||
		!gray.Expires.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("gray entry %+v", gray)
	}
	if rs.IPList[1].Origin != apiv1.OriginImport || rs.Rules[0].FiltrationMode.PathPrefix != "/admin" {
		t.Errorf("explicit fields lost: %+v %+v", rs.IPList[1], rs.Rules[0])
	}

	bad := map[string]string{
		"unknown field": "rulez: []\n",
		"bad prefix":    "ip_list: [{list: deny, prefix: 198.18.0.300}]\n",
		"bad list":      "ip_list: [{list: block, prefix: 198.18.0.1}]\n",
		"bad mode":      "rules: [{id: 1, kind: filtration_mode, filtration_mode: {mode: strict}}]\n",
		"bad point":     "rules: [{id: 1, kind: sensitive, sensitive: {point: 'nowhere'}}]\n",
		"not yaml":      "rules: [\n",
		"entry scalar":  "ip_list: [198.18.0.1]\n",
	}
	for name, doc := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseLocalFile(strings.NewReader(doc), mod); err == nil {
				t.Errorf("accepted %q", doc)
			}
		})
	}
}

func TestPolicyPrecedence(t *testing.T) {
	now := time.Now()
	rs := &apiv1.Ruleset{
		Rules: []apiv1.Rule{
			{ID: 1, Kind: apiv1.KindFiltrationMode, FiltrationMode: &apiv1.FiltrationModeRule{Mode: apiv1.ModeMonitoring}},
			{ID: 2, Kind: apiv1.KindFiltrationMode, FiltrationMode: &apiv1.FiltrationModeRule{Mode: apiv1.ModeBlock, PathPrefix: "/admin"}},
			{ID: 3, Kind: apiv1.KindFiltrationMode, AppID: 4, FiltrationMode: &apiv1.FiltrationModeRule{Mode: apiv1.ModeOff, PathPrefix: "/health"}},
			{ID: 4, Kind: apiv1.KindFiltrationMode, AppID: 4, FiltrationMode: &apiv1.FiltrationModeRule{Mode: apiv1.ModeSafeBlocking, PathPrefix: "/"}},
			{ID: 5, Kind: apiv1.KindRateLimit, RateLimit: &apiv1.RateLimitRule{Requests: 100, PeriodSeconds: 1, Burst: 200}},
		},
		IPList: []apiv1.IPEntry{
			{List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.18.0.0/16"), AppIDs: []int64{4}},
			{List: apiv1.ListAllow, Prefix: netip.MustParsePrefix("198.18.1.0/24"), AppIDs: []int64{4}},
			{List: apiv1.ListGray, Prefix: netip.MustParsePrefix("198.18.1.1/32"), AppIDs: []int64{4}},
			{List: apiv1.ListGray, Prefix: netip.MustParsePrefix("fd00::/8"), AppIDs: []int64{4}, Expires: now.Add(time.Minute)},
			{List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.19.0.0/16"), AppIDs: []int64{4}, Expires: now.Add(-time.Minute)},
		},
	}
	p := newPolicy(rs, now)
	modes := []struct {
		app  int64
		path string
		want string
	}{
		{4, "/health/live", apiv1.ModeOff},          // app rule, longest prefix
		{4, "/admin/users", apiv1.ModeSafeBlocking}, // app rules before global ones
		{9, "/admin/users", apiv1.ModeBlock},        // global, longest prefix
		{9, "/", apiv1.ModeMonitoring},              // global default
	}
	for _, m := range modes {
		if got, ok := p.Mode(m.app, m.path); !ok || got != m.want {
			t.Errorf("Mode(%d, %q) = %q, %v; want %q", m.app, m.path, got, ok, m.want)
		}
	}
	if rl, ok := p.RateLimit(4, "/x"); !ok || rl.Burst != 200 || rl.Period != time.Second {
		t.Errorf("global rate limit for app 4: %+v %v", rl, ok)
	}
	sources := []struct {
		addr string
		at   time.Time
		want string
	}{
		{"198.18.1.1", now, Allow}, // allow wins over deny and gray
		{"198.18.2.1", now, Deny},
		{"fd00::1", now, Gray},
		{"fd00::1", now.Add(2 * time.Minute), Unlisted}, // expired since
		{"198.19.0.1", now, Unlisted},                   // expired at compile time
	}
	for _, s := range sources {
		if got := p.Source(4, netip.MustParseAddr(s.addr), s.at); got != s.want {
			t.Errorf("Source(4, %s) = %q, want %q", s.addr, got, s.want)
		}
	}
	var none *Policy
	if _, ok := none.Mode(1, "/"); ok || none.Source(1, netip.MustParseAddr("198.18.0.1"), now) != Unlisted {
		t.Error("a nil policy says something")
	}
}

// FuzzParseLocalFile: whatever the file holds, parsing ends with an error
// or with a ruleset that validates and compiles for the node.
func FuzzParseLocalFile(f *testing.F) {
	f.Add("rules:\n  - {id: 1, kind: sensitive, sensitive: {point: \"body|json.card\"}}\n")
	f.Add("ip_list:\n  - {list: deny, prefix: 198.18.66.6, expires: 2026-12-01T00:00:00Z}\n")
	f.Add("rules:\n  - {id: 2, kind: detector, detector: {attack_type: x, regex: '\\$\\{jndi:'}}\n")
	f.Add("ruleset_version: -1\n")
	f.Add("&a [*a, *a]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		rs, err := ParseLocalFile(strings.NewReader(doc), time.Unix(0, 0))
		if err != nil {
			return
		}
		if err := rs.Validate(); err != nil {
			t.Fatalf("accepted a ruleset that does not validate: %v", err)
		}
		if _, err := compile(rs, time.Unix(0, 0)); err != nil {
			t.Fatalf("accepted a ruleset the node cannot compile: %v", err)
		}
	})
}
