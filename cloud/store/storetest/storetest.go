// Package storetest is the one test suite every store.Store implementation
// must pass. An implementation's tests call Run with a function that opens
// a fresh, empty store; sqlstore runs it on SQLite and on PostgreSQL.
//
// A resource added to the store adds its tests here, so that every
// database gets them.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Opener returns a fresh, empty, migrated store; Run closes it.
type Opener func(t *testing.T) store.Store

// Run runs the suite, each test on its own store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"Apps", testApps},
		{"Enrollment", testEnrollment},
		{"NodeStates", testNodeStates},
		{"IngestIdempotent", testIngestIdempotent},
		{"IngestConcurrent", testIngestConcurrent},
		{"SearchEvents", testSearchEvents},
		{"Pagination", testPagination},
		{"Aggregates", testAggregates},
		{"Attacks", testAttacks},
		{"Traffic", testTraffic},
		{"Audit", testAudit},
		{"Rules", testRules},
		{"ImportIPEntries", testImportIPEntries},
		{"Triggers", testTriggers},
		{"FireTrigger", testFireTrigger},
		{"IPEntryChanges", testIPEntryChanges},
		{"PruneTriggerData", testPruneTriggerData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					f, ok := r.(failure)
					if !ok {
						panic(r)
					}
					t.Fatalf("%s:%d: %v", f.file, f.line, f.err)
				}
			}()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var (
	ctx    = context.Background()
	system = store.Actor{Kind: store.ActorSystem, Name: "storetest"}
	t0     = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
)

// failure is what must panics with; Run turns it into t.Fatal.
type failure struct {
	err  error
	file string
	line int
}

// must returns v, or stops the test when err is not nil. It panics rather
// than take t so that it can wrap a call with two results; Run recovers.
func must[T any](v T, err error) T {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(failure{err, filepath.Base(file), line})
	}
	return v
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// world is two tenants with one admin each, the fixture of most tests.
type world struct {
	a, b   store.Tenant
	ua, ub store.User
}

func newWorld(t *testing.T, s store.Store) world {
	t.Helper()
	var w world
	w.a = must(s.CreateTenant(ctx, system, "tenant-a"))
	w.b = must(s.CreateTenant(ctx, system, "tenant-b"))
	w.ua = store.User{TenantID: w.a.ID, Email: "admin@a.test", Role: "admin", PasswordHash: "x"}
	w.ub = store.User{TenantID: w.b.ID, Email: "admin@b.test", Role: "admin", PasswordHash: "x"}
	check(t, s.CreateUser(ctx, system, &w.ua))
	check(t, s.CreateUser(ctx, system, &w.ub))
	return w
}

func testTenants(t *testing.T, s store.Store) {
	a := must(s.CreateTenant(ctx, system, "acme"))
	if a.ID == 0 || a.CreatedAt.IsZero() {
		t.Fatalf("created tenant lacks id or time: %+v", a)
	}
	_, err := s.CreateTenant(ctx, system, "acme")
	wantErr(t, err, store.ErrConflict)
	if got := must(s.GetTenantByName(ctx, "acme")); got.ID != a.ID {
		t.Fatalf("by name: %+v, want id %d", got, a.ID)
	}
	_, err = s.GetTenant(ctx, a.ID+100)
	wantErr(t, err, store.ErrNotFound)
	must(s.CreateTenant(ctx, system, "globex"))
	if ts := must(s.ListTenants(ctx)); len(ts) != 2 || ts[0].Name != "acme" || ts[1].Name != "globex" {
		t.Fatalf("list: %+v", ts)
	}
}

