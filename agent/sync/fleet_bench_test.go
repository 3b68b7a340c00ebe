package sync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// BenchmarkPropagationFleet is BenchmarkPropagation with a fleet: 200
// enrolled nodes long-poll one cloud (real API, SQLite), and each
// iteration writes one IP-list entry and waits until every node has the new
// ruleset in force. It reports the spread over all nodes and iterations
// (p50, p99) and the time until the last node has it, side by side with
// the one-node benchmark.
//
//	go test ./agent/sync -run XXX -bench PropagationFleet -benchtime 20x
func BenchmarkPropagationFleet(b *testing.B) {
	const nodes = 200
	c := startCloud(b)
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	syncers := make([]*Syncer, nodes)
	done := make(chan error, nodes)
	for i := range nodes {
		tok, err := c.admin.CreateEnrollToken(ctx, fmt.Sprintf("fleet-%d", i), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		en, err := c.admin.WithToken("").Enroll(ctx, tok.Secret, apiv1.EnrollRequest{Version: 1, Name: fmt.Sprintf("fleet-%d", i), AgentVersion: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(Config{Keyring: c.keyring, TenantID: c.tenantID, NodeID: en.NodeID, StateDir: b.TempDir(),
			Engine: detect.New(detect.Options{}), Log: quiet})
		if err != nil {
			b.Fatal(err)
		}
		syncers[i] = s
		p := &Poller{BaseURL: c.url, Credential: en.Credential, Wait: 20 * time.Second, Syncer: s, Log: quiet}
		go func() { done <- p.Run(ctx) }()
	}
	defer func() {
		cancel()
		for range nodes {
			<-done
		}
	}()
	// Let every node take the first ruleset and settle into its long poll.
	waitAll := func(want int64) {
		for _, s := range syncers {
			for s.Version() < want {
				time.Sleep(200 * time.Microsecond)
			}
		}
	}
	var lat, last []time.Duration
	version := int64(0)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := c.admin.CreateIPEntry(ctx, apitypes.CreateIPEntryRequest{List: "gray",
			Prefix: netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}).String()}); err != nil {
			b.Fatal(err)
		}
		version++
		arrived := make([]time.Duration, nodes)
		pending := slices.Clone(syncers)
		for len(pending) > 0 {
			now := time.Since(start)
			pending = slices.DeleteFunc(pending, func(s *Syncer) bool {
				if s.Version() >= version {
					arrived[slices.Index(syncers, s)] = now
					return true
				}
				return false
			})
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, arrived...)
		last = append(last, slices.Max(arrived))
		waitAll(version)
	}
	slices.Sort(lat)
	slices.Sort(last)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(last[len(last)/2].Microseconds())/1000, "all-nodes-p50-ms")
}
