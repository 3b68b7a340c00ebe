package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/api"
	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/client"
	"github.com/palisadewaf/palisade/cloud/server"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

// TestClient drives a real API server through the client: login, an
// application, a node's enrollment and upload, and the events search.
func TestClient(t *testing.T) {
	ctx := context.Background()
	st := sqltest.OpenSQLite(t)
	if err := server.Bootstrap(ctx, st, "admin@acme.test", "admin-password-1", nil); err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordParams: auth.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	anon, err := client.New(srv.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Login(ctx, "admin@acme.test", "wrong-password"); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("wrong password: %v", err)
	}
	login, err := anon.Login(ctx, "admin@acme.test", "admin-password-1")
	if err != nil {
		t.Fatal(err)
	}
	c := anon.WithToken(login.Token)
	me, err := c.Me(ctx)
	if err != nil || me.User.Email != "admin@acme.test" {
		t.Fatalf("me: %+v %v", me, err)
	}
	app, err := c.CreateApp(ctx, apitypes.CreateAppRequest{Name: "shop", FiltrationMode: "monitoring"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateApp(ctx, apitypes.CreateAppRequest{Name: "shop", FiltrationMode: "monitoring"})
	if e, ok := err.(*client.Error); !ok || e.Status != http.StatusConflict || e.Message == "" {
		t.Fatalf("duplicate app: %#v", err)
	}
	et, err := c.CreateEnrollToken(ctx, "rack-1", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	enrolled, err := anon.Enroll(ctx, et.Secret, apiv1.EnrollRequest{Name: "web-1", AgentVersion: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	node := anon.WithToken(enrolled.Credential)
	b := &apiv1.ReportBatch{}
	for i := 0; i < 25; i++ {
		b.Events = append(b.Events, apiv1.Event{ID: uuid.NewString(), Time: time.Now().Add(-time.Minute), AppID: app.ID,
			SourceIP: "198.18.0.1", AttackType: "xss", Point: "query.q", Decision: apiv1.DecisionMonitored})
	}
	res, err := node.Ingest(ctx, b)
	if err != nil || res.Accepted != 25 {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	var all []apitypes.Event
	q := client.EventQuery{App: &app.ID, AttackType: "xss", Limit: 10}
	for {
		page, next, err := c.SearchEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if len(all) != 25 {
		t.Fatalf("searched %d events, want 25", len(all))
	}
	agg, err := c.AggregateEvents(ctx, client.EventQuery{}, "decision", 0)
	if err != nil || len(agg.Rows) != 1 || agg.Rows[0].Count != 25 {
		t.Fatalf("aggregate: %+v %v", agg, err)
	}
	nodes, err := c.ListNodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].State != "active" {
		t.Fatalf("nodes: %+v %v", nodes, err)
	}
	if _, err := c.RevokeNode(ctx, enrolled.NodeID); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Ingest(ctx, &apiv1.ReportBatch{}); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("revoked node: %v", err)
	}
}