func testUsers(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	if n := must(s.CountUsers(ctx)); n != 2 {
		t.Fatalf("count users %d, want 2", n)
	}
	dup := store.User{TenantID: w.b.ID, Email: w.ua.Email, Role: "analyst", PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, system, &dup), store.ErrConflict)

	got := must(s.GetUser(ctx, w.a.ID, w.ua.ID))
	if got.Email != w.ua.Email || got.Role != "admin" || got.PasswordHash != "x" || got.Disabled {
		t.Fatalf("get: %+v", got)
	}
	_, err := s.GetUser(ctx, w.b.ID, w.ua.ID)
	wantErr(t, err, store.ErrNotFound)
	if got := must(s.GetUserByEmail(ctx, "admin@b.test")); got.ID != w.ub.ID {
		t.Fatalf("by email: %+v", got)
	}
	if us := must(s.ListUsers(ctx, w.a.ID)); len(us) != 1 || us[0].ID != w.ua.ID {
		t.Fatalf("tenant a lists %+v", us)
	}

	role, disabled := "read-only", true
	_, err = s.UpdateUser(ctx, system, w.b.ID, w.ua.ID, store.UserUpdate{Role: &role})
	wantErr(t, err, store.ErrNotFound)
	up := must(s.UpdateUser(ctx, system, w.a.ID, w.ua.ID, store.UserUpdate{Role: &role, Disabled: &disabled}))
	if up.Role != role || !up.Disabled {
		t.Fatalf("update: %+v", up)
	}

	wantErr(t, s.DeleteUser(ctx, system, w.b.ID, w.ua.ID), store.ErrNotFound)
	tok := store.APIToken{TenantID: w.a.ID, UserID: w.ua.ID, Name: "ci", Hash: []byte("hash-del"), Scopes: []string{"apps:read"}}
	check(t, s.CreateAPIToken(ctx, system, &tok))
	check(t, s.DeleteUser(ctx, system, w.a.ID, w.ua.ID))
	_, err = s.GetUser(ctx, w.a.ID, w.ua.ID)
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.APITokenByHash(ctx, []byte("hash-del"))
	wantErr(t, err, store.ErrNotFound)
}

func testSessions(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	now := time.Now().UTC()
	ss := store.Session{TenantID: w.a.ID, UserID: w.ua.ID, Hash: []byte("session-a"), CreatedAt: now, ExpiresAt: now.Add(time.Hour), ClientIP: "198.18.0.1"}
	check(t, s.CreateSession(ctx, system, &ss))
	got, u, err := s.SessionByHash(ctx, []byte("session-a"))
	check(t, err)
	if got.ID != ss.ID || u.ID != w.ua.ID || !got.ExpiresAt.Equal(ss.ExpiresAt.Truncate(0)) {
		t.Fatalf("by hash: %+v %+v", got, u)
	}
	if u.LastLoginAt == nil {
		t.Fatal("login time not recorded")
	}
	wantErr(t, s.DeleteSession(ctx, system, w.b.ID, ss.ID), store.ErrNotFound)

	old := store.Session{TenantID: w.a.ID, UserID: w.ua.ID, Hash: []byte("session-old"), CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	check(t, s.CreateSession(ctx, system, &old))
	if n := must(s.DeleteExpiredSessions(ctx, now)); n != 1 {
		t.Fatalf("deleted %d expired sessions, want 1", n)
	}
	_, _, err = s.SessionByHash(ctx, []byte("session-old"))
	wantErr(t, err, store.ErrNotFound)

	// A changed password ends every session of the user.
	pw := "new"
	must(s.UpdateUser(ctx, system, w.a.ID, w.ua.ID, store.UserUpdate{PasswordHash: &pw}))
	_, _, err = s.SessionByHash(ctx, []byte("session-a"))
	wantErr(t, err, store.ErrNotFound)
}

func testAPITokens(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	exp := t0.Add(24 * time.Hour)
	tok := store.APIToken{TenantID: w.a.ID, UserID: w.ua.ID, Name: "ci", Hash: []byte("token-a"), Scopes: []string{"apps:read", "events:read"}, ExpiresAt: &exp}
	check(t, s.CreateAPIToken(ctx, system, &tok))
	// A token of tenant b cannot act for a user of tenant a.
	cross := store.APIToken{TenantID: w.b.ID, UserID: w.ua.ID, Name: "x", Hash: []byte("token-x")}
	wantErr(t, s.CreateAPIToken(ctx, system, &cross), store.ErrNotFound)

	got, u, err := s.APITokenByHash(ctx, []byte("token-a"))
	check(t, err)
	if got.ID != tok.ID || u.ID != w.ua.ID || !slices.Equal(got.Scopes, tok.Scopes) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("by hash: %+v user %+v", got, u)
	}
	_, err = s.GetAPIToken(ctx, w.b.ID, tok.ID)
	wantErr(t, err, store.ErrNotFound)
	if ts := must(s.ListAPITokens(ctx, w.b.ID, 0)); len(ts) != 0 {
		t.Fatalf("tenant b lists %+v", ts)
	}
	if ts := must(s.ListAPITokens(ctx, w.a.ID, w.ua.ID)); len(ts) != 1 {
		t.Fatalf("user lists %+v", ts)
	}
	check(t, s.TouchAPIToken(ctx, tok.ID, t0))
	wantErr(t, s.RevokeAPIToken(ctx, system, w.b.ID, tok.ID, t0), store.ErrNotFound)
	check(t, s.RevokeAPIToken(ctx, system, w.a.ID, tok.ID, t0))
	wantErr(t, s.RevokeAPIToken(ctx, system, w.a.ID, tok.ID, t0), store.ErrNotFound)
	got = must(s.GetAPIToken(ctx, w.a.ID, tok.ID))
	if got.RevokedAt == nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0) {
		t.Fatalf("after revoke: %+v", got)
	}
}

