package sqlstore_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

func benchEvents(n int, at time.Time) []apiv1.Event {
	es := make([]apiv1.Event, n)
	for i := range es {
		es[i] = apiv1.Event{
			ID: uuid.Must(uuid.NewV7()).String(), Time: at.Add(time.Duration(i) * time.Millisecond), AppID: int64(i % 5), RequestID: "r-0123456789",
			SourceIP: fmt.Sprintf("198.18.%d.%d", i%16, i%251), Method: "GET", Host: "shop.example.test", Path: "/products/search?q=***",
			AttackType: []string{"sqli", "xss", "rce", "ptrav"}[i%4], Point: "query.q", DetectorID: "libinjection.sqli",
			RuleIDs: []int64{7}, Excerpt: "1' UNION SELECT username, **** FROM users--", Decision: apiv1.DecisionBlocked, Status: 403,
		}
	}
	return es
}

// BenchmarkIngest stores batches of events the way ingest does. Its
// baseline is BenchmarkInsertBaseline: the same rows in the same batches
// into a table with no index but its primary key, i.e. what the database
// costs before idempotency and search indexes.
func BenchmarkIngest(b *testing.B) {
	for _, dialect := range sqltest.Dialects {
		for _, size := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", dialect, size), func(b *testing.B) {
				s := sqltest.Open(b, dialect)
				ctx := context.Background()
				tn, err := s.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem}, "bench")
				if err != nil {
					b.Fatal(err)
				}
				batches := make([][]apiv1.Event, b.N)
				for i := range batches {
					batches[i] = benchEvents(size, time.Now())
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := s.Ingest(ctx, &store.IngestBatch{TenantID: tn.ID, NodeID: "n", At: time.Now(), Events: batches[i]}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

func BenchmarkInsertBaseline(b *testing.B) {
	for _, dialect := range sqltest.Dialects {
		for _, size := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", dialect, size), func(b *testing.B) {
				s := sqltest.Open(b, dialect)
				batches := make([][]apiv1.Event, b.N)
				for i := range batches {
					batches[i] = benchEvents(size, time.Now())
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := sqlstore.InsertBaseline(context.Background(), s, batches[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkIngestFleet is BenchmarkIngest with 200 nodes uploading batches
// of 100 at once, which lets the SQLite store commit many batches per
// transaction; side by side with BenchmarkIngest/*/batch=100 it shows what
// group commit buys.
func BenchmarkIngestFleet(b *testing.B) {
	for _, dialect := range sqltest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := sqltest.Open(b, dialect)
			ctx := context.Background()
			tn, err := s.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem}, "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(200 / max(1, runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					batch := &store.IngestBatch{TenantID: tn.ID, NodeID: "n", At: time.Now(), Events: benchEvents(100, time.Now())}
					if _, err := s.Ingest(ctx, batch); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
