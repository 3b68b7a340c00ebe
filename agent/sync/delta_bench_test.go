package sync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/xdp"
)

// BenchmarkDelta1k measures delivering a change of 1000 entries to a node
// that holds a 100k-entry denylist: as a delta (the node polls with
// delta=1) and, side by side, as the whole ruleset (the node asks for it,
// as one too far behind would). Each round imports 1000 new entries
// through the API (not timed), then times the node's poll: cloud
// compiles and signs, node downloads, verifies, merges, compiles and
// writes the XDP deny map (root needed). Wire bytes are per delivery.
func BenchmarkDelta1k(b *testing.B) {
	const base, change = 100_000, 1000
	for _, mode := range []string{"delta", "whole"} {
		b.Run(mode, func(b *testing.B) {
			c := startCloud(b)
			f := openTestFilter(b)
			next := 0
			importN := func(n int) {
				var sb strings.Builder
				for range n {
					fmt.Fprintf(&sb, `{"list":"deny","prefix":"%s","reason":"feed"}`+"\n",
						netip.AddrFrom4([4]byte{10, byte(next >> 16), byte(next >> 8), byte(next)}))
					next++
				}
				if res, err := c.admin.ImportIPEntries(context.Background(), strings.NewReader(sb.String())); err != nil || res.Imported != n {
					b.Fatalf("import: %v", err)
				}
			}
			importN(base)
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			s, err := New(Config{Keyring: c.keyring, TenantID: c.tenantID, NodeID: c.nodeID, StateDir: b.TempDir(),
				Engine: detect.New(detect.Options{}), Filter: f, Log: quiet})
			if err != nil {
				b.Fatal(err)
			}
			var wire atomic.Int64
			p := &Poller{BaseURL: c.url, Credential: c.credential, Client: countingClient(&wire), Syncer: s, Log: quiet}
			if _, err := p.Poll(context.Background()); err != nil {
				b.Fatal(err)
			}
			var bytes int64
			rounds := 0
			for b.Loop() {
				b.StopTimer()
				importN(change)
				if mode == "whole" {
					s.mu.Lock()
					s.needFull = true
					s.mu.Unlock()
				}
				wire.Store(0)
				b.StartTimer()
				if changed, err := p.Poll(context.Background()); err != nil || !changed {
					b.Fatalf("poll: %v, changed %v", err, changed)
				}
				b.StopTimer()
				bytes += wire.Load()
				rounds++
				if n := f.Len(xdp.Deny); n != next {
					b.Fatalf("deny map holds %d entries, want %d", n, next)
				}
				s.mu.Lock()
				saved := s.savedDeltas
				s.mu.Unlock()
				if (mode == "delta") != (saved > 0) {
					b.Fatalf("%s round delivered with %d saved deltas", mode, saved)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(bytes)/float64(rounds)/1024, "KiB-on-wire")
		})
	}
}