func testApps(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	a := store.App{TenantID: w.a.ID, Name: "shop", FiltrationMode: "monitoring", Hosts: []string{"shop.example.test"}}
	check(t, s.CreateApp(ctx, system, &a))
	same := store.App{TenantID: w.a.ID, Name: "shop", FiltrationMode: "block"}
	wantErr(t, s.CreateApp(ctx, system, &same), store.ErrConflict)
	other := store.App{TenantID: w.b.ID, Name: "shop", FiltrationMode: "block"}
	check(t, s.CreateApp(ctx, system, &other)) // names are per tenant

	got := must(s.GetApp(ctx, w.a.ID, a.ID))
	if got.Name != "shop" || !slices.Equal(got.Hosts, a.Hosts) || got.FiltrationMode != "monitoring" {
		t.Fatalf("get: %+v", got)
	}
	_, err := s.GetApp(ctx, w.b.ID, a.ID)
	wantErr(t, err, store.ErrNotFound)
	if as := must(s.ListApps(ctx, w.b.ID)); len(as) != 1 || as[0].ID != other.ID {
		t.Fatalf("tenant b lists %+v", as)
	}
	mode, hosts := "block", []string{"a.test", "b.test"}
	_, err = s.UpdateApp(ctx, system, w.b.ID, a.ID, store.AppUpdate{FiltrationMode: &mode})
	wantErr(t, err, store.ErrNotFound)
	up := must(s.UpdateApp(ctx, system, w.a.ID, a.ID, store.AppUpdate{FiltrationMode: &mode, Hosts: &hosts}))
	if up.FiltrationMode != "block" || !slices.Equal(up.Hosts, hosts) || up.Name != "shop" {
		t.Fatalf("update: %+v", up)
	}
	wantErr(t, s.DeleteApp(ctx, system, w.b.ID, a.ID), store.ErrNotFound)
	check(t, s.DeleteApp(ctx, system, w.a.ID, a.ID))
	_, err = s.GetApp(ctx, w.a.ID, a.ID)
	wantErr(t, err, store.ErrNotFound)
}

func enroll(t *testing.T, s store.Store, tenantID int64, name string) store.Node {
	t.Helper()
	tok := store.EnrollToken{TenantID: tenantID, Name: name, Hash: []byte("enroll-" + name), ExpiresAt: time.Now().Add(time.Hour)}
	check(t, s.CreateEnrollToken(ctx, system, &tok))
	n := store.Node{Name: name, Hostname: name + ".test", CredentialHash: []byte("cred-" + name), AgentVersion: "0.1.0"}
	check(t, s.EnrollNode(ctx, tok.Hash, time.Now(), &n))
	return n
}

