package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
	"github.com/palisadewaf/palisade/cloud/triggers"
)

// TestTriggersFireFromNodeCounters runs the whole path in process: the
// node counts a password guesser, a scanner and a bystander, spools and
// uploads the minute; the cloud's real store (SQLite) takes the uploaded
// rows and its evaluator judges a brute_force trigger on /login and a
// forced_browsing trigger. The guesser and the scanner are listed, the
// bystander is not, even though the scanner's paths overflowed the
// node's bound (its 404s reach the cloud on its row without a path).
func TestTriggersFireFromNodeCounters(t *testing.T) {
	ctx := context.Background()
	s := sqltest.OpenSQLite(t)
	system := store.Actor{Kind: store.ActorSystem, Name: "report test"}
	ten, err := s.CreateTenant(ctx, system, "acme")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 5, 4, 10, 0, 20, 0, time.UTC)
	tok := store.EnrollToken{TenantID: ten.ID, Name: "n", Hash: []byte("acme-token"), ExpiresAt: start.Add(time.Hour)}
	if err := s.CreateEnrollToken(ctx, system, &tok); err != nil {
		t.Fatal(err)
	}
	node := store.Node{Name: "n", CredentialHash: []byte("acme-cred")}
	if err := s.EnrollNode(ctx, tok.Hash, start, &node); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []store.Trigger{
		{Name: "login guessing", Enabled: true,
			Condition: store.TriggerCondition{Kind: store.CountBruteForce, Path: "/login", Threshold: 21, WindowSeconds: 120},
			Action:    store.TriggerAction{Kind: store.ActionGray, DurationSeconds: 900}},
		{Name: "scanning", Enabled: true,
			Condition: store.TriggerCondition{Kind: store.CountForcedBrowsing, Threshold: 50, WindowSeconds: 120},
			Action:    store.TriggerAction{Kind: store.ActionDeny, DurationSeconds: 3600}},
	} {
		tr.TenantID = ten.ID
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTrigger(ctx, system, &tr); err != nil {
			t.Fatal(err)
		}
	}

	srv := newIngestServer(t)
	clock := newTestClock(start)
	r := newTestReporter(t, t.TempDir(), srv.url(), srv.credential, func(c *Config) {
		c.Clock = clock.now
		c.MaxSourcePaths = 32
	})
	guesser, scanner, bystander := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.1.3")
	logins := []string{"/login?user=admin", "//login", "/login/mfa", "/%6Cogin/"}
	for i := range 25 {
		r.CountSource(7, guesser, logins[i%len(logins)], 401)
	}
	for i := range 80 {
		r.CountSource(7, scanner, fmt.Sprintf("/old/backup-%d.tar.gz", i), 404)
	}
	for range 10 {
		r.CountSource(7, bystander, "/login", 200)
	}
	clock.add(time.Minute)
	r.spoolClosedMinutes(clock.now())
	r.run(t)
	var rows []apiv1.SourceCounters
	waitFor(t, "source counters", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		var n uint64
		for _, c := range srv.sources {
			n += c.Requests
		}
		rows = slices.Clone(srv.sources)
		return n == 25+80+10
	})

	if _, err := s.Ingest(ctx, &store.IngestBatch{TenantID: ten.ID, NodeID: node.ID, At: clock.now(), Sources: rows}); err != nil {
		t.Fatal(err)
	}
	ev := triggers.NewEvaluator(s, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.now, nil)
	fired, err := ev.Observe(ctx, ten.ID, nil, rows)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fired {
		got = append(got, fmt.Sprintf("%s %s %d", f.Action, f.Source, f.Count))
	}
	slices.Sort(got)
	if want := []string{"deny 198.18.1.2 80", "gray 198.18.1.1 25"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v (rows %+v)", got, want, rows)
	}
}
