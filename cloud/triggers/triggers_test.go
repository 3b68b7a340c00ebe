package triggers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

var (
	ctx    = context.Background()
	system = store.Actor{Kind: store.ActorSystem, Name: "triggers test"}
	now    = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	quiet  = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func attack(i int, src string, typ, point string) apiv1.Event {
	return apiv1.Event{ID: uuid.NewString(), Time: now.Add(-time.Duration(i) * time.Second), AppID: 0, RequestID: fmt.Sprint("r", i),
		SourceIP: src, Method: "GET", Host: "shop.example.test", Path: "/search", AttackType: typ, Point: point,
		DetectorID: "test", Excerpt: "x", Decision: apiv1.DecisionBlocked, Status: 403}
}

// tenantWithNode makes a tenant (with the default triggers) and a node.
func tenantWithNode(t *testing.T, s store.Store, name string) (store.Tenant, store.Node) {
	t.Helper()
	ten, err := s.CreateTenant(ctx, system, name)
	if err != nil {
		t.Fatal(err)
	}
	tok := store.EnrollToken{TenantID: ten.ID, Name: "n", Hash: []byte(name + "-token"), ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateEnrollToken(ctx, system, &tok); err != nil {
		t.Fatal(err)
	}
	n := store.Node{Name: "n", CredentialHash: []byte(name + "-cred")}
	if err := s.EnrollNode(ctx, tok.Hash, now, &n); err != nil {
		t.Fatal(err)
	}
	return ten, n
}

// TestDefaultTriggersFire ingests attacks and judges the default triggers
// after each batch: three distinct attacks graylist the source, ten
// attacks denylist it, each exactly when the count is reached; a source
// repeating one attack is never graylisted; another tenant is untouched.
func TestDefaultTriggersFire(t *testing.T) {
	s := sqltest.OpenSQLite(t)
	ten, node := tenantWithNode(t, s, "acme")
	other, _ := tenantWithNode(t, s, "globex")
	ev := NewEvaluator(s, quiet, func() time.Time { return now }, nil)
	const attacker, bystander = "198.18.66.6", "198.18.0.10"
	types := []string{"sqli", "xss", "rce"}
	for i := 1; i <= 10; i++ {
		// The bystander repeats one attack: ten of them, but one distinct.
		batch := []apiv1.Event{attack(i, attacker, types[min(i-1, 2)], "query.q"), attack(100+i, bystander, "sqli", "query.q")}
		if _, err := s.Ingest(ctx, &store.IngestBatch{TenantID: ten.ID, NodeID: node.ID, At: now, Events: batch}); err != nil {
			t.Fatal(err)
		}
		fired, err := ev.Observe(ctx, ten.ID, batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		switch i {
		case 3:
			want = []string{"gray " + attacker}
		case 10:
			want = []string{"deny " + bystander, "deny " + attacker} // in address order
		}
		var got []string
		for _, f := range fired {
			got = append(got, f.Action+" "+f.Source.String())
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("batch %d fired %v, want %v", i, got, want)
		}
	}
	entries, err := s.ListIPEntries(ctx, ten.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string]string{}
	for _, e := range entries {
		if e.Origin != apiv1.OriginTrigger || e.TriggerID == 0 || !e.Expires.Equal(now.Add(time.Hour)) {
			t.Errorf("generated entry %+v", e)
		}
		lists[e.Prefix.Addr().String()] = e.List
	}
	if lists[attacker] != "deny" || lists[bystander] != "deny" || len(lists) != 2 {
		t.Errorf("lists after the attack: %v", lists)
	}
	if es, _ := s.ListIPEntries(ctx, other.ID, now); len(es) != 0 {
		t.Errorf("another tenant got entries: %+v", es)
	}
}

// TestFiresOnceAcrossReplicas runs two evaluators, each on its own store
// (as two cloud replicas on one database), judging the same batches at
// the same time: every trigger fires once per source, never twice.
func TestFiresOnceAcrossReplicas(t *testing.T) {
	for _, dialect := range sqltest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			stores := sqltest.Replicas(t, dialect, 2)
			ten, node := tenantWithNode(t, stores[0], "acme")
			const sources = 20
			var batches [][]apiv1.Event
			for i := range sources {
				src := netip.AddrFrom4([4]byte{198, 18, 1, byte(i)}).String()
				var b []apiv1.Event
				for j := range 10 {
					b = append(b, attack(j, src, []string{"sqli", "xss", "rce"}[j%3], "query.q"))
				}
				if _, err := stores[0].Ingest(ctx, &store.IngestBatch{TenantID: ten.ID, NodeID: node.ID, At: now, Events: b}); err != nil {
					t.Fatal(err)
				}
				batches = append(batches, b)
			}
			before, err := stores[0].RulesetVersion(ctx, ten.ID)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			fired := make([]int, len(stores))
			for r, s := range stores {
				ev := NewEvaluator(s, quiet, func() time.Time { return now }, nil)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, b := range batches {
						fs, err := ev.Observe(ctx, ten.ID, b, nil)
						if err != nil {
							t.Error(err)
							return
						}
						fired[r] += len(fs)
					}
				}()
			}
			wg.Wait()
			// Two default triggers, each once per source.
			if total := fired[0] + fired[1]; total != 2*sources {
				t.Fatalf("replicas fired %v times, want %d in all", fired, 2*sources)
			}
			fs, err := stores[1].ListFirings(ctx, ten.ID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, f := range fs {
				k := fmt.Sprint(f.TriggerID, f.Source)
				if seen[k] {
					t.Errorf("trigger %d fired twice for %s", f.TriggerID, f.Source)
				}
				seen[k] = true
			}
			entries, err := stores[1].ListIPEntries(ctx, ten.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != sources {
				t.Errorf("%d entries, want one per source (%d)", len(entries), sources)
			}
			for _, e := range entries {
				if e.List != apiv1.ListDeny {
					t.Errorf("entry %s is %s after both triggers fired", e.Prefix, e.List)
				}
			}
			after, _ := stores[1].RulesetVersion(ctx, ten.ID)
			if after-before != 2*sources {
				t.Errorf("ruleset version moved by %d, want one per firing (%d)", after-before, 2*sources)
			}
		})
	}
}
