package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// TestTriggerFiresOnIngest: a node long-polls its ruleset; another upload
// of ten attacks from one source crosses the default denylist trigger, and
// the held poll answers with the generated entry, which says which trigger
// made it and when it expires.
func TestTriggerFiresOnIngest(t *testing.T) {
	opt, kr := withSigner(t)
	ts := newTestServer(t, opt)
	a := ts.tenant(t, "acme")
	app := ts.createApp(t, a, "shop")
	_, cred := ts.enrollNode(t, a, "web-1")

	polled := make(chan *httptest.ResponseRecorder, 1)
	go func() { polled <- ts.pollRuleset(t, cred, "", "20") }()

	now := time.Now().UTC()
	var b apiv1.ReportBatch
	b.Version = 1
	for i := range 10 {
		e := event(app.ID, now.Add(-time.Minute), i)
		e.SourceIP = "198.18.66.6"
		b.Events = append(b.Events, e)
	}
	if w := ts.ingest(t, cred, b, false); w.Code != http.StatusOK {
		t.Fatalf("ingest: %d %s", w.Code, w.Body)
	}
	w := <-polled
	if w.Code != http.StatusOK {
		t.Fatalf("held poll: %d %s", w.Code, w.Body)
	}
	var sr apiv1.SignedRuleset
	if err := json.Unmarshal(w.Body.Bytes(), &sr); err != nil {
		t.Fatal(err)
	}
	rs, err := kr.Open(&sr)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.IPList) != 1 {
		t.Fatalf("ruleset IP list %+v", rs.IPList)
	}
	e := rs.IPList[0]
	triggers := decode[apitypes.List[apitypes.Trigger]](t, ts.do(t, "GET", "/api/v1/triggers", a.admin(), nil), http.StatusOK).Items
	if len(triggers) != 2 {
		t.Fatalf("new tenant's triggers: %+v", triggers)
	}
	deny := triggers[1]
	if e.List != "deny" || e.Prefix.String() != "198.18.66.6/32" || e.Origin != apiv1.OriginTrigger || e.TriggerID != deny.ID ||
		e.AppIDs != nil || e.Expires.Before(now.Add(59*time.Minute)) || e.Expires.After(now.Add(61*time.Minute)) {
		t.Errorf("generated entry %+v", e)
	}
	fs := decode[apitypes.List[apitypes.Firing]](t, ts.do(t, "GET", "/api/v1/trigger-firings?trigger="+itoa(deny.ID), a.admin(), nil), http.StatusOK).Items
	if len(fs) != 1 || fs[0].Count != 10 || fs[0].EntryID != e.ID || fs[0].Source.String() != "198.18.66.6" {
		t.Errorf("firings %+v", fs)
	}
	m := httptest.NewRecorder()
	ts.api.ServeHTTP(m, httptest.NewRequest("GET", "/metrics", nil))
	if !contains(m.Body.String(), `palisade_cloud_trigger_firings_total{action="deny"} 1`) {
		t.Errorf("firing not counted in /metrics")
	}
	// The same upload again (a retry) fires nothing more.
	ts.ingest(t, cred, b, false)
	if fs := decode[apitypes.List[apitypes.Firing]](t, ts.do(t, "GET", "/api/v1/trigger-firings", a.admin(), nil), http.StatusOK).Items; len(fs) != 1 {
		t.Errorf("a retried upload fired again: %+v", fs)
	}
}