func testEnrollment(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	now := time.Now()
	tok := store.EnrollToken{TenantID: w.a.ID, Name: "web", Hash: []byte("enroll-1"), ExpiresAt: now.Add(time.Hour)}
	check(t, s.CreateEnrollToken(ctx, system, &tok))
	n := store.Node{Name: "web-1", CredentialHash: []byte("cred-1")}
	check(t, s.EnrollNode(ctx, tok.Hash, now, &n))
	if n.TenantID != w.a.ID || uuid.Validate(n.ID) != nil {
		t.Fatalf("enrolled node: %+v", n)
	}
	again := store.Node{Name: "web-2", CredentialHash: []byte("cred-2")}
	wantErr(t, s.EnrollNode(ctx, tok.Hash, now, &again), store.ErrEnrollTokenSpent)
	wantErr(t, s.EnrollNode(ctx, []byte("unknown"), now, &again), store.ErrEnrollTokenSpent)
	expired := store.EnrollToken{TenantID: w.a.ID, Hash: []byte("enroll-2"), ExpiresAt: now.Add(-time.Second)}
	check(t, s.CreateEnrollToken(ctx, system, &expired))
	wantErr(t, s.EnrollNode(ctx, expired.Hash, now, &again), store.ErrEnrollTokenSpent)

	toks := must(s.ListEnrollTokens(ctx, w.a.ID))
	if len(toks) != 2 || toks[0].UsedAt == nil || toks[0].NodeID != n.ID || toks[1].UsedAt != nil {
		t.Fatalf("tokens after enrollment: %+v", toks)
	}
	if toks := must(s.ListEnrollTokens(ctx, w.b.ID)); len(toks) != 0 {
		t.Fatalf("tenant b lists %+v", toks)
	}
	wantErr(t, s.DeleteEnrollToken(ctx, system, w.b.ID, expired.ID), store.ErrNotFound)
	check(t, s.DeleteEnrollToken(ctx, system, w.a.ID, expired.ID))

	got := must(s.NodeByCredential(ctx, []byte("cred-1")))
	if got.ID != n.ID || got.TenantID != w.a.ID {
		t.Fatalf("by credential: %+v", got)
	}
	_, err := s.GetNode(ctx, w.b.ID, n.ID)
	wantErr(t, err, store.ErrNotFound)
	if ns := must(s.ListNodes(ctx, w.b.ID)); len(ns) != 0 {
		t.Fatalf("tenant b lists %+v", ns)
	}
	wantErr(t, s.RevokeNode(ctx, system, w.b.ID, n.ID, now), store.ErrNotFound)
	check(t, s.RevokeNode(ctx, system, w.a.ID, n.ID, now))
	if got := must(s.GetNode(ctx, w.a.ID, n.ID)); got.RevokedAt == nil || got.State(now) != store.NodeRevoked {
		t.Fatalf("after revoke: %+v", got)
	}
}

func testNodeStates(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	now := time.Now()
	fresh := enroll(t, s, w.a.ID, "fresh")
	active := enroll(t, s, w.a.ID, "active")
	stale := enroll(t, s, w.b.ID, "stale")
	revoked := enroll(t, s, w.b.ID, "revoked")
	_ = fresh
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: active.ID, At: now, ClientIP: "198.18.0.9",
		Health: &apiv1.NodeHealth{AgentVersion: "0.2.0", RulesetVersion: 7, SpoolEvents: 3, SpoolBytes: 900}}))
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.b.ID, NodeID: stale.ID, At: now.Add(-time.Hour)}))
	check(t, s.RevokeNode(ctx, system, w.b.ID, revoked.ID, now))

	counts := must(s.CountNodes(ctx, now))
	want := map[store.NodeState]int{store.NodeNew: 1, store.NodeActive: 1, store.NodeStale: 1, store.NodeRevoked: 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("node states %v, want %v", counts, want)
	}
	got := must(s.GetNode(ctx, w.a.ID, active.ID))
	if got.AgentVersion != "0.2.0" || got.RulesetVersion != 7 || got.SpoolEvents != 3 || got.SpoolBytes != 900 ||
		got.LastIP != "198.18.0.9" || got.LastSeenAt == nil || got.State(now) != store.NodeActive {
		t.Fatalf("health not recorded: %+v", got)
	}
	// A batch names its tenant: a node id of another tenant changes nothing.
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.b.ID, NodeID: fresh.ID, At: now}))
	if got := must(s.GetNode(ctx, w.a.ID, fresh.ID)); got.LastSeenAt != nil {
		t.Fatalf("another tenant's batch touched node: %+v", got)
	}
}

func ev(i int, at time.Time, appID int64, typ, src, point string, d apiv1.Decision) apiv1.Event {
	return apiv1.Event{
		ID: uuid.NewString(), Time: at, AppID: appID, RequestID: fmt.Sprintf("r-%d", i), SourceIP: src,
		Method: "GET", Host: "shop.example.test", Path: fmt.Sprintf("/p/%d", i), AttackType: typ, Point: point,
		DetectorID: "libinjection." + typ, RuleIDs: []int64{int64(i)}, Excerpt: "' or 1=1", Decision: d, Status: 403,
	}
}

