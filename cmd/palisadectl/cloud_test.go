package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
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

// runCloud runs palisadectl with args and returns what it printed.
func runCloud(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cloudFlags.token, cloudFlags.output = "", "table"
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestCloudCommands drives the cloud commands against a real API server:
// login, applications, tokens, nodes and events, as tables and as JSON.
func TestCloudCommands(t *testing.T) {
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
	cfg := filepath.Join(t.TempDir(), "cloud.json")
	base := []string{"cloud", "--config", cfg}
	cmd := func(args ...string) []string { return append(append([]string{}, base...), args...) }

	t.Setenv("PALISADE_PASSWORD", "wrong-password")
	if _, err := runCloud(t, cmd("--url", srv.URL, "login", "--email", "admin@acme.test")...); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("login with a wrong password: %v", err)
	}
	t.Setenv("PALISADE_PASSWORD", "admin-password-1")
	if _, err := runCloud(t, cmd("--url", srv.URL, "login", "--email", "admin@acme.test")...); err != nil {
		t.Fatal(err)
	}
	out, err := runCloud(t, cmd("apps", "create", "--name", "shop", "--mode", "block", "--host", "shop.example.test", "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var app apitypes.App
	if err := json.Unmarshal([]byte(out), &app); err != nil || app.Name != "shop" || app.FiltrationMode != "block" {
		t.Fatalf("apps create -o json: %q (%v)", out, err)
	}
	out, err = runCloud(t, cmd("apps", "list")...)
	if err != nil || !strings.Contains(out, "shop.example.test") || !strings.HasPrefix(out, "ID") {
		t.Fatalf("apps list: %q %v", out, err)
	}
	out, err = runCloud(t, cmd("nodes", "enroll-token", "--name", "web-1", "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var et apitypes.EnrollTokenCreated
	json.Unmarshal([]byte(out), &et)

	// A node enrolls and reports.
	c, _ := client.New(srv.URL, "", nil)
	enrolled, err := c.Enroll(ctx, et.Secret, apiv1.EnrollRequest{Name: "web-1", AgentVersion: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	b := &apiv1.ReportBatch{}
	for i := 0; i < 7; i++ {
		b.Events = append(b.Events, apiv1.Event{ID: uuid.NewString(), Time: time.Now().Add(-time.Minute), AppID: app.ID,
			SourceIP: "198.18.0.9", AttackType: "sqli", Point: "query.id", Decision: apiv1.DecisionBlocked, Path: "/p"})
	}
	if _, err := c.WithToken(enrolled.Credential).Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	out, err = runCloud(t, cmd("nodes", "list")...)
	if err != nil || !strings.Contains(out, enrolled.NodeID) || !strings.Contains(out, "active") {
		t.Fatalf("nodes list: %q %v", out, err)
	}
	out, err = runCloud(t, cmd("events", "search", "--type", "sqli", "--source", "198.18.0.0/15", "--since", "1h", "-o", "json")...)
	var events []apitypes.Event
	if err != nil || json.Unmarshal([]byte(out), &events) != nil || len(events) != 7 {
		t.Fatalf("events search: %d events, %v: %.300s", len(events), err, out)
	}
	out, err = runCloud(t, cmd("events", "list", "--limit", "3")...)
	if err != nil || strings.Count(out, "198.18.0.9") != 3 {
		t.Fatalf("events list --limit 3: %q %v", out, err)
	}
	out, err = runCloud(t, cmd("events", "aggregate", "--by", "decision")...)
	if err != nil || !strings.Contains(out, "blocked") {
		t.Fatalf("events aggregate: %q %v", out, err)
	}
	out, err = runCloud(t, cmd("attacks")...)
	if err != nil || !strings.Contains(out, "query.id") {
		t.Fatalf("attacks: %q %v", out, err)
	}

	// An API token with events:read reads events and nothing else.
	out, err = runCloud(t, cmd("token", "create", "--name", "siem", "--scopes", "events:read", "-o", "json")...)
	var tok apitypes.TokenCreated
	if err != nil || json.Unmarshal([]byte(out), &tok) != nil || tok.Secret == "" {
		t.Fatalf("token create: %q %v", out, err)
	}
	if _, err := runCloud(t, cmd("--token", tok.Secret, "events", "list")...); err != nil {
		t.Fatalf("events list with the token: %v", err)
	}
	if _, err := runCloud(t, cmd("--token", tok.Secret, "apps", "list")...); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("apps list with an events:read token: %v", err)
	}
	if _, err := runCloud(t, cmd("logout")...); err != nil {
		t.Fatal(err)
	}
	if _, err := runCloud(t, cmd("whoami")...); err == nil {
		t.Fatal("whoami after logout succeeded")
	}
}
