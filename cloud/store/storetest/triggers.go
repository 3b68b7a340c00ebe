package storetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// testTriggers covers triggers: the defaults of a new tenant, round trip
// and tenant isolation, and what each kind of condition counts.
func testTriggers(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	defaults := must(s.ListTriggers(ctx, w.a.ID))
	want := store.DefaultTriggers()
	if len(defaults) != len(want) {
		t.Fatalf("new tenant has %d triggers, want the %d defaults", len(defaults), len(want))
	}
	for i, d := range defaults {
		if d.Name != want[i].Name || d.Condition != want[i].Condition || d.Action != want[i].Action || !d.Enabled || d.AppID != 0 {
			t.Errorf("default trigger %d: %+v, want %+v", i, d, want[i])
		}
	}

	bf := store.Trigger{TenantID: w.a.ID, Name: "login guessing", Enabled: true, AppID: 3,
		Condition: store.TriggerCondition{Kind: store.CountBruteForce, Path: "/login", Threshold: 25, WindowSeconds: 300},
		Action:    store.TriggerAction{Kind: store.ActionGray, DurationSeconds: 600}}
	check(t, s.CreateTrigger(ctx, system, &bf))
	got := must(s.GetTrigger(ctx, w.a.ID, bf.ID))
	if got.Name != bf.Name || got.AppID != 3 || got.Condition != bf.Condition || got.Action != bf.Action || !got.Enabled {
		t.Errorf("trigger round trip: %+v", got)
	}
	dup := bf
	wantErr(t, s.CreateTrigger(ctx, system, &dup), store.ErrConflict)
	_, err := s.GetTrigger(ctx, w.b.ID, bf.ID)
	wantErr(t, err, store.ErrNotFound)
	bf.Enabled, bf.Condition.Threshold = false, 26
	check(t, s.ReplaceTrigger(ctx, system, &bf))
	if got := must(s.GetTrigger(ctx, w.a.ID, bf.ID)); got.Enabled || got.Condition.Threshold != 26 {
		t.Errorf("after replace: %+v", got)
	}
	other := bf
	other.TenantID = w.b.ID
	wantErr(t, s.ReplaceTrigger(ctx, system, &other), store.ErrNotFound)
	wantErr(t, s.DeleteTrigger(ctx, system, w.b.ID, bf.ID), store.ErrNotFound)
	check(t, s.DeleteTrigger(ctx, system, w.a.ID, bf.ID))
	if n := len(must(s.ListTriggers(ctx, w.a.ID))); n != len(want) {
		t.Errorf("after delete: %d triggers", n)
	}

	// What each condition counts, for two sources, within the window.
	node := enroll(t, s, w.a.ID, "n1")
	a, b := netip.MustParseAddr("198.18.66.6"), netip.MustParseAddr("fd00::66")
	since := t0.Add(-5 * time.Minute)
	evs := []apiv1.Event{
		ev(1, t0, 3, "sqli", a.String(), "query.id", apiv1.DecisionBlocked),
		ev(2, t0, 3, "sqli", a.String(), "query.id", apiv1.DecisionBlocked),
		ev(3, t0, 3, "xss", a.String(), "query.q", apiv1.DecisionBlocked),
		ev(4, t0, 4, "rce", a.String(), "body", apiv1.DecisionMonitored),
		ev(5, since.Add(-time.Second), 3, "ptrav", a.String(), "path", apiv1.DecisionBlocked), // before the window
		ev(6, t0, 3, "sqli", b.String(), "query.id", apiv1.DecisionBlocked),
		ev(7, t0, 3, "log4shell", b.String(), "header.x", apiv1.DecisionMonitored),
	}
	evs[6].Experimental = true // not trusted to block, not counted
	evs[5].Status = 404
	evs[5].Path = "/login"
	min0 := t0.Truncate(time.Minute)
	_, err = s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: node.ID, At: t0, Events: evs, Sources: []apiv1.SourceCounters{
		{AppID: 3, Minute: min0.Add(-time.Minute), SourceIP: b.String(), Path: "/login", Requests: 10, NotFound: 0},
		{AppID: 3, Minute: min0, SourceIP: b.String(), Path: "/login/mfa", Requests: 20, NotFound: 3},
		{AppID: 3, Minute: min0, SourceIP: b.String(), Path: "/loginx", Requests: 100, NotFound: 1},
		{AppID: 3, Minute: min0.Add(-time.Hour), SourceIP: b.String(), Path: "/login", Requests: 500}, // before the window
	}})
	check(t, err)
	count := func(c store.TriggerCondition, app int64) map[netip.Addr]int64 {
		tr := store.Trigger{TenantID: w.a.ID, ID: 99, AppID: app, Condition: c}
		return must(s.CountForTrigger(ctx, &tr, []netip.Addr{a, b}, since))
	}
	cases := []struct {
		name string
		c    store.TriggerCondition
		app  int64
		a, b int64
	}{
		{"attacks", store.TriggerCondition{Kind: store.CountAttacks}, 0, 4, 1},
		{"attacks of app 3", store.TriggerCondition{Kind: store.CountAttacks}, 3, 3, 1},
		{"sqli", store.TriggerCondition{Kind: store.CountAttacks, AttackType: "sqli"}, 0, 2, 1},
		{"distinct attacks", store.TriggerCondition{Kind: store.CountDistinctAttacks}, 0, 3, 1},
		{"forced browsing", store.TriggerCondition{Kind: store.CountForcedBrowsing}, 0, 0, 4},
		{"brute force on /login", store.TriggerCondition{Kind: store.CountBruteForce, Path: "/login"}, 3, 0, 30},
		{"brute force of another app", store.TriggerCondition{Kind: store.CountBruteForce, Path: "/login"}, 4, 0, 0},
	}
	for _, c := range cases {
		got := count(c.c, c.app)
		if got[a] != c.a || got[b] != c.b {
			t.Errorf("%s: counted %d for a, %d for b; want %d, %d", c.name, got[a], got[b], c.a, c.b)
		}
	}
	// A minute sent again replaces the first upload (a retry), never adds.
	_, err = s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: node.ID, At: t0, Sources: []apiv1.SourceCounters{
		{AppID: 3, Minute: min0, SourceIP: b.String(), Path: "/login/mfa", Requests: 25, NotFound: 3}}})
	check(t, err)
	if got := count(store.TriggerCondition{Kind: store.CountBruteForce, Path: "/login"}, 3); got[b] != 35 {
		t.Errorf("brute force after a re-sent minute: %d, want 10 + 25", got[b])
	}
	// The other tenant's view of the same sources is empty.
	tr := store.Trigger{TenantID: w.b.ID, ID: 99, Condition: store.TriggerCondition{Kind: store.CountAttacks}}
	if got := must(s.CountForTrigger(ctx, &tr, []netip.Addr{a, b}, since)); len(got) != 0 {
		t.Errorf("another tenant counted %v", got)
	}
}