func testIngestIdempotent(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	n := enroll(t, s, w.a.ID, "web")
	events := make([]apiv1.Event, 900) // more than one INSERT chunk
	for i := range events {
		events[i] = ev(i, t0.Add(time.Duration(i)*time.Second), 1, "sqli", "198.18.0.1", "query.id", apiv1.DecisionBlocked)
	}
	events[1].ID = events[0].ID // a duplicate inside the batch
	c := must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: n.ID, At: t0, Events: events}))
	if c.Accepted != 899 || c.Duplicates != 1 {
		t.Fatalf("first upload: %+v, want 899 accepted, 1 duplicate", c)
	}
	c = must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: n.ID, At: t0, Events: events[:500]}))
	if c.Accepted != 0 || c.Duplicates != 500 {
		t.Fatalf("retried upload: %+v, want all duplicates", c)
	}
	// Another tenant may report the same id: ids are unique per tenant.
	nb := enroll(t, s, w.b.ID, "other")
	c = must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.b.ID, NodeID: nb.ID, At: t0, Events: events[:1]}))
	if c.Accepted != 1 {
		t.Fatalf("other tenant's upload: %+v", c)
	}
	got := must(s.GetEvent(ctx, w.a.ID, events[5].ID))
	want := events[5]
	want.NodeID = n.ID
	if !got.Time.Equal(want.Time) {
		t.Fatalf("time %v, want %v", got.Time, want.Time)
	}
	got.Time = want.Time
	if fmt.Sprintf("%+v", got.Event) != fmt.Sprintf("%+v", want) || got.TenantID != w.a.ID || !got.ReceivedAt.Equal(t0) {
		t.Fatalf("stored event differs:\n got %+v\nwant %+v", got.Event, want)
	}
	_, err := s.GetEvent(ctx, w.b.ID, events[5].ID)
	wantErr(t, err, store.ErrNotFound)
}

// testIngestConcurrent uploads from many nodes at once, as a fleet does:
// every batch gets its own counts, retries are duplicates, and a batch the
// store refuses fails alone.
func testIngestConcurrent(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	const nodes, batches, size = 8, 5, 50
	type result struct {
		c   store.IngestCounts
		err error
	}
	results := make(chan result, nodes*batches*2+1)
	var wg sync.WaitGroup
	for n := 0; n < nodes; n++ {
		node := enroll(t, s, w.a.ID, fmt.Sprint("node-", n))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				events := make([]apiv1.Event, size)
				for i := range events {
					events[i] = ev(i, t0.Add(time.Duration(i)*time.Second), 1, "sqli", "198.18.0.1", "query.id", apiv1.DecisionBlocked)
				}
				batch := &store.IngestBatch{TenantID: w.a.ID, NodeID: node.ID, At: t0, Events: events}
				c, err := s.Ingest(ctx, batch)
				results <- result{c, err}
				c, err = s.Ingest(ctx, batch) // a retry
				results <- result{c, err}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		bad := ev(0, t0, 1, "sqli", "not an address", "query.id", apiv1.DecisionBlocked)
		_, err := s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: "x", At: t0, Events: []apiv1.Event{bad}})
		results <- result{err: err}
	}()
	wg.Wait()
	close(results)
	var accepted, duplicates, failed int
	for r := range results {
		if r.err != nil {
			failed++
			continue
		}
		accepted += r.c.Accepted
		duplicates += r.c.Duplicates
	}
	if failed != 1 || accepted != nodes*batches*size || duplicates != nodes*batches*size {
		t.Fatalf("accepted %d, duplicates %d, failed batches %d; want %d, %d, 1", accepted, duplicates, failed,
			nodes*batches*size, nodes*batches*size)
	}
	total := must(s.AggregateEvents(ctx, w.a.ID, store.EventFilter{}, store.Aggregation{}))
	if len(total) != 1 || total[0].Count != nodes*batches*size {
		t.Fatalf("store holds %+v events, want %d", total, nodes*batches*size)
	}
}

