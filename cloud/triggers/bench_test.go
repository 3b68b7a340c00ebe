package triggers

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

// BenchmarkIngestWithTriggers measures what judging triggers on ingest
// costs: 1000-event batches from `sources` distinct addresses stored as
// ingest stores them, with and without Observe (the two default triggers)
// after each. The baseline is the store alone.
func BenchmarkIngestWithTriggers(b *testing.B) {
	for _, dialect := range sqltest.Dialects {
		for _, sources := range []int{10, 1000} {
			for _, judge := range []bool{false, true} {
				name := fmt.Sprintf("%s/sources=%d/ingest", dialect, sources)
				if judge {
					name += "+triggers"
				}
				b.Run(name, func(b *testing.B) {
					s := sqltest.Open(b, dialect)
					ten, err := s.CreateTenant(ctx, system, "bench")
					if err != nil {
						b.Fatal(err)
					}
					ev := NewEvaluator(s, quiet, time.Now, nil)
					const size = 1000
					n := 0
					for b.Loop() {
						batch := make([]apiv1.Event, size)
						for i := range batch {
							n++
							batch[i] = apiv1.Event{ID: uuid.NewString(), Time: time.Now(), AppID: 0, RequestID: "r",
								SourceIP: fmt.Sprintf("198.18.%d.%d", (n%sources)/250, (n%sources)%250), Method: "GET", Host: "h", Path: "/p",
								AttackType: []string{"sqli", "xss", "rce", "ptrav"}[n%4], Point: "query.q", DetectorID: "d", Excerpt: "x",
								Decision: apiv1.DecisionBlocked, Status: 403}
						}
						if _, err := s.Ingest(ctx, &store.IngestBatch{TenantID: ten.ID, NodeID: "n", At: time.Now(), Events: batch}); err != nil {
							b.Fatal(err)
						}
						if judge {
							if _, err := ev.Observe(ctx, ten.ID, batch, nil); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
				})
			}
		}
	}
}
