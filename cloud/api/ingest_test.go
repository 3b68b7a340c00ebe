package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

func TestEnrollment(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	tok := decode[apitypes.EnrollTokenCreated](t, ts.do(t, "POST", "/api/v1/enroll-tokens", f.tokens["deploy"],
		apitypes.CreateEnrollTokenRequest{Name: "rack-1", TTLSeconds: 600}), http.StatusCreated)
	if !strings.HasPrefix(tok.Secret, "pce_") || time.Until(tok.Token.ExpiresAt) > 11*time.Minute {
		t.Fatalf("enrollment token: %+v", tok)
	}
	req := apiv1.EnrollRequest{Version: 1, Hostname: "web-1.example.test", AgentVersion: "0.1.0"}
	resp := decode[apiv1.EnrollResponse](t, ts.do(t, "POST", "/api/v1/nodes/enroll", tok.Secret, req), http.StatusCreated)
	if resp.TenantID != f.id || !strings.HasPrefix(resp.Credential, "pcn_") {
		t.Fatalf("enroll: %+v", resp)
	}
	// One time only.
	if w := ts.do(t, "POST", "/api/v1/nodes/enroll", tok.Secret, req); w.Code != http.StatusUnauthorized {
		t.Fatalf("second enrollment with one token: %d, want 401", w.Code)
	}
	n := decode[apitypes.NodeView](t, ts.do(t, "GET", "/api/v1/nodes/"+resp.NodeID, f.tokens["read-only"], nil), http.StatusOK)
	if n.Name != "web-1.example.test" || n.State != "new" || n.AgentVersion != "0.1.0" {
		t.Fatalf("node: %+v", n)
	}
	// The node reports; then it is revoked and refused everywhere.
	decode[apiv1.IngestResult](t, ts.ingest(t, resp.Credential, apiv1.ReportBatch{Version: 1,
		Health: &apiv1.NodeHealth{AgentVersion: "0.1.1", RulesetVersion: 4, SpoolEvents: 12, SpoolBytes: 3000}}, false), http.StatusOK)
	n = decode[apitypes.NodeView](t, ts.do(t, "GET", "/api/v1/nodes/"+resp.NodeID, f.admin(), nil), http.StatusOK)
	if n.State != "active" || n.RulesetVersion != 4 || n.SpoolEvents != 12 || n.AgentVersion != "0.1.1" || n.LastSeenAt == nil {
		t.Fatalf("health after upload: %+v", n)
	}
	if w := ts.do(t, "POST", "/api/v1/nodes/"+resp.NodeID+"/revoke", f.tokens["analyst"], nil); w.Code != http.StatusForbidden {
		t.Fatalf("analyst revoked a node: %d", w.Code)
	}
	n = decode[apitypes.NodeView](t, ts.do(t, "POST", "/api/v1/nodes/"+resp.NodeID+"/revoke", f.admin(), nil), http.StatusOK)
	if n.State != "revoked" {
		t.Fatalf("after revoke: %+v", n)
	}
	w := ts.ingest(t, resp.Credential, apiv1.ReportBatch{Version: 1}, false)
	if w.Code != http.StatusUnauthorized || !strings.Contains(errorOf(t, w).Message, "revoked") {
		t.Fatalf("revoked node ingest: %d %s", w.Code, w.Body)
	}
	if w := ts.do(t, "POST", "/api/v1/nodes/"+resp.NodeID+"/revoke", f.admin(), nil); w.Code != http.StatusConflict {
		t.Fatalf("second revoke: %d, want 409", w.Code)
	}
	// An expired token admits nobody.
	ts.api.cfg.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	tok2 := decode[apitypes.EnrollTokenCreated](t, ts.do(t, "POST", "/api/v1/enroll-tokens", f.admin(), apitypes.CreateEnrollTokenRequest{}), http.StatusCreated)
	ts.api.cfg.Now = func() time.Time { return time.Now().Add(4 * time.Hour) }
	if w := ts.do(t, "POST", "/api/v1/nodes/enroll", tok2.Secret, req); w.Code != http.StatusUnauthorized {
		t.Fatalf("expired enrollment token: %d, want 401", w.Code)
	}
}