// TestBruteForceTrigger: per-source counters of requests to a login path
// fire an application's brute-force trigger, which graylists the source
// for that application only.
func TestBruteForceTrigger(t *testing.T) {
	ts := newTestServer(t)
	a, other := ts.tenant(t, "acme"), ts.tenant(t, "globex")
	app := ts.createApp(t, a, "shop")
	foreign := ts.createApp(t, other, "bank")
	_, cred := ts.enrollNode(t, a, "web-1")

	req := apitypes.TriggerRequest{Name: "login guessing", AppID: app.ID,
		Condition: store.TriggerCondition{Kind: store.CountBruteForce, Path: "/login", Threshold: 21, WindowSeconds: 120},
		Action:    store.TriggerAction{Kind: store.ActionGray, DurationSeconds: 600}}
	bad := []struct {
		name string
		edit func(r *apitypes.TriggerRequest)
		want string
	}{
		{"unknown condition", func(r *apitypes.TriggerRequest) { r.Condition.Kind = "vibes" }, "condition: kind"},
		{"brute force without a path", func(r *apitypes.TriggerRequest) { r.Condition.Path = "" }, "needs a path"},
		{"no window", func(r *apitypes.TriggerRequest) { r.Condition.WindowSeconds = 0 }, "window_seconds"},
		{"list action without duration", func(r *apitypes.TriggerRequest) { r.Action.DurationSeconds = 0 }, "duration_seconds"},
		{"notify without integration", func(r *apitypes.TriggerRequest) { r.Action = store.TriggerAction{Kind: store.ActionNotify} }, "integration_id"},
		{"another tenant's application", func(r *apitypes.TriggerRequest) { r.AppID = foreign.ID }, "does not exist"},
	}
	for _, c := range bad {
		r := req
		c.edit(&r)
		w := ts.do(t, "POST", "/api/v1/triggers", a.admin(), r)
		if e := errorOf(t, w); w.Code != http.StatusBadRequest || !contains(e.Message, c.want) {
			t.Errorf("%s: %d %+v, want 400 with %q", c.name, w.Code, e, c.want)
		}
	}
	tr := decode[apitypes.Trigger](t, ts.do(t, "POST", "/api/v1/triggers", a.admin(), req), http.StatusCreated)
	if !tr.Enabled || tr.Condition != req.Condition {
		t.Fatalf("created %+v", tr)
	}
	if w := ts.do(t, "POST", "/api/v1/triggers", a.admin(), req); w.Code != http.StatusConflict {
		t.Errorf("same name twice: %d", w.Code)
	}
	if w := ts.do(t, "GET", "/api/v1/triggers/"+itoa(tr.ID), other.admin(), nil); w.Code != http.StatusNotFound {
		t.Errorf("another tenant's trigger: %d", w.Code)
	}

	minute := time.Now().UTC().Truncate(time.Minute)
	sources := func(n uint64) apiv1.ReportBatch {
		return apiv1.ReportBatch{Version: 1, Sources: []apiv1.SourceCounters{
			{AppID: app.ID, Minute: minute, SourceIP: "198.18.5.5", Path: "/login", Requests: n},
			{AppID: app.ID, Minute: minute, SourceIP: "198.18.5.6", Path: "/catalog", Requests: 500},
		}}
	}
	// 20 requests: not more than the threshold allows.
	if w := ts.ingest(t, cred, sources(20), false); w.Code != http.StatusOK {
		t.Fatalf("ingest: %d %s", w.Code, w.Body)
	}
	if es := decode[apitypes.List[apitypes.IPEntry]](t, ts.do(t, "GET", "/api/v1/ip-entries", a.admin(), nil), http.StatusOK).Items; len(es) != 0 {
		t.Fatalf("fired below the threshold: %+v", es)
	}
	// The node re-sends the minute with 21: the trigger fires.
	ts.ingest(t, cred, sources(21), false)
	es := decode[apitypes.List[apitypes.IPEntry]](t, ts.do(t, "GET", "/api/v1/ip-entries", a.admin(), nil), http.StatusOK).Items
	if len(es) != 1 || es[0].List != "gray" || es[0].Prefix.String() != "198.18.5.5/32" || len(es[0].AppIDs) != 1 || es[0].AppIDs[0] != app.ID ||
		es[0].TriggerID != tr.ID {
		t.Fatalf("entries %+v", es)
	}

	// Malformed counters refuse the batch.
	b := sources(1)
	b.Sources[0].NotFound = 2
	if w := ts.ingest(t, cred, b, false); w.Code != http.StatusBadRequest {
		t.Errorf("not_found over requests: %d", w.Code)
	}
	b = sources(1)
	b.Sources[0].AppID = foreign.ID
	if w := ts.ingest(t, cred, b, false); w.Code != http.StatusBadRequest {
		t.Errorf("another tenant's application: %d", w.Code)
	}
}