// searchWorld stores a known mix of events in tenant a and one event in
// tenant b.
func searchWorld(t *testing.T, s store.Store) (world, store.Node, store.Node) {
	w := newWorld(t, s)
	n1, n2 := enroll(t, s, w.a.ID, "n1"), enroll(t, s, w.a.ID, "n2")
	nb := enroll(t, s, w.b.ID, "nb")
	var b1, b2 []apiv1.Event
	for i := 0; i < 60; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		switch {
		case i < 20:
			b1 = append(b1, ev(i, at, 1, "sqli", "198.18.0.1", "query.id", apiv1.DecisionBlocked))
		case i < 40:
			b1 = append(b1, ev(i, at, 2, "xss", "198.18.1.2", "body|json.comment", apiv1.DecisionMonitored))
		default:
			b2 = append(b2, ev(i, at, 1, "sqli", "fd00::5", "header.user-agent", apiv1.DecisionPassed))
		}
	}
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: n1.ID, At: t0, Events: b1}))
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: n2.ID, At: t0, Events: b2}))
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.b.ID, NodeID: nb.ID, At: t0,
		Events: []apiv1.Event{ev(99, t0, 1, "sqli", "198.18.0.1", "query.id", apiv1.DecisionBlocked)}}))
	return w, n1, n2
}

func testSearchEvents(t *testing.T, s store.Store) {
	w, n1, n2 := searchWorld(t, s)
	app2 := int64(2)
	cases := []struct {
		name string
		f    store.EventFilter
		want int
	}{
		{"all", store.EventFilter{}, 60},
		{"time range", store.EventFilter{From: t0.Add(10 * time.Minute), To: t0.Add(30 * time.Minute)}, 20},
		{"app", store.EventFilter{AppID: &app2}, 20},
		{"attack type", store.EventFilter{AttackType: "sqli"}, 40},
		{"source ip", store.EventFilter{Source: netip.MustParsePrefix("198.18.0.1/32")}, 20},
		{"source cidr v4", store.EventFilter{Source: netip.MustParsePrefix("198.18.0.0/15")}, 40},
		{"source cidr v6", store.EventFilter{Source: netip.MustParsePrefix("fd00::/8")}, 20},
		{"source no match", store.EventFilter{Source: netip.MustParsePrefix("10.0.0.0/8")}, 0},
		{"decision", store.EventFilter{Decision: apiv1.DecisionMonitored}, 20},
		{"point", store.EventFilter{Point: "header.user-agent"}, 20},
		{"node", store.EventFilter{NodeID: n2.ID}, 20},
		{"combined", store.EventFilter{NodeID: n1.ID, AttackType: "sqli", Decision: apiv1.DecisionBlocked}, 20},
		{"sql-looking value", store.EventFilter{Point: "x' OR '1'='1"}, 0},
	}
	for _, c := range cases {
		got, next := must2(s.SearchEvents(ctx, w.a.ID, c.f, store.Page{Limit: 1000}))
		if len(got) != c.want || next != "" {
			t.Errorf("%s: %d events (next %q), want %d", c.name, len(got), next, c.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Time.After(got[i-1].Time) {
				t.Errorf("%s: not newest first at %d", c.name, i)
			}
		}
	}
	if got, _ := must2(s.SearchEvents(ctx, w.b.ID, store.EventFilter{}, store.Page{Limit: 1000})); len(got) != 1 {
		t.Errorf("tenant b sees %d events, want its 1", len(got))
	}
	_, _, err := s.SearchEvents(ctx, w.a.ID, store.EventFilter{}, store.Page{Cursor: "not a cursor"})
	wantErr(t, err, store.ErrBadCursor)
}

// must2 is must for SearchEvents.
func must2(e []store.Event, next string, err error) ([]store.Event, string) {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(failure{err, filepath.Base(file), line})
	}
	return e, next
}

