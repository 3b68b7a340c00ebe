package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

// samplePath fills a route's wildcards with an id that exists nowhere.
func samplePath(rt route) string {
	if strings.HasPrefix(rt.path, "/api/v1/nodes/{id}") || rt.path == "/api/v1/events/{id}" {
		return strings.ReplaceAll(rt.path, "{id}", "00000000-0000-4000-8000-000000000000")
	}
	return strings.ReplaceAll(rt.path, "{id}", "999999")
}

func TestHealth(t *testing.T) {
	ts := newTestServer(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		h := decode[apitypes.Health](t, ts.do(t, "GET", p, "", nil), http.StatusOK)
		if h.Status != "ok" || h.Version != "test" {
			t.Errorf("%s: %+v", p, h)
		}
	}
	ts.store.Close()
	if w := ts.do(t, "GET", "/readyz", "", nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed: %d, want 503", w.Code)
	}
}

// TestUnauthenticated: every /api/v1 path but the public ones answers 401
// without credentials or with bad ones, known routes and unknown paths
// alike, whatever the method.
func TestUnauthenticated(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	_, nodeCred := ts.enrollNode(t, f, "web-1")
	forged := "pct_" + strings.Repeat("A", 43)
	for _, rt := range ts.api.routes {
		if rt.access == public {
			continue
		}
		for _, cred := range []string{"", "garbage", forged} {
			w := ts.do(t, rt.method, samplePath(rt), cred, nil)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("%s %s with credential %q: %d, want 401", rt.method, rt.path, cred, w.Code)
			}
		}
		// The wrong kind of credential is refused as well.
		wrong := nodeCred
		if rt.access == nodeAccess || rt.access == enrollAccess {
			wrong = f.admin()
		}
		if w := ts.do(t, rt.method, samplePath(rt), wrong, nil); w.Code != http.StatusUnauthorized {
			t.Errorf("%s %s with the wrong kind of credential: %d, want 401", rt.method, rt.path, w.Code)
		}
	}
	for _, p := range []string{"/api/v1/", "/api/v1/nothing", "/api/v1/apps/1/secret", "/api/v1/users?x=1"} {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			if w := ts.do(t, m, p, "", nil); w.Code != http.StatusUnauthorized {
				t.Errorf("%s %s without credentials: %d, want 401", m, p, w.Code)
			}
		}
	}
	// With credentials an unknown path is 404 and a known one with another
	// method 405.
	if w := ts.do(t, "GET", "/api/v1/nothing", f.admin(), nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown path with credentials: %d, want 404", w.Code)
	}
	if w := ts.do(t, "PUT", "/api/v1/apps", f.admin(), nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /api/v1/apps with credentials: %d, want 405", w.Code)
	}
	for _, p := range []string{"/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"} {
		if w := ts.do(t, "GET", p, "", nil); w.Code != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", p, w.Code)
		}
	}
}

// TestRoles: every user endpoint checks the caller's scope. A role without
// the route's scope gets 403 and changes nothing; a role with it gets past
// the check (whatever the handler then says about the empty body).
func TestRoles(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	for _, rt := range ts.api.routes {
		if rt.access != userAccess {
			continue
		}
		for _, role := range auth.Roles {
			if rt.path == "/api/v1/auth/logout" {
				continue // would end the fixture's session
			}
			before := auditCount(t, ts, f.id)
			w := ts.do(t, rt.method, samplePath(rt), f.tokens[role], "{}")
			granted := rt.scope == "" || len(mustGrant(role, rt.scope)) == 1
			switch {
			case !granted && w.Code != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403", rt.method, rt.path, role, w.Code)
			case granted && (w.Code == http.StatusForbidden || w.Code == http.StatusUnauthorized):
				t.Errorf("%s %s as %s: %d, want past the role check: %s", rt.method, rt.path, role, w.Code, w.Body)
			}
			if !granted && auditCount(t, ts, f.id) != before {
				t.Errorf("%s %s as %s was refused but changed something", rt.method, rt.path, role)
			}
		}
	}
	// A read-only user changes nothing at all: every non-GET route but its
	// own password and logout is forbidden.
	for _, rt := range ts.api.routes {
		if rt.access != userAccess || rt.method == "GET" || strings.HasPrefix(rt.path, "/api/v1/auth/") {
			continue
		}
		if w := ts.do(t, rt.method, samplePath(rt), f.tokens[auth.RoleReadOnly], "{}"); w.Code != http.StatusForbidden {
			t.Errorf("read-only %s %s: %d, want 403", rt.method, rt.path, w.Code)
		}
	}
}

func mustGrant(r auth.Role, s auth.Scope) []auth.Scope {
	g, _ := auth.Grant(r, []auth.Scope{s})
	return g
}

