package api

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

func TestEventsAPI(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	app := ts.createApp(t, f, "shop")
	nodeID, cred := ts.enrollNode(t, f, "web-1")
	base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Hour)
	batch := apiv1.ReportBatch{Version: 1}
	for i := 0; i < 30; i++ {
		e := event(app.ID, base, i*60) // one a minute
		if i%3 == 0 {
			e.AttackType, e.SourceIP, e.Point, e.Decision = "xss", "fd00::9", "body|json.comment", apiv1.DecisionMonitored
		}
		batch.Events = append(batch.Events, e)
	}
	decode[apiv1.IngestResult](t, ts.ingest(t, cred, batch, true), http.StatusOK)

	get := func(path string, v url.Values) string { return path + "?" + v.Encode() }
	cases := []struct {
		q    url.Values
		want int
	}{
		{url.Values{}, 30},
		{url.Values{"attack_type": {"xss"}}, 10},
		{url.Values{"source": {"fd00::/16"}}, 10},
		{url.Values{"source": {"198.18.0.7"}}, 20},
		{url.Values{"decision": {"monitored"}}, 10},
		{url.Values{"point": {"query.id"}}, 20},
		{url.Values{"node": {nodeID}}, 30},
		{url.Values{"app": {itoa(app.ID)}, "from": {base.Add(10 * time.Minute).Format(time.RFC3339)}}, 20},
	}
	for _, c := range cases {
		l := decode[apitypes.List[apitypes.Event]](t, ts.do(t, "GET", get("/api/v1/events", c.q), f.tokens["read-only"], nil), http.StatusOK)
		if len(l.Items) != c.want {
			t.Errorf("events?%s: %d, want %d", c.q.Encode(), len(l.Items), c.want)
		}
	}
	// Cursor pagination visits every event once.
	seen, cursor := map[string]bool{}, ""
	for {
		v := url.Values{"limit": {"7"}}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		l := decode[apitypes.List[apitypes.Event]](t, ts.do(t, "GET", get("/api/v1/events", v), f.admin(), nil), http.StatusOK)
		for _, e := range l.Items {
			seen[e.ID] = true
		}
		if cursor = l.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 30 {
		t.Errorf("paged through %d events, want 30", len(seen))
	}
	one := decode[apitypes.Event](t, ts.do(t, "GET", "/api/v1/events/"+batch.Events[4].ID, f.admin(), nil), http.StatusOK)
	if one.ID != batch.Events[4].ID || one.Excerpt != batch.Events[4].Excerpt {
		t.Errorf("get event: %+v", one)
	}

	agg := decode[apitypes.Aggregation](t, ts.do(t, "GET", "/api/v1/events/aggregate?by=decision", f.admin(), nil), http.StatusOK)
	if len(agg.Rows) != 2 || agg.Rows[0].Key != "blocked" || agg.Rows[0].Count != 20 || agg.Rows[1].Count != 10 {
		t.Errorf("blocked vs monitored: %+v", agg.Rows)
	}
	agg = decode[apitypes.Aggregation](t, ts.do(t, "GET", "/api/v1/events/aggregate?by=attack_type&bucket=15m", f.admin(), nil), http.StatusOK)
	if agg.Bucket != "15m0s" || len(agg.Rows) != 4 || agg.Rows[0].Bucket == nil || !agg.Rows[0].Bucket.Equal(base) {
		t.Errorf("over time: %+v", agg)
	}
	agg = decode[apitypes.Aggregation](t, ts.do(t, "GET", "/api/v1/events/aggregate?by=source_ip&limit=1", f.admin(), nil), http.StatusOK)
	if len(agg.Rows) != 1 || agg.Rows[0].Key != "198.18.0.7" || agg.Rows[0].Count != 20 {
		t.Errorf("top source: %+v", agg.Rows)
	}
	attacks := decode[apitypes.List[apitypes.Attack]](t, ts.do(t, "GET", "/api/v1/attacks", f.admin(), nil), http.StatusOK)
	if len(attacks.Items) != 2 {
		t.Fatalf("attacks: %+v", attacks.Items)
	}
	for _, a := range attacks.Items {
		if (a.AttackType == "sqli" && (a.Events != 20 || a.Blocked != 20)) || (a.AttackType == "xss" && (a.Events != 10 || a.Blocked != 0)) {
			t.Errorf("attack: %+v", a)
		}
	}
	audit := decode[apitypes.List[apitypes.AuditEntry]](t, ts.do(t, "GET", "/api/v1/audit?limit=2", f.admin(), nil), http.StatusOK)
	if len(audit.Items) != 2 || audit.Next == "" || audit.Items[0].Action != "node.enroll" {
		t.Errorf("audit page: %+v", audit)
	}
	next := decode[apitypes.List[apitypes.AuditEntry]](t, ts.do(t, "GET", "/api/v1/audit?limit=2&cursor="+audit.Next, f.admin(), nil), http.StatusOK)
	if len(next.Items) != 2 || next.Items[0].ID >= audit.Items[1].ID {
		t.Errorf("second audit page: %+v", next)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	ts.enrollNode(t, f, "web-1")
	w := ts.do(t, "GET", "/metrics", "", nil)
	for _, want := range []string{
		`palisade_cloud_nodes{state="new"} 1`,
		`palisade_cloud_ingest_events_total{result="accepted"} 0`,
		`palisade_cloud_ingest_rejected_sensitive_total{kind="jwt"} 0`,
		`palisade_cloud_http_requests_total{code="201",method="POST",route="/api/v1/nodes/enroll"} 1`,
		`palisade_cloud_logins_total{result="ok"} 4`,
	} {
		if !contains(w.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
