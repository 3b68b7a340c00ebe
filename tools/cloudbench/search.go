package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/client"
	"github.com/palisadewaf/palisade/cloud/store"
)

// seedSpan is the time the seeded events spread over, ending now.
const seedSpan = 30 * 24 * time.Hour

func runSearch(ctx context.Context, o options) error {
	c, err := startCloud(ctx, o)
	if err != nil {
		return err
	}
	defer c.close()
	me, err := c.admin.Me(ctx)
	if err != nil {
		return err
	}
	tenant := me.Tenant.ID
	have, err := countEvents(ctx, c.store, tenant)
	if err != nil {
		return err
	}
	fmt.Printf("cloudbench search: store has %d events, want %d (%s)\n", have, o.events, c.store.Dialect())
	if err := seed(ctx, c.store, tenant, o.events-have); err != nil {
		return err
	}
	now := time.Now()
	app := int64(1)
	queries := []struct {
		name string
		run  func() error
	}{
		{"newest 100", search(ctx, c.admin, client.EventQuery{Limit: 100})},
		{"page 10 (cursor)", func() error {
			q := client.EventQuery{Limit: 100}
			for i := 0; i < 10; i++ {
				_, next, err := c.admin.SearchEvents(ctx, q)
				if err != nil {
					return err
				}
				q.Cursor = next
			}
			return nil
		}},
		{"by attack type", search(ctx, c.admin, client.EventQuery{AttackType: "xxe", Limit: 100})},
		{"by source IP", search(ctx, c.admin, client.EventQuery{Source: "198.18.4.210", Limit: 100})},
		{"by source /24", search(ctx, c.admin, client.EventQuery{Source: "198.18.5.0/24", Limit: 100})},
		{"app+decision, last 1h", search(ctx, c.admin, client.EventQuery{App: &app, Decision: "passed", From: now.Add(-time.Hour), Limit: 100})},
		{"point, last 24h", search(ctx, c.admin, client.EventQuery{Point: "header.referer", From: now.Add(-24 * time.Hour), Limit: 100})},
		{"aggregate type x 1h, 24h", func() error {
			_, err := c.admin.AggregateEvents(ctx, client.EventQuery{From: now.Add(-24 * time.Hour)}, "attack_type", time.Hour)
			return err
		}},
		{"top 10 sources, 24h", func() error {
			_, err := c.admin.AggregateEvents(ctx, client.EventQuery{From: now.Add(-24 * time.Hour)}, "source_ip", 0)
			return err
		}},
		{"blocked vs monitored, 24h", func() error {
			_, err := c.admin.AggregateEvents(ctx, client.EventQuery{From: now.Add(-24 * time.Hour)}, "decision", 0)
			return err
		}},
		{"attacks, last 1h", func() error {
			_, err := c.admin.Attacks(ctx, client.EventQuery{From: now.Add(-time.Hour)})
			return err
		}},
	}
	fmt.Printf("  %-28s %10s %10s %10s\n", "query", "p50", "p99", "max")
	for _, q := range queries {
		var ds []time.Duration
		for i := 0; i < o.queries; i++ {
			t0 := time.Now()
			if err := q.run(); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			ds = append(ds, time.Since(t0))
		}
		sortDurations(ds)
		fmt.Printf("  %-28s %10v %10v %10v\n", q.name, percentile(ds, .5).Round(10*time.Microsecond),
			percentile(ds, .99).Round(10*time.Microsecond), percentile(ds, 1).Round(10*time.Microsecond))
	}
	fmt.Printf("  memory: peak RSS %.0f MiB, heap in use %.0f MiB\n", peakRSS(), heapMiB())
	if o.database == "" && o.dataDir != "" {
		fmt.Printf("  database %.0f MiB\n", dbSize(o.dataDir))
	}
	return nil
}

func search(ctx context.Context, c *client.Client, q client.EventQuery) func() error {
	return func() error {
		_, _, err := c.SearchEvents(ctx, q)
		return err
	}
}

func countEvents(ctx context.Context, st store.Store, tenant int64) (int, error) {
	rows, err := st.AggregateEvents(ctx, tenant, store.EventFilter{}, store.Aggregation{})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return int(rows[0].Count), nil
}

// seed stores n events spread over the last seedSpan, in batches straight
// into the store from several goroutines (as a fleet would, so that SQLite
// commits them in groups): filling a large store through HTTP would
// measure ingest again and take longer.
func seed(ctx context.Context, st store.Store, tenant int64, n int) error {
	if n <= 0 {
		return nil
	}
	apps := []int64{1, 2, 3, 4, 5}
	end, start := time.Now(), time.Now()
	const batch, workers = 2000, 8
	var next, done atomic.Int64
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			node := uuid.NewString()
			for {
				first := int(next.Add(batch)) - batch
				if first >= n {
					errs <- nil
					return
				}
				size := min(batch, n-first)
				b := &store.IngestBatch{TenantID: tenant, NodeID: node, At: end}
				for i := 0; i < size; i++ {
					// Older events first, as they would have arrived.
					at := end.Add(-seedSpan + time.Duration(float64(seedSpan)*float64(first+i)/float64(n)))
					b.Events = append(b.Events, fakeEvent(r, at, apps))
				}
				if _, err := st.Ingest(ctx, b); err != nil {
					errs <- err
					return
				}
				if d := done.Add(int64(size)); d/500000 != (d-int64(size))/500000 {
					fmt.Printf("  seeded %d/%d events (%.0f/s)\n", d, n, float64(d)/time.Since(start).Seconds())
				}
			}
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}