func auditCount(t *testing.T, ts *testServer, tenantID int64) int {
	t.Helper()
	es, err := ts.store.ListAudit(context.Background(), tenantID, store.AuditFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestTenantIsolation: for every kind of object, a user of tenant A asking
// for tenant B's object by id gets 404, cannot change it, and never sees
// it listed.
func TestTenantIsolation(t *testing.T) {
	ts := newTestServer(t)
	a, b := ts.tenant(t, "acme"), ts.tenant(t, "globex")
	ctx := context.Background()

	// Tenant B's objects.
	bApp := ts.createApp(t, b, "b-shop")
	bNode, bCred := ts.enrollNode(t, b, "b-web")
	bToken := decode[apitypes.TokenCreated](t, ts.do(t, "POST", "/api/v1/tokens", b.admin(),
		apitypes.CreateTokenRequest{Name: "b-ci", Scopes: []string{"events:read"}}), http.StatusCreated)
	bEnroll := decode[apitypes.EnrollTokenCreated](t, ts.do(t, "POST", "/api/v1/enroll-tokens", b.admin(),
		apitypes.CreateEnrollTokenRequest{Name: "b-spare"}), http.StatusCreated)
	bEvent := event(bApp.ID, time.Now().Add(-time.Minute), 0)
	decode[apiv1.IngestResult](t, ts.ingest(t, bCred, apiv1.ReportBatch{Version: 1, Events: []apiv1.Event{bEvent}}, false), http.StatusOK)
	bUser := b.users[auth.RoleAnalyst]

	// A node of tenant A cannot report into tenant B's application.
	_, aCred := ts.enrollNode(t, a, "a-web")
	res := decode[apiv1.IngestResult](t, ts.ingest(t, aCred, apiv1.ReportBatch{Version: 1,
		Events: []apiv1.Event{event(bApp.ID, time.Now(), 1)}}, false), http.StatusOK)
	if res.Accepted != 0 || len(res.Rejected) != 1 {
		t.Errorf("tenant A's node reported into tenant B's app: %+v", res)
	}
	stateB := auditCount(t, ts, b.id)

	id := func(n int64) string { return fmt.Sprint(n) }
	cases := []struct {
		kind, method, path string
		body               any
	}{
		{"user", "GET", "/api/v1/users/" + id(bUser.ID), nil},
		{"user", "PATCH", "/api/v1/users/" + id(bUser.ID), apitypes.UpdateUserRequest{Name: ptr("taken over")}},
		{"user", "DELETE", "/api/v1/users/" + id(bUser.ID), nil},
		{"app", "GET", "/api/v1/apps/" + id(bApp.ID), nil},
		{"app", "PATCH", "/api/v1/apps/" + id(bApp.ID), apitypes.UpdateAppRequest{FiltrationMode: ptr("off")}},
		{"app", "DELETE", "/api/v1/apps/" + id(bApp.ID), nil},
		{"token", "DELETE", "/api/v1/tokens/" + id(bToken.Token.ID), nil},
		{"enroll token", "DELETE", "/api/v1/enroll-tokens/" + id(bEnroll.Token.ID), nil},
		{"node", "GET", "/api/v1/nodes/" + bNode, nil},
		{"node", "POST", "/api/v1/nodes/" + bNode + "/revoke", nil},
		{"event", "GET", "/api/v1/events/" + bEvent.ID, nil},
	}
	for _, c := range cases {
		w := ts.do(t, c.method, c.path, a.admin(), c.body)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: tenant A's admin %s %s: %d, want 404: %s", c.kind, c.method, c.path, w.Code, w.Body)
		}
	}
	if got := auditCount(t, ts, b.id); got != stateB {
		t.Errorf("tenant B's audit log grew from %d to %d entries: something changed", stateB, got)
	}
	if _, err := ts.store.GetApp(ctx, b.id, bApp.ID); err != nil {
		t.Errorf("tenant B's app: %v", err)
	}
	if n, _ := ts.store.GetNode(ctx, b.id, bNode); n.RevokedAt != nil {
		t.Error("tenant B's node was revoked by tenant A")
	}

	// Listings of tenant A never show tenant B's objects.
	bIDs := []string{id(bApp.ID), bNode, bEvent.ID, bUser.Email, "b-ci", "b-spare", "globex", "b-shop", "b-web"}
	for _, p := range []string{"/api/v1/users", "/api/v1/apps", "/api/v1/tokens", "/api/v1/enroll-tokens", "/api/v1/nodes",
		"/api/v1/events", "/api/v1/events/aggregate?by=source_ip", "/api/v1/attacks", "/api/v1/traffic", "/api/v1/audit", "/api/v1/tenant"} {
		w := ts.do(t, "GET", p, a.admin(), nil)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", p, w.Code)
			continue
		}
		for _, bid := range bIDs[1:] {
			if strings.Contains(w.Body.String(), bid) {
				t.Errorf("GET %s as tenant A shows tenant B's %q", p, bid)
			}
		}
	}
	// Searching tenant A's events by B's node or application finds nothing.
	for _, p := range []string{"/api/v1/events?node=" + bNode, "/api/v1/events?app=" + id(bApp.ID)} {
		l := decode[apitypes.List[apitypes.Event]](t, ts.do(t, "GET", p, a.admin(), nil), http.StatusOK)
		if len(l.Items) != 0 {
			t.Errorf("GET %s as tenant A: %d events", p, len(l.Items))
		}
	}
}

func ptr[T any](v T) *T { return &v }