// testFireTrigger covers what a firing does to the IP lists and the
// ruleset version: a new entry, once per source while it holds; a deny
// firing hardening a gray entry of a trigger; an allowlisted source and a
// hand-made entry left alone; firing again once the first has ended.
func testFireTrigger(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	ts := must(s.ListTriggers(ctx, w.a.ID))
	gray, deny := ts[0], ts[1]
	version := func() int64 { return must(s.RulesetVersion(ctx, w.a.ID)) }
	src := netip.MustParseAddr("198.18.66.6")
	fire := func(tr *store.Trigger, src netip.Addr, at time.Time) (store.Firing, bool) {
		f := store.Firing{Source: src, Count: 5, WindowStart: at.Add(-tr.Condition.Window()), FiredAt: at, Until: at.Add(tr.Duration())}
		return f, must(s.FireTrigger(ctx, tr, &f))
	}

	f, ok := fire(&gray, src, t0)
	if !ok || f.EntryID == 0 || f.Note != "" || version() != 1 {
		t.Fatalf("first firing: %v %+v, version %d", ok, f, version())
	}
	entries := must(s.ListIPEntries(ctx, w.a.ID, t0))
	if len(entries) != 1 {
		t.Fatalf("entries %+v", entries)
	}
	e := entries[0]
	if e.ID != f.EntryID || e.List != apiv1.ListGray || e.Prefix.String() != "198.18.66.6/32" || e.Origin != apiv1.OriginTrigger ||
		e.TriggerID != gray.ID || !e.Expires.Equal(t0.Add(time.Hour)) || e.AppIDs != nil || e.Reason == "" {
		t.Errorf("generated entry %+v", e)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("generated entry does not validate: %v", err)
	}
	if _, ok := fire(&gray, src, t0.Add(30*time.Minute)); ok || version() != 1 {
		t.Fatalf("fired twice while the first firing holds (version %d)", version())
	}

	f2, ok := fire(&deny, src, t0.Add(time.Minute))
	if !ok || f2.EntryID != f.EntryID || version() != 2 {
		t.Fatalf("deny firing: %v %+v, version %d", ok, f2, version())
	}
	e = must(s.ListIPEntries(ctx, w.a.ID, t0))[0]
	if e.List != apiv1.ListDeny || e.TriggerID != deny.ID || !e.Expires.Equal(t0.Add(time.Minute+time.Hour)) {
		t.Errorf("gray entry not hardened to deny: %+v", e)
	}
	// A gray firing while the deny entry lives never softens it.
	at := t0.Add(time.Hour + 30*time.Second)
	if _, ok := fire(&gray, src, at); !ok {
		t.Fatal("gray trigger did not fire again after its firing ended")
	}
	if e := must(s.ListIPEntries(ctx, w.a.ID, at))[0]; e.List != apiv1.ListDeny || !e.Expires.Equal(at.Add(time.Hour)) {
		t.Errorf("deny entry softened or not extended: %+v", e)
	}
	// Once it has expired, the next firing takes its place.
	at = t0.Add(3 * time.Hour)
	if f, ok := fire(&gray, src, at); !ok || f.EntryID != e.ID {
		t.Fatalf("firing after the entry expired: %v %+v", ok, f)
	}
	if e := must(s.ListIPEntries(ctx, w.a.ID, at)); len(e) != 1 || e[0].List != apiv1.ListGray {
		t.Errorf("after expiry: %+v", e)
	}

	// An allowlisted source, and one with an entry made by hand.
	allow := store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListAllow, Prefix: netip.MustParsePrefix("198.18.7.0/24"), Origin: apiv1.OriginManual}}
	check(t, s.CreateIPEntry(ctx, system, &allow))
	manual := store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListGray, Prefix: netip.MustParsePrefix("fd00::9/128"), Origin: apiv1.OriginManual}}
	check(t, s.CreateIPEntry(ctx, system, &manual))
	v := version()
	if f, ok := fire(&deny, netip.MustParseAddr("198.18.7.9"), t0); !ok || f.EntryID != 0 || f.Note == "" {
		t.Errorf("allowlisted source: %v %+v", ok, f)
	}
	if f, ok := fire(&deny, netip.MustParseAddr("fd00::9"), t0); !ok || f.EntryID != 0 || f.Note == "" {
		t.Errorf("source with a hand-made entry: %v %+v", ok, f)
	}
	if version() != v {
		t.Error("firings that changed no list moved the ruleset version")
	}
	if e := must(s.ListIPEntries(ctx, w.a.ID, at)); len(e) != 3 {
		t.Errorf("entries after firings that change nothing: %+v", e)
	}

	fs := must(s.ListFirings(ctx, w.a.ID, 0, 100))
	if len(fs) != 6 || fs[0].ID < fs[1].ID || fs[len(fs)-1].Source != src || fs[len(fs)-1].TriggerID != gray.ID {
		t.Errorf("firings %+v", fs)
	}
	if n := len(must(s.ListFirings(ctx, w.a.ID, deny.ID, 100))); n != 3 {
		t.Errorf("%d firings of the deny trigger, want 3", n)
	}
	if n := len(must(s.ListFirings(ctx, w.b.ID, 0, 100))); n != 0 {
		t.Errorf("another tenant sees %d firings", n)
	}
}
