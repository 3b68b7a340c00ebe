package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// TestBadInput: malformed, oversize, mistyped, unknown or SQL-looking input
// gets a 4xx whose message names the problem, and changes nothing.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	app := ts.createApp(t, f, "shop")
	appPath := "/api/v1/apps/" + itoa(app.ID)
	sqlish := `x'; DROP TABLE apps; --`
	cases := []struct {
		name, method, path string
		body               any
		status             int
		says               string // in the message
	}{
		{"broken JSON", "POST", "/api/v1/apps", `{"name": "a",`, 400, "JSON ends too early"},
		{"not JSON", "POST", "/api/v1/apps", `name=a`, 400, "invalid JSON"},
		{"empty body", "POST", "/api/v1/apps", ``, 400, "empty"},
		{"two documents", "POST", "/api/v1/apps", `{"name":"a","filtration_mode":"block"} {}`, 400, "more than one JSON value"},
		{"array, not object", "POST", "/api/v1/apps", `[1,2]`, 400, "expected a JSON"},
		{"unknown field", "POST", "/api/v1/apps", `{"name":"a","filtration_mode":"block","admin":true}`, 400, `unknown field "admin"`},
		{"wrong type", "POST", "/api/v1/apps", `{"name":42,"filtration_mode":"block"}`, 400, `field "name" must be a string`},
		{"wrong type in list", "POST", "/api/v1/apps", `{"name":"a","filtration_mode":"block","hosts":[1]}`, 400, `must be a string`},
		{"bad mode", "POST", "/api/v1/apps", apitypes.CreateAppRequest{Name: "a", FiltrationMode: "paranoid"}, 400, "filtration_mode"},
		{"sql in name", "POST", "/api/v1/apps", apitypes.CreateAppRequest{Name: sqlish, FiltrationMode: "block"}, 400, "name may hold only"},
		{"sql in host", "POST", "/api/v1/apps", apitypes.CreateAppRequest{Name: "a", FiltrationMode: "block", Hosts: []string{"a.test' OR '1'='1"}}, 400, "not a host name"},
		{"empty name", "POST", "/api/v1/apps", apitypes.CreateAppRequest{FiltrationMode: "block"}, 400, "name is empty"},
		{"oversize body", "POST", "/api/v1/apps", `{"name":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "larger than"},
		{"not JSON content type", "POST", "/api/v1/apps", nil, 415, "Content-Type"},
		{"duplicate name", "POST", "/api/v1/apps", apitypes.CreateAppRequest{Name: "shop", FiltrationMode: "block"}, 409, "exists"},
		{"sql in path id", "GET", "/api/v1/apps/1%20OR%201=1", nil, 400, "positive integer"},
		{"negative id", "PATCH", "/api/v1/apps/-1", apitypes.UpdateAppRequest{}, 400, "positive integer"},
		{"sql in patch", "PATCH", appPath, apitypes.UpdateAppRequest{Name: ptr(sqlish)}, 400, "name may hold only"},
		{"patch unknown field", "PATCH", appPath, `{"tenant_id": 2}`, 400, `unknown field "tenant_id"`},
		{"bad email", "POST", "/api/v1/users", apitypes.CreateUserRequest{Email: "root'--@x", Role: "admin", Password: "long-enough-pass"}, 400, "email"},
		{"bad role", "POST", "/api/v1/users", apitypes.CreateUserRequest{Email: "a@b.test", Role: "root", Password: "long-enough-pass"}, 400, "unknown role"},
		{"weak password", "POST", "/api/v1/users", apitypes.CreateUserRequest{Email: "a@b.test", Role: "admin", Password: "short"}, 400, "password must be"},
		{"bad scope", "POST", "/api/v1/tokens", apitypes.CreateTokenRequest{Name: "ci", Scopes: []string{"events:delete"}}, 400, "unknown scope"},
		{"token in the past", "POST", "/api/v1/tokens", apitypes.CreateTokenRequest{Name: "ci", Scopes: []string{"events:read"}, ExpiresAt: ptr(time.Now().Add(-time.Hour))}, 400, "past"},
		{"bad ttl", "POST", "/api/v1/enroll-tokens", apitypes.CreateEnrollTokenRequest{TTLSeconds: -5}, 400, "ttl_seconds"},
		{"unknown query parameter", "GET", "/api/v1/events?colour=red", nil, 400, `unknown query parameter "colour"`},
		{"sql in query integer", "GET", "/api/v1/events?app=1%20OR%201=1", nil, 400, "query parameter app"},
		{"bad time", "GET", "/api/v1/events?from=yesterday", nil, 400, "RFC 3339"},
		{"inverted range", "GET", "/api/v1/events?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", nil, 400, "after from"},
		{"bad cidr", "GET", "/api/v1/events?source=198.18.0.0/99", nil, 400, "CIDR"},
		{"bad decision", "GET", "/api/v1/events?decision=maybe", nil, 400, "one of"},
		{"limit too big", "GET", "/api/v1/events?limit=1000000", nil, 400, "limit"},
		{"forged cursor", "GET", "/api/v1/events?cursor=AAAA", nil, 400, "cursor"},
		{"repeated parameter", "GET", "/api/v1/events?app=1&app=2", nil, 400, "more than once"},
		{"bad group", "GET", "/api/v1/events/aggregate?by=password", nil, 400, "one of"},
		{"bad bucket", "GET", "/api/v1/events/aggregate?bucket=1s", nil, 400, "duration"},
		{"bad event id", "GET", "/api/v1/events/1;DROP", nil, 400, "UUID"},
		{"bad node id", "POST", "/api/v1/nodes/x'--/revoke", nil, 400, "UUID"},
	}
	before := snapshot(t, ts, f.id)
	for _, c := range cases {
		var w = ts.do(t, c.method, c.path, f.admin(), c.body)
		if c.name == "not JSON content type" {
			w = ts.doWith(t, c.method, c.path, f.admin(), `{"name":"a","filtration_mode":"block"}`, "text/plain")
		}
		if w.Code != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, w.Code, c.status, w.Body)
			continue
		}
		if e := errorOf(t, w); !strings.Contains(e.Message, c.says) {
			t.Errorf("%s: message %q does not say %q", c.name, e.Message, c.says)
		}
	}
	if after := snapshot(t, ts, f.id); after != before {
		t.Errorf("bad input changed the store:\nbefore %s\nafter  %s", before, after)
	}
	// A SQL-looking filter value is only a value: it matches nothing.
	l := decode[apitypes.List[apitypes.Event]](t, ts.do(t, "GET", "/api/v1/events?attack_type=x%27%20OR%20%271%27%3D%271", f.admin(), nil), http.StatusOK)
	if len(l.Items) != 0 {
		t.Errorf("SQL-looking filter found %d events", len(l.Items))
	}
}

// snapshot summarises what a tenant has, to see that nothing changed.
func snapshot(t *testing.T, ts *testServer, tenantID int64) string {
	t.Helper()
	ctx := context.Background()
	apps, err := ts.store.ListApps(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	users, _ := ts.store.ListUsers(ctx, tenantID)
	tokens, _ := ts.store.ListAPITokens(ctx, tenantID, 0)
	enroll, _ := ts.store.ListEnrollTokens(ctx, tenantID)
	raw, _ := json.Marshal([]any{apps, users, tokens, enroll, auditCount(t, ts, tenantID)})
	return string(raw)
}

func (ts *testServer) doWith(t *testing.T, method, path, token, body, contentType string) *testResponse {
	t.Helper()
	req := newRequest(method, path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	w := newRecorder()
	ts.api.ServeHTTP(w, req)
	return w
}

// TestIngestBadInput: batches that are malformed, oversize, compressed
// bombs or of another version are refused whole, and store nothing.
func TestIngestBadInput(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	_, cred := ts.enrollNode(t, f, "web-1")
	now := time.Now()
	tooMany := apiv1.ReportBatch{Version: 1}
	for i := 0; i <= apiv1.MaxBatchEvents; i++ {
		tooMany.Events = append(tooMany.Events, event(0, now, 0))
	}
	tooManyRaw, _ := json.Marshal(tooMany)
	bomb := append([]byte(`{"version":1,"events":[{"id":"`), bytes.Repeat([]byte("A"), apiv1.MaxBatchBytes+1)...)
	badMinute, _ := json.Marshal(apiv1.ReportBatch{Version: 1, Counters: []apiv1.Counters{{Minute: now}}})
	cases := []struct {
		name   string
		raw    []byte
		zip    bool
		status int
		says   string
	}{
		{"broken JSON", []byte(`{"version":1,"events":[`), false, 400, "JSON ends too early"},
		{"unknown field", []byte(`{"version":1,"evnts":[]}`), false, 400, `unknown field "evnts"`},
		{"wrong type", []byte(`{"version":"1"}`), false, 400, `field "version" must be a number`},
		{"other version", []byte(`{"version":2}`), false, 400, "version 2"},
		{"too many events", tooManyRaw, true, 413, "limit 5000"},
		{"gzip bomb", bomb, true, 413, "larger than"},
		{"oversize", bomb, false, 413, "larger than"},
		{"not gzip", []byte(`{"version":1}`), false, 400, "not gzip"},
		{"counter not on a minute", badMinute, false, 400, "start of a minute"},
	}
	for _, c := range cases {
		var w *testResponse
		if c.name == "not gzip" {
			req := newRequest("POST", "/api/v1/ingest", string(c.raw))
			req.Header.Set("Authorization", "Bearer "+cred)
			req.Header.Set("Content-Encoding", "gzip")
			w = newRecorder()
			ts.api.ServeHTTP(w, req)
		} else {
			w = ts.post(t, "/api/v1/ingest", cred, c.raw, c.zip)
		}
		if w.Code != c.status {
			t.Errorf("%s: %d, want %d: %.200s", c.name, w.Code, c.status, w.Body)
			continue
		}
		if e := errorOf(t, w); !strings.Contains(e.Message, c.says) {
			t.Errorf("%s: message %q does not say %q", c.name, e.Message, c.says)
		}
	}
	events, _, err := ts.store.SearchEvents(context.Background(), f.id, store.EventFilter{}, store.Page{Limit: 10})
	if err != nil || len(events) != 0 {
		t.Errorf("refused batches stored %d events (%v)", len(events), err)
	}
	// The compressed bomb really was small on the wire.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bomb)
	zw.Close()
	if buf.Len() > apiv1.MaxBatchBytes/100 {
		t.Fatalf("test bomb is %d bytes compressed: not a bomb", buf.Len())
	}
}
