package storetest

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
	"github.com/palisadewaf/palisade/cloud/store"
)

// testRules covers rules and IP-list entries: round trip of every field,
// tenant isolation, expiry, the uniqueness of a prefix per scope, and the
// ruleset version moving on with every change (and only then).
func testRules(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	version := func(tenant int64) int64 { return must(s.RulesetVersion(ctx, tenant)) }
	if v := version(w.a.ID); v != 0 {
		t.Fatalf("fresh tenant at ruleset version %d", v)
	}

	r := store.Rule{TenantID: w.a.ID, Rule: apiv1.Rule{Kind: apiv1.KindDetector, AppID: 3, Detector: &apiv1.DetectorRule{
		AttackType: "log4shell", Regex: `\$\{jndi:`, Points: []point.Pattern{point.MustParsePattern("header.*")}, Experimental: true}}}
	check(t, s.CreateRule(ctx, system, &r))
	if r.ID == 0 || version(w.a.ID) != 1 || version(w.b.ID) != 0 {
		t.Fatalf("after create: id %d, versions %d %d", r.ID, version(w.a.ID), version(w.b.ID))
	}
	got := must(s.GetRule(ctx, w.a.ID, r.ID))
	if got.ID != r.ID || got.AppID != 3 || got.Detector == nil || got.Detector.Regex != `\$\{jndi:` || !got.Detector.Experimental ||
		got.Detector.Points[0].String() != "header.*" {
		t.Errorf("rule round trip: %+v %+v", got, got.Detector)
	}
	_, err := s.GetRule(ctx, w.b.ID, r.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteRule(ctx, system, w.b.ID, r.ID), store.ErrNotFound)
	if version(w.a.ID) != 1 {
		t.Error("a refused change moved the version")
	}

	r.Kind, r.Detector = apiv1.KindFiltrationMode, nil
	r.FiltrationMode = &apiv1.FiltrationModeRule{Mode: apiv1.ModeBlock, PathPrefix: "/admin"}
	check(t, s.ReplaceRule(ctx, system, &r))
	if r.FiltrationMode == nil || r.Detector != nil || version(w.a.ID) != 2 {
		t.Errorf("replace: %+v, version %d", r, version(w.a.ID))
	}
	if rules := must(s.ListRules(ctx, w.a.ID)); len(rules) != 1 || rules[0].Kind != apiv1.KindFiltrationMode {
		t.Errorf("list: %+v", rules)
	}

	e := store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.18.66.0/24"),
		Expires: t0.Add(time.Hour), Reason: "3 attacks", Origin: apiv1.OriginTrigger, TriggerID: 9, AppIDs: []int64{5, 3, 5}}}
	check(t, s.CreateIPEntry(ctx, system, &e))
	dup := store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListAllow, Prefix: e.Prefix, Origin: apiv1.OriginManual, AppIDs: []int64{3, 5}}}
	wantErr(t, s.CreateIPEntry(ctx, system, &dup), store.ErrConflict)
	global := store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListGray, Prefix: netip.MustParsePrefix("fd00:66::/48"), Origin: apiv1.OriginManual}}
	check(t, s.CreateIPEntry(ctx, system, &global))
	if v := version(w.a.ID); v != 4 {
		t.Errorf("version %d after two entries, want 4", v)
	}
	list := must(s.ListIPEntries(ctx, w.a.ID, t0))
	if len(list) != 2 {
		t.Fatalf("entries: %+v", list)
	}
	first := list[0]
	if first.Prefix != e.Prefix || !first.Expires.Equal(t0.Add(time.Hour)) || first.TriggerID != 9 || first.Origin != apiv1.OriginTrigger ||
		len(first.AppIDs) != 2 || first.AppIDs[0] != 3 || first.Reason != "3 attacks" {
		t.Errorf("entry round trip: %+v", first)
	}
	if list[1].AppIDs != nil || !list[1].Expires.IsZero() {
		t.Errorf("unscoped, unexpiring entry came back as %+v", list[1])
	}
	if later := must(s.ListIPEntries(ctx, w.a.ID, t0.Add(2*time.Hour))); len(later) != 1 {
		t.Errorf("expired entry still listed: %+v", later)
	}
	if other := must(s.ListIPEntries(ctx, w.b.ID, t0)); len(other) != 0 {
		t.Errorf("tenant b sees %+v", other)
	}
	wantErr(t, s.DeleteIPEntry(ctx, system, w.b.ID, e.ID), store.ErrNotFound)
	check(t, s.DeleteIPEntry(ctx, system, w.a.ID, e.ID))
	check(t, s.DeleteRule(ctx, system, w.a.ID, r.ID))
	if v := version(w.a.ID); v != 6 {
		t.Errorf("version %d after two deletions, want 6", v)
	}
}

// testImportIPEntries imports entries in one transaction: all or none, one
// version bump, an existing prefix and scope replaced.
func testImportIPEntries(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	existing := store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListGray, Prefix: netip.MustParsePrefix("198.18.0.1/32"), Origin: apiv1.OriginManual}}
	check(t, s.CreateIPEntry(ctx, system, &existing))
	gen := func(count int, failAt int) func() (*store.IPEntry, error) {
		i := 0
		return func() (*store.IPEntry, error) {
			if i == failAt {
				return nil, errors.New("line 3: bad prefix")
			}
			if i == count {
				return nil, io.EOF
			}
			i++
			return &store.IPEntry{IPEntry: apiv1.IPEntry{List: apiv1.ListDeny, Origin: apiv1.OriginImport, Reason: "feed",
				Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)}}, nil
		}
	}
	if _, err := s.ImportIPEntries(ctx, system, w.a.ID, gen(10, 2)); err == nil {
		t.Fatal("an import whose source failed was stored")
	}
	if list := must(s.ListIPEntries(ctx, w.a.ID, t0)); len(list) != 1 || must(s.RulesetVersion(ctx, w.a.ID)) != 1 {
		t.Fatalf("failed import left %d entries, version %d", len(list), must(s.RulesetVersion(ctx, w.a.ID)))
	}
	if n := must(s.ImportIPEntries(ctx, system, w.a.ID, gen(1000, -1))); n != 1000 {
		t.Fatalf("imported %d", n)
	}
	list := must(s.ListIPEntries(ctx, w.a.ID, t0))
	if len(list) != 1000 || must(s.RulesetVersion(ctx, w.a.ID)) != 2 {
		t.Fatalf("after import: %d entries, version %d", len(list), must(s.RulesetVersion(ctx, w.a.ID)))
	}
	for _, e := range list {
		if e.Prefix.String() == "198.18.0.1/32" && (e.List != apiv1.ListDeny || e.Origin != apiv1.OriginImport) {
			t.Errorf("existing entry not replaced by the import: %+v", e)
		}
	}
	if other := must(s.ListIPEntries(ctx, w.b.ID, t0)); len(other) != 0 {
		t.Errorf("import leaked to tenant b: %d", len(other))
	}
}