func TestIngest(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	app := ts.createApp(t, f, "shop")
	nodeID, cred := ts.enrollNode(t, f, "web-1")
	now := time.Now().UTC()
	var batch apiv1.ReportBatch
	batch.Version = 1
	for i := 0; i < 50; i++ {
		batch.Events = append(batch.Events, event(app.ID, now.Add(-time.Hour), i))
	}
	batch.Counters = []apiv1.Counters{{AppID: app.ID, Minute: now.Truncate(time.Minute), Requests: 1000, Blocked: 50, Attacks: map[string]uint64{"sqli": 50}}}

	res := decode[apiv1.IngestResult](t, ts.ingest(t, cred, batch, true), http.StatusOK)
	if res.Accepted != 50 || res.Duplicates != 0 || len(res.Rejected) != 0 {
		t.Fatalf("first upload: %+v", res)
	}
	// A retried upload is acknowledged and stores nothing twice.
	res = decode[apiv1.IngestResult](t, ts.ingest(t, cred, batch, false), http.StatusOK)
	if res.Accepted != 0 || res.Duplicates != 50 {
		t.Fatalf("retried upload: %+v", res)
	}
	l := decode[apitypes.List[apitypes.Event]](t, ts.do(t, "GET", "/api/v1/events?limit=1000", f.tokens["read-only"], nil), http.StatusOK)
	if len(l.Items) != 50 || l.Items[0].NodeID != nodeID || l.Items[0].TenantID != f.id {
		t.Fatalf("stored events: %d, first %+v", len(l.Items), l.Items[0])
	}
	tr := decode[apitypes.List[apitypes.TrafficRow]](t, ts.do(t, "GET", "/api/v1/traffic?bucket=1h", f.admin(), nil), http.StatusOK)
	if len(tr.Items) != 1 || tr.Items[0].Requests != 1000 || tr.Items[0].Attacks != 50 {
		t.Fatalf("traffic: %+v", tr.Items)
	}

	// Single bad events are rejected by id; the rest of the batch is stored.
	good := event(app.ID, now, 100)
	card, jwt, future, foreignNode, unknownApp, badIP := event(app.ID, now, 101), event(app.ID, now, 102), event(app.ID, now, 103),
		event(app.ID, now, 104), event(app.ID+100, now, 105), event(app.ID, now, 106)
	card.Excerpt = "card=4111 1111 1111 1111"
	jwt.Path = "/api?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
	future.Time = now.Add(time.Hour)
	foreignNode.NodeID = "00000000-0000-4000-8000-000000000000"
	badIP.SourceIP = "198.18.0.300"
	sensBefore := counterValue(ts.api.metrics.RejectedSensitive.WithLabelValues("card_number"))
	res = decode[apiv1.IngestResult](t, ts.ingest(t, cred, apiv1.ReportBatch{Version: 1,
		Events: []apiv1.Event{good, card, jwt, future, foreignNode, unknownApp, badIP}}, true), http.StatusOK)
	want := map[string]string{
		card.ID: "excerpt still looks like it carries a card number", jwt.ID: "path still looks like it carries a jwt",
		future.ID: "future", foreignNode.ID: "node_id", unknownApp.ID: "not an application of this tenant", badIP.ID: "source_ip",
	}
	if res.Accepted != 1 || len(res.Rejected) != len(want) {
		t.Fatalf("mixed batch: %+v", res)
	}
	for _, r := range res.Rejected {
		if !strings.Contains(r.Reason, want[r.ID]) {
			t.Errorf("event %s rejected for %q, want %q", r.ID, r.Reason, want[r.ID])
		}
		if strings.Contains(r.Reason, "4111") || strings.Contains(r.Reason, "eyJ") {
			t.Errorf("rejection reason echoes the sensitive value: %q", r.Reason)
		}
	}
	if got := counterValue(ts.api.metrics.RejectedSensitive.WithLabelValues("card_number")) - sensBefore; got != 1 {
		t.Errorf("rejected card numbers counted %v, want 1", got)
	}
	if _, err := ts.store.GetEvent(context.Background(), f.id, card.ID); err == nil {
		t.Error("the event with a card number was stored")
	}
	if got := counterValue(ts.api.metrics.IngestEvents.WithLabelValues("accepted")); got != 51 {
		t.Errorf("accepted events counted %v, want 51", got)
	}
}

func TestIngestRateLimit(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.IngestRate, c.IngestBurst = 1, apiv1.MaxBatchEvents })
	f := ts.tenant(t, "acme")
	_, cred := ts.enrollNode(t, f, "web-1")
	_, other := ts.enrollNode(t, f, "web-2")
	now := time.Now()
	batch := func() apiv1.ReportBatch {
		b := apiv1.ReportBatch{Version: 1}
		for i := 0; i < apiv1.MaxBatchEvents; i++ {
			b.Events = append(b.Events, event(0, now, i))
		}
		return b
	}
	decode[apiv1.IngestResult](t, ts.ingest(t, cred, batch(), true), http.StatusOK)
	w := ts.ingest(t, cred, batch(), true)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second full batch at 1 event/s: %d (Retry-After %q), want 429", w.Code, w.Header().Get("Retry-After"))
	}
	// The limit is per node.
	decode[apiv1.IngestResult](t, ts.ingest(t, other, batch(), true), http.StatusOK)
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