func testPagination(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	n := enroll(t, s, w.a.ID, "web")
	var events []apiv1.Event
	for i := 0; i < 95; i++ {
		// Pairs of events share a timestamp: the cursor must not lose or
		// repeat either.
		events = append(events, ev(i, t0.Add(time.Duration(i/2)*time.Second), 1, "sqli", "198.18.0.1", "query.id", apiv1.DecisionBlocked))
	}
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: n.ID, At: t0, Events: events}))
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		page, next := must2(s.SearchEvents(ctx, w.a.ID, store.EventFilter{}, store.Page{Limit: 10, Cursor: cursor}))
		pages++
		for _, e := range page {
			if seen[e.ID] {
				t.Fatalf("event %s on two pages", e.ID)
			}
			seen[e.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 95 || pages != 10 {
		t.Fatalf("paged through %d events in %d pages, want 95 in 10", len(seen), pages)
	}
}

func testAggregates(t *testing.T, s store.Store) {
	w, _, _ := searchWorld(t, s)
	byType := must(s.AggregateEvents(ctx, w.a.ID, store.EventFilter{}, store.Aggregation{By: store.ByAttackType}))
	if fmt.Sprint(byType) != fmt.Sprint([]store.AggregateRow{{Key: "sqli", Count: 40}, {Key: "xss", Count: 20}}) {
		t.Errorf("by type: %+v", byType)
	}
	top := must(s.AggregateEvents(ctx, w.a.ID, store.EventFilter{}, store.Aggregation{By: store.BySource, Limit: 2}))
	if len(top) != 2 || top[0].Count != 20 || !slices.Contains([]string{"198.18.0.1", "198.18.1.2", "fd00::5"}, top[0].Key) {
		t.Errorf("top sources: %+v", top)
	}
	decisions := must(s.AggregateEvents(ctx, w.a.ID, store.EventFilter{}, store.Aggregation{By: store.ByDecision}))
	if len(decisions) != 3 {
		t.Errorf("decisions: %+v", decisions)
	}
	apps := must(s.AggregateEvents(ctx, w.a.ID, store.EventFilter{}, store.Aggregation{By: store.ByApp}))
	if fmt.Sprint(apps) != fmt.Sprint([]store.AggregateRow{{Key: "1", Count: 40}, {Key: "2", Count: 20}}) {
		t.Errorf("by app: %+v", apps)
	}
	total := must(s.AggregateEvents(ctx, w.a.ID, store.EventFilter{}, store.Aggregation{}))
	if len(total) != 1 || total[0].Count != 60 {
		t.Errorf("total: %+v", total)
	}
	// Over time: 60 events one minute apart in 30-minute buckets by type.
	overTime := must(s.AggregateEvents(ctx, w.a.ID, store.EventFilter{}, store.Aggregation{By: store.ByAttackType, Bucket: 30 * time.Minute}))
	want := []string{"10:00 sqli 20", "10:00 xss 10", "10:30 sqli 20", "10:30 xss 10"}
	var got []string
	for _, r := range overTime {
		got = append(got, fmt.Sprintf("%s %s %d", r.Bucket.Format("15:04"), r.Key, r.Count))
	}
	if !slices.Equal(got, want) {
		t.Errorf("over time: %v, want %v", got, want)
	}
	if b := must(s.AggregateEvents(ctx, w.b.ID, store.EventFilter{}, store.Aggregation{})); len(b) != 1 || b[0].Count != 1 {
		t.Errorf("tenant b total: %+v", b)
	}
}

func testAttacks(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	n := enroll(t, s, w.a.ID, "web")
	var events []apiv1.Event
	add := func(at time.Time, src, point string, d apiv1.Decision) {
		events = append(events, ev(len(events), at, 1, "sqli", src, point, d))
	}
	// One source probing one point: three events 20 minutes apart, then
	// two hours of silence, then two more: two attacks.
	for i := 0; i < 3; i++ {
		add(t0.Add(time.Duration(i)*20*time.Minute), "198.18.0.1", "query.id", apiv1.DecisionBlocked)
	}
	add(t0.Add(3*time.Hour), "198.18.0.1", "query.id", apiv1.DecisionMonitored)
	add(t0.Add(3*time.Hour+time.Minute), "198.18.0.1", "query.id", apiv1.DecisionBlocked)
	// Another point and another source are other attacks.
	add(t0.Add(time.Minute), "198.18.0.1", "query.q", apiv1.DecisionBlocked)
	add(t0.Add(time.Minute), "198.18.0.2", "query.id", apiv1.DecisionBlocked)
	must(s.Ingest(ctx, &store.IngestBatch{TenantID: w.a.ID, NodeID: n.ID, At: t0, Events: events}))

	attacks := must(s.GroupAttacks(ctx, w.a.ID, store.EventFilter{}, 100))
	var got []string
	for _, a := range attacks {
		got = append(got, fmt.Sprintf("%s %s %s-%s n=%d blocked=%d", a.SourceIP, a.Point,
			a.FirstSeen.Format("15:04"), a.LastSeen.Format("15:04"), a.Events, a.Blocked))
	}
	want := []string{
		"198.18.0.1 query.id 13:00-13:01 n=2 blocked=1",
		"198.18.0.1 query.id 10:00-10:40 n=3 blocked=3",
	}
	if len(got) != 4 || !slices.Equal(got[:2], want) {
		t.Fatalf("attacks:\n%v\nwant 4, the first two:\n%v", got, want)
	}
	if b := must(s.GroupAttacks(ctx, w.b.ID, store.EventFilter{}, 100)); len(b) != 0 {
		t.Fatalf("tenant b sees attacks %+v", b)
	}
}

func testTraffic(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	n := enroll(t, s, w.a.ID, "web")
	batch := func(requests uint64) *store.IngestBatch {
		return &store.IngestBatch{TenantID: w.a.ID, NodeID: n.ID, At: t0, Counters: []apiv1.Counters{
			{AppID: 1, Minute: t0, Requests: requests, Blocked: 2, Attacks: map[string]uint64{"sqli": 2, "xss": 1}},
			{AppID: 1, Minute: t0.Add(time.Minute), Requests: 10},
			{AppID: 2, Minute: t0.Add(time.Hour), Requests: 7, Blocked: 7},
		}}
	}
	must(s.Ingest(ctx, batch(100)))
	must(s.Ingest(ctx, batch(100))) // a retried upload replaces, never adds
	rows := must(s.Traffic(ctx, w.a.ID, store.TrafficFilter{Bucket: time.Hour}))
	want := []store.TrafficRow{
		{Bucket: t0, Requests: 110, Blocked: 2, Attacks: 3},
		{Bucket: t0.Add(time.Hour), Requests: 7, Blocked: 7},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("traffic %+v, want %+v", rows, want)
	}
	app := int64(2)
	if rows := must(s.Traffic(ctx, w.a.ID, store.TrafficFilter{AppID: &app})); len(rows) != 1 || rows[0].Requests != 7 {
		t.Fatalf("traffic of app 2: %+v", rows)
	}
	if rows := must(s.Traffic(ctx, w.b.ID, store.TrafficFilter{})); len(rows) != 0 {
		t.Fatalf("tenant b sees traffic %+v", rows)
	}
}

func testAudit(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	by := store.Actor{Kind: store.ActorUser, ID: "1", Name: "admin@a.test", IP: "198.18.0.3"}
	a := store.App{TenantID: w.a.ID, Name: "shop", FiltrationMode: "block"}
	check(t, s.CreateApp(ctx, by, &a))
	mode := "monitoring"
	must(s.UpdateApp(ctx, by, w.a.ID, a.ID, store.AppUpdate{FiltrationMode: &mode}))
	check(t, s.DeleteApp(ctx, by, w.a.ID, a.ID))
	check(t, s.RecordAudit(ctx, w.a.ID, by, store.AuditEntry{Action: "user.login_failed", ObjectKind: "user", ObjectID: "1"}))

	entries := must(s.ListAudit(ctx, w.a.ID, store.AuditFilter{}))
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	// Newest first; the tenant and its first user were created by the
	// fixture.
	want := []string{"user.login_failed", "app.delete", "app.update", "app.create", "user.create", "tenant.create"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	up := entries[2]
	if up.ActorName != "admin@a.test" || up.ClientIP != "198.18.0.3" || up.ObjectID != fmt.Sprint(a.ID) || up.Details["filtration_mode"] != "monitoring" {
		t.Fatalf("app.update entry: %+v", up)
	}
	page := must(s.ListAudit(ctx, w.a.ID, store.AuditFilter{BeforeID: entries[1].ID, Limit: 2}))
	if len(page) != 2 || page[0].Action != "app.update" {
		t.Fatalf("audit page: %+v", page)
	}
	if f := must(s.ListAudit(ctx, w.a.ID, store.AuditFilter{Action: "app.create"})); len(f) != 1 {
		t.Fatalf("audit by action: %+v", f)
	}
	for _, e := range must(s.ListAudit(ctx, w.b.ID, store.AuditFilter{})) {
		if e.TenantID != w.b.ID || e.Action == "app.create" {
			t.Fatalf("tenant b sees %+v", e)
		}
	}
}
